#!/usr/bin/env bash
# offline-test.sh [CLONE]: the day before and the day itself, as an instructor meets them.
#
# A fresh clone, in a folder whose path holds a space, is prepared with `make prepare` (online;
# its time is printed; the dependencies' builds are copied in from this checkout first, unless
# OFFLINE_TEST_COLD=1). Then the session's commands run with the network cut — in a network
# namespace of their own with loopback alone (`unshare -n`), where every download fails at
# once, as in a room without Wi-Fi: `make workshop`, a step of each kind (serial, threads, MPI,
# HDF5, parallel HDF5, Python), a timeline, a diff, a profile, the slides and the book, the
# step table's files, preflight, an exercise made, hinted, solved, verified and listed. Each
# must succeed and compile nothing but the learner's own exercise: no unit in cargo's target
# folders may change but the exercise's (cargo's fingerprints say which were built). Part of
# make test; needs root (a network namespace).
#
# With CLONE, a clone that an earlier run prepared is used again (then its prepare is no
# longer cold, and its time says little).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "offline-test: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "cutting the network (unshare -n) needs root (make test runs as root)"
for tool in unshare ip; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian: util-linux, iproute2)"
done

# This checkout's builds, which seed the clone's (below).
seed=${CARGO_TARGET_DIR:-target}
# The clone is a learner's or an instructor's: no variable of an outer make or of a developer's
# target folder reaches it.
unset CARGO_TARGET_DIR TARGET_DIR_CHOSEN_BY_MAKE MAKEFLAGS MAKELEVEL MFLAGS RUST_BACKTRACE
clone=${1:-}
if [ -z "$clone" ]; then
  base=$(mktemp -d "${TMPDIR:-/tmp}/hpc room.XXXXXX")
  trap 'rm -rf "$base"' EXIT
  clone="$base/workshop"
  git clone --quiet "$PWD" "$clone"
  # Seeded with this checkout's compiled dependencies and its mdBook (OFFLINE_TEST_COLD=1: not),
  # so that the prepare compiles the workspace's own crates, whose fresh clone is newer than any
  # build, and not every dependency again: the cold prepare's time is measured in docs/setup.md.
  # The virtual environment is not copied: it holds its own path.
  if [ -z "${OFFLINE_TEST_COLD:-}" ]; then
    for dir in release maturin; do
      if [ -d "$seed/$dir" ]; then mkdir -p "$clone/target" && cp -a "$seed/$dir" "$clone/target/"; fi
    done
    if [ -x .tools/bin/mdbook ]; then mkdir -p "$clone/.tools/bin" && cp -a .tools/bin/mdbook "$clone/.tools/bin/"; fi
  fi
  start=$(date +%s)
  timeout -k 10 7200 make -C "$clone" --no-print-directory prepare > "$base/prepare.log" 2>&1 \
    || { tail -n 40 "$base/prepare.log"; fail "make prepare failed in a fresh clone (its log's end is above)"; }
  how=", its dependencies' builds copied from this checkout"
  [ -z "${OFFLINE_TEST_COLD:-}" ] || how=", cold"
  echo "offline-test: make prepare in a fresh clone ($clone$how): $(( $(date +%s) - start )) s, on $(nproc) cores"
fi
[ -f "$clone/Makefile" ] || fail "$clone is not a clone of the workshop"
log=$(mktemp)
stamp=$(mktemp)
trap 'rm -f "$log" "$stamp"; [ -z "${base:-}" ] || rm -rf "$base"' EXIT

# The units cargo built since the stamp, in every target folder of the clone: a unit's
# fingerprint folder is written when it is built, and holds a file named after its target
# (`bin-my_write_vectorized_binary` for the learner's exercise, whose crates are my_*).
built_since() {
  find "$clone/target" -path '*/.fingerprint/*' -newer "$stamp" -type f -printf '%h\n' 2>/dev/null \
    | sort -u | while read -r unit; do
        compgen -G "$unit/bin-my_*" >/dev/null || compgen -G "$unit/lib-my_*" >/dev/null \
          || basename "$unit"
      done
}

failures=0
# offline COMMAND…: COMMAND in the clone with the network cut; its status, time and what it
# compiled (apart from the exercise) are checked.
offline() {
  local status=0 started compiled
  touch "$stamp"; sleep 1  # fingerprints are compared by modification time
  started=$(date +%s.%N)
  # shellcheck disable=SC2016 # the inner shell expands its own arguments
  timeout -k 10 1200 unshare -n bash -c 'ip link set lo up && cd "$1" && shift && exec "$@"' \
    offline "$clone" "$@" > "$log" 2>&1 || status=$?
  local seconds
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  compiled=$(built_since | tr '\n' ' ')
  if [ "$status" -ne 0 ]; then
    echo "offline-test: $* FAILED with status $status after $seconds s:"; tail -n 25 "$log" | sed 's/^/    /'
    failures=$((failures + 1))
  elif [ -n "$compiled" ]; then
    echo "offline-test: $* compiled in the room ($seconds s): ${compiled% }"
    { grep -E '^ *Compiling' "$log" || true; } | head -n 5 | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "offline-test: $* ok offline in $seconds s, nothing compiled — $(grep -vE '^ *(Finished|Compiling|Running)|^make' "$log" | tail -n 1 | cut -c1-100)"
  fi
}

offline make workshop N=20 S=20
offline make write N=5 S=10
offline make write_multiprocessing_queue N=5 S=10 W=2
offline make write_mpi_scatter N=5 S=10 NP=2
offline make write_hdf5 N=5 S=10
offline make write_final N=5 S=10 NP=3
offline make write_python N=5 S=10
offline make timeline STEP=write_rayon N=20 W=2
offline make diff STEP=write_mpi_scatter
offline make flamegraph STEP=write_vectorized_binary
offline make slides
offline make book
offline make steps
offline make preflight
offline make help
# The learner's exercise: made, solved with the step's own code, graded. Its own crate is the
# one thing allowed to compile.
ex=write_vectorized_binary
rm -rf "$clone/exercises"
offline make exercise STEP=$ex
cp "$clone/crates/$ex/src/main.rs" "$clone/exercises/$ex/src/main.rs"
offline make hint STEP=$ex
offline make verify STEP=$ex
offline make exercises
# After a verify, the steps still need nothing compiled.
offline make $ex N=5 S=10

echo "offline-test: $failures failed"
[ "$failures" -eq 0 ]
