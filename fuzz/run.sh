#!/usr/bin/env bash
# Builds and runs every fuzz target (or the TARGETs named) until it has made 10 million
# executions or SECONDS_PER_TARGET have passed (default 1800: the campaign the reliability note
# asks for, whichever comes first), one after the other, then minimises each corpus and prints
# a table of executions, time and findings per target.
#
#   fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo +nightly install cargo-fuzz --locked`).
# Corpora live in fuzz/corpus/TARGET/ and are committed (the stable test
# `fuzz-entries/tests/replay.rs` replays them in the normal test command); a crash is left in
# fuzz/artifacts/TARGET/ — fix it, then copy the file into the target's corpus as a
# regression. Logs: fuzz/logs/TARGET.log. Everything runs under `nice -n 19`.
#
# No sanitizer (`-s none`): the code is safe Rust, so AddressSanitizer would only slow the
# search; overflow checks and debug assertions are on (`-a`). Each input is capped in size
# (`-max_len`) and each run in memory (`-rss_limit_mb=2048`) and time per input (`-timeout`),
# so an unbounded allocation or a hang is a finding, not a stalled machine.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-1800}
shift || true
runs=10000000
fuzz=(nice -n 19 cargo +nightly fuzz)

# The maintainer files and the national file need room for a real file; the rest are messages.
max_len() {
  case $1 in
    covid_rows | maintainer_files) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

"${fuzz[@]}" build -s none -a
mkdir -p logs
rows=()
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("${fuzz[@]}" list)
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  log="logs/$target.log"
  started=$SECONDS
  limits=(-rss_limit_mb=2048 -max_len="$(max_len "$target")" -timeout=10)
  if "${fuzz[@]}" run -s none -a "$target" "corpus/$target" -- \
    -runs="$runs" -max_total_time="$seconds" -print_final_stats=1 "${limits[@]}" >"$log" 2>&1; then
    findings=none
  else
    findings="$(ls "artifacts/$target" | tr '\n' ' ')(see $log)"
  fi
  elapsed=$((SECONDS - started))
  executions=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
  # Keep only the inputs that add coverage, so the committed corpus stays small.
  "${fuzz[@]}" cmin -s none -a "$target" "corpus/$target" -- "${limits[@]}" >>"$log" 2>&1 || true
  rows+=("$(printf '| %-16s | %12s | %7s s | %s |' "$target" "${executions:-?}" "$elapsed" "$findings")")
done

printf '\n| %-16s | %12s | %9s | %s |\n' target executions time findings
printf '|%s|%s|%s|%s|\n' ------------------ -------------- ----------- ----------
printf '%s\n' "${rows[@]}"
