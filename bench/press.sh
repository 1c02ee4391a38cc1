#!/usr/bin/env bash
# The press-conference drill (BENCHMARKS.md, "## Press conference"): CITIZENS distinct citizens
# each write two messages within SECONDS («casos en M», then «defunciones en M»), sent as Meta
# batches them under load (bench-tools burst), to one `contacto responder` on the embedded store
# and on Redis, with the Graph API stand-in capped at each of CAPS messages a second (the
# responder's governor set to the same figure, one business number). For each store and cap:
# webhook latency p50/p99 during the burst (from each webhook's scheduled time), replies lost,
# duplicated and out of order per citizen, the time from the burst's start to the last reply
# against the floor replies ÷ cap (or the burst's length, if longer) and against the floor under
# Meta's rule that throughput counts inbound and outbound messages together (the time the
# governor gives the citizens' messages, as it charges them, plus replies ÷ cap; BENCHMARKS.md
# states the rule), the responder's CPU per webhook (burst and drain, sending included) and
# Redis's, and the responder's peak RSS.
#
# Usage: bench/press.sh [CITIZENS] [SECONDS] [CAPS] [STORES]
#   defaults: 50000 60 "80 1000" "embedded redis"; a quick check: bench/press.sh 500 10 1000 embedded
# Needs redis-server. Builds in release (PRESS_PROFILE=debug: a debug build for a functional
# check only; its figures are not the benchmark's).
set -euo pipefail
cd "$(dirname "$0")/.."

CITIZENS=${1:-50000}
BURST_SECONDS=${2:-60}
CAPS=${3:-80 1000}
STORES=${4:-embedded redis}
. bench/common.sh
tick_us=$((1000000 / $(getconf CLK_TCK)))

PROFILE=${PRESS_PROFILE:-release}
echo "== building ($PROFILE)"
cargo build --profile "$([ "$PROFILE" = debug ] && echo dev || echo "$PROFILE")" --locked -p contacto -p bench-tools 2>&1 | tail -1
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE

results=()
first_citizen=0
for store in $STORES; do
  for cap in $CAPS; do
    run="$work/$store-$cap"
    graph_port=$(free_port)
    "$BIN/bench-tools" graph "127.0.0.1:$graph_port" --cap "$cap" & pids+=($!)
    graph_pid=$!
    wait_port "$graph_port"
    web=$(free_port)
    internal=$(free_port)
    mapfile -t env < <(contacto_env "$run" "$web" "$internal" "http://127.0.0.1:$graph_port" "$cap")
    REDIS_PID=
    if [ "$store" = redis ]; then
      REDIS_PORT=
      start_redis "$run/redis" everysec
      env+=("CONTACTO_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0")
    fi
    env "${env[@]}" "$BIN/bench-tools" publish fixtures/responder/snapshot.json >/dev/null
    env "${env[@]}" "$BIN/contacto" responder 2>"$run/responder.log" & pids+=($!)
    pid=$!
    wait_port "$web"
    echo "== $store, cap $cap/s: $CITIZENS citizens, two messages each within ${BURST_SECONDS}s"
    c0=$(cpu_ticks $pid)
    r0=$([ -n "$REDIS_PID" ] && cpu_ticks "$REDIS_PID" || echo 0)
    # The drain may take replies ÷ cap; give it twice that and a minute.
    drain_timeout=$((2 * 2 * CITIZENS / cap + 60))
    line=$("$BIN/bench-tools" burst "http://127.0.0.1:$web/webhooks/meta" "http://127.0.0.1:$graph_port" \
      "$BENCH_APP_SECRET" "$BENCH_PHONE_NUMBER_ID" "$CITIZENS" "$BURST_SECONDS" "$first_citizen" "$drain_timeout" |
      sed -n 's/^BURST //p')
    c1=$(cpu_ticks $pid)
    r1=$([ -n "$REDIS_PID" ] && cpu_ticks "$REDIS_PID" || echo 0)
    rss=$(peak_rss_kib $pid)
    kill -TERM $pid
    wait $pid || true
    kill "$graph_pid"
    [ -z "$REDIS_PID" ] || kill "$REDIS_PID"
    result=$(echo "$line" | python3 -c "
import json, sys
r = json.load(sys.stdin)
r.update(store='$store', cap=$cap, cpu_us_per_webhook=round(($c1 - $c0) * $tick_us / r['webhooks'], 1),
         redis_cpu_us_per_webhook=round(($r1 - $r0) * $tick_us / r['webhooks'], 1), peak_rss_mib=round($rss / 1024, 1))
print(json.dumps(r))")
    results+=("$result")
    echo "   $result"
    first_citizen=$((first_citizen + CITIZENS))
  done
done

# One file per invocation, so runs of different stores or caps can go side by side.
jsonl="$OUT/press-$CITIZENS-$(echo "$STORES" | tr ' ' '+')-$(echo "$CAPS" | tr ' ' '+').jsonl"
printf '%s\n' "${results[@]}" >"$jsonl"
python3 - "$jsonl" "$CITIZENS" "$BURST_SECONDS" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"\n{sys.argv[2]} citizens × 2 messages within {sys.argv[3]} s\n")
print("| store | cap/s | webhooks | p50 ms | p99 ms | max ms | refused first | lost | duplicated | out of order "
      "| taken out of order | drain s | floor s | × floor | inbound s | floor with inbound s | × that floor "
      "| over cap | CPU µs/webhook | Redis CPU µs/webhook | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['store']} | {r['cap']:,} | {r['webhooks']:,} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} "
          f"| {r['refused_first']} | {r['lost']} | {r['duplicated']} | {r['out_of_order']} | {r['taken_out_of_order']} "
          f"| {r['drain_s']:.1f} | {r['floor_s']:.1f} "
          f"| {r['drain_x_floor']:.3f} | {r['inbound_s']:.1f} | {r['floor_inbound_s']:.1f} | {r['drain_x_floor_inbound']:.3f} "
          f"| {r['graph']['over_cap']} | {r['cpu_us_per_webhook']} "
          f"| {r['redis_cpu_us_per_webhook']} | {r['peak_rss_mib']} |")
EOF
