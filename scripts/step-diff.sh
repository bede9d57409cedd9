#!/usr/bin/env bash
# step-diff.sh PRED STEP: STEP's main.rs against PRED's, as a learner reads it — the
# `// ANCHOR` markers that the book uses to include pieces of code are left out. A Python step
# (its crate is a library, src/lib.rs) shows first its script against its numpy twin — the one
# import that changes — then its Rust module against PRED's main.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
pred=$1 step=$2
strip() { grep -v -E '^\s*(//|#) ANCHOR(_END)?: ' "$1" || true; }
rust="crates/$step/src/main.rs"
if [ ! -f "$rust" ] && [ -f "crates/$step/src/lib.rs" ]; then
  rust="crates/$step/src/lib.rs"
  diff -u --label "crates/$step/python/$pred.py" --label "crates/$step/python/$step.py" \
    <(strip "crates/$step/python/$pred.py") <(strip "crates/$step/python/$step.py") || true
fi
diff -u --label "crates/$pred/src/main.rs" --label "$rust" \
  <(strip "crates/$pred/src/main.rs") <(strip "$rust") || true
