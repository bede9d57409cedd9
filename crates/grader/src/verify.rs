//! `make verify`: build the learner's exercise, then check it — correct, safe, fast — against
//! its reference, each check only once the one before it passed. The programs run from a
//! folder of the run's own (a copy of the learner's binary, its working folder, its outputs,
//! MPI's temporary files), removed at the end or on Ctrl-C.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cause::{Cause, Tutor};
use crate::exercise::{Exercise, Layout};
use crate::interrupt::Folders;
use crate::lock::Lock;
use crate::run::Program;
use crate::trial::{Contest, Project, Trial};
use crate::verdict::{hash_sources, Check, Checked, Grade, Outcome, Verdict};
use crate::{correct, fast, safe};

/// Builds the references (`names`: the step and its predecessor) as the project's one build
/// does (`tools::build::project`): after `make prepare` that build is fresh, and a build of
/// these packages alone would select other features of their dependencies and compile them
/// again in the room.
fn build_references(layout: &Layout, names: &[&str]) -> Result<()> {
    let mut command = tools::build::project(&layout.target)?;
    let status = command
        .arg("--quiet")
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!(
            "the reference {} does not build here: see cargo's messages above",
            names.join(", ")
        );
    }
    Ok(())
}

/// The build of `exercise` in the target folder came from another exercises folder: cargo
/// names a workspace member's build by its path inside its workspace, so two exercises folders
/// sharing the target folder (a learner's and the tests') build it under one name, and the
/// other folder's build would pass for fresh. Its `.d` file lists the sources it was built
/// from.
fn built_elsewhere(layout: &Layout, exercise: Exercise) -> bool {
    let artifact = exercise.artifact();
    let stem = artifact.strip_suffix(".so").unwrap_or(&artifact);
    let Ok(deps) = fs::read_to_string(layout.binary(&format!("{stem}.d"))) else {
        return false;
    };
    let Ok(folder) = layout.folder(exercise).canonicalize() else {
        return true;
    };
    !deps.contains(&*folder.to_string_lossy())
}

/// Makes cargo rebuild `exercise` (and nothing else): its own fingerprint goes, the one
/// folder of `.fingerprint/` that records its binary or library.
fn forget_build(layout: &Layout, exercise: Exercise) {
    let name = exercise.binary();
    let marks = [format!("bin-{name}"), format!("lib-{name}")];
    let fingerprints = layout.target.join("release/.fingerprint");
    for dir in fs::read_dir(&fingerprints).into_iter().flatten().flatten() {
        let ours = fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| {
                marks
                    .iter()
                    .any(|m| f.file_name().to_string_lossy().starts_with(m.as_str()))
            });
        if ours {
            let _ = fs::remove_dir_all(dir.path());
        }
    }
}

/// Builds the exercise in its own workspace, into the project's target folder (cargo's own
/// messages go to the terminal as they come), then copies what it built into `bin`: the
/// program graded is that copy, which no other build can replace meanwhile.
fn build_exercise(layout: &Layout, exercise: Exercise, bin: &Path) -> Result<Checked> {
    let lock_path = layout.binary(&format!(".exercise-{}.lock", exercise.name()));
    fs::create_dir_all(layout.target.join("release"))?;
    let _lock = Lock::take(&lock_path, exercise.name())?;
    crate::generate::copy_lock(layout)?;
    if built_elsewhere(layout, exercise) {
        forget_build(layout, exercise);
    }
    let status = tools::build::exercise(&layout.exercises, &layout.target, exercise.name())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        return Ok(Checked::fail(Check::Builds, "cargo build failed: its messages are above")
            .because(Cause::BuildFailed, "the compiler's first error is the one to read first: it says the line and, often, the fix"));
    }
    fs::create_dir_all(bin)?;
    let artifact = exercise.artifact();
    fs::copy(layout.binary(&artifact), bin.join(&artifact))
        .with_context(|| format!("cannot copy {artifact} to {}", bin.display()))?;
    Ok(Checked::pass(
        Check::Builds,
        format!("cargo build --release -p {}", exercise.name()),
    ))
}

/// A folder of the grader's own for this run's files, removed when dropped.
struct Scratch {
    path: PathBuf,
    folders: Folders,
}

