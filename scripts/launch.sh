#!/usr/bin/env bash
# launch.sh NP PROGRAM [ARGS…]: start an MPI step on NP ranks, as `make <step>` does.
#
# mpirun runs in a session of its own, so that Ctrl-C in the terminal reaches this script alone:
# it passes SIGINT (and SIGTERM, SIGHUP) to the ranks themselves, which remove their unfinished
# files, say "stopped by SIGINT" and exit — and so does this script, with 130 (128 + 2), as a
# shell reports a program stopped by Ctrl-C. (mpirun itself would turn Ctrl-C into SIGTERM for
# the ranks and exit with 1.) MPIRUN_FLAGS are passed to mpirun.
set -u
[ $# -ge 2 ] || { echo "usage: launch.sh NP PROGRAM [ARGS…]" >&2; exit 2; }
np=$1; shift
oversubscribe=()
[ "$np" -gt "$(nproc 2>/dev/null || echo 1)" ] && oversubscribe=(--oversubscribe)
# shellcheck disable=SC2086 # MPIRUN_FLAGS is a list of words
setsid mpirun -np "$np" "${oversubscribe[@]}" ${MPIRUN_FLAGS:-} "$@" &
mpirun_pid=$!
stopped_by=""
pass_on() {
  stopped_by=$1
  # The ranks are mpirun's children here (and orted's on other nodes, which mpirun tells).
  pkill "-$1" -P "$mpirun_pid" 2>/dev/null || kill "-$1" "$mpirun_pid" 2>/dev/null || true
}
trap 'pass_on INT' INT
trap 'pass_on TERM' TERM
trap 'pass_on HUP' HUP
status=0
while :; do
  wait "$mpirun_pid"; status=$?
  kill -0 "$mpirun_pid" 2>/dev/null || break   # a trapped signal ended the wait, not mpirun
done
case $stopped_by in
  INT) exit 130 ;;
  TERM) exit 143 ;;
  HUP) exit 129 ;;
esac
exit "$status"
