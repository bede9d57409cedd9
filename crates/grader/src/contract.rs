//! The workers or ranks asked for, at work: a thread program given `-w 1` writes from one
//! thread and given `-w 3` runs three of them; an MPI program's every rank writes its share,
//! and no file's data is written by more than one. Seen from /proc while a larger run goes on
//! (its threads and processes, and what each wrote).

use std::fs;

use anyhow::Result;
use steps::{Format, Launch};

use crate::cause::{Cause, Topic};
use crate::failure::failed_run;
use crate::run::{Case, Watch};
use crate::trial::Trial;
use crate::trial::{file_bytes, outcome, your_run};
use crate::verdict::{Check, Checked};

/// Files of this size take long enough for the samples (every 2 ms) to see every thread, and
/// a program that writes one value at a time still ends within the limit.
const SIDE: usize = 256;
const FILES: usize = 48;

/// A failed check when the workers or ranks asked for are not the ones at work.
pub fn at_work(trial: &Trial) -> Result<Option<Checked>> {
    match trial.tutor.launch() {
        Launch::Threads => workers(trial),
        Launch::Mpi => ranks(trial),
        Launch::Serial | Launch::Python => Ok(None),
    }
}

fn workers(trial: &Trial) -> Result<Option<Checked>> {
    let bytes = file_bytes(trial.format, SIDE);
    let (dir, _) = crate::fast::timing_folder(&trial.scratch.join("workers"), bytes * FILES as u64);
    let see = trial.tutor.see(Topic::Workers);
    let yours = &trial.contest.yours;
    let sampled = Watch {
        sample: true,
        ..Watch::default()
    };
    let one = Case {
        n: FILES,
        s: SIDE,
        workers: 1,
    };
    let ran = your_run(trial, one, &dir, sampled.clone())?;
    if !ran.succeeded() {
        let _ = fs::remove_dir_all(&dir);
        return Ok(Some(failed_larger(trial, one, &ran)));
    }
    let writing = ran.writers.threads_writing(bytes / 2);
    if writing > 1 {
        let _ = fs::remove_dir_all(&dir);
        return Ok(Some(
            Checked::fail(Check::Correct, format!("with {}: {writing} threads wrote files, where -w 1 asks for one worker", yours.describe(one)))
                .because(Cause::WorkersIgnored, format!("start exactly args.workers worker threads (-w), not a number of your own or the machine's core count {see}")),
        ));
    }
    let three = Case { workers: 3, ..one };
    let ran = your_run(trial, three, &dir, sampled)?;
    let _ = fs::remove_dir_all(&dir);
    if !ran.succeeded() {
        return Ok(Some(failed_larger(trial, three, &ran)));
    }
    let threads = ran.writers.most_threads;
    // Seen long enough to count: at least a few samples of a running process.
    if ran.writers.samples >= 5 && threads < 4 {
        return Ok(Some(
            Checked::fail(Check::Correct, format!("with {}: it ran {threads} threads at most, where -w 3 asks for three workers beside the main thread", yours.describe(three)))
                .because(Cause::WorkersIgnored, format!("start exactly args.workers worker threads (-w), not a number of your own or the machine's core count {see}")),
        ));
    }
    Ok(None)
}

fn ranks(trial: &Trial) -> Result<Option<Checked>> {
    let plane = file_bytes(Format::Npy, SIDE);
    let case = Case {
        n: 24,
        s: SIDE,
        workers: 3,
    };
    let (dir, _) = crate::fast::timing_folder(&trial.scratch.join("ranks"), plane * case.n as u64);
    let yours = &trial.contest.yours;
    let ran = your_run(
        trial,
        case,
        &dir,
        Watch {
            sample: true,
            ..Watch::default()
        },
    )?;
    let _ = fs::remove_dir_all(&dir);
    if !ran.succeeded() {
        return Ok(Some(failed_larger(trial, case, &ran)));
    }
    let (writing, seen) = ran.writers.ranks_writing(plane);
    if seen.len() < case.workers {
        return Ok(None); // some rank came and went between two samples: nothing to judge
    }
    let with = format!("with {}", yours.describe(case));
    if writing.len() < case.workers {
        let idle: Vec<String> = seen.difference(&writing).map(|r| r.to_string()).collect();
        return Ok(Some(
            Checked::fail(Check::Correct, format!("{with}: rank(s) {} wrote no file's data; the files were all written by the others", idle.join(", ")))
                .because(Cause::RanksIdle, format!("every rank computes and writes its own share of the file indices (numpy.array_split's chunk for its rank) {}", trial.tutor.see(Topic::Split))),
        ));
    }
    let total: u64 = ran
        .writers
        .ranks
        .keys()
        .filter_map(|p| ran.writers.by_process.get(p))
        .map(|(b, _)| b)
        .sum();
    let data = plane * case.n as u64;
    if trial.format == Format::H5 && total as f64 >= 1.8 * data as f64 {
        return Ok(Some(
            Checked::fail(Check::Correct, format!("{with}: the ranks wrote {:.1} times the data of the run ({} MB for {} MB)", total as f64 / data as f64, total / 1_000_000, data / 1_000_000))
                .because(Cause::DuplicateWork, format!("each rank writes only the datasets (or planes) of its own file indices; every rank creates every dataset, but fills only its own {}", trial.tutor.see(Topic::Hdf5))),
        ));
    }
    Ok(None)
}

/// A larger run failed where the small ones passed.
fn failed_larger(trial: &Trial, case: Case, ran: &crate::run::Ran) -> Checked {
    let with = format!("with {}", trial.contest.yours.describe(case));
    failed_run(ran, &with, trial, case).unwrap_or_else(|| {
        Checked::fail(
            Check::Correct,
            format!("{with}: it failed ({})", outcome(ran)),
        )
        .because(
            Cause::RunFailed,
            "a larger run failed where the small ones passed: the lines above are its own",
        )
    })
}
