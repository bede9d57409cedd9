//! The correctness check: the learner's files equal the reference's, bit for bit, at several
//! sizes (one file, a one-point grid, an odd size) and, for thread and MPI programs, with one,
//! two and three workers or ranks.

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use steps::{Format, Launch};

use crate::compare::compare_dirs;
use crate::mismatch;
use crate::run::{bounded, fresh, Case, Program, Ran, Stop, AFTER_PANIC};
use crate::said;
use crate::verdict::{Check, Checked};

/// Small runs: a hang shows as one long before this.
pub const LIMIT: Duration = Duration::from_secs(60);

/// The sizes every program must get right: (files, grid size).
const SIZES: [(usize, usize); 3] = [(1, 1), (3, 7), (5, 32)];

pub fn cases(launch: Launch) -> Vec<Case> {
    let workers: &[usize] = match launch {
        Launch::Serial | Launch::Python => &[1],
        Launch::Threads | Launch::Mpi => &[1, 2, 3],
    };
    SIZES
        .iter()
        .flat_map(|&(n, s)| workers.iter().map(move |&w| Case { n, s, workers: w }))
        .collect()
}

/// Runs the reference into `dir` for `case`; its failure is the grader's, not the learner's.
pub fn reference_run(reference: &Program, case: Case, dir: &Path) -> Result<()> {
    fresh(dir)?;
    let ran = bounded(&mut reference.command(case, dir), LIMIT)?;
    if !ran.succeeded() {
        bail!(
            "{} {} failed on this machine ({}): {}",
            reference.label,
            reference.describe(case),
            outcome(&ran),
            ran.stderr.trim()
        );
    }
    Ok(())
}

pub fn check(
    yours: &Program,
    reference: &Program,
    format: Format,
    scratch: &Path,
) -> Result<Checked> {
    let (theirs, mine) = (scratch.join("reference"), scratch.join("yours"));
    let cases = cases(yours.launch);
    let mut last = None;
    for &case in &cases {
        if last != Some((case.n, case.s)) {
            reference_run(reference, Case { workers: 1, ..case }, &theirs)?;
            last = Some((case.n, case.s));
        }
        fresh(&mine)?;
        let ran = bounded(&mut yours.command(case, &mine), LIMIT)?;
        let with = format!("with {}", yours.describe(case));
        if let Some(failed) = failed_run(&ran, &with) {
            return Ok(failed);
        }
        let ran = mismatch::Ran {
            case,
            launch: yours.launch,
        };
        if let Some(m) = compare_dirs(&theirs, &mine, format, ran)? {
            return Ok(Checked::fail(Check::Correct, format!("{with}: {}", m.what))
                .with(format!("likely cause: {}", m.cause)));
        }
    }
    let _ = (fs::remove_dir_all(&theirs), fs::remove_dir_all(&mine));
    Ok(Checked::pass(
        Check::Correct,
        format!(
            "{} runs ({}) wrote the reference's files bit for bit",
            cases.len(),
            covered(yours.launch)
        ),
    ))
}

/// What the sizes and workers covered, in words.
fn covered(launch: Launch) -> String {
    let sizes: Vec<String> = SIZES
        .iter()
        .map(|(n, s)| format!("-n {n} -s {s}"))
        .collect();
    let workers = match launch {
        Launch::Serial | Launch::Python => "",
        Launch::Threads => ", each with -w 1, 2 and 3",
        Launch::Mpi => ", each on 1, 2 and 3 ranks",
    };
    format!("{}{workers}", sizes.join(", "))
}

/// A run that hung, panicked or failed, as a failed check; `None` when it succeeded. A panic
/// comes first, named with its rank and place; a hang shows what each rank said last.
pub fn failed_run(ran: &Ran, with: &str) -> Option<Checked> {
    if ran.succeeded() {
        return None;
    }
    let lines = said::lines(&ran.stderr);
    // A `todo!()` panics too, but it is a part not written yet, not a bug.
    let todo_left = lines.iter().any(|l| l.text.contains("not yet implemented"));
    if let Some(panic) = said::first_panic(&lines).filter(|_| !todo_left) {
        let mut failed = Checked::fail(Check::Correct, format!("{with}: {panic}"));
        if ran.stopped == Some(Stop::AfterPanic) {
            failed = failed.with(format!(
                "the other processes had not ended {} s later: they were waiting for it (in a collective, a receive or a join), and were stopped",
                AFTER_PANIC.as_secs()
            ));
        }
        return Some(failed.with(
            "likely cause: a panic is a bug to fix where it points; what the machine refuses (a file, a limit) is an error to return with `?`",
        ));
    }
    if ran.hung() {
        return Some(hang(&lines, with));
    }
    let texts: Vec<&String> = lines.iter().map(|l| &l.text).collect();
    let todo = texts.iter().find(|l| l.contains("not yet implemented"));
    let mut failed = match todo {
        Some(line) => Checked::fail(Check::Correct, format!("{with}: a part is still to write"))
            .with(
                line.split("not yet implemented: ")
                    .nth(1)
                    .unwrap_or(line)
                    .to_string(),
            ),
        None => Checked::fail(
            Check::Correct,
            format!("{with}: it failed ({})", outcome(ran)),
        ),
    };
    if todo.is_none() {
        for line in texts.iter().take(6) {
            failed = failed.with((*line).clone());
        }
    }
    Some(failed)
}

/// A run that did not end: what each rank (or the program) said last, then the likely cause.
fn hang(lines: &[said::Line], with: &str) -> Checked {
    let mut failed = Checked::fail(
        Check::Correct,
        format!(
            "{with}: it did not end within {} s: a hang",
            LIMIT.as_secs()
        ),
    );
    let said = said::last_lines(lines, 3);
    if said.is_empty() {
        failed = failed.with("it said nothing on stderr before it was stopped");
    }
    for (rank, last) in said {
        let who = rank.map_or("it".to_string(), |r| format!("rank {r}"));
        failed = failed.with(format!("{who} said last: {}", last.join(" | ")));
    }
    failed.with("likely cause: a receive that no send answers, a collective not every rank calls, or a worker never told to stop")
}

/// "exit 1", "killed by signal 9 (exit 137)".
pub fn outcome(ran: &Ran) -> String {
    match ran.code() {
        Some(c) if c > 128 => format!("killed by signal {} (exit {c})", c - 128),
        Some(c) => format!("exit {c}"),
        None => "still running".into(),
    }
}
