//! Helpers shared by the end-to-end tests.
#![allow(dead_code)] // each test file uses its own share of them

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use tools::{step_binary, step_info, Format};

/// Runs a built step binary with `args`.
pub fn run(step: &str, args: &[&str]) -> Output {
    Command::new(step_binary(step).unwrap())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {step}: {e}"))
}

pub fn run_ok(step: &str, dir: &Path, n: usize, s: usize) {
    let out = run(
        step,
        &[
            "-n",
            &n.to_string(),
            "-s",
            &s.to_string(),
            "--dir",
            dir.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{step} -n {n} -s {s} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn format_of(step: &str) -> Format {
    step_info(step).unwrap().format
}

/// Every file name under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                names.extend(files_under(&path));
            } else {
                names.push(path.display().to_string());
            }
        }
    }
    names.sort();
    names
}

/// Checks a run that must fail: its exit code, one line on stderr containing `cause`, and no
/// output file left behind under `dir`.
pub fn assert_fails(step: &str, args: &[&str], dir: &Path, code: i32, cause: &str) {
    let out = run(step, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{step} {args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{step} {args:?} must say one line: {stderr}"
    );
    assert!(stderr.starts_with(&format!("{step}: ")), "{stderr}");
    assert!(
        stderr.contains(cause),
        "{step} {args:?}: expected '{cause}' in: {stderr}"
    );
    let leftovers: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|f| f.contains("data"))
        .collect();
    assert!(leftovers.is_empty(), "{step} {args:?} left {leftovers:?}");
}

/// `timeout -k 5 120 mpirun -np <ranks> … <program>`: an MPI job that cannot hang the tests (a
/// wrong collective would wait forever).
pub fn timed_mpirun(ranks: usize, program: &Path) -> Command {
    let launcher = tools::mpirun(ranks, program);
    let mut command = Command::new("timeout");
    command
        .args(["-k", "5", "120"])
        .arg(launcher.get_program())
        .args(launcher.get_args());
    for (key, value) in launcher.get_envs() {
        command.env(key, value.expect("mpirun's variables are set, not removed"));
    }
    command
}

/// Runs tests/numpy_check.py over `root` (one folder per step) with Debian's numpy and h5py,
/// asserts it succeeded, and returns what it printed.
pub fn numpy_check(root: &Path, n: usize, s: usize) -> String {
    let python = Path::new("/usr/bin/python3");
    assert!(
        python.exists(),
        "Debian's python3 with numpy and h5py is needed: run `make setup`"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numpy_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(root)
        .args([n.to_string(), s.to_string()])
        .output()
        .expect("cannot start python3");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "numpy check failed for n={n} s={s}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The steps started the way `launch` says, from the one step list (tools::STEPS).
pub fn steps_launched(launch: tools::Launch) -> Vec<&'static str> {
    tools::STEPS
        .iter()
        .filter(|s| s.launch == launch)
        .map(|s| s.name)
        .collect()
}
