#!/usr/bin/env bash
# Writes workshop/src/diffs/<step>.diff: each step's main.rs against its predecessor's, as the
# book shows them (without the ANCHOR markers). `make book` runs it; a test fails when a
# committed diff no longer matches the code, so the book cannot drift from the steps.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p workshop/src/diffs
grep -E '^PRED_[a-z0-9_]+ := ' steps.mk | while read -r var _ pred; do
  step=${var#PRED_}
  scripts/step-diff.sh "$pred" "$step" > "workshop/src/diffs/$step.diff"
done
echo "book-diffs: workshop/src/diffs/ is up to date"
