#!/usr/bin/env bash
# step-diff.sh PRED STEP: STEP's lesson against PRED's, as a learner reads it (`make diff`).
# The step table's command line does it (`steps diff`, crates/steps/src/source.rs: which files,
# and the ANCHOR markers left out), so that the book's diffs and `make diff` are one thing.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PRED STEP" >&2; exit 2; }
exec "$(dirname "$0")/steps.sh" diff "$1" "$2"
