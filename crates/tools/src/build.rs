//! How the project is built: one cargo command, the same for every make target, the tools and
//! the grader.
//!
//! Cargo chooses the features of a shared dependency from the packages one command builds, so
//! `cargo build -p write` and `cargo build --workspace` compile the same crates twice, each with
//! its own features: a build the day before serves only the commands that select as it did
//! (measured on a prepared clone: `-p write_hdf5` after the workspace's build compiled the
//! contract, gridgen and the step again, 17 s). Every build of the project therefore selects the
//! same packages: the whole workspace, less what this machine cannot build (no MPI, no HDF5,
//! no Python), as `scripts/build-set.sh` says. One build the day before (`make prepare`) then
//! serves every command of the day.
//!
//! The exercises (`exercises/`) are a workspace of their own that builds into the same target
//! folder: [`exercise`] is how one of them is built, by `make verify` and by `make prepare`
//! (which builds every exercise once, so that its dependencies are there before the room).

use std::path::Path;
use std::process::Command;

use anyhow::{ensure, Context, Result};

/// `cargo`, or the one named by `$CARGO` (as cargo itself and the Makefile set it).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// The packages and features this machine builds, as cargo's arguments (`--workspace`, then
/// an `--exclude` for each crate it cannot build), from `scripts/build-set.sh`.
pub fn set() -> Result<Vec<String>> {
    let script = crate::repo().join("scripts/build-set.sh");
    let out = Command::new(&script)
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    ensure!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

/// `cargo build --release` of this machine's [`set`], in the project, into `target_dir` (the
/// folder whose `release/` holds the binaries: the grader's own, [`crate::bin_dir`]'s parent).
pub fn project(target_dir: &Path) -> Result<Command> {
    let mut command = cargo();
    command
        .current_dir(crate::repo())
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--release"])
        .args(set()?);
    Ok(command)
}

/// `cargo build --release -p <name>` in the exercises' workspace `exercises`, into the
/// project's `target_dir`: an exercise alone, as it is graded, and as `make prepare` builds each
/// exercise once (scripts/prepare-exercises.sh) so that its dependencies are there.
///
/// Cargo cleans by package name across the whole target folder: `cargo clean -p <name>` in the
/// exercises' workspace also removes the project's own step of that name, which the next make
/// target then compiles again. An exercise whose package is named apart from its step
/// (`my_<step>`, as its binary is) can be cleaned alone.
pub fn exercise(exercises: &Path, target_dir: &Path, name: &str) -> Command {
    let mut command = cargo();
    command
        .current_dir(exercises)
        .args(["build", "--release", "-p", name, "--target-dir"])
        .arg(target_dir);
    command
}
