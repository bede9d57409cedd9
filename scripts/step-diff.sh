#!/usr/bin/env bash
# step-diff.sh PRED STEP: STEP's main.rs against PRED's, as a learner reads it — the
# `// ANCHOR` markers that the book uses to include pieces of code are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
pred=$1 step=$2
strip() { grep -v -E '^\s*// ANCHOR(_END)?: ' "$1" || true; }
diff -u --label "crates/$pred/src/main.rs" --label "crates/$step/src/main.rs" \
  <(strip "crates/$pred/src/main.rs") <(strip "crates/$step/src/main.rs") || true
