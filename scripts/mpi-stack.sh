#!/usr/bin/env bash
# Which MPI the environment provides, and where a build against it goes. One binary links one
# MPI, and rsmpi's build script does not notice when the MPI changes, so each MPI gets a target
# folder of its own: Open MPI (and a machine without MPI) the usual `target`, any other MPI
# `target/<flavour>`. The Makefile and the job scripts both ask this script.
#   scripts/mpi-stack.sh flavour      openmpi | mpich | other | none
#   scripts/mpi-stack.sh target-dir   target | target/mpich | target/other
set -euo pipefail
flavour() {
  command -v mpirun >/dev/null 2>&1 || { echo none; return; }
  local version
  version=$(mpirun --version 2>&1 || true)
  case "$version" in
    *"Open MPI"*|*OpenRTE*) echo openmpi ;;
    *HYDRA*) echo mpich ;;
    *) echo other ;;
  esac
}
case "${1:-}" in
  flavour) flavour ;;
  target-dir)
    f=$(flavour)
    case "$f" in openmpi|none) echo target ;; *) echo "target/$f" ;; esac ;;
  *) echo "usage: $0 flavour|target-dir" >&2; exit 2 ;;
esac
