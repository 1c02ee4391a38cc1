#!/usr/bin/env bash
# Fault drills (RELIABILITY.md, «Fault drills»): real processes on 127.0.0.1 (`contacto`,
# redis-server, the Graph API stand-in and a misbehaving source from bench-tools), one fault
# injected in each, and a verdict per drill, `VERDICT DRILL PASS|FAIL figures`.
#
#   redis-restart    redis-server SIGKILLed under webhook load and started again on its AOF
#                    (appendfsync always): while it is down the responder answers 503 and the
#                    platform retries (our choice: a message is only taken once its dedupe mark
#                    and reply are stored); afterwards every message answered exactly once, in
#                    order, and the responder's counters equal the stand-in's
#   sigkill-publish  `contacto ingest --once` SIGKILLed at moments spread over its runs (each
#                    run publishes a snapshot per source), on each store: the current snapshot
#                    always reads whole, and once the killed run's source lease (60 s) has run
#                    out the next run publishes everything
#   disk-full        the embedded store's disk (a tmpfs) full under webhook load: a clear error
#                    naming the data directory, nothing lost, writes resume when space returns,
#                    and the database opens again afterwards (needs root for the mount)
#   source-trickle   two sources that hang and trickle one byte a second beside the others,
#                    under `contacto ingest`'s scheduler: they time out, the others publish on time
#   graph-outage     the Graph API down (503), then answering 429 with Retry-After, under
#                    webhook load: nothing lost, nothing twice, nothing out of order, the pace
#                    and Retry-After honoured
#
# Usage: ops/drills/run.sh [--quick] [DRILL…]   (all drills without names)
#   --quick: smaller loads and a 10-second outage instead of 60 (the whole set in about
#   five minutes). Needs redis-server; builds in release (DRILL_PROFILE=debug: a debug build,
#   quicker to build and slower to run; the verdicts hold, the timings do not).
set -euo pipefail
cd "$(dirname "$0")/../.."

QUICK=0
if [ "${1:-}" = --quick ]; then
  QUICK=1
  shift
