#!/usr/bin/env bash
# launch.sh NP PROGRAM [ARGS…]: PROGRAM on NP MPI ranks, started as `make <step>` starts an MPI
# step — by the launch program (crates/tools/src/bin/launch.rs), which passes Ctrl-C to the
# ranks and ends the whole job on a timeout. For scripts and tests that hold a program's path
# rather than a step's name; the launch program must be built (make build).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: launch.sh NP PROGRAM [ARGS…]" >&2; exit 2; }
np=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$(cd "$root" && scripts/mpi-stack.sh target-dir)}
# A relative target folder is the repository's (the Makefile exports `target`), wherever the
# caller stands (a test runs in its crate's folder).
case $target in /*) ;; *) target=$root/$target ;; esac
[ -x "$target/release/launch" ] || { echo "launch.sh: $target/release/launch is not built: run make build" >&2; exit 1; }
exec "$target/release/launch" --ranks "$np" "$@"
