#!/usr/bin/env bash
# make check: the fast check for a learner or contributor — formatting, lints, unit and
# end-to-end tests of whatever this machine has installed. No root, no Slurm, minutes.
# (make test is what CI runs: it installs everything and runs everything.)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
# What this machine builds: the workspace less what lacks MPI, HDF5 or Python here
# (HPC_CHECK=rust-only: as a machine without MPI and HDF5), the one build every make target runs.
read -r -a set <<<"$(scripts/build-set.sh)"

$CARGO fmt --all --check
echo "check: cargo build ${set[*]}"
$CARGO clippy "${set[@]}" --all-targets -- -D warnings
$CARGO build --release "${set[@]}"
if [[ " ${set[*]} " != *" --exclude "* ]]; then
  echo "check: MPI, HDF5 and Python found: every crate's tests"
  # Tests that must mount a tmpfs say so and are skipped when this user is not root.
  if [ "$(id -u)" -ne 0 ]; then export HPC_TESTS_WITHOUT_ROOT=skip; fi
  $CARGO test --release "${set[@]}"
else
  # The end-to-end tests (crates/tools, the grader) run every kind of step: here, the tests of
  # the table, the shared crates, the drawings and the steps that need Rust alone.
  echo "check: not everything builds here (make setup says how to get it): the Rust-only crates' tests"
  tested=(-p steps -p gridgen -p gridgen-contract -p viz)
  for step in $(scripts/steps.sh list --needs rust); do tested+=(-p "$step"); done
  $CARGO test --release "${tested[@]}"
fi
