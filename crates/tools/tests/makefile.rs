//! The Makefile: it takes its steps from the table (through steps.mk, which `cargo test -p
//! steps` holds to the table), builds the one way everywhere, refuses a wrong command line in
//! one line before anything runs, and starts steps through the launch program, which ends a
//! whole MPI job on Ctrl-C or a timeout.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn makefile() -> String {
    std::fs::read_to_string(repo().join("Makefile")).unwrap()
}

/// The Makefile's lines that run commands (recipes), each with the target above it.
fn recipes() -> Vec<(String, String)> {
    let mut target = String::new();
    let mut out = Vec::new();
    for line in makefile().lines() {
        if let Some(command) = line.strip_prefix('\t') {
            out.push((target.clone(), command.to_owned()));
        } else if let Some((name, _)) = line.split_once(':') {
            if !line.starts_with(' ') && !line.contains(":=") {
                target = name.to_owned();
            }
        }
    }
    out
}

#[test]
fn the_makefile_takes_its_steps_from_the_table() {
    let makefile = makefile();
    assert!(
        makefile.contains("\ninclude steps.mk\n"),
        "no `include steps.mk`"
    );
    // Step names appear in the Makefile only through the lists of steps.mk.
    for step in tools::STEPS {
        // Comments and help texts (`target: ## …`) may show an example.
        let code = makefile
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| l.split(" ## ").next().unwrap_or(l));
        for line in code {
            assert!(
                !line
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == step.name),
                "the Makefile names {} itself: `{line}`",
                step.name
            );
        }
    }
    assert!(makefile.contains("$(STEPS): %: setup-for-%"));
}

#[test]
fn every_target_builds_the_one_way() {
    // Cargo chooses a dependency's features from the packages one command builds: a target
    // that built its own crate alone would compile what the one build did not (see
    // crates/tools/src/build.rs).
    // The one build is BUILD; what builds otherwise goes to a target folder of its own.
    let mut checked = 0;
    for (target, command) in recipes() {
        let cargo_build = [
            "$(CARGO) build",
            "$(CARGO) bench",
            "$(CARGO) run",
            "cargo build",
        ]
        .iter()
        .any(|c| command.contains(c));
        if !cargo_build {
            continue;
        }
        checked += 1;
        assert!(
            command.contains("--target-dir"),
            "make {target} builds with its own selection in the shared target folder: `{command}`"
        );
    }
    assert!(checked >= 2, "native-build and bench-text build apart");
    let makefile = makefile();
    assert!(makefile.contains("\nBUILD = $(CARGO) build --release $(BUILD_SET)\n"));
    for target in [
        "built:",
        "$(STEPS): %: setup-for-% built",
        "timeline:",
        "exercise:",
    ] {
        let line = makefile
            .lines()
            .find(|l| l.starts_with(target))
            .unwrap_or_else(|| panic!("no rule {target}"));
        assert!(
            target == "built:" || line.contains(" built"),
            "{line}: runs no build"
        );
    }
}

