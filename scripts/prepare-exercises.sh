#!/usr/bin/env bash
# prepare-exercises.sh: part of `make prepare`. Every exercise is made in a scratch folder and
# built the way `make verify` builds one (crates/tools/src/build.rs, `exercise`: cargo build
# --release -p NAME in the exercises' own workspace, into the project's target folder). The
# exercises' dependencies are then built before the room, with the features each exercise
# selects, and a learner's first `make verify` compiles their own crate alone.
#
# The scratch folder stands for exercises/: to cargo, neither is the folder of the crates it
# depends on (crates/gridgen…), so it names them by their full path from either, and builds
# them once for both. Needs the project built (the grader makes the exercises).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:?make prepare sets it}/release
fail() { echo "prepare-exercises: $*" >&2; exit 1; }
[ -x "$bin/exercise" ] || fail "$bin/exercise is not built: make build first"
target=$(cd "$CARGO_TARGET_DIR" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/prepare-exercises.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# What an exercise links beside Rust, from its manifest, against what this machine builds.
needs_missing() {  # manifest
  local dep need
  for dep in mpi:mpi hdf5:hdf5 pyo3:python; do
    need=${dep#*:}
    if grep -qE "^${dep%%:*}(\.workspace| *=)" "$1" && ! scripts/build-set.sh has "$need"; then
      echo "$need"; return 0
    fi
  done
  return 1
}

names=$("$bin/exercise" --exercises "$scratch" list | awk '{print $1}')
[ -n "$names" ] || fail "the grader lists no exercise"
built=0
for name in $names; do
  "$bin/exercise" --exercises "$scratch" new "$name" >/dev/null \
    || fail "cannot make the exercise $name"
  if missing=$(needs_missing "$scratch/$name/Cargo.toml"); then
    echo "prepare-exercises: $name needs $missing, which this machine lacks: not built"
    continue
  fi
  # Its todo!()s leave warnings that no one here reads: cargo's words are shown on a failure.
  (cd "$scratch" && "${CARGO:-cargo}" build --release --quiet -p "$name" --target-dir "$target") \
    >"$scratch/build.log" 2>&1 \
    || { tail -n 30 "$scratch/build.log"; fail "the exercise $name, as made, does not build"; }
  built=$((built + 1))
done
echo "prepare-exercises: $built exercises built once; their dependencies are in $CARGO_TARGET_DIR"
