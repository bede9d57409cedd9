#!/usr/bin/env bash
# with-modules.sh "MODULES" COMMAND…: run COMMAND with the project's Lmod modulefiles loaded
# (modulefiles/, e.g. "mpich hdf5"), as a learner on a cluster runs make after `module load`.
# `make slurm-test` builds the MPICH binaries its jobs need this way.
set -euo pipefail
cd "$(dirname "$0")/.."
lmod_init=/usr/share/lmod/lmod/init/bash
[ -f "$lmod_init" ] || { echo "with-modules: Lmod is missing: run 'make setup-stacks' (Debian: lmod)" >&2; exit 1; }
modules=$1
shift
# shellcheck disable=SC1090
source "$lmod_init"
module use "$PWD/modulefiles/Core"
module purge
# shellcheck disable=SC2086
module load $modules
exec "$@"
