//! The correctness check: the learner's files equal the reference's, bit for bit, at several
//! sizes and, for thread and MPI programs, with one, two and three workers or ranks — and what
//! the files cannot show: nothing written outside `--dir`, every file written once (not once
//! per rank or worker), and the workers or ranks asked for really at work.

use std::fs;
use std::path::Path;

use anyhow::Result;
use steps::Launch;

use crate::cause::{Cause, Topic, Tutor};
use crate::compare::{compare_dirs, names_in};
use crate::failure::failed_run;
use crate::mismatch;
use crate::run::{Case, Ran, Watch};
use crate::trial::{reference_run, written_in, your_run, Trial};
use crate::verdict::{Check, Checked};

/// The sizes every program must get right: (files, grid size). A grid of a few points first:
/// a wrong array there has enough values to tell one mistake from another.
const SIZES: [(usize, usize); 3] = [(3, 7), (5, 32), (1, 1)];

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

pub fn check(trial: &Trial) -> Result<Checked> {
    let (theirs, mine) = (trial.scratch.join("reference"), trial.scratch.join("yours"));
    let yours = &trial.contest.yours;
    let cases = cases(yours.launch);
    let mut last = None;
    for &case in &cases {
        if last != Some((case.n, case.s)) {
            reference_run(
                &trial.contest.reference,
                Case { workers: 1, ..case },
                &theirs,
            )?;
            last = Some((case.n, case.s));
        }
        let before = trial.project.scan();
        let ran = your_run(trial, case, &mine, Watch::default())?;
        let with = format!("with {}", yours.describe(case));
        if let Some(failed) = failed_run(&ran, &with, trial, case) {
            return Ok(failed);
        }
        if let Some(failed) = outside(trial, &before, &with) {
            return Ok(failed);
        }
        let ran_as = mismatch::Ran {
            case,
            launch: yours.launch,
        };
        if let Some(m) = compare_dirs(&theirs, &mine, trial.format, ran_as, &trial.tutor)? {
            let failed = m.details.into_iter().fold(
                Checked::fail(Check::Correct, format!("{with}: {}", m.what)),
                Checked::with,
            );
            return Ok(failed.named(m.cause));
        }
        if let Some(failed) = duplicates(&ran, &theirs, case, &with, &trial.tutor)? {
            return Ok(failed);
        }
    }
    if let Some(failed) = crate::contract::at_work(trial)? {
        return Ok(failed);
    }
    let _ = (fs::remove_dir_all(&theirs), fs::remove_dir_all(&mine));
    Ok(Checked::pass(
        Check::Correct,
        format!(
            "{} runs ({}) wrote the reference's files bit for bit, each file once, nothing outside --dir",
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

/// Files written outside `--dir`: in the program's working folder, or in the project.
pub fn outside(trial: &Trial, before: &Option<crate::trial::Files>, with: &str) -> Option<Checked> {
    let yours = &trial.contest.yours;
    let see = trial.tutor.see(Topic::Errors);
    let in_cwd = written_in(&yours.cwd());
    if !in_cwd.is_empty() {
        return Some(
            Checked::fail(Check::Correct, format!("{with}: it wrote {} in its working folder, outside --dir", shown(&in_cwd)))
                .because(Cause::WroteOutsideDir, format!("every file it writes goes into the folder --dir names (args.dir), created if missing; a relative name such as \"output/…\" or \"data00000.npy\" lands wherever the program is started {see}")),
        );
    }
    let changed = trial.project.changed(before);
    (!changed.is_empty()).then(|| {
        Checked::fail(Check::Correct, format!("{with}: it changed the project's own files: {}", shown(&changed)))
            .with("`git status` shows them; `git checkout -- <file>` restores one")
            .because(Cause::WroteOutsideDir, format!("a program writes into --dir and nowhere else: it must not create, change or remove any other file {see}"))
    })
}

fn shown(names: &[String]) -> String {
    let mut text = names.iter().take(4).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 4 {
        text.push_str(&format!(" and {} more", names.len() - 4));
    }
    text
}

/// A file that got its name more than once in one run: several ranks or workers wrote it.
fn duplicates(
    ran: &Ran,
    theirs: &Path,
    case: Case,
    with: &str,
    tutor: &Tutor,
) -> Result<Option<Checked>> {
    let Some(events) = ran.events.as_ref().filter(|e| !e.overflowed) else {
        return Ok(None);
    };
    let twice = names_in(theirs)?
        .into_iter()
        .map(|name| (events.arrivals(&name), name))
        .filter(|(count, _)| *count > 1)
        .max();
    Ok(twice.map(|(count, name)| {
        let who = match tutor.launch() {
            Launch::Mpi => format!("{} ranks", case.workers),
            Launch::Threads => format!("{} workers", case.workers),
            _ => "the program".into(),
        };
        let (why, topic) = match tutor.launch() {
            Launch::Mpi => ("each rank writes only its own share of the file indices, never all of them", Topic::Split),
            Launch::Threads => ("each file index goes to one worker only: the channel hands every index out once", Topic::Workers),
            _ => ("the loop runs once per file index", Topic::Field),
        };
        Checked::fail(Check::Correct, format!("{with}: {name} was written {count} times in one run, by {who}"))
            .with("the last one written wins, so the files look right, but the work was done more than once")
            .because(Cause::DuplicateWork, format!("{why} {}", tutor.see(topic)))
    }))
}
