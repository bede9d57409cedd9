#!/usr/bin/env bash
# Part of make test, after `make slides slides-pdf book`: the deck, the diagrams and the book
# opened in Debian's Chromium (workshop/slides/test/browser.mjs says what is checked), and the
# PDF checked to hold one page a slide and no text under 20 px on any page — in a figure, a
# plot's legend or a code block too (`deck pdf-text`, from pdftotext's word boxes). A picture
# of every slide goes to workshop/slides/build/shots/ for a person to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "browser-test: $*" >&2; exit 1; }
build=workshop/slides/build
[ -f "$build/index.html" ] && [ -f "$build/deck.pdf" ] || fail "run 'make slides-pdf' first"
[ -f workshop/book/index.html ] || fail "run 'make book' first"
command -v pdfinfo >/dev/null || fail "pdfinfo is missing: run 'make setup' (Debian: poppler-utils)"
rm -rf "$build/shots"
timeout -k 5 300 node workshop/slides/test/browser.mjs "$build/index.html" docs/images/diagrams workshop/book "$build/shots"
slides=$(ls "$build/shots" | wc -l)
pages=$(pdfinfo "$build/deck.pdf" | sed -n 's/^Pages: *//p')
[ "$pages" = "$slides" ] || fail "$build/deck.pdf has $pages pages for $slides slides"
echo "browser-test: $build/deck.pdf has one page a slide ($pages)"
"${CARGO_TARGET_DIR:-target}/release/deck" pdf-text "$build/deck.pdf" || fail "text too small to read from the back of the room"