impl Scratch {
    fn new(exercise: Exercise, folders: &Folders) -> Result<Scratch> {
        let path =
            std::env::temp_dir().join(format!("grader-{}-{}", exercise.name(), std::process::id()));
        crate::run::fresh(&path)?;
        folders.add(path.clone());
        Ok(Scratch {
            path,
            folders: folders.clone(),
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        crate::interrupt::remove_folder(&self.path);
        for folder in crate::fast::timing_folders() {
            let _ = fs::remove_dir_all(folder);
        }
        self.folders.remove(&self.path);
    }
}

/// Whether `verify` times the learner's program against the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    Timed,
    /// `--untimed`: correctness and safety only.
    Untimed,
}

pub fn verify(
    layout: &Layout,
    exercise: Exercise,
    timing: Timing,
    folders: &Folders,
) -> Result<Grade> {
    let started = Instant::now();
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
    let scratch = Scratch::new(exercise, folders)?;
    let home = scratch.path.as_path();
    let mut checks = vec![build_exercise(layout, exercise, &home.join("bin"))?];
    checks[0].print();
    if checks[0].outcome == Outcome::Pass {
        let project = Project::new(&layout.repo);
        let contest = contest(layout, exercise, home, &project);
        let trial = Trial {
            contest: &contest,
            tutor: Tutor::new(exercise),
            format: exercise.format(),
            scratch: home,
            crate_name: exercise.binary().replace('-', "_"),
            project: &project,
        };
        run_checks(&trial, timing, folders, &mut checks)?;
    }
    drop(scratch);
    let grade = Grade::of(
        exercise.name(),
        sources,
        checks,
        started.elapsed().as_secs_f64(),
    );
    grade.save(&folder);
    Ok(grade)
}

/// The learner's program (its copy in `home`, the project read-only for it where that can
/// be), the reference and the reference of the step before.
fn contest(layout: &Layout, exercise: Exercise, home: &Path, project: &Project) -> Contest {
    let reference = exercise.reference();
    let mut yours = Program::new(
        home.join("bin").join(exercise.artifact()),
        exercise.launch(),
        format!("your {}", exercise.name()),
        home,
    );
    if project.read_only {
        yours.read_only = Some(layout.repo.clone());
    }
    let predecessor = match exercise {
        Exercise::Step(s) => s.predecessor_step(),
        Exercise::Capstone(_) => None,
    };
    Contest {
        yours,
        reference: Program::new(
            layout.binary(&reference.artifact()),
            reference.launch,
            format!("the reference {}", reference.name),
            home,
        ),
        predecessor: predecessor.map(|p| {
            Program::new(
                layout.binary(&p.artifact()),
                p.launch,
                format!("the reference {}", p.name),
                home,
            )
        }),
    }
}

/// Correct, then safe, then fast: each printed as it ends, the first failure the last.
fn run_checks(
    trial: &Trial,
    timing: Timing,
    folders: &Folders,
    checks: &mut Vec<Checked>,
) -> Result<()> {
    type Run<'a> = Box<dyn Fn() -> Result<Checked> + 'a>;
    let runs: [Run; 3] = [
        Box::new(|| correct::check(trial)),
        Box::new(|| safe::check(trial)),
        Box::new(|| match timing {
            Timing::Timed => fast::check(trial),
            Timing::Untimed => Ok(Checked::new(
                Check::Fast,
                Outcome::NotMeasurable,
                "not timed: --untimed checks correctness and safety only",
            )),
        }),
    ];
    for run in runs {
        let checked = run();
        // After Ctrl-C, the ended program's check is no verdict: print and keep none.
        folders.wait_if_stopping();
        let checked = checked?;
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
    let summary = |check: Check| {
        grade
            .checks
            .iter()
            .find(|c| c.check == check)
            .map(|c| c.summary.clone())
            .unwrap_or_default()
    };
    match (grade.verdict, grade.failed_check) {
        (Verdict::Passed, _) => format!("passing; fast: {}", summary(Check::Fast)),
        (Verdict::PassedSpeedNotJudged, _) => {
            "passing; its speed not judged (the machine was busy)".into()
        }
        (Verdict::Failed, Some(check)) => format!("failing: {}: {}", check.name(), summary(check)),
        (Verdict::Failed, None) => "failing".into(),
    }
}
