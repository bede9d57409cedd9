#!/usr/bin/env bash
# Part of make test: the Slurm test twice at once on this machine — once from this checkout and
# once from a copy of it under /tmp, where each test node's private /tmp would hide a checkout
# that is not bound into it (as a CI clone or a learner's clone in /tmp is). Each test cluster
# picks free ports and job ids of its own, so the two must not disturb each other.
set -euo pipefail
cd "$(dirname "$0")/.."
copy=$(mktemp -d /tmp/slurm-test-copy.XXXXXX)
trap 'rm -rf "$copy"' EXIT
# The tracked files as they are now, and the binaries the jobs run (not the whole build).
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$copy"
programs=$(sed -n 's|^step=.*/||p' slurm/*.job | tr -d '"' | sort -u)
for dir in target/release target/mpich/release; do
  mkdir -p "$copy/$dir"
  for program in $programs compare deck; do
    [ -x "$dir/$program" ] && cp "$dir/$program" "$copy/$dir/"
  done
done
"$copy/scripts/slurm-test.sh" > "$copy/slurm-test.log" 2>&1 &
copy_pid=$!
status=0
scripts/slurm-test.sh || status=$?
copy_status=0
wait "$copy_pid" || copy_status=$?
sed 's/^/[copy under \/tmp] /' "$copy/slurm-test.log"
[ "$status" -eq 0 ] || { echo "slurm-test-twice: the test from $PWD failed" >&2; exit 1; }
[ "$copy_status" -eq 0 ] || { echo "slurm-test-twice: the test from $copy failed" >&2; exit 1; }
echo "slurm-test-twice: both passed, at once, from $PWD and from a copy under /tmp"
