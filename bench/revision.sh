#!/usr/bin/env bash
# Builds one revision's `contacto` and `bench-tools` (release) into DIR, with the snapshot
# fixture it publishes, for `CONTACTO_BINS="NAME=DIR ..." bench/responder.sh` to compare
# builds in one run. The revision is checked out in a temporary git worktree (DIR/src),
# removed afterwards. Set CARGO_TARGET_DIR to one directory for every revision so they share
# their dependencies' builds (it defaults to DIR/target, which is then removed too).
#
# Usage: bench/revision.sh REV DIR
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?a revision} dir=${2:?a directory for the build}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
target=${CARGO_TARGET_DIR:-$dir/target}
git worktree add --detach "$dir/src" "$rev" >/dev/null
trap 'git worktree remove --force "$dir/src"; [ -n "${CARGO_TARGET_DIR:-}" ] || rm -rf "$target"' EXIT
(cd "$dir/src" && CARGO_TARGET_DIR=$target cargo build --release --locked -p contacto -p bench-tools 2>&1 | tail -1)
cp "$target/release/contacto" "$target/release/bench-tools" "$dir/"
cp "$dir/src/fixtures/responder/snapshot.json" "$dir/snapshot.json"
echo "$(git rev-parse --short "$rev") built into $dir"
