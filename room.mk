# The room at a glance (crates/room), included by the Makefile. `make room`, on the
# instructor's laptop or a login node, starts a small server and prints two lines: the
# learners' ROOM=… and the instructor's page. A learner who sets ROOM (on the make command line,
# or once in the site file) sends each `make verify`'s verdict there: a pseudonym, the exercise,
# the verdict, the cause's kind, the speed ratio and the time; never code.

# The room's address: the command line, the environment, or the site file's ROOM=…. An empty
# ROOM in the environment counts as none: an outer make (make test) exports its own.
room_from_site = $(shell . scripts/site.sh >/dev/null 2>&1 && echo "$$ROOM")
ifeq ($(origin ROOM),undefined)
  ROOM := $(room_from_site)
else ifeq ($(origin ROOM)$(strip $(ROOM)),environment)
  ROOM := $(room_from_site)
endif
# The learner's pseudonym: kept in exercises/.room/ once given; a random one until then.
ROOM_NAME ?=
# The client reads both from its environment (no quoting of a URL on a shell line).
export ROOM ROOM_NAME

# The server's settings: its database (results, code, token and clock, kept across restarts),
# its port, the host name learners reach it by (default: this machine's address), the plan.
ROOM_DB ?= $(OUT)/room/room.sqlite
ROOM_PORT ?= 8737
ROOM_HOST ?=
ROOM_PLAN ?= three-hours
ROOM_CSV ?= $(OUT)/room/room.csv

.PHONY: room room-export room-load

# The server is the crate's `server` feature, built into a target folder of its own: only the
# instructor's machine compiles it (a few minutes the first time), and building it never
# changes what the project's one build (`built`) has built. Learners need only the client,
# room-send, which that one build makes.
ROOM_TARGET = $(CARGO_TARGET_DIR)/room
ROOM_SERVER = $(CARGO) build --release --quiet -p room --features server --target-dir '$(ROOM_TARGET)'

room: ## Start the room's server; it prints the learners' ROOM=… and the instructor's page  (ROOM_PORT, ROOM_HOST, ROOM_DB, ROOM_PLAN=day)
	@$(ROOM_SERVER) --bin room
	@'$(ROOM_TARGET)/release/room' serve --db "$(ROOM_DB)" --port $(ROOM_PORT) $(if $(ROOM_HOST),--host $(ROOM_HOST)) --plan $(ROOM_PLAN)

room-export: ## Every result the room received, as CSV: room/room.csv in the output folder (ROOM_CSV=…)
	@$(ROOM_SERVER) --bin room
	@'$(ROOM_TARGET)/release/room' export --db "$(ROOM_DB)" --out "$(ROOM_CSV)"

room-load: ## 60 simulated learners posting every 2 s for 10 minutes to a real server (killed and restarted halfway): crates/room/load.md
	$(ROOM_SERVER)
	'$(ROOM_TARGET)/release/room-load' --learners 60 --every 2 --seconds 600 --kill-after 300 --report crates/room/load.md

# What `make verify` runs after the grader (its `built` made the client): the client's exit
# code is ignored, the grader's stands, and a client that is missing costs nothing but the room.
room_send = $(if $(ROOM),{ test ! -x '$(BIN)/room-send' || '$(BIN)/room-send' $(STEP) || true; },:)
