//! `make verify`: build the learner's exercise, then check it — correct, safe, fast — against
//! its reference, each check only once the one before it passed.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::exercise::{Exercise, Layout};
use crate::fast::Contest;
use crate::run::Program;
use crate::verdict::{hash_sources, Check, Checked, Grade, Outcome};
use crate::{correct, fast, safe};

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the reference (and its predecessor) in the project's workspace.
fn build_references(layout: &Layout, names: &[&str]) -> Result<()> {
    let mut command = cargo();
    command
        .current_dir(&layout.repo)
        .args(["build", "--release", "--quiet"]);
    for name in names {
        command.args(["-p", name]);
    }
    let status = command.status().context("cannot run cargo")?;
    if !status.success() {
        bail!(
            "the reference {} does not build here: see cargo's messages above",
            names.join(", ")
        );
    }
    Ok(())
}

/// Builds the exercise in its own workspace, into the project's target folder: cargo's own
/// messages go to the terminal as they come.
///
/// The exercise's own crate is cleaned first. Cargo names a workspace member's build by its
/// path inside the workspace, so two exercise folders sharing the target folder (a learner's and
/// the tests') build `capstone_mpi` under one name, and the other folder's build would pass for
/// fresh: the learner's edits would not be graded. Its dependencies stay built.
fn build_exercise(layout: &Layout, exercise: Exercise) -> Result<Checked> {
    crate::generate::copy_lock(layout)?;
    let cleaned = cargo()
        .current_dir(&layout.exercises)
        .args([
            "clean",
            "--release",
            "--quiet",
            "-p",
            exercise.name(),
            "--target-dir",
        ])
        .arg(&layout.target)
        .status()
        .context("cannot run cargo")?;
    if !cleaned.success() {
        bail!(
            "cargo clean -p {} failed: see its messages above",
            exercise.name()
        );
    }
    let status = cargo()
        .current_dir(&layout.exercises)
        .args(["build", "--release", "-p", exercise.name(), "--target-dir"])
        .arg(&layout.target)
        .status()
        .context("cannot run cargo")?;
    Ok(if status.success() {
        Checked::pass(
            Check::Builds,
            format!("cargo build --release -p {}", exercise.name()),
        )
    } else {
        Checked::fail(Check::Builds, "cargo build failed: its messages are above")
    })
}

/// A folder of the grader's own for this run's files, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `verify` times the learner's program against the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Timed,
    /// `--untimed`: correctness and safety only.
    Untimed,
}

pub fn verify(layout: &Layout, exercise: Exercise, timing: Timing) -> Result<Grade> {
    let folder = layout.folder(exercise);
    if !folder.join("Cargo.toml").is_file() {
        bail!(
            "{} is not started: `make exercise STEP={}` creates it in {}",
            exercise.name(),
            exercise.name(),
            folder.display()
        );
    }
    let sources = hash_sources(&folder);
    let reference = exercise.reference();
    let predecessor = match exercise {
        Exercise::Step(s) => s.predecessor_step(),
        Exercise::Capstone(_) => None,
    };
    let mut names = vec![reference.name];
    names.extend(predecessor.map(|p| p.name));
    build_references(layout, &names)?;
    let mut checks = vec![build_exercise(layout, exercise)?];
    checks[0].print();
    if checks[0].outcome == Outcome::Pass {
        let scratch = Scratch(
            layout
                .exercises
                .join(format!(".runs-{}", std::process::id())),
        );
        let contest = Contest {
            yours: Program::new(
                layout.binary(&exercise.artifact()),
                exercise.launch(),
                format!("your {}", exercise.name()),
            ),
            reference: Program::new(
                layout.binary(&reference.artifact()),
                reference.launch,
                format!("the reference {}", reference.name),
            ),
            predecessor: predecessor.map(|p| {
                Program::new(
                    layout.binary(&p.artifact()),
                    p.launch,
                    format!("the reference {}", p.name),
                )
            }),
        };
        run_checks(&contest, exercise, timing, &scratch.0, &mut checks)?;
    }
    let grade = Grade {
        exercise: exercise.name().to_string(),
        sources,
        checks,
    };
    grade.save(&folder);
    Ok(grade)
}

/// Correct, then safe, then fast: each printed as it ends, the first failure the last.
fn run_checks(
    contest: &Contest,
    exercise: Exercise,
    timing: Timing,
    scratch: &Path,
    checks: &mut Vec<Checked>,
) -> Result<()> {
    let format = exercise.format();
    type Run<'a> = Box<dyn Fn() -> Result<Checked> + 'a>;
    let runs: [Run; 3] = [
        Box::new(|| correct::check(&contest.yours, &contest.reference, format, scratch)),
        Box::new(|| safe::check(&contest.yours, &contest.reference, format, scratch)),
        Box::new(|| match timing {
            Timing::Timed => fast::check(contest, format, scratch),
            Timing::Untimed => Ok(Checked::new(
                Check::Fast,
                Outcome::NotMeasurable,
                "not timed: --untimed checks correctness and safety only",
            )),
        }),
    ];
    for run in runs {
        let checked = run()?;
        checked.print();
        let failed = checked.outcome == Outcome::Fail;
        checks.push(checked);
        if failed {
            break;
        }
    }
    Ok(())
}

/// `make exercises`: every exercise's state, from the grades kept in the folders.
pub fn list(layout: &Layout) {
    for exercise in Exercise::all() {
        let folder = layout.folder(exercise);
        let state = if !folder.join("Cargo.toml").is_file() {
            format!("not started (make exercise STEP={})", exercise.name())
        } else {
            match Grade::load(&folder) {
                None => format!(
                    "started, not graded yet (make verify STEP={})",
                    exercise.name()
                ),
                Some(grade) => {
                    let state = describe(&grade);
                    if grade.sources == hash_sources(&folder) {
                        state
                    } else {
                        format!("changed since it was graded as: {state}")
                    }
                }
            }
        };
        println!("  {:<28} {state}", exercise.name());
    }
}

fn describe(grade: &Grade) -> String {
    let speed = grade
        .checks
        .iter()
        .find(|c| c.check == Check::Fast)
        .map(|c| c.summary.clone());
    match grade.verdict() {
        crate::verdict::Verdict::Passed => format!("passing; fast: {}", speed.unwrap_or_default()),
        crate::verdict::Verdict::PassedUnmeasured => {
            "passing, its speed not measurable at the time".into()
        }
        crate::verdict::Verdict::Failed(check) => {
            let why = grade
                .checks
                .iter()
                .find(|c| c.check == check)
                .map(|c| c.summary.clone());
            format!("failing: {}: {}", check.name(), why.unwrap_or_default())
        }
    }
}
