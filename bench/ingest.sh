#!/usr/bin/env bash
# The ingest benchmark (a benchmark, not a test: keep it out of scripts/test).
#
# In one run, interleaving the commands round by round on the same files, it measures:
#   floor     the inflate-only floor: flate2 with zlib-rs, read and discard (ingest/examples/inflate_floor.rs)
#   contacto  `contacto ingest --once` from the ZIP to published answers (embedded store, fresh each round)
#   unzip     `unzip -p ZIP > /dev/null`
#   polars    Polars on the uncompressed CSV (bench/agg_polars.py), when Python has polars
# and prints the median and best wall time, CPU time (user + system) and peak RSS of each, and
# the wall times as ratios to the floor's (median to median, best to best). Other jobs on the machine slow a command that
# uses both cores more than one that uses one: the CPU times show what each needs.
#
# The synthetic national file comes from `bench-tools covid-csv` (the real 40-column layout and
# value shares; 10 M rows ≈ 1.4 GB of CSV). Polars, for its row, is optional:
#   python3 -m venv /work/venv-bench && /work/venv-bench/bin/pip install polars
#   PYTHON=/work/venv-bench/bin/python bench/ingest.sh --rows 10000000 --rounds 5
# Needs `zip`, `unzip`, `bc` and GNU time (`apt-get install zip unzip bc time`). On a machine shared with
# other jobs, BENCH_NICE=-10 (root) runs every measured command at that priority, the same for all.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

rows=10000000
rounds=5
dir=${BENCH_DIR:-$repo/bench-out/ingest}
python=${PYTHON:-python3}
polars_script=$repo/bench/agg_polars.py
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) echo "usage: bench/ingest.sh [--rows N] [--rounds R] [--dir DIR]" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
release=${CARGO_TARGET_DIR:-$repo/target}/release
csv=$dir/COVID19MEXICO_$rows.csv
zip=$dir/COVID19MEXICO_$rows.zip

echo "== building"
cargo build --release --quiet -p contacto -p bench-tools
cargo build --release --quiet -p ingest --example inflate_floor
if [ ! -f "$csv" ]; then
  echo "== generating $rows rows"
  "$release/bench-tools" covid-csv "$csv" "$rows"
fi
if [ ! -f "$zip" ]; then
  echo "== zip -1"
  (cd "$dir" && zip -1 -q "$(basename "$zip")" "$(basename "$csv")")
fi

contacto=$release/contacto
floor=$release/examples/inflate_floor
have_polars=no
if [ -f "$polars_script" ] && "$python" -c "import polars" 2>/dev/null; then have_polars=yes; fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Warm the page cache so that every command reads from memory.
cat "$zip" "$csv" > /dev/null

results=$dir/results.tsv
: > "$results"
measure() { # name command...
  local name=$1 out
  shift
  out=$(mktemp)
  nice -n "${BENCH_NICE:-0}" /usr/bin/time -f "%e %M %U %S" -o "$out" "$@" > "$dir/$name.out" 2>&1
  read -r seconds kb user sys < "$out"
  rm -f "$out"
  cpu=$(echo "$user + $sys" | bc)
  printf '%s\t%s\t%s\t%s\n' "$name" "$seconds" "$kb" "$cpu" >> "$results"
  printf '  %-9s %6.2f s  %7d KiB  cpu %5.2f s\n' "$name" "$seconds" "$kb" "$cpu"
}

for round in $(seq "$rounds"); do
  echo "== round $round/$rounds"
  measure floor "$floor" "$zip"
  rm -rf "$dir/data"
  measure contacto env RUST_LOG=warn CONTACTO_CONFIG="$repo/contacto.toml" CONTACTO_DATA_DIR="$dir/data" \
    CONTACTO_SOURCES__COVID__URL="file://$zip" "$contacto" ingest --once
  measure unzip sh -c "unzip -p '$zip' > /dev/null"
  if [ "$have_polars" = yes ]; then measure polars "$python" "$polars_script" "$csv"; fi
done

echo
echo "contacto: $(head -1 "$dir/contacto.out")"
[ "$have_polars" = yes ] && echo "polars:   $(cat "$dir/polars.out")"
echo
echo "Priority: nice ${BENCH_NICE:-0}; load before the run: $load_before"
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB;" \
  "$rows rows, CSV $(stat -L -c %s "$csv") bytes, ZIP $(stat -L -c %s "$zip") bytes; medians of $rounds rounds."
echo
"$python" - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, seconds, kb, cpu = line.split("\t")
    runs[name].append((float(seconds), int(kb), float(cpu)))
floor = statistics.median(r[0] for r in runs["floor"])
floor_best = min(r[0] for r in runs["floor"])
print("| command | median wall s | × floor | best wall s | best × best floor | median CPU s | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name in ["floor", "contacto", "unzip", "polars"]:
    if name in runs:
        med = statistics.median(r[0] for r in runs[name])
        best = min(r[0] for r in runs[name])
        cpu = statistics.median(r[2] for r in runs[name])
        rss = max(r[1] for r in runs[name]) / 1024
        print(f"| {name} | {med:.2f} | {med / floor:.2f} | {best:.2f} | {best / floor_best:.2f} | {cpu:.2f} | {rss:.1f} |")
PY
