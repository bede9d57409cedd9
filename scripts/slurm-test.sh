#!/usr/bin/env bash
# make slurm-test: a real two-node Slurm on this machine, every job script submitted to it.
#
# munge, slurmctld and two slurmd (nodes n1 and n2) run from a temporary folder (no systemd,
# nothing system-wide touched). Each slurmd runs in a mount namespace of its own with a private
# /tmp, as real nodes have: PMIx keeps per-job folders in /tmp, and two nodes sharing one /tmp
# collide. Everything both nodes need (config, munge socket, outputs) is outside /tmp.
# Each job in slurm/ is submitted with `sbatch --wait`, its exit status and its output checked
# bit for bit; the MPI jobs run again spread over both nodes (one rank each), and the placement
# is checked. The daemons are always stopped again, also when something fails.
#
# What this cannot test: a real network between nodes (both are this machine: Open MPI uses
# shared memory or loopback TCP) and a parallel filesystem (both see this machine's disk).
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

fail() { echo "slurm-test: $*" >&2; exit 1; }

for tool in munged slurmctld slurmd sbatch sinfo unshare; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run 'make setup-slurm' (Debian: slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" -eq 0 ] || fail "bringing up a private Slurm needs root (the daemons run as root here)"
# Every program a job runs (its `step=` line), and the checker; the MPI steps built for MPICH too.
mpi_steps=" $(scripts/steps.sh list --launch mpi | tr '\n' ' ') "
for program in $(sed -n 's|^step=.*/||p' slurm/*.job | tr -d '"' | sort -u) compare deck; do
  [ -x "target/release/$program" ] || fail "target/release/$program is missing: run 'make build' first"
  [ -x "target/mpich/release/$program" ] || [[ $mpi_steps != *" $program "* ]] \
    || fail "target/mpich/release/$program is missing: run scripts/stack-test.sh (make test does) first"
done

# Not under /tmp: each node gets a private /tmp of its own.
T=$(mktemp -d /var/tmp/slurm-test.XXXXXX)
chmod 755 "$T"
stop_daemons() {
  for name in slurmd.n1 slurmd.n2 slurmctld munged; do
    pidfile="$T/$name.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap 'stop_daemons; rm -rf "$T"' EXIT

# munge: a private key (mode 600) and socket folder (mode 755).
mkdir -p "$T/munge" "$T/state" "$T/spool/n1" "$T/spool/n2" "$T/jobs" "$T/tmp_n1" "$T/tmp_n2"
chmod 1777 "$T/tmp_n1" "$T/tmp_n2"
chmod 755 "$T/munge"
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge.key"
munged --force --key-file="$T/munge.key" --socket="$T/munge/munge.socket" \
  --pid-file="$T/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge.seed" \
  || fail "munged did not start: $(tail -n 3 "$T/munged.log" 2>/dev/null)"

host=$(hostname -s)
# Ports nobody uses now, so that two of these tests can run on one machine at once.
read -r ctld_port n1_port n2_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
# Two nodes on this machine, each with (at most) the machine's cores and some of its memory.
cpus=$(slurmd -C | head -n 1 | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
cpus=${cpus:-1}
memory=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) / 4 ))
cat > "$T/slurm.conf" <<CONF
ClusterName=workshop
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
# Job ids of this cluster's own: MPI names its shared-memory segments after the job, and a
# second test cluster on this machine numbering from 1 as well would collide in /dev/shm.
FirstJobId=$((ctld_port * 100))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.%n.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
EnforcePartLimits=ALL
MinJobAge=5
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$n1_port CPUs=$cpus RealMemory=$memory State=UNKNOWN
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$n2_port CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=workshop Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -i || fail "slurmctld did not start: $(tail -n 5 "$T/slurmctld.log" 2>/dev/null)"
# A checkout under /tmp (a CI clone, a learner's) would be hidden by each node's private /tmp:
# it is bound into the node's /tmp at the same path.
inside_tmp=""
case "$root_dir" in /tmp/*) inside_tmp=${root_dir#/tmp/} ;; esac
for n in n1 n2; do
  bind_checkout=true
  if [ -n "$inside_tmp" ]; then
    mkdir -p "$T/tmp_$n/$inside_tmp"
    bind_checkout="mount --bind '$root_dir' '$T/tmp_$n/$inside_tmp'"
  fi
  unshare -m --propagation private sh -c "$bind_checkout && mount --rbind '$T/tmp_$n' /tmp && exec slurmd -N $n" \
    || fail "slurmd $n did not start: $(tail -n 5 "$T/slurmd.$n.log" 2>/dev/null)"
done

for _ in $(seq 1 100); do
  states=$(sinfo -h -N -o %T 2>/dev/null | sort -u | tr '\n' ' ' || true)
  [ "$states" = "idle " ] && [ "$(sinfo -h -N -o %N | wc -l)" -eq 2 ] && break
  sleep 0.2
done
[ "${states:-}" = "idle " ] || fail "the nodes never became idle (states '${states:-none}'): $(tail -n 5 "$T/slurmd.n1.log")"
echo "slurm-test: a two-node Slurm is up (n1, n2: $cpus cores and $memory MB each)"

# The site files the jobs run with, as an instructor would fill them in: this cluster's
# partition and a course reservation (sbatch gets them through scripts/submit.sh), the launcher,
# and for the second one the modules of MPICH and its HDF5 (modulefiles/).
scontrol create reservation ReservationName=course Nodes=ALL StartTime=now Duration=infinite \
  Users=root Flags=IGNORE_JOBS >/dev/null || fail "cannot create the course reservation"
write_site() {  # file launcher modules
  cat > "$1" <<SITE
SITE_ACCOUNT=""
SITE_PARTITION="workshop"
SITE_RESERVATION="course"
SITE_MODULES="$3"
SITE_MODULEPATH="$root_dir/modulefiles/Core"
SITE_LAUNCHER="$2"
SITE_SCRATCH="$T/scratch"
SITE_OUTPUT="$T/output"
SITE
}
write_site "$T/openmpi.env" "srun --mpi=pmix" ""
write_site "$T/mpich.env" "srun --mpi=pmi2" "mpich hdf5"
write_site "$T/mpich-mpiexec.env" "mpiexec" "mpich hdf5"
site=$T/openmpi.env

N=7 S=20
failures=0
check_job() {  # job-script  what-the-summary-must-say  [name  sbatch-options…]
  local job=$1 expect=$2 name=${3:-$1} status=0
  shift 2; [ $# -gt 0 ] && shift
  local out="$T/jobs/$name.out" dir="$T/out/$name"
  SITE=$site N=$N S=$S DIR=$dir timeout -k 5 120 scripts/submit.sh "slurm/$job.job" --wait --quiet \
    --export=ALL --output="$out" "$@" || status=$?
  local summary
  summary=$(grep -E '^write_[a-z_]+: ' "$out" 2>/dev/null | tail -n 1 || true)
  if [ "$status" -ne 0 ]; then
    echo "slurm-test: $job FAILED with status $status:"; sed 's/^/    /' "$out" 2>/dev/null || true
    failures=$((failures + 1)); return
  fi
  # A job cancelled while pending also returns 0: the summary line proves the step ran.
  if [ -z "$summary" ] || ! grep -q -- "$expect" <<<"$summary"; then
    echo "slurm-test: $job ran but its summary lacks '$expect':"; sed 's/^/    /' "$out" 2>/dev/null || true
    failures=$((failures + 1)); return
  fi
  if ! grep -q "partition workshop, reservation course, site $site" "$out"; then
    echo "slurm-test: $name did not run in the site file's partition and reservation:"; sed 's/^/    /' "$out"
    failures=$((failures + 1)); return
  fi
  if ! target/release/compare "$dir" -n "$N" -s "$S"; then
    echo "slurm-test: $name wrote different numbers"; failures=$((failures + 1)); return
  fi
  echo "slurm-test: $name ok — $summary"
  checked=$((checked + 1))
}
# Both ranks of a job spread over the two nodes: the job's first line names both, and the
# placement line of mpi_2nodes.job shows one rank on each.
check_spread() {  # name
  local out="$T/jobs/$1.out"
  if ! grep -q "^job .* on n\[1-2\]: 2 task" "$out"; then
    echo "slurm-test: $1 did not run on both nodes:"; sed 's/^/    /' "$out"; failures=$((failures + 1))
  fi
}
checked=0
check_job serial "files of ${S}×${S}"
check_job multicore "by 2 workers (from SLURM_CPUS_PER_TASK)"
check_job mpi "by 2 ranks"
check_job mpi_hdf5 "by 2 ranks"
check_job mpi_hdf5_collective "by 2 ranks"
check_job mpi_hdf5_production "by 2 ranks"
# The MPI jobs again, one rank per node.
spread=(--nodes=2 --ntasks=2 --ntasks-per-node=1)
check_job mpi "by 2 ranks" mpi-2nodes "${spread[@]}"; check_spread mpi-2nodes
# The book's checkpoint for a job is this job's first line (its test folder shown as …).
first_line=$(head -n 1 "$T/jobs/mpi-2nodes.out" | sed "s|$T|…|g")
if target/release/deck checkpoint job "$first_line"; then
  echo "slurm-test: the book's checkpoint 'job' matches: $first_line"
else
  failures=$((failures + 1))
fi
check_job mpi_hdf5 "by 2 ranks" mpi_hdf5-2nodes "${spread[@]}"; check_spread mpi_hdf5-2nodes
check_job mpi_hdf5_collective "by 2 ranks" mpi_hdf5_collective-2nodes "${spread[@]}"
check_spread mpi_hdf5_collective-2nodes
check_job mpi_hdf5_production "by 2 ranks" mpi_hdf5_production-2nodes "${spread[@]}"
check_spread mpi_hdf5_production-2nodes
check_job mpi_2nodes "by 2 ranks"; check_spread mpi_2nodes
if ! grep -q "rank 0 on node n1" "$T/jobs/mpi_2nodes.out" || ! grep -q "rank 1 on node n2" "$T/jobs/mpi_2nodes.out"; then
  echo "slurm-test: mpi_2nodes.job's ranks were not one per node:"; sed 's/^/    /' "$T/jobs/mpi_2nodes.out"
  failures=$((failures + 1))
fi

# The MPI jobs with MPICH, loaded by the job from the site file's modules, on both nodes.
site=$T/mpich.env
for job in mpi mpi_hdf5 mpi_hdf5_collective mpi_hdf5_production; do
  check_job "$job" "by 2 ranks" "$job-mpich-2nodes" "${spread[@]}"; check_spread "$job-mpich-2nodes"
  grep -q "libmpich" <(ldd "target/mpich/release/$(sed -n 's|^step=.*/||p' "slurm/$job.job" | tr -d '"')") \
    || { echo "slurm-test: $job's MPICH binary does not load MPICH"; failures=$((failures + 1)); }
done
# MPICH's own launcher inside the allocation works too (Debian's Hydra is built with Slurm).
site=$T/mpich-mpiexec.env
check_job mpi_hdf5 "by 2 ranks" mpi_hdf5-mpiexec-2nodes "${spread[@]}"; check_spread mpi_hdf5-mpiexec-2nodes
site=$T/openmpi.env

# A job whose step fails must fail too: an output folder that cannot be created.
touch "$T/not-a-folder"
status=0
SITE=$site DIR=$T/not-a-folder/x timeout -k 5 120 scripts/submit.sh slurm/mpi.job --wait --quiet \
  --export=ALL --output="$T/jobs/failing.out" || status=$?
if [ "$status" -eq 0 ] || ! grep -q "^Error: .*cannot create the folder" "$T/jobs/failing.out"; then
  echo "slurm-test: a failing mpi.job returned status $status:"; sed 's/^/    /' "$T/jobs/failing.out"
  failures=$((failures + 1))
else
  echo "slurm-test: a failing job is reported as failed (status $status) ok"
  checked=$((checked + 1))
fi

# An srun plugin that does not match the MPI: the ranks cannot find each other. Open MPI
# notices by itself and stops in MPI_Init: a failed job and no files. MPICH's ranks each run as
# an MPI of one and write every file themselves: the job succeeds, and its two summaries say
# "by 1 rank" — the symptom docs/troubleshooting.md describes.
mismatched() {  # name site-file
  local status=0 out="$T/jobs/$1.out"
  SITE=$2 DIR=$T/out/$1 timeout -k 5 120 scripts/submit.sh slurm/mpi.job \
    --wait --quiet --export=ALL --output="$out" || status=$?
  echo "$status"
}
write_site "$T/openmpi-none.env" "srun --mpi=none" ""
write_site "$T/mpich-none.env" "srun --mpi=none" "mpich hdf5"
status=$(mismatched openmpi-srun-mpi-none "$T/openmpi-none.env")
out=$T/jobs/openmpi-srun-mpi-none.out
if [ "$status" -ne 0 ] && grep -q 'direct launched using "srun"' "$out" \
   && [ -z "$(ls -A "$T/out/openmpi-srun-mpi-none" 2>/dev/null)" ]; then
  echo "slurm-test: Open MPI under srun --mpi=none is refused ok (status $status, no file)"
  checked=$((checked + 1))
else
  echo "slurm-test: Open MPI under srun --mpi=none was not refused (status $status):"; sed 's/^/    /' "$out"
  failures=$((failures + 1))
fi
status=$(mismatched mpich-srun-mpi-none "$T/mpich-none.env")
out=$T/jobs/mpich-srun-mpi-none.out
if [ "$(grep -c ' by 1 rank' "$out")" -eq 2 ]; then
  echo "slurm-test: MPICH under srun --mpi=none shows its symptom ok (status $status): two summaries 'by 1 rank'"
  checked=$((checked + 1))
else
  echo "slurm-test: MPICH under srun --mpi=none did not show two ranks of one (status $status):"; sed 's/^/    /' "$out"
  failures=$((failures + 1))
fi

echo "slurm-test: $checked passed, $failures failed"
[ "$failures" -eq 0 ]
