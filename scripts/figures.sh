#!/usr/bin/env bash
# make figures: every profile and timeline the book, the README and the deck show, drawn again
# by the command that makes it — a flamegraph by `make flamegraph STEP=…`, a differential one by
# `make diff-flamegraph STEP=…`, a timeline by the `make timeline STEP=… …` command its chapter
# shows the learner — and copied into docs/images/. (The diagrams and the benchmark's plots are
# the Makefile's own rules.)
set -euo pipefail
cd "$(dirname "$0")/.."
make_() { ${MAKE:-make} --no-print-directory "$@"; }
shown=$(grep -ohE 'images/[a-z0-9_]+\.(flamegraph|diff|timeline)\.svg' \
  workshop/src/*.md workshop/slides/deck.md README.md | sort -u)
[ -n "$shown" ] || { echo "figures: no figure is shown anywhere" >&2; exit 1; }
for figure in $shown; do
  file=${figure#images/}
  step=${file%%.*}
  kind=${file#*.}; kind=${kind%.svg}
  case "$kind" in
    flamegraph)
      make_ flamegraph STEP="$step"
      cp "profiles/$step.svg" "docs/images/$file" ;;
    diff)
      # Both profiles anew: diff-flamegraph reuses folded stacks that are already there.
      pred=$(sed -n "s/^PRED_$step := //p" steps.mk)
      rm -f "profiles/$step.folded" "profiles/$pred.folded"
      make_ diff-flamegraph STEP="$step"
      cp "profiles/$step.diff.svg" "docs/images/$file" ;;
    timeline)
      command=$(grep -ohE "make timeline STEP=$step( [A-Z]+=[0-9]+)*" workshop/src/*.md | head -n 1)
      [ -n "$command" ] || { echo "figures: no chapter shows the command that draws $figure" >&2; exit 1; }
      # shellcheck disable=SC2086
      make_ ${command#make }
      cp "profiles/$step.timeline.svg" "docs/images/$file" ;;
  esac
  echo "figures: docs/images/$file"
done
