//! The driver: the run of one step, around its lesson, written once for one process and for
//! every rank of an MPI job — a [`Team`]: [`Alone`], or `gridgen-mpi`'s world.
//!
//! [`run_with`] reads top to bottom as a run goes: parse the arguments, start the guard, check
//! the run can work, create the output folder, time the lesson, agree on its outcome, print one
//! summary line (or one line on stderr naming the cause) and give the exit code.
//!
//! Every outcome is agreed on by the whole team before any member goes on (`agree`): no
//! member is left waiting in a collective call the others never make, and the lowest member
//! with an error of its own reports it.
//!
//! - [`args`]: the shared command line. [`output`]: where the steps write, all or nothing.
//! - [`prepare`]: the checks before anything is created, and the folders.
//! - [`observe`], [`profile`], [`trace`], [`progress`]: `--flamegraph`, `--trace`, the bar.
//! - [`report`]: what a run says. [`team`]: the processes running it. [`workers`]: the thread
//!   steps' shared errors and names.

pub mod args;
pub mod observe;
pub mod output;
pub mod prepare;
pub mod profile;
pub mod progress;
pub mod report;
pub mod team;
pub mod trace;
pub mod workers;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Instant;

use gridgen_contract::Summary;
use steps::Step;

use crate::guard::{self, space};
use crate::{Error, Result};
use args::StepArgs;
use observe::Observer;
use output::Output;
use team::{Alone, Team};

/// Runs one step in this process alone: `body` is the lesson, handed the parsed arguments and
/// the output folder. `step` is the calling crate's row of the step table: [`crate::step!`].
pub fn run<A: StepArgs>(
    step: &'static Step,
    body: impl FnOnce(&A, &Output) -> Result<()>,
) -> ExitCode {
    ExitCode::from(run_with(step, &Alone, |args: &A, out, _| body(args, out)))
}

/// Runs one step on every member of `team`, and gives this member's exit code. Every member
/// calls it with the same arguments. The lesson may fail with any error that becomes gridgen's
/// (`gridgen_h5`'s, for the HDF5 steps).
pub fn run_with<A: StepArgs, T: Team, E: Into<Error>>(
    step: &'static Step,
    team: &T,
    body: impl FnOnce(&A, &Output, &T) -> Result<(), E>,
) -> u8 {
    let who = match team.named_rank() {
        Some(rank) => format!("{}: rank {rank}", step.name),
        None => step.name.to_owned(),
    };
    report::one_line_panics(who);
    // The same arguments on every member: they all parse alike, and only member 0 speaks.
    let args: A = match args::parse(step, team.member() == 0) {
        Ok(Some(args)) => args,
        Ok(None) => return 0,
        Err(e) => {
            if team.member() == 0 {
                report::failure(step.name, None, &e);
            }
            return e.exit_code();
        }
    };
    // From here on a signal, a failed allocation or a lost launcher removes unfinished files.
    guard::start(step.name, args.common().n_files, team.process());
    match run_parsed(step, team, &args, body) {
        Ok(code) | Err(code) => code,
    }
}

/// The run after parsing: `Err` is the exit code of a run that was refused or failed (reported).
fn run_parsed<A: StepArgs, T: Team, E: Into<Error>>(
    step: &'static Step,
    team: &T,
    args: &A,
    body: impl FnOnce(&A, &Output, &T) -> Result<(), E>,
) -> Result<u8, u8> {
    let common = args.common();
    // Before anything is created: what the team, this machine and its node allow.
    let extra = team.frame_bytes(common.n_files);
    let own = team
        .refuses(common)
        .and_then(|()| prepare::check(step, args, extra));
    let together = team.check_together(common, args.grids_in_memory(), extra);
    agree(team, step, own.and(together))?;
    // The folders, the output and the profiler (its start-up, loading symbols, is not timed).
    // A failure anywhere removes the folders each member made.
    let created = prepare::create(step, args)
        .and_then(|(out, made)| Ok((out, made, Observer::start(common)?)));
    let (out, made, observer) = agree(team, step, created)?;
    made.keep();
    team.barrier();
    let start = Instant::now();
    // The lesson. A panic has printed its line (the hook); the team decides what follows.
    let bar = team.named_rank().is_none();
    if bar {
        out.progress.show_bar(common.n_files);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        lesson(&out, body(args, &out, team).map_err(Into::into))
    }));
    out.progress.clear_bar();
    let outcome = outcome.unwrap_or_else(|payload| team.panicked(payload));
    agree(team, step, outcome)?;
    if let Some(rank) = team.named_rank().filter(|_| out.files_done() == 0) {
        report::line(&format!(
            "{}: rank {rank}: no files to write ({} files over {} ranks)",
            step.name,
            common.n_files,
            team.members()
        ));
    }
    // Member 0's summary, with every member's bytes added up; then what was observed.
    let mut summary = team.sum(out.bytes_written()).map(|bytes| {
        let mut summary = summarize(step, args, bytes, start);
        team.annotate(&mut summary);
        summary
    });
    let observed = observer
        .finish(&out)
        .and_then(|seen| observe::write_observed(team, step, common, seen, summary.as_mut()));
    agree(team, step, observed)?;
    Ok(match summary {
        Some(summary) if report::summary(step.name, &summary, common.json) != ExitCode::SUCCESS => {
            1
        }
        _ => 0,
    })
}

