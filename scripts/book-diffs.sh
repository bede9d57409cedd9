#!/usr/bin/env bash
# Writes workshop/src/diffs/<step>.diff: each step's main.rs against its predecessor's, as the
# book shows them. `make book` runs it; a test fails when a committed diff no longer matches
# the code, so the book cannot drift from the steps.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p workshop/src/diffs
grep -E '^PRED_[a-z0-9_]+ := ' Makefile | while read -r var _ pred; do
  step=${var#PRED_}
  diff -u --label "crates/$pred/src/main.rs" --label "crates/$step/src/main.rs" \
    "crates/$pred/src/main.rs" "crates/$step/src/main.rs" > "workshop/src/diffs/$step.diff" || true
done
echo "book-diffs: workshop/src/diffs/ is up to date"
