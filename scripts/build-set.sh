#!/usr/bin/env bash
# build-set.sh: what this machine builds of the project, as cargo's arguments — the whole
# workspace, less the crates whose system libraries are missing here:
#   scripts/build-set.sh              --workspace [--exclude CRATE]… [--no-default-features]
#   scripts/build-set.sh has NEEDS    exit 0 when this machine has what NEEDS names:
#                                     rust, hdf5, mpi, parallel-hdf5 or python
# Every build of the project selects these packages (the Makefile, the tools, the grader, the
# checks): cargo chooses a dependency's features from the packages one command builds, so two
# commands that select differently compile the same crates twice, each with its own features
# (crates/tools/src/build.rs). HPC_CHECK=rust-only answers as a machine without MPI and HDF5
# would (a laptop, a lab machine); HPC_BUILD_WITHOUT="mpi hdf5 python" (any of them) as one
# without those.
set -euo pipefail
cd "$(dirname "$0")/.."

without=" ${HPC_BUILD_WITHOUT:-} "
[ "${HPC_CHECK:-}" = rust-only ] && without="$without mpi hdf5 "

# The HDF5 that hdf5-metno would find: HDF5_DIR (a module or the Makefile sets it), else
# pkg-config's. Its H5pubconf.h says whether it is built with MPI.
hdf5_config() {
  local dirs="" dir
  if [ -n "${HDF5_DIR:-}" ]; then
    dirs=$HDF5_DIR/include
  elif command -v pkg-config >/dev/null 2>&1 && pkg-config --exists hdf5 2>/dev/null; then
    dirs=$(pkg-config --cflags-only-I hdf5 | sed 's/-I//g')
  fi
  for dir in $dirs; do
    [ -f "$dir/H5pubconf.h" ] && { echo "$dir/H5pubconf.h"; return 0; }
  done
  return 1
}

has() {
  case "$without" in *" $1 "*) return 1 ;; esac
  case "$1" in
    rust) command -v "${CARGO:-cargo}" >/dev/null 2>&1 ;;
    mpi)
      [ "$(scripts/mpi-stack.sh flavour)" != none ] && command -v "${MPICC:-mpicc}" >/dev/null 2>&1 ;;
    hdf5) hdf5_config >/dev/null ;;
    parallel-hdf5)
      has mpi && has hdf5 && grep -qs 'H5_HAVE_PARALLEL 1' "$(hdf5_config)" ;;
    python) "${PYTHON3:-/usr/bin/python3}" -c 'import numpy, venv' >/dev/null 2>&1 ;;
    *) echo "build-set: no such need '$1' (rust, hdf5, mpi, parallel-hdf5, python)" >&2; exit 2 ;;
  esac
}

if [ "${1:-}" = has ]; then
  [ $# -eq 2 ] || { echo "usage: $0 [has NEEDS]" >&2; exit 2; }
  has "$2"
  exit
fi
[ $# -eq 0 ] || { echo "usage: $0 [has NEEDS]" >&2; exit 2; }

# The crates beside the steps that link a system library: the MPI helpers and the benchmark
# (its launch floor is an MPI program) need MPI; the tools and the grader read HDF5 files
# back by default (their `hdf5` feature), and the benchmark needs that too.
args=(--workspace)
exclude() { for crate in "$@"; do args+=(--exclude "$crate"); done; }
steps_needing() { scripts/steps.sh list --needs "$1"; }
if ! has mpi; then
  # shellcheck disable=SC2046 # one step name a line
  exclude gridgen-mpi bench $(steps_needing mpi) $(steps_needing parallel-hdf5)
elif ! has parallel-hdf5; then
  # shellcheck disable=SC2046
  exclude $(steps_needing parallel-hdf5)
fi
if ! has hdf5; then
  # shellcheck disable=SC2046
  exclude $(steps_needing hdf5)
  has mpi && exclude bench
  args+=(--no-default-features)
fi
# shellcheck disable=SC2046
has python || exclude $(steps_needing python)
echo "${args[@]}"