/// Every member passes its own outcome and learns, in one reduction, whether all succeeded. If
/// any failed, the lowest member with an error of its own (not "another rank failed") reports
/// it — with its rank for failures during the run, without for usage errors that every member
/// shares — and every member gets the worst exit code. A member that failed and whose fellows
/// did not come within [`guard::PATIENCE`] reports its own failure and goes no further.
fn agree<T: Team, V>(team: &T, step: &Step, mine: Result<V>) -> Result<V, u8> {
    let failure = mine.as_ref().err();
    let reportable = failure.is_some_and(|e| !matches!(e, Error::OtherRankFailed));
    // [worst exit code, members − the lowest reporting member], both reduced with max at once.
    let size = team.members() as i32;
    let me = [
        failure.map_or(0, |e| i32::from(e.exit_code())),
        if reportable {
            size - team.member() as i32
        } else {
            0
        },
    ];
    let all = team
        .max_of(me, failure.is_some())
        .unwrap_or([me[0].max(1), me[1]]);
    let (code, reporter) = (all[0], size - all[1]);
    match mine {
        Ok(value) if code == 0 => Ok(value),
        other => {
            guard::mark_told();
            if let Err(e) = other {
                if reporter == team.member() as i32 {
                    let rank = team.named_rank().filter(|_| e.exit_code() != 2);
                    report::failure(step.name, rank, &e);
                }
            }
            Err(code.clamp(1, 255) as u8)
        }
    }
}

/// The lesson's outcome as gridgen's error, naming the run's one file if the error named none
/// (a library's error knows no path), and saying what lies behind a library's "unknown library
/// error" (HDF5 1.10's word for a failed flush on a full disk or at `ulimit -f`).
fn lesson(out: &Output, outcome: Result<()>) -> Result<()> {
    outcome.map_err(|e| {
        let one_file = out.format().one_file();
        match e.in_file(|| one_file.then(|| out.single_path())) {
            Error::Library {
                library,
                path,
                message,
            } if message.contains("unknown library error") || message.contains("write failed") => {
                Error::Library {
                    library,
                    path,
                    message: format!("{message}{}", likely_cause(out)),
                }
            }
            other => other,
        }
    })
}

/// What the run's file has most likely run into: the file-size limit, if it is now below the
/// file's size (lowered during the run: it was checked before); else the free space left.
fn likely_cause(out: &Output) -> String {
    let needed = out.data_bytes();
    if let Some(limit) = space::file_size_limit().filter(|&l| l < needed) {
        return format!(
            ": File too large (the file-size limit, ulimit -f, is {}; the file needs about {})",
            space::human(limit),
            space::human(needed)
        );
    }
    match space::free_bytes(out.dir()) {
        Some(free) => format!(" (its folder has {} free)", space::human(free)),
        None => String::new(),
    }
}

/// The summary of a finished run.
fn summarize<A: StepArgs>(step: &Step, args: &A, bytes: u64, start: Instant) -> Summary {
    let common = args.common();
    let seconds = start.elapsed().as_secs_f64();
    let mut summary = Summary::new(step.name, common.n_files, common.size, bytes, seconds);
    args.annotate(&mut summary);
    summary
}
