#!/usr/bin/env bash
# The responder benchmark (BENCHMARKS.md, "## Responder"). In one run, on loopback, with wrk:
#   1. the baseline: an axum hello-world built from this workspace (bench-tools hello);
#   2. `contacto responder` on the embedded store;
#   3. `contacto responder` on Redis (a throwaway redis-server with AOF every second);
# each answering signed Meta text webhooks that route to varied topics and municipios, with
# counters on and the outbox delivering to a local fake Graph API. For each: requests/s, the
# latency percentiles, CPU microseconds per webhook (the responder's own, and Redis's), and
# whether every accepted webhook got exactly one reply once the outbox drained.
#
# Usage: bench/responder.sh [SECONDS] [CONNECTIONS]   (defaults: 10 s, 64 connections)
# Needs wrk and redis-server (apt-get install wrk redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
CONNECTIONS=${2:-64}
THREADS=2
OUT=bench-out
mkdir -p "$OUT"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

echo "== building (release)"
cargo build --release --locked -p contacto -p bench-tools 2>&1 | tail -1
BIN=target/release

SECRET=bench-app-secret
NUMBERS="106540352242901 106540352242902 106540352242903 106540352242904 106540352242905 106540352242906 106540352242907 106540352242908"
REQUESTS=$((SECONDS_PER_RUN * 70000))
if [ ! -s "$OUT/meta-$REQUESTS.txt" ]; then
  echo "== generating $REQUESTS signed webhooks"
  "$BIN/bench-tools" requests "$OUT/meta-$REQUESTS.txt" "$REQUESTS" "$SECRET" $NUMBERS
fi

run_wrk() { # url script [args...] -> the WRKJSON line
  local url=$1 script=$2
  shift 2
  wrk -t$THREADS -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$script" "$url" -- "$@" | grep '^WRKJSON' | sed 's/^WRKJSON //'
}

results=()

echo "== baseline: axum hello-world"
port=$(free_port)
"$BIN/bench-tools" hello "127.0.0.1:$port" & pids+=($!)
hello_pid=$!
wait_port "$port"
run_wrk "http://127.0.0.1:$port/hello" bench/http/hello.lua >/dev/null # warm-up
t0=$(cpu_ticks $hello_pid)
hello=$(run_wrk "http://127.0.0.1:$port/hello" bench/http/hello.lua)
t1=$(cpu_ticks $hello_pid)
hello_rps=$(echo "$hello" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])')
hello_us=$(echo "$hello" | python3 -c "import json,sys; r=json.load(sys.stdin); print(round(($t1-$t0)*$tick_us/r['requests'],1))")
kill $hello_pid
results+=("{\"target\":\"axum hello-world\",\"wrk\":$hello,\"cpu_us\":$hello_us}")

graph_port=$(free_port)
"$BIN/bench-tools" graph "127.0.0.1:$graph_port" & pids+=($!)
graph_pid=$!
wait_port "$graph_port"

