# Sourced by the benchmark scripts: a work directory and child processes cleaned up on exit,
# free loopback ports, and waiting for a port to open.
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

# The environment of a `contacto` process in the press-conference drill and the fault drills
# (one VAR=value a line): a configuration file and data directory of its own under DIR,
# loopback ports, one Meta business number (PHONE_NUMBER_ID, paced at RATE messages a second)
# answering through the Graph API stand-in at GRAPH_URL, and the bench secrets. Read it with
# `mapfile -t env < <(contacto_env …)` and add what the run needs (the Redis URL).
BENCH_APP_SECRET=bench-app-secret
BENCH_PHONE_NUMBER_ID=106540352242922
contacto_env() { # DIR WEB_PORT INTERNAL_PORT GRAPH_URL RATE
  mkdir -p "$1"
  printf '%s\n' \
    "CONTACTO_CONFIG=$1/contacto.toml" \
    "CONTACTO_DATA_DIR=$1/data" \
    "CONTACTO_STORE__KEY_PREFIX=bench" \
    "CONTACTO_RESPONDER__LISTEN=127.0.0.1:$2" \
    "CONTACTO_RESPONDER__INTERNAL_LISTEN=127.0.0.1:$3" \
    "CONTACTO_CHANNELS__META__PHONE_NUMBER_IDS=$BENCH_PHONE_NUMBER_ID" \
    "CONTACTO_CHANNELS__META__APP_SECRET=$BENCH_APP_SECRET" \
    "CONTACTO_CHANNELS__META__VERIFY_TOKEN=bench-verify" \
    "CONTACTO_CHANNELS__META__ACCESS_TOKEN=bench-token" \
    "CONTACTO_CHANNELS__META__GRAPH_BASE_URL=$4" \
    "CONTACTO_CHANNELS__META__MESSAGES_PER_SECOND=$5" \
    "CONTACTO_PRIVACY__USER_HASH_KEY=bench-user-hash-key-0123456789" \
    "CONTACTO_TELEMETRY__FILTER=warn"
}

# A throwaway redis-server on a free port under DIR (AOF as given, `always` by default); sets
# REDIS_PORT and REDIS_PID. Called again with the same DIR and REDIS_PORT, it restarts it on
# what it saved.
start_redis() { # DIR [APPENDFSYNC]
  mkdir -p "$1"
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync "${2:-always}" \
    --dir "$1" --logfile "$1/redis.log" & pids+=($!)
  REDIS_PID=$!
  wait_port "$REDIS_PORT"
}

# The CPU time of a process so far, in clock ticks, and its peak resident set in KiB.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
