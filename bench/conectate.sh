#!/usr/bin/env bash
# The Conéctate sender benchmark (BENCHMARKS.md, "## Conéctate sender"). On loopback, with the
# rate governor lifted (`conectate.unpaced`, allowed only against a local stand-in):
#   1. the baseline: N Graph API sends of a template's shape posted by a plain HTTP client,
#      CONCURRENCY at a time, to the stand-in (`bench-tools graph`): what client and stand-in
#      can do with nothing else;
#   2. the sender (`conectate::Sender`, what `contacto sender` runs) on the embedded store;
#   3. the same on Redis (a throwaway redis-server with AOF every second);
# each time from scheduling a content to N subscribers until its report is complete (fan-out,
# subscription checks, windows, idempotency keys, sends, report and acknowledgements included).
# The three run in interleaved rounds; the summary shows medians.
#
# Usage: bench/conectate.sh [N] [CONCURRENCY] [ROUNDS]   (defaults: 50000, 256, 3)
# Needs redis-server (apt-get install redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-50000}
CONCURRENCY=${2:-256}
ROUNDS=${3:-3}
. bench/common.sh

echo "== building (release)"
cargo build --release --locked -p bench-tools 2>&1 | tail -1
cargo build --release --locked -p conectate --example sender_bench 2>&1 | tail -1
BIN=target/release

graph_port=$(free_port)
"$BIN/bench-tools" graph "127.0.0.1:$graph_port" & pids+=($!)
wait_port "$graph_port"
GRAPH="http://127.0.0.1:$graph_port"

results="$OUT/conectate-$(date +%Y%m%d-%H%M%S).jsonl"
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  "$BIN/examples/sender_bench" baseline "$GRAPH" "$N" "$CONCURRENCY" | sed "s/^{/{\"round\":$round,/" | tee -a "$results"
  rm -rf "$work/embedded"
  "$BIN/examples/sender_bench" send "$GRAPH" "$N" "$CONCURRENCY" embedded "$work/embedded" | sed "s/^{/{\"round\":$round,/" | tee -a "$results"
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
    --dir "$work" --logfile "$work/redis.log" --daemonize no & redis_pid=$!
  wait_port "$redis_port"
  "$BIN/examples/sender_bench" send "$GRAPH" "$N" "$CONCURRENCY" redis "redis://127.0.0.1:$redis_port/0" | sed "s/^{/{\"round\":$round,/" | tee -a "$results"
  kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true
  rm -rf "$work/appendonlydir"
done

echo "== medians of $ROUNDS rounds ($results)"
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
targets = []
for r in rows:
    if r["target"] not in targets:
        targets.append(r["target"])
base = statistics.median(r["per_second"] for r in rows if r["target"].startswith("plain"))
print("| target | sends/s (median) | × baseline | CPU µs/send | per round (sends/s) |")
print("|---|---:|---:|---:|---|")
for t in targets:
    rs = [r for r in rows if r["target"] == t]
    med = statistics.median(r["per_second"] for r in rs)
    cpu = statistics.median(r["cpu_us_per_send"] for r in rs)
    per = " / ".join(f"{r['per_second']:,.0f}" for r in rs)
    print(f"| {t} | {med:,.0f} | {med / base:.2f} | {cpu:.1f} | {per} |")
PY
