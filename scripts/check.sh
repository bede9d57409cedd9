#!/usr/bin/env bash
# make check: the fast check for a learner or contributor — formatting, lints, unit and
# end-to-end tests of whatever this machine has installed. No root, no Slurm, minutes.
# (make test is what CI runs: it installs everything and runs everything.)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
# The crates that need nothing but Rust: the shared ones and the steps steps.mk lists as
# RUST_ONLY_STEPS (generated from the step table).
rust_only=(-p steps -p gridgen -p viz)
for step in $(sed -n 's/^RUST_ONLY_STEPS := //p' steps.mk); do rust_only+=(-p "$step"); done

$CARGO fmt --all --check
# HPC_CHECK=rust-only checks as on a machine without MPI and HDF5, whatever this one has.
if [ "${HPC_CHECK:-}" != rust-only ] && pkg-config --exists hdf5 2>/dev/null \
   && command -v mpicc >/dev/null 2>&1 && [ -x /usr/bin/python3 ]; then
  echo "check: MPI and HDF5 found: every crate"
  $CARGO clippy --workspace --all-targets -- -D warnings
  $CARGO build --release --workspace
  # Tests that must mount a tmpfs say so and are skipped when this user is not root.
  if [ "$(id -u)" -ne 0 ]; then export HPC_TESTS_WITHOUT_ROOT=skip; fi
  $CARGO test --release --workspace
else
  echo "check: no MPI/HDF5 here (make setup says how to get them): the Rust-only steps and gridgen"
  $CARGO clippy "${rust_only[@]}" --all-targets -- -D warnings
  $CARGO build --release "${rust_only[@]}"
  $CARGO test --release "${rust_only[@]}"
fi
