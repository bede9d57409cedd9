#!/usr/bin/env bash
# Part of make test, after the deck's browser test (which installs playwright-core): the room
# at a glance, end to end, as an instructor and a learner use it.
#
#   1. `make room` starts the server and prints its two lines;
#   2. the instructor's page open in Chromium while real `make verify`s run with ROOM set, the
#      unsolved exercise (failing) and then the step's own code (passing): the page shows the
#      grid and the causes as they arrive (crates/room/tests/page.mjs);
#   3. the server stopped: `make verify` ends within a second of its time without ROOM (the
#      quickest of three runs each, on an exercise that fails to build), and queues the result;
#   4. the server started again on the same database: the next verify (ROOM in a site file now)
#      sends what waited, and `make room-export` writes it into the CSV.
#
# First the server's own tests and lints: it is a feature of its own (`--features server`, in a
# target folder of its own), which the project's one build, tests and clippy leave out so that
# no learner compiles it.
#
# The exercise is made anew with RESET=1 (a learner's own copy goes to exercises/.backup/), and
# exercises/.room/ (the learner's pseudonym and queue) is set aside and put back at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "room-test: $*" >&2; exit 1; }
# The server's own target folder, as `make room` builds it (room.mk).
server_target="${CARGO_TARGET_DIR:-target}/room"
cargo clippy --release --quiet -p room --features server --target-dir "$server_target" --all-targets --no-deps -- -D warnings
# `room-test.sh build` compiles what the test runs and stops: make test runs it beside the
# workspace's tests.
if [ "${1:-}" = build ]; then
  cargo test --release --quiet -p room --features server --target-dir "$server_target" --no-run
  cargo build --release --quiet -p room --features server --target-dir "$server_target" --bin room
  exit 0
fi
step=write_vectorized_binary
work=$(mktemp -d)
server=""
stop_server() {
  if [ -n "$server" ]; then kill -TERM -- "-$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
}
restore() {
  stop_server
  rm -rf exercises/.room
  if [ -d "$work/learner-room" ]; then mv "$work/learner-room" exercises/.room; fi
  rm -rf "$work"
}
trap restore EXIT
[ -d exercises/.room ] && mv exercises/.room "$work/learner-room"

cargo test --release --quiet -p room --features server --target-dir "$server_target"

# The server in a process group of its own (setsid), so that stopping it stops make and the
# server below it, and nothing else. Its first two lines are read as they come.
start_server() {
  : > "$work/room.out"
  setsid make --no-print-directory room ROOM_PORT="$1" ROOM_HOST=127.0.0.1 ROOM_DB="$work/room.sqlite" \
    > "$work/room.out" 2> "$work/room.err" &
  server=$!
  for _ in $(seq 1 600); do
    [ "$(wc -l < "$work/room.out")" -ge 2 ] && return 0
    kill -0 "$server" 2>/dev/null || { cat "$work/room.err" >&2; fail "make room stopped before printing its two lines"; }
    sleep 0.5
  done
  fail "make room printed no two lines in 5 minutes"
}
start_server 0
learners=$(sed -n '1s/^learners: ROOM=//p' "$work/room.out")
instructor=$(sed -n '2s/^instructor: //p' "$work/room.out")
[[ "$learners" =~ ^http://127\.0\.0\.1:[0-9]+/r/[0-9a-f]+$ ]] || fail "first line is not the learners' address: $(sed -n 1p "$work/room.out")"
[[ "$instructor" =~ ^http://127\.0\.0\.1:[0-9]+/i/[0-9a-f]+$ ]] || fail "second line is not the instructor's address: $(sed -n 2p "$work/room.out")"
port=$(sed -E 's|^http://[^:]+:([0-9]+)/.*|\1|' <<<"$learners")
echo "room-test: make room printed the learners' and the instructor's lines (port $port)"

make --no-print-directory exercise STEP=$step RESET=1 >/dev/null
ROOM="$learners" timeout -k 5 900 node crates/room/tests/page.mjs "$instructor" $step "$work/shots" \
  || fail "the instructor's page did not show the verdicts (above)"
mkdir -p target/room-test && cp "$work"/shots/*.png target/room-test/
echo "room-test: the page showed the failing and the passing verdict live (pictures in target/room-test/)"

# Stopped: the time verify takes with ROOM against its time without. An exercise that fails to
# build is graded in a couple of seconds, so the room's share is what the comparison sees.
stop_server
printf '\nfn broken( {\n' >> exercises/$step/src/main.rs
quickest() { sort -n | head -n 1; }
timed() {
  local start end
  start=$(date +%s.%N)
  make --no-print-directory verify STEP=$step ROOM="$1" > "$work/verify.log" 2>&1 || true
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f\n", b - a }' 
}
: > "$work/without"; : > "$work/with"
for _ in 1 2 3; do
  timed "" >> "$work/without"
  timed "$learners" >> "$work/with"
done
grep -q "^room: the room did not answer" "$work/verify.log" || { cat "$work/verify.log" >&2; fail "verify said nothing of the room out of reach"; }
without=$(quickest < "$work/without"); with=$(quickest < "$work/with")
echo "room-test: make verify with the room stopped: ${with} s; without ROOM: ${without} s (quickest of 3 each)"
awk -v a="$with" -v b="$without" 'BEGIN { exit !(a - b < 1) }' || fail "the stopped room made verify slower by more than a second"
waiting=$(ls exercises/.room/queue | wc -l)
[ "$waiting" -ge 1 ] || fail "no result waits in exercises/.room/queue"

# Back on the same port and database: the next verify, with ROOM given once in a site file this
# time, sends what waited.
start_server "$port"
cp site/default.env "$work/site.env"
echo "ROOM=\"$learners\"" >> "$work/site.env"
SITE="$work/site.env" make --no-print-directory verify STEP=$step > "$work/verify.log" 2>&1 || true
grep -q "^room: [0-9]* results\? sent as " "$work/verify.log" || { cat "$work/verify.log" >&2; fail "the queued results were not sent"; }
[ -z "$(ls exercises/.room/queue)" ] || fail "results still wait after the room came back"
make --no-print-directory room-export ROOM_DB="$work/room.sqlite" ROOM_CSV="$work/room.csv"
builds=$(grep -c '"failed","builds","build_failed"' "$work/room.csv" || true)
[ "$builds" -ge 4 ] || fail "room-export holds $builds of the 4 build failures sent: $(cat "$work/room.csv")"
echo "room-test: after the room came back, the $waiting waiting results were sent; room-export wrote $(($(wc -l < "$work/room.csv") - 1)) results"
cp crates/$step/src/main.rs exercises/$step/src/main.rs