fi
ALL=(redis-restart sigkill-publish disk-full source-trickle graph-outage)
DRILLS=("$@")
[ ${#DRILLS[@]} -gt 0 ] || DRILLS=("${ALL[@]}")
for d in "${DRILLS[@]}"; do
  [[ " ${ALL[*]} " == *" $d "* ]] || { echo "simulacro desconocido: $d (hay: ${ALL[*]})" >&2; exit 2; }
done
. bench/common.sh
# Logs, configurations and stores of each drill, kept for a look afterwards.
logs="$OUT/drills/$(date -u +%Y%m%dT%H%M%S)"
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
echo "== logs in $logs"
mounted=
trap '[ -z "$mounted" ] || umount "$mounted" 2>/dev/null || true; cleanup' EXIT INT TERM

PROFILE=${DRILL_PROFILE:-release}
echo "== building ($PROFILE)"
cargo build --profile "$([ "$PROFILE" = debug ] && echo dev || echo "$PROFILE")" --locked -p contacto -p bench-tools 2>&1 | tail -1
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE
verdicts=()

# verdict DRILL OK FIGURES: records and prints the drill's line.
verdict() {
  local line
  line="VERDICT $1 $([ "$2" = 1 ] && echo PASS || echo FAIL) $3"
  verdicts+=("$line")
  echo "$line"
}

# A field of the burst's JSON line.
field() { python3 -c "import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2], {}, r))" "$1" "$2"; }

# A counter of a Prometheus text page: the sum of the series whose line starts with PREFIX.
metric() { curl -s "$1" | awk -v p="$2" 'index($0, p) == 1 {s += $NF} END {print s + 0}'; }

# Starts the stand-in (cap as given) and a responder under DIR on the store of the extra env;
# sets GRAPH, WEB, INTERNAL and RESPONDER_PID.
start_stack() { # DIR CAP [VAR=value…]
  local dir=$1 cap=$2 graph_port
  shift 2
  graph_port=$(free_port)
  "$BIN/bench-tools" graph "127.0.0.1:$graph_port" --cap "$cap" & pids+=($!)
  wait_port "$graph_port"
  GRAPH="http://127.0.0.1:$graph_port"
  WEB=$(free_port)
  INTERNAL=$(free_port)
  mapfile -t STACK_ENV < <(contacto_env "$dir" "$WEB" "$INTERNAL" "$GRAPH" "$cap")
  STACK_ENV+=("$@")
  env "${STACK_ENV[@]}" "$BIN/bench-tools" publish fixtures/responder/snapshot.json >/dev/null
  start_responder "$dir"
}
start_responder() { # DIR (same STACK_ENV)
  env "${STACK_ENV[@]}" "$BIN/contacto" responder 2>>"$1/responder.log" & pids+=($!)
  RESPONDER_PID=$!
  wait_port "$WEB"
}

# Runs a burst against the stack: CITIZENS over SECONDS from citizen FIRST; prints its JSON.
burst() { # CITIZENS SECONDS FIRST DRAIN_TIMEOUT
  "$BIN/bench-tools" burst "http://127.0.0.1:$WEB/webhooks/meta" "$GRAPH" "$BENCH_APP_SECRET" \
    "$BENCH_PHONE_NUMBER_ID" "$1" "$2" "$3" "$4" | sed -n 's/^BURST //p'
}

# Exactly once and in order: no reply lost, duplicated or out of order.
exactly_once() { field "$1" "int(lost == 0 and duplicated == 0 and out_of_order == 0)"; }

drill_redis_restart() {
  local dir="$logs/redis-restart" citizens=2000 seconds=30 down=10
  [ $QUICK = 0 ] || { citizens=400; seconds=15; down=5; }
  REDIS_PORT=
  start_redis "$dir/redis" always
  start_stack "$dir" 1000 "CONTACTO_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
  burst "$citizens" "$seconds" 0 300 >"$dir/burst.json" &
  local load=$!
  sleep $((seconds / 3))
  kill -KILL "$REDIS_PID"
  sleep "$down"
  start_redis "$dir/redis" always
  wait $load
  local line sent handled ok
  line=$(cat "$dir/burst.json")
  sent=$(metric "http://127.0.0.1:$INTERNAL/metrics" 'contacto_sends_total{channel="meta",kind="reply",result="sent"}')
  handled=$(metric "http://127.0.0.1:$INTERNAL/metrics" 'contacto_webhooks_total{channel="meta",outcome="handled"}')
  ok=$(field "$line" "int(lost == 0 and duplicated == 0 and out_of_order == 0 and refused_first > 0 and replies == $sent == graph['accepted'])")
  verdict redis-restart "$ok" "citizens=$citizens down=${down}s webhooks=$(field "$line" webhooks) first_attempt_p99_ms=$(field "$line" p99_ms) max_ms=$(field "$line" max_ms) refused_503_first=$(field "$line" refused_first) retries=$(field "$line" retries) handled=$handled replies=$(field "$line" replies) sent_counter=$sent lost=$(field "$line" lost) duplicated=$(field "$line" duplicated) out_of_order=$(field "$line" out_of_order) taken_out_of_order=$(field "$line" taken_out_of_order) of_which_accepted_in_reverse=$(field "$line" taken_out_of_order_accepted_in_reverse) pairs_in_flight_together=$(field "$line" pairs_in_flight_together)"
  kill -TERM "$RESPONDER_PID" "$REDIS_PID"
  wait "$RESPONDER_PID" || true
}

# The ingest runs of a drill round: STORE_ENV must be set.
ingest_once() { env "${STORE_ENV[@]}" "$BIN/contacto" ingest --once; }
answers_now() { env "${STORE_ENV[@]}" "$BIN/bench-tools" snapshot | cut -d' ' -f2; }
round_env() { # DIR STORE ROUND
  STORE_ENV=(CONTACTO_CONFIG="$PWD/contacto.toml" CONTACTO_TELEMETRY__FILTER=warn
    CONTACTO_DATA_DIR="$1/$2/r$3" CONTACTO_STORE__KEY_PREFIX="drill-$$-$2-$3")
  [ "$2" = embedded ] || STORE_ENV+=("CONTACTO_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0")
}

# One store's kills: a clean run (round 0) says how long a run takes and what it publishes;
# then ROUNDS runs on fresh stores, each SIGKILLed a little later than the one before. Right
# after each kill: does the current snapshot read whole, and does the next start publish
# everything at once? Prints «kills whole full_at_once clean_ms answers».
kill_rounds() { # DIR STORE ROUNDS
  local dir=$1 store=$2 rounds=$3 i t0 clean_ms delay whole=0 full=0 landed=0 snap answers
  mkdir -p "$dir/$store"
  round_env "$dir" "$store" 0
  t0=$(date +%s%N)
  ingest_once >"$dir/$store/clean.log" 2>&1
  clean_ms=$((($(date +%s%N) - t0) / 1000000))
  answers=$(answers_now)
  for i in $(seq "$rounds"); do
    round_env "$dir" "$store" "$i"
    delay=$((clean_ms * i / (rounds + 1)))
    ingest_once >"$dir/$store/r$i.log" 2>&1 &
    local pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    if kill -KILL $pid 2>/dev/null; then landed=$((landed + 1)); fi
    wait $pid 2>/dev/null || true
    # Whole: the store opens and the current snapshot decodes, or there is none yet.
    if snap=$(env "${STORE_ENV[@]}" "$BIN/bench-tools" snapshot 2>>"$dir/$store/r$i.log"); then whole=$((whole + 1)); fi
    ingest_once >>"$dir/$store/r$i.log" 2>&1 || true
    [ "$(answers_now)" != "$answers" ] || full=$((full + 1))
    echo "   $store round $i: killed after ${delay} ms; the snapshot then: $snap" >&2
  done
  echo "$landed $whole $full $clean_ms $answers"
}

# After the source leases of the killed runs ran out: a run on every round's store publishes
# everything a clean run does. Prints how many did.
full_after_lease() { # DIR STORE ROUNDS ANSWERS
  local i full=0
  for i in $(seq "$3"); do
    round_env "$1" "$2" "$i"
    ingest_once >>"$1/$2/r$i.log" 2>&1 || true
    [ "$(answers_now)" != "$4" ] || full=$((full + 1))
  done
  echo $full
}

drill_sigkill_publish() {
  local dir="$logs/sigkill" rounds=20 ok=1 figures="" store
  [ $QUICK = 0 ] || rounds=6
  REDIS_PORT=
  start_redis "$dir/redis-server" always
  declare -A result
  for store in embedded redis; do result[$store]=$(kill_rounds "$dir" $store "$rounds"); done
  # A killed run keeps its source's lease (ingest's LEASE_TTL, 60 s) until it runs out.
  sleep 61
  for store in embedded redis; do
    local landed whole full clean_ms answers later
    read -r landed whole full clean_ms answers <<<"${result[$store]}"
    later=$(full_after_lease "$dir" $store "$rounds" "$answers")
    [ "$whole" = "$rounds" ] && [ "$later" = "$rounds" ] || ok=0
    figures+="$store: $landed of $rounds runs killed (a clean run ${clean_ms} ms, $answers answers); snapshot read whole after the kill $whole/$rounds; the next start published everything at once $full/$rounds (the others skipped the killed run's source: «otra corrida … sigue en curso»); after the 60-s lease $later/$rounds. "
  done
  kill "$REDIS_PID"
  verdict sigkill-publish "$ok" "$figures"
}

drill_disk_full() {
  local dir="$logs/disk-full" citizens=300 full_citizens=5000 free line1 line2 line3 named db resumed=no h0 h1 ok
  [ $QUICK = 0 ] || { citizens=100; full_citizens=2000; }
  mkdir -p "$dir/disk"
  if ! mount -t tmpfs -o size=48m tmpfs "$dir/disk" 2>/dev/null; then
    verdict disk-full 0 "SKIP: mounting a tmpfs needs root"
    return
  fi
  mounted="$dir/disk"
  # The data directory on the small disk; the configuration and log beside it.
  start_stack "$dir" 1000 "CONTACTO_DATA_DIR=$dir/disk/data"
  line1=$(burst "$citizens" 5 0 60)
  # Fill the disk and keep the webhooks coming; give the space back after 20 s while the
  # platform retries, and see whether the responder takes writes again by itself within 30 s.
  dd if=/dev/zero of="$dir/disk/relleno" bs=1M 2>/dev/null || true
  free=$(df --output=avail -B1 "$dir/disk" | tail -1 | tr -d ' ')
  db=$(du -sh "$dir/disk/data" | cut -f1)
  burst "$full_citizens" 10 "$citizens" 300 >"$dir/burst2.json" &
  local load=$!
  sleep 20
  rm -f "$dir/disk/relleno"
  h0=$(metric "http://127.0.0.1:$INTERNAL/metrics" 'contacto_webhooks_total{channel="meta",outcome="handled"}')
  for _ in $(seq 30); do
    sleep 1
    h1=$(metric "http://127.0.0.1:$INTERNAL/metrics" 'contacto_webhooks_total{channel="meta",outcome="handled"}')
    if [ "$h1" -gt "$h0" ]; then resumed=yes; break; fi
  done
  # What an operator would do otherwise: restart it (the platform keeps retrying meanwhile).
  kill -TERM "$RESPONDER_PID"
  wait "$RESPONDER_PID" || true
  start_responder "$dir"
  wait $load
  line2=$(cat "$dir/burst2.json")
  named=$(grep -c "$dir/disk/data" "$dir/responder.log" || true)
  # Started again: the database opens and takes writes.
  kill -TERM "$RESPONDER_PID"
  wait "$RESPONDER_PID" || true
  start_responder "$dir"
  line3=$(burst "$citizens" 5 $((citizens + full_citizens)) 60)
  kill -TERM "$RESPONDER_PID"
  wait "$RESPONDER_PID" || true
  ok=$(python3 -c "
import json,sys
a,b,c=(json.loads(x) for x in sys.argv[1:4])
print(int(all(r['lost']==0 and r['duplicated']==0 for r in (a,b,c)) and b['refused_first']>0 and $named>0 and '$resumed'=='yes'))" "$line1" "$line2" "$line3")
  verdict disk-full "$ok" "tmpfs 48 MiB, data directory $db when filled, $free B left; $citizens citizens before, $full_citizens while full (space back after 20 s), $citizens after a restart. Before: lost=$(field "$line1" lost). While full: refused_first=$(field "$line2" refused_first) retries=$(field "$line2" retries); writes resumed by themselves within 30 s of the space returning: $resumed; after a restart lost=$(field "$line2" lost) duplicated=$(field "$line2" duplicated) out_of_order=$(field "$line2" out_of_order). Reopened: lost=$(field "$line3" lost) duplicated=$(field "$line3" duplicated). Log lines naming the data directory: $named; the error logged: «$(sed 's/\x1b\[[0-9;]*m//g' "$dir/responder.log" | grep -m1 -o 'directorio de datos [^:]*: el disco está lleno' || true)»"
  umount "$dir/disk" && mounted=
}

drill_source_trickle() {
  local dir="$logs/trickle" seconds=45 timeout=15 port internal
  [ $QUICK = 0 ] || { seconds=25; timeout=8; }
  mkdir -p "$dir"
  port=$(free_port)
  "$BIN/bench-tools" slow-source "127.0.0.1:$port" & pids+=($!)
  wait_port "$port"
  internal=$(free_port)
  # The bundled configuration with every source every 5 seconds, and two that misbehave.
  sed -e 's/^schedule = .*/schedule = "*\/5 * * * * *"/' \
    -e "s#^url = \"file://#url = \"file://$PWD/#" -e "s#^templates_dir = \"#templates_dir = \"$PWD/#" contacto.toml >"$dir/contacto.toml"
  cat >>"$dir/contacto.toml" <<EOF

[sources.lento]
kind = "programas"
url = "http://127.0.0.1:$port/trickle"
schedule = "*/5 * * * * *"
timeout_secs = $timeout
retries = 0

[sources.colgado]
kind = "sintomas"
url = "http://127.0.0.1:$port/hang"
schedule = "*/5 * * * * *"
timeout_secs = $timeout
retries = 0
EOF
  env CONTACTO_CONFIG="$dir/contacto.toml" CONTACTO_DATA_DIR="$dir/data" CONTACTO_TELEMETRY__FILTER=warn \
    CONTACTO_RESPONDER__INTERNAL_LISTEN="127.0.0.1:$internal" "$BIN/contacto" ingest 2>"$dir/ingest.log" & pids+=($!)
  local pid=$!
  sleep "$seconds"
  curl -s "http://127.0.0.1:$internal/metrics" >"$dir/metrics.txt"
  kill -TERM $pid
  wait $pid || true
  env CONTACTO_CONFIG="$dir/contacto.toml" CONTACTO_DATA_DIR="$dir/data" "$BIN/contacto" runs --limit 400 >"$dir/runs.txt" 2>&1 || true
  python3 - "$dir/metrics.txt" "$seconds" "$timeout" <<'EOF' >"$dir/verdict.txt"
import re, sys
text = open(sys.argv[1]).read()
seconds, timeout = int(sys.argv[2]), int(sys.argv[3])
runs, took = {}, {}
for m in re.finditer(r'^contacto_ingest_runs_total\{([^}]*)\} (\S+)$', text, re.M):
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
    runs.setdefault(labels.get("source", "?"), {})[labels.get("result", "?")] = float(m.group(2))
for m in re.finditer(r'^contacto_ingest_run_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$', text, re.M):
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
    took.setdefault(labels.get("source", "?"), {})[m.group(1)] = float(m.group(3))
slow = {"lento", "colgado"}
others = [s for s in runs if s not in slow]
# The others ran at (nearly) every 5-second tick; the slow ones failed and none took much longer than its timeout.
ticks = seconds // 5
others_on_time = bool(others) and all(sum(runs[s].values()) >= ticks - 2 for s in others)
slow_failed = all(runs.get(s, {}).get("failed", 0) >= 1 and set(runs[s]) == {"failed"} for s in slow)
slow_bounded = all(took.get(s, {}).get("count", 0) and took[s]["sum"] / took[s]["count"] <= timeout + 3 for s in slow)
ok = int(others_on_time and slow_failed and slow_bounded)
def mean(s):
    t = took.get(s, {})
    return f"{t['sum'] / t['count']:.1f}s" if t.get("count") else "-"
print(ok, " ".join(f"{s}:{'/'.join(f'{k}={int(v)}' for k, v in sorted(runs[s].items()))},mean={mean(s)}" for s in sorted(runs)))
EOF
  local ok figures
  read -r ok figures <"$dir/verdict.txt"
  verdict source-trickle "$ok" "over ${seconds}s, every source every 5 s, slow ones timeout_secs=$timeout: $figures"
}

drill_graph_outage() {
  local dir="$logs/graph-outage" citizens=1500 seconds=150 down=60 throttle=60 retry_after=10 cap=80
  [ $QUICK = 0 ] || { citizens=300; seconds=30; down=10; throttle=10; retry_after=5; }
  start_stack "$dir" "$cap"
  burst "$citizens" "$seconds" 0 900 >"$dir/burst.json" &
  local load=$!
  sleep 3
  curl -s -X POST "$GRAPH/fault?down=$down&throttle=$throttle&retry_after=$retry_after" >/dev/null
  wait $load
  local line ok
  line=$(cat "$dir/burst.json")
  ok=$(field "$line" "int(lost == 0 and duplicated == 0 and out_of_order == 0 and graph['early'] == 0 and graph['max_per_second'] <= $cap * 1.05 and graph['down_refused'] > 0 and graph['throttled'] > 0)")
  verdict graph-outage "$ok" "citizens=$citizens cap=$cap/s down=${down}s then 429 Retry-After ${retry_after}s for ${throttle}s: replies=$(field "$line" replies) lost=$(field "$line" lost) duplicated=$(field "$line" duplicated) out_of_order=$(field "$line" out_of_order) refused_while_down=$(field "$line" "graph['down_refused']") throttled=$(field "$line" "graph['throttled']") early_in_retry_after=$(field "$line" "graph['early']") max_per_second=$(field "$line" "graph['max_per_second']") over_cap=$(field "$line" "graph['over_cap']") drain_s=$(field "$line" drain_s)"
  kill -TERM "$RESPONDER_PID"
  wait "$RESPONDER_PID" || true
}

for d in "${DRILLS[@]}"; do
  echo "== drill $d"
  "drill_${d//-/_}"
done
echo
printf '%s\n' "${verdicts[@]}"
! printf '%s\n' "${verdicts[@]}" | grep -q ' FAIL '