responder_run() { # name, extra env... ; runs one responder benchmark
  local name=$1
  shift
  local web internal dir
  web=$(free_port)
  internal=$(free_port)
  dir="$work/$name"
  mkdir -p "$dir"
  local env=(
    "CONTACTO_CONFIG=$dir/contacto.toml"
    "CONTACTO_DATA_DIR=$dir/data"
    "CONTACTO_STORE__KEY_PREFIX=bench"
    "CONTACTO_RESPONDER__LISTEN=127.0.0.1:$web"
    "CONTACTO_RESPONDER__INTERNAL_LISTEN=127.0.0.1:$internal"
    "CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS=${NUMBERS// /,}"
    "CONTACTO_CHANNELS__META__APP_SECRET=$SECRET"
    "CONTACTO_CHANNELS__META__VERIFY_TOKEN=bench-verify"
    "CONTACTO_CHANNELS__META__ACCESS_TOKEN=bench-token"
    "CONTACTO_CHANNELS__META__GRAPH_BASE_URL=http://127.0.0.1:$graph_port"
    "CONTACTO_CHANNELS__META__MESSAGES_PER_SECOND=1000"
    "CONTACTO_PRIVACY__USER_HASH_KEY=bench-user-hash-key-0123456789"
    "CONTACTO_TELEMETRY__FILTER=warn"
    "$@"
  )
  env "${env[@]}" "$BIN/bench-tools" publish fixtures/responder/snapshot.json
  env "${env[@]}" "$BIN/contacto" responder 2>"$dir/responder.log" & pids+=($!)
  local pid=$!
  wait_port "$web"
  local before_graph
  before_graph=$(curl -s "http://127.0.0.1:$graph_port/count")
  local r0 c0
  c0=$(cpu_ticks $pid)
  r0=$( [ -n "${REDIS_PID:-}" ] && cpu_ticks "$REDIS_PID" || echo 0)
  local res
  res=$(run_wrk "http://127.0.0.1:$web/webhooks/meta" bench/http/responder.lua "$OUT/meta-$REQUESTS.txt" $THREADS)
  local c1 r1
  c1=$(cpu_ticks $pid)
  r1=$( [ -n "${REDIS_PID:-}" ] && cpu_ticks "$REDIS_PID" || echo 0)
  local accepted
  accepted=$(echo "$res" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["requests"]-r["err_status"])')
  # Drain: every accepted webhook must get exactly one reply.
  local start=$SECONDS sent=0
  while [ $((SECONDS - start)) -lt 600 ]; do
    sent=$(( $(curl -s "http://127.0.0.1:$graph_port/count") - before_graph ))
    [ "$sent" -ge "$accepted" ] && break
    sleep 1
  done
  local drain=$((SECONDS - start))
  sleep 2
  sent=$(( $(curl -s "http://127.0.0.1:$graph_port/count") - before_graph ))
  local metrics
  metrics=$(curl -s "http://127.0.0.1:$internal/metrics" | grep -E '^responder_(webhooks|duplicates|enqueued|sent|failed|retried) ' | tr '\n' ' ')
  kill -TERM $pid
  wait $pid || true
  local us redis_us
  us=$(python3 -c "print(round(($c1-$c0)*$tick_us/$accepted,1))")
  redis_us=$(python3 -c "print(round(($r1-$r0)*$tick_us/$accepted,1))")
  results+=("{\"target\":\"contacto responder ($name)\",\"wrk\":$res,\"cpu_us\":$us,\"redis_cpu_us\":$redis_us,\"accepted\":$accepted,\"replies\":$sent,\"drain_s\":$drain,\"metrics\":\"$metrics\"}")
  echo "   $name: accepted $accepted, replies $sent (drained in ${drain}s); $metrics"
}

echo "== contacto responder, embedded store"
responder_run embedded

echo "== contacto responder, Redis"
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
  --dir "$work" --logfile "$work/redis.log" & pids+=($!)
REDIS_PID=$!
wait_port "$redis_port"
responder_run redis "CONTACTO_REDIS_URL=redis://127.0.0.1:$redis_port/0"
REDIS_PID=

printf '%s\n' "${results[@]}" > "$OUT/responder.jsonl"
python3 - "$OUT/responder.jsonl" "$SECONDS_PER_RUN" "$CONNECTIONS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = rows[0]["wrk"]["rps"]
print(f"\nwrk -t2 -c{sys.argv[3]} -d{sys.argv[2]}s on loopback ({open('/proc/cpuinfo').read().count('processor')} cores)\n")
print("| target | req/s | × hello | p50 ms | p99 ms | CPU µs/webhook | Redis CPU µs/webhook | replies / accepted | drain s |")
print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
for r in rows:
    w = r["wrk"]
    extra = (f"{r.get('redis_cpu_us', 0) or '–'} | {r['replies']:,} / {r['accepted']:,} | {r['drain_s']}" if "accepted" in r else "– | – | –")
    print(f"| {r['target']} | {w['rps']:,.0f} | {w['rps']/base:.2f} | {w['p50_ms']:.2f} | {w['p99_ms']:.2f} | {r['cpu_us']} | {extra} |")
EOF
