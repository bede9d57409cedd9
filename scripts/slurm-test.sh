#!/usr/bin/env bash
# make slurm-test: a real one-node Slurm on this machine, every job script submitted to it.
#
# munge, slurmctld and slurmd run from a temporary folder (no systemd, nothing system-wide
# touched); each job in slurm/ is submitted with `sbatch --wait`, its exit status and its output
# checked bit for bit; the daemons are always stopped again, also when something fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

fail() { echo "slurm-test: $*" >&2; exit 1; }

for tool in munged slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run 'make setup-slurm' (Debian: slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" -eq 0 ] || fail "bringing up a private Slurm needs root (the daemons run as root here)"
for step in write_vectorized_binary write_multiprocessing_queue write_mpi_scatter write_final compare; do
  [ -x "target/release/$step" ] || fail "target/release/$step is missing: run 'make build' first"
done

T=$(mktemp -d /tmp/slurm-test.XXXXXX)
chmod 755 "$T"
stop_daemons() {
  for name in slurmd slurmctld munged; do
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
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/jobs"
chmod 755 "$T/munge"
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 600 "$T/munge.key"
munged --force --key-file="$T/munge.key" --socket="$T/munge/munge.socket" \
  --pid-file="$T/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munge.seed" \
  || fail "munged did not start: $(tail -n 3 "$T/munged.log" 2>/dev/null)"

host=$(hostname -s)
node=$(slurmd -C | head -n 1)
cat > "$T/slurm.conf" <<CONF
ClusterName=workshop
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
EnforcePartLimits=ALL
MinJobAge=5
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=workshop Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -i || fail "slurmctld did not start: $(tail -n 5 "$T/slurmctld.log" 2>/dev/null)"
slurmd || fail "slurmd did not start: $(tail -n 5 "$T/slurmd.log" 2>/dev/null)"

for _ in $(seq 1 100); do
  state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "${state:-}" = idle ] || fail "the node never became idle (state '${state:-none}'): $(tail -n 5 "$T/slurmd.log")"
echo "slurm-test: a one-node Slurm is up ($node)"

N=7 S=20
failures=0
check_job() {  # job-script  what-the-summary-must-say
  local job=$1 expect=$2 out="$T/jobs/$1.out" dir="$T/out/$1" status=0
  N=$N S=$S DIR=$dir timeout -k 5 120 sbatch --wait --quiet --export=ALL --output="$out" "slurm/$job.job" || status=$?
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
  if ! target/release/compare "$dir" -n "$N" -s "$S"; then
    echo "slurm-test: $job wrote different numbers"; failures=$((failures + 1)); return
  fi
  echo "slurm-test: $job ok — $summary"
}
check_job serial "files of ${S}×${S}"
check_job multicore "by 2 workers (from SLURM_CPUS_PER_TASK)"
check_job mpi "by 2 ranks"
check_job mpi_hdf5 "by 2 ranks"

# A job whose step fails must fail too: an output folder that cannot be created.
touch "$T/not-a-folder"
status=0
DIR=$T/not-a-folder/x timeout -k 5 120 sbatch --wait --quiet --export=ALL --output="$T/jobs/failing.out" slurm/mpi.job || status=$?
if [ "$status" -eq 0 ] || ! grep -q "cannot create output folder" "$T/jobs/failing.out"; then
  echo "slurm-test: a failing mpi.job returned status $status:"; sed 's/^/    /' "$T/jobs/failing.out"
  failures=$((failures + 1))
else
  echo "slurm-test: a failing job is reported as failed (status $status) ok"
fi

passed=$((5 - failures))
echo "slurm-test: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
