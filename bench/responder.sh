#!/usr/bin/env bash
# The responder benchmark (BENCHMARKS.md, "## Responder"). In one run, on loopback, with wrk:
#   1. the baseline: an axum hello-world built from this workspace (bench-tools hello);
#   2. two reference points on the same webhooks: the responder's own signature check and
#      batch read with nothing after them (bench-tools verify-parse), and the webhook of the
#      reference figures, serde plus one Redis GET (bench-tools redis-get);
#   3. `contacto responder` on the embedded store;
#   4. `contacto responder` on Redis (a throwaway redis-server with AOF every second);
# the responder answering signed Meta text webhooks that route to varied topics and
# municipios, with counters on and the outbox delivering to a local fake Graph API. For each:
# requests/s, latency percentiles, CPU microseconds per webhook (the responder's own, and
# Redis's), and whether every accepted webhook got exactly one reply once the outbox drained
# (at the governed rate: 16 business numbers at 1,000 messages/s, inbound included).
#
# The three run in interleaved rounds (hello, embedded, Redis, then again) and the table shows
# the median of the rounds, because other work on a shared machine shifts absolute figures.
#
# To compare builds (say, before and after a change) in one run against the same baselines:
# CONTACTO_BINS="NAME=DIR ..." runs, in every round, each DIR/contacto on both stores instead
# of this tree's, starting each round at the next build so none always goes first. DIR may
# hold that revision's bench-tools and fixtures/responder/snapshot.json (as `snapshot.json`)
# to publish the snapshot it reads; otherwise this tree's are used. bench/revision.sh REV DIR
# builds a revision into such a directory.
#
# Usage: bench/responder.sh [SECONDS] [CONNECTIONS] [ROUNDS]   (defaults: 8 s, 64, 3 rounds)
# Needs wrk and redis-server (apt-get install wrk redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-8}
CONNECTIONS=${2:-64}
ROUNDS=${3:-3}
THREADS=2
. bench/common.sh
rps_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])'; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

echo "== building (release)"
cargo build --release --locked -p contacto -p bench-tools 2>&1 | tail -1
BIN=${CARGO_TARGET_DIR:-target}/release

SECRET=bench-app-secret
NUMBERS=$(seq -f '1065403522429%02g' 1 16 | tr '\n' ' ')
REQUESTS=$((SECONDS_PER_RUN * 70000))
if [ ! -s "$OUT/meta-$REQUESTS.txt" ]; then
  echo "== generating $REQUESTS signed webhooks"
  # shellcheck disable=SC2086
  "$BIN/bench-tools" requests "$OUT/meta-$REQUESTS.txt" "$REQUESTS" "$SECRET" $NUMBERS
fi

run_wrk() { # url script [args...] -> the WRKJSON line
  local url=$1 script=$2
  shift 2
  wrk -t$THREADS -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$script" "$url" -- "$@" | grep '^WRKJSON' | sed 's/^WRKJSON //'
}

results=()

# A bench-tools server under wrk: name, the path wrk loads, then the bench-tools subcommand and
# its arguments after the address. `/hello` gets the hello-world's GET, any other path the
# signed webhooks. Redis's CPU is counted too when REDIS_PID is set.
tool_run() {
  local name=$1 path=$2 tool=$3 port pid t0 t1 r0 r1 res us redis_us
  shift 3
  port=$(free_port)
  "$BIN/bench-tools" "$tool" "127.0.0.1:$port" "$@" & pids+=($!)
  pid=$!
  wait_port "$port"
  local url="http://127.0.0.1:$port$path" load=(bench/http/hello.lua)
  [ "$path" = /hello ] || load=(bench/http/responder.lua "$OUT/meta-$REQUESTS.txt" $THREADS)
  run_wrk "$url" "${load[@]}" >/dev/null # warm-up
  t0=$(cpu_ticks $pid)
  r0=$([ -n "${REDIS_PID:-}" ] && cpu_ticks "$REDIS_PID" || echo 0)
  res=$(run_wrk "$url" "${load[@]}")
  t1=$(cpu_ticks $pid)
  r1=$([ -n "${REDIS_PID:-}" ] && cpu_ticks "$REDIS_PID" || echo 0)
  kill $pid
  wait $pid 2>/dev/null || true
  us=$(echo "$res" | python3 -c "import json,sys; r=json.load(sys.stdin); print(round(($t1-$t0)*$tick_us/r['requests'],1))")
  redis_us=$(echo "$res" | python3 -c "import json,sys; r=json.load(sys.stdin); print(round(($r1-$r0)*$tick_us/r['requests'],1))")
  results+=("{\"round\":$round,\"target\":\"$name\",\"wrk\":$res,\"cpu_us\":$us,\"redis_cpu_us\":$redis_us}")
  echo "   $name: $(echo "$res" | rps_of) req/s"
}

