//! A run that hung, panicked or failed where it should have succeeded, as a failed check: a
//! panic named with its rank and place, a `todo!()` as a part still to write, a hang by what
//! was running when it was stopped, a write refused outside `--dir` as such.

use crate::cause::{Cause, Named, Topic};
use crate::run::{Case, Ran, Stop, AFTER_PANIC};
use crate::said;
use crate::trial::{limit, outcome, Trial};
use crate::verdict::{Check, Checked};

/// A run that hung, panicked or failed, as a failed check; `None` when it succeeded. A panic
/// comes first, named with its rank and place; a hang says what was running when it was
/// stopped.
pub fn failed_run(ran: &Ran, with: &str, trial: &Trial, case: Case) -> Option<Checked> {
    if ran.succeeded() {
        return None;
    }
    let lines = said::lines(&ran.stderr);
    // A `todo!()` panics too, but it is a part not written yet, not a bug.
    let todo = lines
        .iter()
        .find(|l| l.text.contains("not yet implemented"));
    if let Some(panic) = said::first_panic(&lines).filter(|_| todo.is_none()) {
        let mut failed = Checked::fail(Check::Correct, format!("{with}: {panic}"));
        if ran.stopped == Some(Stop::AfterPanic) {
            failed = failed.with(format!(
                "the other processes had not ended {} s later: they were waiting for it, and were stopped",
                AFTER_PANIC.as_secs()
            ));
        }
        return Some(failed.because(
            Cause::Panicked,
            format!("a panic is a bug to fix where it points; what the machine refuses (a file, a limit) is an error to return: {}", trial.tutor.error_advice()),
        ));
    }
    if ran.hung() {
        return Some(hang(ran, &lines, with, trial, case));
    }
    if let Some(line) = todo {
        let part = line
            .text
            .split("not yet implemented: ")
            .nth(1)
            .unwrap_or(&line.text)
            .to_string();
        return Some(
            Checked::fail(Check::Correct, format!("{with}: a part is still to write"))
                .because(Cause::TodoLeft, part),
        );
    }
    let texts: Vec<&String> = lines.iter().map(|l| &l.text).collect();
    let failed = texts.iter().take(6).fold(
        Checked::fail(
            Check::Correct,
            format!("{with}: it failed ({})", outcome(ran)),
        ),
        |c, l| c.with((*l).clone()),
    );
    if let Some(line) = texts
        .iter()
        .find(|l| l.contains("Read-only file system") || l.contains("os error 30"))
    {
        return Some(failed.because(
            Cause::WroteOutsideDir,
            format!("it tried to write outside --dir, where it may not (the project is read-only while it is graded): {line} — every file it writes goes into args.dir {}", trial.tutor.see(Topic::Errors)),
        ));
    }
    Some(failed.because(
        Cause::RunFailed,
        "a valid, small run failed: the lines above are its own, and say why".to_string(),
    ))
}

/// A run that did not end: what was running when it was stopped, and the likely cause.
fn hang(ran: &Ran, lines: &[said::Line], with: &str, trial: &Trial, case: Case) -> Checked {
    let snapshot = ran.snapshot.clone().unwrap_or_default();
    if let Some(grew) = snapshot.growing {
        return slow(ran, grew, with, trial, case);
    }
    let failed = Checked::fail(
        Check::Correct,
        format!(
            "{with}: it did not end within {} s: a hang",
            limit().as_secs()
        ),
    );
    let (details, named): (Vec<String>, Named) = crate::hang::diagnose(
        &snapshot,
        lines,
        &trial.tutor,
        (case.n, case.workers),
        &trial.crate_name,
    );
    details.into_iter().fold(failed, Checked::with).named(named)
}

/// A run stopped at the limit while it still wrote: far too slow, not hung — and why, from
/// its write calls against the values it wrote.
fn slow(ran: &Ran, grew: u64, with: &str, trial: &Trial, case: Case) -> Checked {
    let calls = ran.usage.write_calls.unwrap_or(0);
    let values = (ran.snapshot.as_ref().map_or(0, |s| s.final_files) * case.s * case.s).max(1);
    let written = (grew / 8).max(values as u64);
    let failed = Checked::fail(
        Check::Correct,
        format!("{with}: still writing when stopped after {} s, {grew} bytes in its last 5 s: far too slow to finish", limit().as_secs()),
    )
    .with(format!("{calls} write system calls before it was stopped; a file holds {} values", case.s * case.s));
    if calls as f64 >= 0.5 * written as f64 {
        return failed.because(
            Cause::SlowWritePerValue,
            format!("a write call for every value or few, each a system call: write each array's bytes with one write_all {}", trial.tutor.see(Topic::Npy)),
        );
    }
    failed.because(
        Cause::SlowOwnCode,
        format!("work repeated per value or per file in its own code; profile it beside the reference {}", trial.tutor.see(Topic::Profile)),
    )
}
