#!/usr/bin/env bash
# steps.sh ARGS…: the step table's own command line (crates/steps/src/bin/steps.rs), built the
# first time it is asked (in a second: the crate has no dependencies). Scripts ask it for the
# steps instead of reading steps.mk, which the same table generates for the Makefile:
#   scripts/steps.sh list --needs mpi        the steps that need MPI, one a line
#   scripts/steps.sh get write_mpi predecessor
#   scripts/steps.sh diff write_mpi write_mpi_scatter
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${CARGO:-cargo}" run --quiet --release -p steps -- "$@"
