#!/usr/bin/env bash
# Where the responder's CPU goes (BENCHMARKS.md, "## Responder", "Profile"): the same load as
# bench/responder.sh (signed Meta text webhooks from wrk, 64 connections, outbox to the fake
# Graph API) on one store, with `perf record -g` on the responder for 8 seconds, or with
# `perf stat` counting the syscalls that cost most (fdatasync, pwrite, writev, futex).
#
# Usage: bench/responder-profile.sh embedded|redis [record|stat]   (default: record)
# Environment: CONNS (wrk connections, default 64), RATE (messages a second per business
# number, default 1000; Meta's default tier is 80).
# Needs wrk, perf (apt-get install wrk linux-perf) and, for redis, redis-server. Builds in
# release with frame pointers into target/profile so the call graphs are whole; the report is
# printed by `perf report -i bench-out/perf-STORE.data --no-children --sort comm,dso`.
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${1:?embedded or redis}
MODE=${2:-record}
. bench/common.sh

echo "== building (release, frame pointers)"
RUSTFLAGS="-C force-frame-pointers=yes" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_TARGET_DIR=target/profile \
  cargo build --release --locked -p contacto -p bench-tools 2>&1 | tail -1
BIN=target/profile/release

SECRET=bench-app-secret
NUMBERS=$(seq -f '1065403522429%02g' 1 16 | tr '\n' ' ')
REQUESTS=$OUT/meta-profile.txt
# shellcheck disable=SC2086
[ -s "$REQUESTS" ] || "$BIN/bench-tools" requests "$REQUESTS" 700000 "$SECRET" $NUMBERS

graph_port=$(free_port)
"$BIN/bench-tools" graph "127.0.0.1:$graph_port" & pids+=($!)
wait_port "$graph_port"
web=$(free_port)
internal=$(free_port)
env=(
  "CONTACTO_CONFIG=$work/contacto.toml" "CONTACTO_DATA_DIR=$work/data" "CONTACTO_STORE__KEY_PREFIX=bench"
  "CONTACTO_RESPONDER__LISTEN=127.0.0.1:$web" "CONTACTO_RESPONDER__INTERNAL_LISTEN=127.0.0.1:$internal"
  "CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS=$(echo $NUMBERS | tr ' ' ',')"
  "CONTACTO_CHANNELS__META__APP_SECRET=$SECRET" "CONTACTO_CHANNELS__META__VERIFY_TOKEN=bench-verify"
  "CONTACTO_CHANNELS__META__ACCESS_TOKEN=bench-token" "CONTACTO_CHANNELS__META__GRAPH_BASE_URL=http://127.0.0.1:$graph_port"
  "CONTACTO_CHANNELS__META__MESSAGES_PER_SECOND=${RATE:-1000}" "CONTACTO_PRIVACY__USER_HASH_KEY=bench-user-hash-key-0123456789"
  "CONTACTO_TELEMETRY__FILTER=warn"
)
if [ "$STORE" = redis ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
    --dir "$work" --logfile "$work/redis.log" & pids+=($!)
  wait_port "$redis_port"
  env+=("CONTACTO_REDIS_URL=redis://127.0.0.1:$redis_port/1")
fi
env "${env[@]}" "$BIN/bench-tools" publish fixtures/responder/snapshot.json >/dev/null
env "${env[@]}" "$BIN/contacto" responder 2>"$work/responder.log" & pids+=($!)
pid=$!
wait_port "$web"
load() { wrk -t2 -c"${CONNS:-64}" -d"$1" --latency -s bench/http/responder.lua "http://127.0.0.1:$web/webhooks/meta" -- "$REQUESTS" 2; }
load 3s >/dev/null # warm-up
case "$MODE" in
  record) perf record -F 2999 -g -p "$pid" -o "$OUT/perf-$STORE.data" -- sleep 8 >/dev/null 2>&1 & probe=$! ;;
  stat) perf stat -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_writev,syscalls:sys_enter_futex \
    -p "$pid" -- sleep 5 2>&1 | grep -E "syscalls|elapsed" & probe=$! ;;
  *) echo "mode: record or stat" >&2; exit 2 ;;
esac
c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
load 8s | grep -E "Requests/sec|^ +99%"
c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
wait "$probe"
echo "responder CPU during the run: $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) )) ms"
if [ "$STORE" = redis ]; then
  echo "Redis commands since start (calls, µs per call):"
  redis-cli -p "$redis_port" info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ {printf "  %-22s %10s %8s\n", substr($1, 9), $3, $7}'
fi
[ "$MODE" = record ] && perf report -i "$OUT/perf-$STORE.data" --no-children --sort comm --stdio 2>/dev/null | grep '%' | grep -v -- '--' | head -5
true
