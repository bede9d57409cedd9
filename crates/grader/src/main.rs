//! `exercise`: the workshop's exercises and their grader.
//!
//! `exercise new STEP` makes `exercises/STEP/` from the step's own code, with its lesson left
//! as `todo!`; `exercise verify STEP` grades it (builds, correct bit for bit, safe on failure,
//! as fast as the reference here); `exercise hint STEP` shows the chapter's hints one at a
//! time; `exercise list` shows every exercise's state. The Makefile's `exercise`, `verify`,
//! `hint` and `exercises` targets call it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use grader::exercise::{Exercise, Layout};
use grader::generate::{self, Start};
use grader::interrupt::Folders;
use grader::verdict::Verdict;
use grader::{hints, verify};

#[derive(Parser)]
#[command(about = "The workshop's exercises: create one, grade it, get a hint, list them all")]
struct Cli {
    /// The folder of the exercises (default: exercises/ in the project)
    #[arg(long, global = true)]
    exercises: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create exercises/NAME from its step, the lesson's functions left to write
    New {
        name: String,
        /// Start from the predecessor's code instead (harder: all of the step's change is yours)
        #[arg(long)]
        from_predecessor: bool,
        /// Start over: the current files move to exercises/.backup/ first
        #[arg(long)]
        reset: bool,
    },
    /// Grade exercises/NAME: builds, correct, safe, fast
    Verify {
        name: String,
        /// Leave out the speed check (a quick look at correctness and safety; the grade then
        /// says its speed was not measured)
        #[arg(long)]
        untimed: bool,
    },
    /// The next hint for NAME
    Hint { name: String },
    /// Every exercise and its state
    List,
}

fn find(name: &str) -> Result<Exercise, ExitCode> {
    Exercise::find(name).ok_or_else(|| {
        eprintln!(
            "exercise: '{name}' is not an exercise; one of: {}",
            Exercise::names()
        );
        ExitCode::from(2)
    })
}

fn run(cli: Cli, folders: &Folders) -> Result<ExitCode, ExitCode> {
    let fail = |e: anyhow::Error| {
        eprintln!("exercise: {e:#}");
        ExitCode::from(1)
    };
    let layout = Layout::new(cli.exercises).map_err(fail)?;
    match cli.command {
        Command::New {
            name,
            from_predecessor,
            reset,
        } => {
            let exercise = find(&name)?;
            let start = if from_predecessor {
                Start::Predecessor
            } else {
                Start::Holes
            };
            let folder = generate::create(&layout, exercise, start, reset).map_err(fail)?;
            println!("{} is ready in {}: write the parts left as todo!(), then `make verify STEP={name}`", name, folder.display());
        }
        Command::Verify { name, untimed } => {
            let timing = if untimed {
                verify::Timing::Untimed
            } else {
                verify::Timing::Timed
            };
            let grade = verify::verify(&layout, find(&name)?, timing, folders).map_err(fail)?;
            let verdict = grade.verdict;
            println!(
                "{name}: {}",
                match (verdict, grade.failed_check) {
                    (Verdict::Passed, _) => "every check passes".to_string(),
                    (Verdict::PassedSpeedNotJudged, _) =>
                        "correct and safe; its speed was not judged (the fast line says why): that is no failure"
                            .to_string(),
                    (Verdict::Failed, Some(check)) => format!("the {} check fails", check.name()),
                    (Verdict::Failed, None) => "it fails".to_string(),
                }
            );
            return Ok(ExitCode::from(verdict.exit_code()));
        }
        Command::Hint { name } => hints::next(&layout, find(&name)?).map_err(fail)?,
        Command::List => verify::list(&layout),
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // First, before any thread starts: Ctrl-C ends the runs and removes their folders.
    let folders = Folders::default();
    grader::interrupt::on_signals(folders.clone());
    // Process-wide: ranks and workers whose launcher dies become this process's children, so
    // that the grader can end them; no run leaves a process behind (grader::procs).
    grader::procs::adopt_orphans();
    let code = run(Cli::parse(), &folders).unwrap_or_else(|code| code);
    // A signal's thread, if one is handling Ctrl-C, ends the process with 128 + the signal.
    folders.wait_if_stopping();
    code
}
