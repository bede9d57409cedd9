#!/usr/bin/env bash
# make submit JOB=<name>: sbatch slurm/<name>.job with the site's account, partition and
# reservation (from the site file, as SBATCH_ACCOUNT, SBATCH_PARTITION, SBATCH_RESERVATION;
# options given after the job script still win). Usage: scripts/submit.sh slurm/mpi.job [sbatch options]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/site.sh
. scripts/site.sh
[ $# -ge 1 ] || { echo "usage: $0 slurm/<job>.job [sbatch options…]" >&2; exit 2; }
job=$1; shift
jobs=(slurm/*.job)
[ -f "$job" ] || { echo "submit: no job script $job (one of: ${jobs[*]})" >&2; exit 2; }
[ -n "$SITE_ACCOUNT" ] && export SBATCH_ACCOUNT="$SITE_ACCOUNT"
[ -n "$SITE_PARTITION" ] && export SBATCH_PARTITION="$SITE_PARTITION"
[ -n "$SITE_RESERVATION" ] && export SBATCH_RESERVATION="$SITE_RESERVATION"
export SITE
exec sbatch "$@" "$job"
