//! The safety check: an output the program cannot write (a folder stands at its name) must end
//! the run with exit 1 and one line on stderr naming it, every rank stopping, no temporary file
//! left and no wrong file under a final name.

use std::fs;
use std::path::Path;

use anyhow::Result;
use steps::{Format, Launch};

use crate::compare::names_in;
use crate::correct::{reference_run, LIMIT};
use crate::run::{bounded, fresh, Case, Program, Ran};
use crate::said::{self, program_lines};
use crate::verdict::{Check, Checked};

/// The name the check blocks: the last file (the last rank's, for MPI), or the one file.
pub fn blocked_name(format: Format, n: usize) -> String {
    if format.one_file() {
        format!("data.{format}")
    } else {
        format!("data{:05}.{format}", n - 1)
    }
}

pub fn check(
    yours: &Program,
    reference: &Program,
    format: Format,
    scratch: &Path,
) -> Result<Checked> {
    let workers: &[usize] = match yours.launch {
        Launch::Serial | Launch::Python => &[1],
        Launch::Threads => &[2],
        Launch::Mpi => &[2, 3],
    };
    let (theirs, mine) = (scratch.join("reference"), scratch.join("yours"));
    let blocked = blocked_name(format, 4);
    for &w in workers {
        let case = Case {
            n: 4,
            s: 16,
            workers: w,
        };
        reference_run(reference, case, &theirs)?;
        fresh(&mine)?;
        fs::create_dir(mine.join(&blocked))?;
        fs::write(mine.join(&blocked).join("keep"), "not yours to replace\n")?;
        let ran = bounded(&mut yours.command(case, &mine), LIMIT)?;
        let with = format!("with {blocked} blocked ({})", yours.describe(case));
        if let Some(failed) = judge(&ran, &with, &blocked, &theirs, &mine, format)? {
            return Ok(failed);
        }
    }
    let _ = (fs::remove_dir_all(&theirs), fs::remove_dir_all(&mine));
    let ranks = if yours.launch == Launch::Mpi {
        ", every rank stopped"
    } else {
        ""
    };
    Ok(Checked::pass(
        Check::Safe,
        format!("an output it cannot write ({blocked}) ends it with exit 1 and one line naming it{ranks}, nothing partial or wrong left"),
    ))
}

/// What the blocked run did wrong, if anything.
fn judge(
    ran: &Ran,
    with: &str,
    blocked: &str,
    theirs: &Path,
    mine: &Path,
    format: Format,
) -> Result<Option<Checked>> {
    let fail = |summary: String| Some(Checked::fail(Check::Safe, format!("{with}: {summary}")));
    if ran.hung() {
        return Ok(fail(format!("it did not end within {} s", LIMIT.as_secs())).map(|c| {
            c.with("likely cause: one rank or worker stopped and the others wait for it; agree on success before any collective (an all-reduce), and stop the workers on the first error")
        }));
    }
    let lines = program_lines(&ran.stderr);
    if let Some(panic) = said::first_panic(&said::lines(&ran.stderr)) {
        return Ok(fail(format!("{panic}")).map(|c| {
            c.with("likely cause: an unwrap or expect on what the machine refused; a failure the machine causes is an error to report with `?`, one line and exit 1, not a panic")
        }));
    }
    if ran.code() != Some(1) {
        let why = if ran.code() == Some(101) {
            "it panicked (exit 101): a failure the machine causes is an error to report, one line and exit 1, not a panic".to_string()
        } else {
            format!("exit {:?}, not 1 (the run failed: exit 1)", ran.code())
        };
        return Ok(fail(why).map(|c| lines.iter().take(4).fold(c, |c, l| c.with(l.clone()))));
    }
    if !lines.iter().any(|l| l.contains(blocked)) {
        return Ok(fail(format!("no line on stderr names {blocked}"))
            .map(|c| lines.iter().take(4).fold(c, |c, l| c.with(l.clone()))));
    }
    if lines.len() > 1 {
        return Ok(fail(format!(
            "{} lines on stderr; one, naming the file and the cause, is enough",
            lines.len()
        ))
        .map(|c| lines.iter().take(6).fold(c, |c, l| c.with(l.clone()))));
    }
    if !mine.join(blocked).join("keep").is_file() {
        return Ok(fail(format!(
            "{blocked} was replaced or emptied: it was not the run's to touch"
        )));
    }
    Ok(leftovers(blocked, theirs, mine, format)?.and_then(fail))
}

/// A file left that is not a complete, correct output.
fn leftovers(blocked: &str, theirs: &Path, mine: &Path, format: Format) -> Result<Option<String>> {
    let finals = names_in(theirs)?;
    for name in names_in(mine)? {
        if name == blocked {
            continue;
        }
        if !finals.contains(&name) {
            return Ok(Some(format!(
                "{name} is left behind: a temporary or partial file"
            )));
        }
        // A final name must hold the right bytes (HDF5: the one file is the blocked one).
        if format.one_file() || fs::read(mine.join(&name))? != fs::read(theirs.join(&name))? {
            return Ok(Some(format!(
                "{name} is left under its final name with other bytes than the reference's"
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocked_name_is_the_last_file_or_the_one_file() {
        assert_eq!(blocked_name(Format::Npy, 4), "data00003.npy");
        assert_eq!(blocked_name(Format::H5, 4), "data.h5");
    }
}
