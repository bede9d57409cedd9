#!/usr/bin/env bash
# The MPI steps on each MPI stack of this machine, selected the way a centre selects them: Lmod,
# the project's modulefiles (modulefiles/), `module load <mpi> hdf5`, then the usual make.
# For each stack: every MPI step is built into that MPI's target folder (scripts/mpi-stack.sh),
# loads only that MPI's libraries and the HDF5 built for it (checked with ldd), and writes the
# contract's bits under that MPI's own launcher on 1 to 4 ranks. Part of `make test`; it also
# checks that installing MPICH left `mpicc` and `mpirun` Open MPI's.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "stack-test: $*" >&2; exit 1; }

lmod_init=/usr/share/lmod/lmod/init/bash
[ -f "$lmod_init" ] || fail "Lmod is missing: run 'make setup-stacks' (Debian: lmod)"
command -v mpicc.mpich >/dev/null || fail "MPICH is missing: run 'make setup-stacks'"
# Debian's alternatives: the plain names stay Open MPI's when MPICH is installed beside it.
for tool in mpicc mpirun; do
  real=$(readlink -f "$(command -v "$tool")")
  case "$real" in
    *openmpi*|*opal_wrapper*|*orterun*) ;;
    *) fail "installing MPICH changed '$tool' to $real (update-alternatives --display mpi)" ;;
  esac
done
echo "stack-test: mpicc and mpirun are still Open MPI's"

# shellcheck disable=SC1090
source "$lmod_init"
module use "$PWD/modulefiles/Core"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# Four ranks on a machine of fewer cores: Open MPI wants to be told (MPICH allows it anyway).
export OMPI_MCA_rmaps_base_oversubscribe=1
mpi_steps=$(scripts/steps.sh list --launch mpi)
hdf5_steps=" $(scripts/steps.sh list --needs parallel-hdf5 | tr '\n' ' ') "
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# check_libraries <bin> <step> <mpi library> <HDF5 library> <a library that must not load>
check_libraries() {
  local libs
  libs=$(ldd "$1/$2")
  grep -q "$3" <<<"$libs" || fail "$2 does not load $3:\n$libs"
  if [[ $hdf5_steps == *" $2 "* ]]; then
    grep -q "$4" <<<"$libs" || fail "$2 does not load $4:\n$libs"
  fi
  if grep -q "$5" <<<"$libs"; then fail "$2 loads $5, another stack's library:\n$libs"; fi
}

# stack <modules> <mpi library> <its HDF5> <forbidden>
stack() {
  module purge
  # shellcheck disable=SC2086
  module load $1
  local bin
  bin=$(scripts/mpi-stack.sh target-dir)/release
  echo "stack-test: module load $1 — $(scripts/mpi-stack.sh flavour), building into ${bin%/release}"
  make --no-print-directory build-mpi >"$T/build.log" 2>&1 || { tail -n 30 "$T/build.log"; fail "make build-mpi failed with $1"; }
  for step in $mpi_steps; do
    check_libraries "$bin" "$step" "$2" "$3" "$4"
    for np in 1 2 3 4; do
      dir="$T/$step-$np"
      timeout -k 5 120 mpiexec -n "$np" "$bin/$step" -n 7 -s 33 --dir "$dir" >"$T/run.log" 2>&1 \
        || { cat "$T/run.log"; fail "$step on $np ranks failed with $1"; }
      grep -q "by $np rank" "$T/run.log" || { cat "$T/run.log"; fail "$step -n $np did not run on $np ranks with $1"; }
      "$bin/compare" "$dir" -n 7 -s 33 >/dev/null || fail "$step on $np ranks wrote other numbers with $1"
    done
  done
  echo "stack-test: $1: every MPI step loads $2 (and $3), writes the contract's bits on 1-4 ranks"
}

stack "mpich hdf5" libmpich.so libhdf5_mpich.so "libmpi.so.40"
stack "openmpi hdf5" libmpi.so.40 libhdf5_openmpi.so "libmpich.so"
