# HPC with Rust — every workshop command is a target here. `make help` lists them.

N ?= 100
S ?= 100
W ?= 2
NP ?= 2
# The step a target works on (make diff STEP=…): no default, so that a typo is never a silent
# run of another step.
STEP ?=
CARGO ?= cargo
PYTHON3 ?= /usr/bin/python3

# --- The command line, checked before anything runs -------------------------------------------
# N, S, W and NP are whole numbers from 1 up; OUT (and any folder given) holds nothing a shell
# would read as more than a name (; | & < > $ quotes \ * ? a tab or a newline; spaces are
# fine); STEP and JOB are plain names. Anything else is refused here in one line, with exit
# code 2, before anything is built or started. Values are read as they were typed
# ($(value …)), so that make runs nothing written in them either.
empty :=
space := $(empty) $(empty)
tab := $(empty)	$(empty)
define newline


endef
digits := 0 1 2 3 4 5 6 7 8 9
name_chars := a b c d e f g h i j k l m n o p q r s t u v w x y z \
              A B C D E F G H I J K L M N O P Q R S T U V W X Y Z $(digits) _
# $(call without,TEXT,CHARS): TEXT with each of the characters CHARS removed.
without = $(if $(2),$(call without,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
# TEXT with its blanks made visible to the functions above, which split words at blanks.
visible = $(subst $(newline),~,$(subst $(tab),~,$(subst $(space),~,$(1))))
is_count = $(if $(call without,$(call visible,$(1)),$(digits)),,$(if $(subst 0,,$(1)),yes))
is_name = $(if $(call without,$(call visible,$(1)),$(name_chars)),,yes)
quote := '
dquote := "
backquote := `
dollar := $$
backslash := $(strip \ )
unsafe_chars := ; & | < > * ? $(quote) $(dquote) $(backquote) $(dollar) $(backslash)
unsafe = $(strip $(foreach c,$(unsafe_chars),$(findstring $(c),$(1))) \
  $(if $(findstring $(newline),$(1)),a newline) $(if $(findstring $(tab),$(1)),a tab))
# How a refused value is shown: on one line, and where it came from if not the command line.
shown = $(1)='$(subst $(newline),\n,$(value $(1)))'$(if $(filter environment%,$(origin $(1))), (from the environment))
$(foreach v,N S W NP,$(if $(call is_count,$(value $(v))),,\
  $(error $(call shown,$(v)): give a whole number from 1 up)))
$(foreach v,STEP JOB,$(if $(call is_name,$(value $(v))),,\
  $(error $(call shown,$(v)): give a name of letters, digits and _ (make help lists them))))
$(foreach v,OUT BASELINE CARGO_TARGET_DIR,$(if $(call unsafe,$(value $(v))),\
  $(error $(call shown,$(v)) holds $(call unsafe,$(value $(v))), which a folder's name here may not)))
$(if $(filter-out predecessor,$(FROM)),$(error $(call shown,FROM): the only start is FROM=predecessor))

# One binary links one MPI: a build against the MPI the environment provides (a loaded module, a
# Spack view, the system's) goes to that MPI's own target folder — `target` for Open MPI,
# `target/mpich` for MPICH — because rsmpi's build script does not notice a change of MPI.
MPI_FLAVOUR := $(shell scripts/mpi-stack.sh flavour)
TARGET_DIR := $(shell scripts/mpi-stack.sh target-dir)
# Your own CARGO_TARGET_DIR wins. One that an outer make chose (and passed down in the
# environment) does not: it was chosen for the MPI loaded then, and a script in between may
# have loaded another (scripts/stack-test.sh does).
ifeq ($(origin CARGO_TARGET_DIR),undefined)
  export CARGO_TARGET_DIR := $(TARGET_DIR)
  export TARGET_DIR_CHOSEN_BY_MAKE := $(TARGET_DIR)
else ifeq ($(CARGO_TARGET_DIR),$(TARGET_DIR_CHOSEN_BY_MAKE))
  export CARGO_TARGET_DIR := $(TARGET_DIR)
  export TARGET_DIR_CHOSEN_BY_MAKE := $(TARGET_DIR)
endif
BIN := $(CARGO_TARGET_DIR)/release

# The steps: their lists, predecessors (PRED_<step>) and documented targets, generated from the
# step table (crates/steps) by `make steps`.
include steps.mk
# The room at a glance: make room, and what make verify sends it when ROOM is set.
include room.mk

# Debian installs each MPI's parallel HDF5 in a folder of its own: point hdf5-metno at the one
# of the MPI in use, unless HDF5_DIR is set already (an HDF5 module sets it; hdf5-metno then
# looks nowhere else).
DEBIAN_HDF5 := /usr/lib/$(shell gcc -dumpmachine 2>/dev/null)/hdf5/$(MPI_FLAVOUR)
ifeq ($(origin HDF5_DIR),undefined)
  ifneq ($(wildcard $(DEBIAN_HDF5)/include),)
    export HDF5_DIR := $(DEBIAN_HDF5)
  endif
endif

# Open MPI refuses to start as root unless told it may (containers and CI run as root).
ifeq ($(shell id -u),0)
  export OMPI_ALLOW_RUN_AS_ROOT := 1
  export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
endif
# Extra mpirun options, passed on by the launcher. On one machine, MPIRUN_FLAGS="--mca pml ob1
# --mca btl self,vader" skips probing for cluster networks and cuts MPI's start-up by about
# 0.2 s (see docs/troubleshooting.md).
MPIRUN_FLAGS ?=
export MPIRUN_FLAGS

# Where make targets write: the site file's SITE_OUTPUT (output/ on a laptop; scratch on a
# cluster, see site/), or OUT=<folder> on the command line.
OUT ?= $(shell . scripts/site.sh >/dev/null 2>&1 && echo "$$SITE_OUTPUT")
override OUT := $(or $(OUT),output)
$(if $(call unsafe,$(OUT)),$(error the site file's SITE_OUTPUT='$(OUT)' holds $(call unsafe,$(OUT)), which a folder's name here may not))

# The one build (crates/tools/src/build.rs says why): every target that runs a program of the
# project runs it first, and it takes a second when nothing changed. The packages are the
# workspace less what this machine cannot build (scripts/build-set.sh), asked once, and only
# when a target needs them: after `make setup` has installed what was missing.
BUILD_SET = $(eval BUILD_SET := $$(shell CARGO='$(CARGO)' CARGO_TARGET_DIR='$(CARGO_TARGET_DIR)' \
  HDF5_DIR='$(HDF5_DIR)' PYTHON3='$(PYTHON3)' scripts/build-set.sh))$(BUILD_SET)
BUILD = $(CARGO) build --release $(BUILD_SET)

# How a step is started (crates/tools/src/launch.rs): a thread step with -w W, an MPI step under
# mpirun -np NP (quiet; --oversubscribe past the cores), the Python step as its script in the
# virtual environment its module is built into. Ctrl-C or a timeout ends all of it, mpirun's
# ranks included, with 130 or 143 as a shell reports a stopped program (crates/tools/src/job.rs).
run_step = '$(BIN)/launch' --ranks $(NP) --workers $(W)$(if $(filter $(1),$(PYTHON_STEPS)), --python '$(VENV)/bin/python') $(1)

# The Python step's virtual environment, in the target folder: the system's Python and its numpy
# (nothing is installed into the system), maturin from PyPI, pinned; made once, by make prepare,
# so that the room needs no network. maturin builds the module into a target folder of its own:
# it builds the crate alone, and sets variables that PyO3's build script reads, so that in the
# shared folder each maturin run and each project build would compile PyO3 and what uses it anew.
VENV := $(CARGO_TARGET_DIR)/python-venv
MATURIN_TARGET := $(CARGO_TARGET_DIR)/maturin
MATURIN_VERSION := 1.16.0

# The tools of the book and the deck, built into the checkout. Named here, above every rule: a
# rule's prerequisites are read as make reads the rule.
MDBOOK := .tools/bin/mdbook
MDBOOK_VERSION := 0.5.4
SLIDES := workshop/slides

.DEFAULT_GOAL := help
# Profiling workloads: enough samples to trust (the kernel takes about 250 a second from each busy
# thread) from PROFILE_RUNS runs of few files each, drawn as one flamegraph, so that what is on
# the disk at once stays small: one run's files, 10 files of 1000×1000 values (250 MB of text
# at 25 bytes a value) or 30 (240 MB of .npy or HDF5 at 8), removed at the end.
PROFILE_RUNS := 10
PROFILE_ARGS_TEXT := -n 10 -s 1000
PROFILE_ARGS_DEFAULT := -n 30 -s 1000
profile_args = $(if $(filter $(1),$(TEXT_STEPS)),$(PROFILE_ARGS_TEXT),$(PROFILE_ARGS_DEFAULT))

.PHONY: setup-browser bench-text submit test-installed test-cargo test-beside setup-stacks build-mpi exercise verify hint exercises need-exercise help setup setup-slurm build built preflight check test slurm-test workshop bench bench-quick diff clean $(STEPS) steps need-step \
        flamegraph flamegraphs diff-flamegraph timeline book native-build slides slides-pdf checkpoints diagrams figures prepare python-venv python-module exercises-built

help: ## List the targets
	@echo "HPC with Rust — make targets (variables: N=$(N) files, S=$(S) grid size, W=$(W) workers, NP=$(NP) ranks, STEP=$(STEP))"
	@grep -hE '^[a-zA-Z0-9_ -]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-26s %s\n", $$1, $$2}'

setup: ## Install the system packages the workshop needs (or say how), quick when all is there
	@scripts/setup.sh

setup-stacks: ## Install a second MPI stack (MPICH and its parallel HDF5) and Lmod, to test the modulefiles
	@scripts/setup.sh --stacks

setup-slurm: ## Install a Slurm (daemons, client, munge) to test the job scripts against
	@scripts/setup.sh --slurm

setup-browser: ## Install Chromium, pdfinfo and the deck's fonts: the deck's PDF and its browser test
	@scripts/setup.sh --browser

build: setup built ## Build every step and tool this machine can build (release), the one way every target builds

built:
	@$(BUILD)

prepare: build python-module exercises-built $(MDBOOK) $(SLIDES)/node_modules/.installed ## The day before (needs the network): build everything a session uses, so that nothing compiles in the room and nothing is downloaded
	@echo "prepare: the steps, the tools, the exercises' dependencies, the Python step's environment, mdBook and Marp are built; the room needs no network"

exercises-built: built
	@scripts/prepare-exercises.sh

build-mpi: setup ## Build the MPI steps on a second MPI stack (module load mpich hdf5): the one build, into that MPI's target folder
	@$(BUILD)

workshop: build ## Run every step in order, check they agree bit for bit, print the speed table
	'$(BIN)/workshop' -n $(N) -s $(S) --workers $(W) --ranks $(NP) --dir '$(OUT)/workshop'

bench: build $(if $(NATIVE),native-build) ## Time every step and regenerate docs/benchmarks.md and its plots (NATIVE=1: also the steps built for this CPU; BASELINE=DIR: also the steps of another build, before and after)
	'$(BIN)/bench' --scratch '$(OUT)/bench' $(if $(NATIVE),--native '$(NATIVE_BIN)') $(foreach b,$(BASELINE),--baseline '$(b)')

# The learner's experiment: the field and formatter steps compiled for this machine's CPU, in a
# target folder of their own (the portable build stays as it is).
NATIVE ?=
NATIVE_BIN := target/native/release
native-build: ## Build the field and formatter steps (NATIVE_STEPS) with -C target-cpu=native into target/native
	RUSTFLAGS="-C target-cpu=native" $(CARGO) build --release --target-dir target/native \
	  $(addprefix -p ,$(NATIVE_STEPS))

# In-process timings with divan, built in a target folder of their own: a build of one crate
# with its benchmarks selects other features than the project's one build.
bench-text: ## The text step's pieces (field, formatter) and .npy writers, in one process with divan
	$(CARGO) bench -p gridgen-contract --bench text --bench npy --target-dir '$(CARGO_TARGET_DIR)/divan'

bench-quick: build ## The benchmark machinery on small sizes (a minute), into OUT/bench-quick/
	'$(BIN)/bench' --quick --report '$(OUT)/bench-quick/benchmarks.md' --plots '$(OUT)/bench-quick/plots' \
	  --results '$(OUT)/bench-quick/results' --scratch '$(OUT)/bench-quick/scratch'

submit: ## Submit slurm/JOB.job with the site file's account, partition and reservation (make submit JOB=mpi)
	@test -n "$(JOB)" || { echo "make submit: give JOB=<one of: $(basename $(notdir $(wildcard slurm/*.job)))>" >&2; exit 2; }
	scripts/submit.sh 'slurm/$(JOB).job'

slurm-test: build setup-slurm setup-stacks ## Bring up a private two-node Slurm and run every job in slurm/ on it, with Open MPI and MPICH
	scripts/with-modules.sh "mpich hdf5" $(MAKE) --no-print-directory build-mpi
	scripts/slurm-test.sh

preflight: ## Is this machine or cluster account ready? One verdict per item, under a minute
	@scripts/preflight.sh

check: ## The fast check: fmt, clippy, the tests of what is installed (no root, no Slurm)
	@scripts/check.sh

test: setup setup-slurm setup-stacks setup-browser ## Formatting, lints, unit and end-to-end tests, the Slurm jobs, the MPICH stack, the deck in a browser, a prepared clone offline (what CI runs)
	@$(MAKE) --no-print-directory test-installed

# A make of its own, so that it sees the MPI and HDF5 that setup may have just installed.
test-installed:
	$(CARGO) fmt --all --check
	$(CARGO) clippy $(BUILD_SET) --all-targets -- -D warnings
	$(BUILD)
	$(MAKE) --no-print-directory -j2 test-cargo test-beside
	$(MAKE) --no-print-directory slides-pdf book
	scripts/browser-test.sh
	scripts/room-test.sh
	'$(BIN)/deck' checkpoints
	scripts/stack-test.sh
	scripts/slurm-test-twice.sh
	scripts/learner-test.sh
	scripts/offline-test.sh

# Two at once in make test (make's jobs share the cores with cargo's): the workspace's tests,
# and beside them the builds that later parts use (mdBook, the room's server, the MPICH stack's
# binaries), which compile while the tests wait on their programs. Its log is printed if it fails.
TEST_BESIDE_LOG = $(CARGO_TARGET_DIR)/test-beside.log
test-cargo:
	+$(CARGO) test --release $(BUILD_SET)

test-beside:
	@echo "test-beside: mdBook, the room's server and the MPICH binaries build beside the tests (log: $(TEST_BESIDE_LOG))"
	+@{ $(MAKE) --no-print-directory '$(MDBOOK)' && scripts/room-test.sh build \
	  && scripts/with-modules.sh "mpich hdf5" $(MAKE) --no-print-directory build-mpi; } > '$(TEST_BESIDE_LOG)' 2>&1 \
	  || { tail -n 40 '$(TEST_BESIDE_LOG)'; echo "test-beside: failed (the log's end is above)" >&2; exit 1; }
	@echo "test-beside: built"

# Each step target runs the one build, then starts its step; it checks first only for what that
# step needs (a Rust-only step: cargo alone).
$(STEPS): %: setup-for-% built
	$(call run_step,$@) -n $(N) -s $(S) --dir '$(OUT)/$@'
# The Python step's module, built into its environment first.
$(PYTHON_STEPS): python-module

python-venv:
	@scripts/build-set.sh has python || exit 0; \
	'$(VENV)/bin/maturin' --version 2>/dev/null | grep -qx 'maturin $(MATURIN_VERSION)' || { \
	  echo "python-venv: a virtual environment in $(VENV), maturin $(MATURIN_VERSION) from PyPI"; \
	  '$(PYTHON3)' -m venv --system-site-packages '$(VENV)' \
	  && '$(VENV)/bin/python' -m pip install --quiet --disable-pip-version-check 'maturin==$(MATURIN_VERSION)'; }

# maturin develop: the module built (in a second when nothing changed) and installed into the
# environment. Only on a machine with Python and numpy (scripts/build-set.sh).
python-module: python-venv
	@if scripts/build-set.sh has python; then for step in $(PYTHON_STEPS); do \
	    VIRTUAL_ENV="$$(cd '$(VENV)' && pwd)" CARGO_TARGET_DIR='$(MATURIN_TARGET)' \
	    '$(VENV)/bin/maturin' develop --release --quiet -m "crates/$$step/Cargo.toml" || exit 1; done; \
	else echo "python-module: no Python 3 with numpy and venv here: the Python step is left out"; fi

# The targets that work on one step: STEP must name one.
need-step:
	@$(if $(filter $(STEP),$(STEPS)),true,{ echo "make $(firstword $(MAKECMDGOALS)): STEP='$(STEP)' is not a step; give STEP=<one of: $(STEPS)>" >&2; exit 2; })

setup-for-%:
	@scripts/setup.sh $(if $(filter $*,$(RUST_ONLY_STEPS)),--rust-only,$(if $(filter $*,$(PYTHON_STEPS)),--python))

flamegraph: need-step setup-for-$(or $(STEP),none) built $(if $(filter $(STEP),$(PYTHON_STEPS)),python-module) ## Profile one step into profiles/STEP.svg (+ .folded), from PROFILE_RUNS small runs  (make flamegraph STEP=write)
	@mkdir -p profiles
	@rm -f profiles/.$(STEP).run*
	@for k in $$(seq 1 $(PROFILE_RUNS)); do \
	  $(call run_step,$(STEP)) $(call profile_args,$(STEP)) --dir '$(OUT)/profile/$(STEP)' \
	    --flamegraph profiles/.$(STEP).run$$k.folded >/dev/null || exit 1; \
	done
	@'$(BIN)/flamegraph' profiles/$(STEP).svg $(foreach k,$(shell seq 1 $(PROFILE_RUNS)),profiles/.$(STEP).run$(k).folded) \
	  --title "$(STEP) $(call profile_args,$(STEP)), $(PROFILE_RUNS) runs"
	@rm -rf '$(OUT)/profile/$(STEP)' profiles/.$(STEP).run*

flamegraphs: build ## Profile every step into profiles/
	@for step in $(STEPS); do $(MAKE) --no-print-directory flamegraph STEP=$$step || exit 1; done

diff-flamegraph: need-step built ## What STEP changed against its predecessor, red/blue, into profiles/STEP.diff.svg
	@test -n "$(PRED_$(STEP))" || { echo "diff-flamegraph: '$(STEP)' has no predecessor" >&2; exit 2; }
	@test -f profiles/$(PRED_$(STEP)).folded || $(MAKE) --no-print-directory flamegraph STEP=$(PRED_$(STEP))
	@test -f profiles/$(STEP).folded || $(MAKE) --no-print-directory flamegraph STEP=$(STEP)
	'$(BIN)/flamegraph-diff' profiles/$(PRED_$(STEP)).folded profiles/$(STEP).folded profiles/$(STEP).diff.svg \
	  --title "$(PRED_$(STEP)) → $(STEP)"

timeline: need-step setup-for-$(or $(STEP),none) built $(if $(filter $(STEP),$(PYTHON_STEPS)),python-module) ## STEP's timeline (a bar per file per worker or rank): profiles/STEP.timeline.svg and .trace.json
	@mkdir -p profiles
	$(call run_step,$(STEP)) -n $(N) -s $(S) --dir '$(OUT)/profile/$(STEP)' --trace profiles/$(STEP).trace.json
	'$(BIN)/timeline' profiles/$(STEP).trace.json profiles/$(STEP).timeline.svg --title "$(STEP) -n $(N) -s $(S)"
	@rm -rf '$(OUT)/profile/$(STEP)'

# The exercises (crates/grader): every step's code with its lesson left for the learner to write,
# in exercises/<step>/, a workspace apart from the project's that builds into the same target
# folder (make prepare builds their dependencies).
GRADER = '$(BIN)/exercise'

need-exercise:
	@test -n "$(STEP)" || { echo "make $(firstword $(MAKECMDGOALS)): give STEP=<exercise>; \`make exercises\` lists them" >&2; exit 2; }

exercise: need-exercise setup-for-$(or $(STEP),none) built ## Start an exercise in exercises/STEP/: the step with its lesson left to write (FROM=predecessor: harder; RESET=1: start over, keeping a copy)
	@$(GRADER) new $(STEP) $(if $(filter predecessor,$(FROM)),--from-predecessor) $(if $(RESET),--reset)

verify: need-exercise setup-for-$(or $(STEP),none) built ## Grade exercises/STEP: it builds, writes the reference's bits, fails safely, is as fast as the reference
	@$(GRADER) verify $(STEP); status=$$?; $(room_send); exit $$status

hint: need-exercise built ## The next hint for exercise STEP, from its chapter
	@$(GRADER) hint $(STEP)

exercises: built ## Every exercise and its state: not started, failing and why, passing and how fast
	@$(GRADER) list

# mdBook, pinned and built into the checkout (.tools/), without its server and file watcher.
$(MDBOOK):
	$(CARGO) install --locked mdbook --version $(MDBOOK_VERSION) --no-default-features --features search --root .tools \
	  --target-dir '$(CARGO_TARGET_DIR)/mdbook'

book: $(MDBOOK) ## Build the workshop book into workshop/book/ (builds mdBook into .tools/ the first time)
	@scripts/book-diffs.sh
	@rm -rf workshop/src/images workshop/src/plots
	@cp -r docs/images workshop/src/images && cp -r docs/plots workshop/src/plots
	$(MDBOOK) build workshop
	@echo "book: open workshop/book/index.html"

# The deck (workshop/slides/): its Markdown is rendered from deck.md and the sources by `deck`,
# then drawn by Marp into one HTML file that opens offline (press P for the presenter view).
# Marp, and playwright-core for the browser tests, come from npm, pinned in package-lock.json,
# installed once into workshop/slides/node_modules; nothing is fetched when presenting.
MARP := $(SLIDES)/node_modules/.bin/marp
MARP_ARGS := --theme-set $(SLIDES)/theme.css --html
export CHROME_PATH ?= /usr/bin/chromium
$(SLIDES)/node_modules/.installed: $(SLIDES)/package-lock.json
	@scripts/setup.sh --slides
	cd $(SLIDES) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

slides: $(SLIDES)/node_modules/.installed built ## The deck, from the steps, the Makefile and the benchmark: workshop/slides/build/index.html
	'$(BIN)/deck' build --out $(SLIDES)/build
	$(MARP) $(MARP_ARGS) $(SLIDES)/build/deck.md -o $(SLIDES)/build/index.html
	@echo "slides: open $(SLIDES)/build/index.html (P: presenter view with notes, next slide, timer)"

slides-pdf: slides setup-browser ## The deck as a PDF for handouts, one page a slide: workshop/slides/build/deck.pdf
	$(MARP) $(MARP_ARGS) --pdf --allow-local-files $(SLIDES)/build/deck.md -o $(SLIDES)/build/deck.pdf

checkpoints: build ## Run every checkpoint's command and capture the line the book and the deck show
	'$(BIN)/deck' checkpoints --capture

# The diagrams: drawn from the code (array_split, the grid's bytes) and from a real run of the
# queue step (which worker took which file), which `diagrams` starts itself.
diagrams: built ## Draw the book's and the deck's diagrams into docs/images/diagrams/
	'$(BIN)/diagrams' docs/images/diagrams --steps '$(BIN)' --scratch '$(OUT)/diagrams'

# Every figure the book and the deck show, from today's code: the profiles and timelines (each
# drawn by the command that makes it, scripts/figures.sh), the diagrams, and the benchmark's
# plots (redrawn from its latest results; `make bench` measures anew).
LATEST_RESULTS = $(lastword $(sort $(filter-out %-quick.json,$(wildcard bench/results/*.json))))
figures: build diagrams ## Regenerate every figure of the book and the deck into docs/images and docs/plots
	scripts/figures.sh
	'$(BIN)/bench' --from-results $(LATEST_RESULTS)

steps: ## Rewrite what is derived from the step table (steps.mk, the README's and the book's tables)
	@scripts/steps.sh regenerate

diff: need-step ## Show a step against its predecessor       (make diff STEP=write_vectorized)
	@test -n "$(PRED_$(STEP))" || { echo "diff: STEP='$(STEP)' has no predecessor; try one of: $(filter-out $(firstword $(STEPS)),$(STEPS))" >&2; exit 2; }
	@scripts/step-diff.sh $(PRED_$(STEP)) $(STEP)

clean: ## Remove build products and outputs
	$(CARGO) clean
	rm -rf output profiles $(SLIDES)/build
