#!/usr/bin/env bash
# make figures: every profile and timeline the book, the README and the deck show, drawn again
# by the command that makes it — a flamegraph (and its slide version, STEP.slide.svg) by
# `make flamegraph STEP=…`, a differential one by `make diff-flamegraph STEP=…`, a timeline by
# the `make timeline STEP=… …` command its chapter shows the learner — and copied into
# docs/images/. Two steps' timelines on one time axis (A+B.timelines.svg, for the deck) come
# from runs with the same N, S, W and NP: the variables of A's command in its chapter.
# (The diagrams and the benchmark's plots are the Makefile's own rules.)
set -euo pipefail
cd "$(dirname "$0")/.."
make_() { ${MAKE:-make} --no-print-directory "$@"; }
# A step's flamegraph and its slide version come from one `make flamegraph`: marked as drawn.
rm -f profiles/*.svg.done
shown=$(grep -ohE 'images/[a-z0-9_+]+\.(flamegraph|slide|diff|timeline|timelines)\.svg' \
  workshop/src/*.md workshop/slides/deck.md README.md | sort -u)
[ -n "$shown" ] || { echo "figures: no figure is shown anywhere" >&2; exit 1; }
# The `make timeline STEP=… N=…` command a chapter shows for $1 (its name whole: \b keeps
# write_multiprocessing from matching write_multiprocessing_queue), without `make `.
timeline_command() {
  local command
  command=$(grep -ohE "make timeline STEP=$1\b( [A-Z]+=[0-9]+)*" workshop/src/*.md | head -n 1)
  [ -n "$command" ] || { echo "figures: no chapter shows the command that draws $1's timeline" >&2; exit 1; }
  echo "${command#make }"
}
for figure in $shown; do
  file=${figure#images/}
  step=${file%%.*}
  kind=${file#*.}; kind=${kind%.svg}
  case "$kind" in
    flamegraph|slide)
      [ -f "profiles/$step.$kind.svg.done" ] || make_ flamegraph STEP="$step"
      touch "profiles/$step.flamegraph.svg.done" "profiles/$step.slide.svg.done"
      if [ "$kind" = flamegraph ]; then cp "profiles/$step.svg" "docs/images/$file"
      else cp "profiles/$step.slide.svg" "docs/images/$file"; fi ;;
    diff)
      # Both profiles anew: diff-flamegraph reuses folded stacks that are already there.
      pred=$(sed -n "s/^PRED_$step := //p" steps.mk)
      rm -f "profiles/$step.folded" "profiles/$pred.folded"
      make_ diff-flamegraph STEP="$step"
      cp "profiles/$step.diff.svg" "docs/images/$file" ;;
    timeline)
      command=$(timeline_command "$step")
      # shellcheck disable=SC2086
      make_ $command
      cp "profiles/$step.timeline.svg" "docs/images/$file" ;;
    timelines)
      first=${step%%+*}; second=${step#*+}
      command=$(timeline_command "$first")
      vars=${command#timeline STEP=$first}
      for s in "$first" "$second"; do
        # shellcheck disable=SC2086
        make_ timeline STEP="$s" $vars
      done
      "${CARGO_TARGET_DIR:?make figures sets it}/release/timeline" \
        "profiles/$first.trace.json" "docs/images/$file" --title "$first$vars" \
        --also "profiles/$second.trace.json" --also-title "$second$vars" ;;
  esac
  echo "figures: docs/images/$file"
done
rm -f profiles/*.svg.done
