#!/usr/bin/env bash
# Writes workshop/src/diffs/<step>.diff: each step's lesson against its predecessor's, as the
# book shows them (scripts/step-diff.sh). `make book` runs it; a test fails when a committed
# diff no longer matches the code, so the book cannot drift from the steps.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p workshop/src/diffs
for step in $(scripts/steps.sh list); do
  pred=$(scripts/steps.sh get "$step" predecessor)
  [ -n "$pred" ] || continue
  scripts/step-diff.sh "$pred" "$step" > "workshop/src/diffs/$step.diff"
done
echo "book-diffs: workshop/src/diffs/ is up to date"