/// `cargo tree` of this machine's build set as `scripts/build-set.sh` gives it with `env`.
fn tree_of_set(env: &[(&str, &str)]) -> String {
    let set = Command::new(repo().join("scripts/build-set.sh"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let args = String::from_utf8_lossy(&set.stdout).into_owned();
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(args.split_whitespace())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_machine_without_a_library_builds_nothing_that_links_it() {
    // build-set.sh names the crates beside the steps that need MPI or HDF5 by hand: the tree of
    // what it leaves says whether it forgot one.
    for (without, library) in [
        ("mpi", "mpi-sys"),
        ("hdf5", "hdf5-metno-sys"),
        ("python", "pyo3-ffi"),
    ] {
        let tree = tree_of_set(&[("HPC_BUILD_WITHOUT", without)]);
        assert!(tree.contains("ndarray"), "{tree}");
        assert!(
            !tree.contains(library),
            "without {without}, the build set still compiles {library}"
        );
    }
    let everything = tree_of_set(&[]);
    for library in ["mpi-sys", "hdf5-metno-sys", "pyo3-ffi"] {
        assert!(
            everything.contains(library),
            "this machine builds no {library}"
        );
    }
}

#[test]
fn gridgen_needs_no_system_library() {
    // The shared crate builds once, with cargo alone: MPI and HDF5 are its sibling crates'.
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", "gridgen", "-e", "normal"])
        .args(["--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && tree.contains("ndarray"), "{tree}");
    for system in ["hdf5", "mpi-sys", "mpi v"] {
        assert!(
            !tree.contains(system),
            "gridgen depends on {system}:\n{tree}"
        );
    }
}

/// `make -n <args>` in the project: what make would run, without running it.
fn make_dry(args: &[&str]) -> Output {
    Command::new("make")
        .args(["-n", "--no-print-directory"])
        .args(args)
        .current_dir(repo())
        .env_remove("MAKEFLAGS")
        .output()
        .unwrap()
}

#[test]
fn a_wrong_value_is_refused_in_one_line_before_anything_runs() {
    let marker = std::env::temp_dir().join(format!("makefile-test-{}", std::process::id()));
    let shell = format!("$(shell touch {})", marker.display());
    let cases: Vec<(String, &str)> = [
        "NP=0",
        "NP=-1",
        "NP=abc",
        "N=0",
        "S=1.5",
        "W=",
        "N=1e3",
        "STEP=a;b",
        "JOB=x y",
        "OUT=x;touch y",
        "OUT=a\nb",
        "OUT=$HOME",
        "OUT=a|b",
        "OUT=it's",
        "FROM=scratch",
    ]
    .iter()
    .map(|a| (a.to_string(), a.split('=').next().unwrap()))
    .chain([(format!("N={shell}"), "N"), (format!("OUT={shell}"), "OUT")])
    .collect();
    for (arg, name) in &cases {
        let out = make_dry(&["write", arg]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "make write {arg:?}: {err}");
        assert_eq!(
            err.lines().count(),
            1,
            "make write {arg:?} said more than a line: {err}"
        );
        assert!(
            err.contains(&format!("{name}='")),
            "make write {arg:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "make write {arg:?} would still run: {out:?}"
        );
    }
    assert!(!marker.exists(), "make ran a $(shell …) given as a value");
    // A value from the environment is refused the same way, and says where it came from.
    let out = Command::new("make")
        .args(["-n", "write"])
        .current_dir(repo())
        .env("NP", "0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(2) && err.contains("(from the environment)"),
        "{err}"
    );
}

#[test]
fn good_values_reach_the_commands_quoted() {
    let out = make_dry(&["write", "N=7", "S=3", "OUT=my runs/(today)"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = said
        .lines()
        .find(|l| l.contains("/launch'"))
        .unwrap_or_else(|| panic!("no launch line in {said}"));
    assert!(
        run.ends_with(" write -n 7 -s 3 --dir 'my runs/(today)/write'"),
        "{run}"
    );
    let mpi = make_dry(&["write_mpi", "NP=3"]);
    let said = String::from_utf8_lossy(&mpi.stdout);
    assert!(said.contains("--ranks 3 "), "{said}");
}

// --- The launcher the Makefile starts steps through (crates/tools/src/bin/launch.rs) ----------

fn launcher() -> PathBuf {
    tools::bin_dir().unwrap().join("launch")
}

/// Every process below `pid` whose command line holds `marker`, `mpirun` left out: the ranks.
fn marked_below(pid: u32, marker: &str) -> Vec<i32> {
    let read = |p: i32, what: &str| std::fs::read(format!("/proc/{p}/{what}")).unwrap_or_default();
    tools::job::below(pid as i32)
        .into_iter()
        .filter(|&p| String::from_utf8_lossy(&read(p, "cmdline")).contains(marker))
        .filter(|&p| String::from_utf8_lossy(&read(p, "comm")).trim() != "mpirun")
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn gone(pids: &[i32]) -> bool {
    pids.iter()
        .all(|p| !Path::new(&format!("/proc/{p}")).exists() || zombie(*p))
}

fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Two ranks of a program that ignores the polite signals, under the launcher.
fn stubborn_job(marker: &str) -> Child {
    let script = format!("trap '' INT TERM HUP; sleep 120 # {marker}");
    Command::new(launcher())
        .args(["--ranks", "2", "/bin/sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the launch program is built with the tools")
}

#[test]
fn a_job_that_ignores_a_timeout_is_killed_whole() {
    let marker = format!("stubborn-{}", std::process::id());
    let mut job = stubborn_job(&marker);
    let mut ranks = Vec::new();
    wait_for("two ranks", Duration::from_secs(60), || {
        ranks = marked_below(job.id(), &marker);
        ranks.len() >= 2
    });
    // What `timeout` sends first. The ranks ignore it: GRACE later they are killed.
    let sent = Instant::now();
    signal(job.id(), "TERM");
    let status = job.wait().unwrap();
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(143), "{status:?}");
    assert!(
        took >= tools::job::GRACE && took < tools::job::GRACE + Duration::from_secs(30),
        "ended after {took:?}"
    );
    assert!(gone(&ranks), "ranks {ranks:?} outlived their launcher");
}

#[test]
fn a_second_ctrl_c_kills_at_once() {
    let marker = format!("impatient-{}", std::process::id());
    let mut job = stubborn_job(&marker);
    let mut ranks = Vec::new();
    wait_for("two ranks", Duration::from_secs(60), || {
        ranks = marked_below(job.id(), &marker);
        ranks.len() >= 2
    });
    signal(job.id(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    signal(job.id(), "INT");
    let status = job.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(sent.elapsed() < tools::job::GRACE, "{:?}", sent.elapsed());
    assert!(gone(&ranks), "ranks {ranks:?} outlived their launcher");
}

#[test]
fn ctrl_c_on_make_stops_every_rank_and_says_so() {
    // As a terminal does: SIGINT to make's whole process group, while an MPI step writes.
    let mpi = tools::STEPS
        .iter()
        .find(|s| s.launch == tools::Launch::Mpi && s.format == tools::Format::Npy)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The binaries are this test's own: make is told they are built (-o built), in the target
    // folder this test was built into.
    let target = tools::bin_dir().unwrap().parent().unwrap().to_path_buf();
    let mut make = Command::new("make");
    make.args([
        "--no-print-directory",
        "-o",
        "built",
        mpi.name,
        "N=100000",
        "S=1",
        "NP=2",
    ])
    .arg(format!("OUT={}", out.display()))
    .current_dir(repo())
    .env_remove("MAKEFLAGS")
    .env("CARGO_TARGET_DIR", target)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut make, 0);
    let child = make.spawn().unwrap();
    let written = out.join(mpi.name);
    wait_for("the first files", Duration::from_secs(300), || {
        std::fs::read_dir(&written).is_ok_and(|d| d.count() > 10)
    });
    let ranks = marked_below(child.id(), &format!("release/{}", mpi.name));
    assert!(ranks.len() >= 2, "{ranks:?}");
    let group = format!("-{}", child.id());
    let status = Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap();
    assert!(status.success());
    let said = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&said.stderr);
    assert!(err.contains("Stopped by SIGINT"), "{err}");
    assert!(
        !err.contains("-----"),
        "mpirun's help pages are not left out: {err}"
    );
    wait_for("every rank ended", Duration::from_secs(30), || gone(&ranks));
}