# One responder under wrk, then its drain: the target's name, the directory of its build
# (contacto, and perhaps bench-tools and snapshot.json to publish with), then extra env.
responder_run() {
  local name=$1 bins=$2
  shift 2
  local publisher=$BIN/bench-tools snapshot=fixtures/responder/snapshot.json
  [ -x "$bins/bench-tools" ] && publisher=$bins/bench-tools
  [ -f "$bins/snapshot.json" ] && snapshot=$bins/snapshot.json
  local web internal dir
  web=$(free_port)
  internal=$(free_port)
  dir="$work/${name// /-}-$round"
  mkdir -p "$dir"
  local env=(
    "CONTACTO_CONFIG=$dir/contacto.toml"
    "CONTACTO_DATA_DIR=$dir/data"
    "CONTACTO_STORE__KEY_PREFIX=bench"
    "CONTACTO_RESPONDER__LISTEN=127.0.0.1:$web"
    "CONTACTO_RESPONDER__INTERNAL_LISTEN=127.0.0.1:$internal"
    "CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS=$(echo $NUMBERS | tr ' ' ',')"
    "CONTACTO_CHANNELS__META__APP_SECRET=$SECRET"
    "CONTACTO_CHANNELS__META__VERIFY_TOKEN=bench-verify"
    "CONTACTO_CHANNELS__META__ACCESS_TOKEN=bench-token"
    "CONTACTO_CHANNELS__META__GRAPH_BASE_URL=http://127.0.0.1:$graph_port"
    "CONTACTO_CHANNELS__META__MESSAGES_PER_SECOND=1000"
    "CONTACTO_PRIVACY__USER_HASH_KEY=bench-user-hash-key-0123456789"
    "CONTACTO_TELEMETRY__FILTER=warn"
    "$@"
  )
  env "${env[@]}" "$publisher" publish "$snapshot" >/dev/null
  env "${env[@]}" "$bins/contacto" responder 2>"$dir/responder.log" & pids+=($!)
  local pid=$!
  wait_port "$web"
  local before c0 r0 c1 r1 c2 res accepted
  before=$(curl -s "http://127.0.0.1:$graph_port/count")
  c0=$(cpu_ticks $pid)
  r0=$([ -n "${REDIS_PID:-}" ] && cpu_ticks "$REDIS_PID" || echo 0)
  res=$(run_wrk "http://127.0.0.1:$web/webhooks/meta" bench/http/responder.lua "$OUT/meta-$REQUESTS.txt" $THREADS)
  c1=$(cpu_ticks $pid)
  r1=$([ -n "${REDIS_PID:-}" ] && cpu_ticks "$REDIS_PID" || echo 0)
  # Every webhook the responder accepted (wrk does not count the ones in flight at the end,
  # whose connections it closes; the responder handles them to the end, which takes a moment).
  sleep 1
  accepted=$(curl -s "http://127.0.0.1:$internal/metrics" | awk '$1 == "contacto_webhooks_total{channel=\"meta\",outcome=\"handled\"}" {print $2}')
  # Drain: every accepted webhook must get exactly one reply.
  local start=$SECONDS sent=0
  while [ $((SECONDS - start)) -lt 600 ]; do
    sent=$(($(curl -s "http://127.0.0.1:$graph_port/count") - before))
    [ "$sent" -ge "$accepted" ] && break
    sleep 1
  done
  local drain=$((SECONDS - start))
  c2=$(cpu_ticks $pid)
  sleep 2 # time for a duplicate to show up
  sent=$(($(curl -s "http://127.0.0.1:$graph_port/count") - before))
  kill -TERM $pid
  wait $pid || true
  local us send_us redis_us
  us=$(python3 -c "print(round(($c1-$c0)*$tick_us/$accepted,1))")
  send_us=$(python3 -c "print(round(($c2-$c1)*$tick_us/max($sent,1),1))")
  redis_us=$(python3 -c "print(round(($r1-$r0)*$tick_us/$accepted,1))")
  results+=("{\"round\":$round,\"target\":\"contacto responder ($name)\",\"wrk\":$res,\"cpu_us\":$us,\"send_cpu_us\":$send_us,\"redis_cpu_us\":$redis_us,\"accepted\":$accepted,\"replies\":$sent,\"drain_s\":$drain}")
  echo "   $name: $(echo "$res" | rps_of) req/s; $accepted webhooks, $sent replies (drained in ${drain}s)"
}

# The builds measured: NAME=DIR pairs, or this tree's build with no name.
read -r -a builds <<<"${CONTACTO_BINS:-=$BIN}"

graph_port=$(free_port)
"$BIN/bench-tools" graph "127.0.0.1:$graph_port" & pids+=($!)
wait_port "$graph_port"

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec --databases 256 \
  --dir "$work" --logfile "$work/redis.log" & pids+=($!)
redis_pid=$!
wait_port "$redis_port"

for round in $(seq "$ROUNDS"); do
  echo "== round $round of $ROUNDS"
  REDIS_PID=
  tool_run "axum hello-world" /hello hello
  tool_run "verify and read only (no store)" /webhooks/meta verify-parse "$SECRET"
  REDIS_PID=$redis_pid
  tool_run "axum + serde + one Redis GET" /webhooks/meta redis-get "redis://127.0.0.1:$redis_port/0"
  for ((b = 0; b < ${#builds[@]}; b++)); do
    i=$(((b + round - 1) % ${#builds[@]}))
    name=${builds[i]%%=*}
    prefix=${name:+$name }
    REDIS_PID=
    responder_run "${prefix}embedded" "${builds[i]#*=}"
    # A database of its own per round and build, so no message id of an earlier run reads as
    # a retry.
    REDIS_PID=$redis_pid
    responder_run "${prefix}redis" "${builds[i]#*=}" "CONTACTO_REDIS_URL=redis://127.0.0.1:$redis_port/$((round * ${#builds[@]} + i))"
  done
done

printf '%s\n' "${results[@]}" >"$OUT/responder.jsonl"
python3 bench/summary.py "$OUT/responder.jsonl" "$SECONDS_PER_RUN" "$CONNECTIONS" "$ROUNDS"
