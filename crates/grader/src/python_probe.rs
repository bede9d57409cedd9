//! The Python step's module, called from Python directly (`probe.py`): a missing folder must
//! raise an `OSError` naming the file (what `open()` raises, what the script's frame catches),
//! arrays of two shapes a `ValueError`, and a disk full mid-file must raise an `OSError` and
//! leave no file at all — neither under the final name nor hidden beside it.

use std::fs;

use anyhow::Result;
use serde::Deserialize;

use crate::cause::{Cause, Topic};
use crate::run::{watched, Watch};
use crate::trial::limit;
use crate::trial::Trial;
use crate::verdict::{Check, Checked};

/// The probe, run by the system's Python with the learner's module.
const PROBE: &str = include_str!("probe.py");

/// An exception the probe saw.
#[derive(Debug, Deserialize)]
struct Raised {
    #[serde(rename = "type")]
    kind: String,
    oserror: bool,
    valueerror: bool,
    filename: Option<String>,
    text: String,
}

#[derive(Debug, Deserialize)]
struct Probed {
    missing_folder: Option<Raised>,
    wrong_shapes: Option<Raised>,
    disk_full: Option<Raised>,
    left: std::collections::BTreeMap<String, u64>,
}

/// `Ok(Ok(None))` when the module passed; `Ok(Err(check))` when it did not.
pub fn check(trial: &Trial) -> Result<std::result::Result<Option<String>, Box<Checked>>> {
    let folder = trial.scratch.join("probe");
    let (ran, probed) = probe(trial, &folder)?;
    let _ = fs::remove_dir_all(&folder);
    let see = trial.tutor.see(Topic::WriteThenRename);
    let Some(probed) = probed else {
        let lines = crate::said::program_lines(&ran.stderr);
        let failed = lines.iter().take(6).fold(
            fail("calling your module's save and generate_data from Python failed".into()),
            |c, l| c.with(l.clone()),
        );
        return Ok(Err(Box::new(failed.because(Cause::WrongException, format!("a failure inside the module is a Python exception, never a crash of Python itself {see}")))));
    };
    let created = ran
        .events
        .as_ref()
        .and_then(|e| e.created.keys().find(|n| !n.starts_with('.')).cloned());
    if let Some(name) = created {
        return Ok(Err(Box::new(fail(format!("save created {name} under its final name and wrote it there")).because(
            Cause::WritesInPlace,
            format!("a crash or a full disk in the middle of it leaves half a file under that name: {} {see}", trial.tutor.commit_advice()),
        ))));
    }
    Ok(judge(trial, &probed).map_or(Ok(None), |c| Err(Box::new(c))))
}

fn fail(summary: String) -> Checked {
    Checked::fail(Check::Safe, summary)
}

/// Runs the probe with the learner's module: what it reported, if it got to report.
fn probe(trial: &Trial, folder: &std::path::Path) -> Result<(crate::run::Ran, Option<Probed>)> {
    crate::run::fresh(folder)?;
    fs::create_dir(folder.join("full"))?;
    let script = folder.join("probe.py");
    fs::write(&script, PROBE)?;
    let result = folder.join("result.json");
    let library = &trial.contest.yours.binary;
    tools::link_python_module(library)?;
    let mut command = tools::python_command(&script, library);
    command.arg(&result).arg(folder).current_dir(folder);
    let watch = Watch {
        dir: Some(folder.join("full")),
        ..Watch::default()
    };
    let ran = watched(&mut command, limit(), watch)?;
    let probed = fs::read_to_string(&result)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Ok((ran, probed))
}

/// What the probe's report shows wrong, if anything.
fn judge(trial: &Trial, probed: &Probed) -> Option<Checked> {
    let see = trial.tutor.see(Topic::WriteThenRename);
    let expect_os = |what: &str, raised: &Option<Raised>| -> Option<Checked> {
        match raised {
            Some(r) if r.oserror && r.filename.is_some() => None,
            Some(r) if r.oserror => Some(fail(format!(
                "{what}: save raised {} without the file's name ({})",
                r.kind, r.text
            ))),
            Some(r) => Some(fail(format!(
                "{what}: save raised {}: {}, where Python code expects an OSError",
                r.kind, r.text
            ))),
            None => Some(fail(format!("{what}: save raised nothing"))),
        }
    };
    let os_advice = format!("an I/O error is Python's OSError(errno, strerror, filename) — what open() raises and what the script's `except OSError` catches; a RuntimeError or a panic slips past it {see}");
    let os = expect_os(
        "a file in a folder that does not exist",
        &probed.missing_folder,
    )
    .or_else(|| expect_os("a disk full mid-file", &probed.disk_full));
    if let Some(failed) = os {
        return Some(failed.because(Cause::WrongException, os_advice));
    }
    if let Some((name, size)) = probed.left.iter().next() {
        let kind = if name.starts_with('.') {
            Cause::SafeLeftover
        } else {
            Cause::WritesInPlace
        };
        return Some(
            fail(format!(
                "after a disk full mid-file, {name} was left holding {size} bytes"
            ))
            .because(kind, format!("{} {see}", trial.tutor.commit_advice())),
        );
    }
    match &probed.wrong_shapes {
        Some(r) if r.valueerror => None,
        other => {
            let raised = other.as_ref().map_or("nothing".to_string(), |r| {
                format!("{} ({})", r.kind, r.text)
            });
            Some(fail(format!("generate_data(X, Y) with X and Y of two shapes raised {raised}, where numpy raises a ValueError")).because(
                Cause::WrongException,
                format!("check the arguments before computing and return a PyValueError (the module's check(..)); a panic inside Rust reaches Python as a PanicException, which no `except Exception` catches {}", trial.tutor.see(Topic::Field)),
            ))
        }
    }
}
