//! The speed check: the learner's program and the reference solution, timed in the same
//! shuffled rounds on this machine (in a RAM-backed folder where there is one, so that the
//! code is timed rather than the disk). It passes within 1.25× the reference; while the
//! rounds disagree it runs more, and when they never agree it says the speed could not be
//! measured here. Thread and MPI programs also get their efficiency against the machine's
//! measured capacity for two threads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use steps::{Format, Launch};
use tools::stats::Ratio;

use crate::run::{bounded, fresh, Case, Program};
use crate::verdict::{Check, Checked, Outcome};

/// As fast as the reference means at most this much slower.
pub const WITHIN: f64 = 1.25;
const MIN_ROUNDS: usize = 5;
const MAX_ROUNDS: usize = 15;
/// Each timed run of the reference should take at least this long to be timed at all well.
const LONG_ENOUGH: f64 = 0.15;
const REPORTED_ROUNDS: usize = 3;
/// Slower than the reference by this much, a run is stopped.
const SLOWEST: f64 = 10.0;
const TIMED_LIMIT: Duration = Duration::from_secs(120);

/// The programs a round times.
pub struct Contest {
    pub yours: Program,
    pub reference: Program,
    /// The reference of the step before, to say how much this step's idea gave.
    pub predecessor: Option<Program>,
}

/// Where to time: a RAM-backed folder if the machine has one with room, else `fallback`.
pub fn timing_folder(fallback: &Path, bytes: u64) -> (PathBuf, &'static str) {
    let shm = Path::new("/dev/shm");
    if let Ok(dir) = tempdir_in(shm) {
        if free_bytes(shm) > 3 * bytes {
            return (dir, "a RAM-backed folder (/dev/shm)");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    (
        fallback.to_path_buf(),
        "the disk (no RAM-backed folder with room here)",
    )
}

fn tempdir_in(parent: &Path) -> Result<PathBuf> {
    let dir = parent.join(format!("grader-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_bytes(path: &Path) -> u64 {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs writes into the zeroed struct we own; the path is a valid C string.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return 0;
        }
        s.f_bavail as u64 * s.f_frsize as u64
    }
}

/// The bytes a run of `case` writes, about.
pub fn bytes_of(format: Format, case: Case) -> u64 {
    let per_value = if format == Format::Txt { 25 } else { 8 };
    (case.n * case.s * case.s * per_value) as u64
}

/// The case to time: the reference's run doubled in files until its work, not its start
/// (an MPI launch takes a good part of a second), takes long enough.
fn calibrate(contest: &Contest, format: Format, dir: &Path, workers: usize) -> Result<(Case, f64)> {
    let start_up = time(
        &contest.reference,
        Case {
            n: 1,
            s: 1,
            workers,
        },
        dir,
    )?;
    let s = if format == Format::Txt { 256 } else { 512 };
    let mut case = Case { n: 8, s, workers };
    loop {
        let t = time(&contest.reference, case, dir)?;
        if t - start_up >= LONG_ENOUGH
            || case.n >= 4096
            || free_bytes(dir) < 6 * bytes_of(format, case)
        {
            return Ok((case, t));
        }
        case.n *= 2;
    }
}

/// One timed run in a fresh folder.
fn time(program: &Program, case: Case, dir: &Path) -> Result<f64> {
    time_within(program, case, dir, TIMED_LIMIT)?.with_context(|| {
        format!(
            "{} {} did not end in {} s",
            program.label,
            program.describe(case),
            TIMED_LIMIT.as_secs()
        )
    })
}

/// One timed run, `None` when it was stopped at `limit`.
fn time_within(program: &Program, case: Case, dir: &Path, limit: Duration) -> Result<Option<f64>> {
    fresh(dir)?;
    let ran = bounded(&mut program.command(case, dir), limit)?;
    if ran.hung() {
        return Ok(None);
    }
    if !ran.succeeded() {
        bail!(
            "{} {} failed while timed: {}",
            program.label,
            program.describe(case),
            ran.stderr.trim()
        );
    }
    Ok(Some(ran.seconds))
}

/// The times of one round, by program.
struct Round {
    reference: f64,
    yours: f64,
    yours_alone: Option<f64>,
    predecessor: Option<f64>,
    capacity: Option<(f64, f64)>,
}

pub fn check(contest: &Contest, format: Format, scratch: &Path) -> Result<Checked> {
    let parallel = contest.yours.launch != Launch::Serial && tools::cores() >= 2;
    let workers = if parallel { 2 } else { 1 };
    let probe = Case {
        n: 64,
        s: 512,
        workers,
    };
    let (dir, place) = timing_folder(&scratch.join("timed"), bytes_of(format, probe));
    let (case, reference) = calibrate(contest, format, &dir, workers)?;
    // A run far slower than the reference is stopped: how much slower needs no more rounds.
    let limit = Duration::from_secs_f64((SLOWEST * reference).max(2.0));
    let mut rounds: Vec<Round> = Vec::new();
    let verdict = loop {
        let Some(r) = round(contest, case, &dir, parallel, rounds.len(), limit)? else {
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(Checked::fail(Check::Fast, format!(
                "your run took more than {SLOWEST}× the reference's time and was stopped after {:.1} s (the reference: {reference:.2} s)",
                limit.as_secs_f64()
            ))
            .with(format!("timed: {} on {place}", contest.yours.describe(case))));
        };
        rounds.push(r);
        let ratio = Ratio::of(
            &rounds
                .iter()
                .map(|r| r.yours / r.reference)
                .collect::<Vec<_>>(),
        );
        // Far slower in every round so far: no need for more.
        if let Some(r) = ratio.filter(|r| r.rounds >= 3 && r.q1 > 2.0 * WITHIN) {
            break (Outcome::Fail, r);
        }
        let Some(ratio) = ratio.filter(|r| r.rounds >= MIN_ROUNDS) else {
            continue;
        };
        if ratio.q3 <= WITHIN {
            break (Outcome::Pass, ratio);
        }
        if ratio.q1 > WITHIN {
            break (Outcome::Fail, ratio);
        }
        if ratio.rounds >= MAX_ROUNDS {
            break (Outcome::NotMeasurable, ratio);
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report(contest, case, place, verdict, &rounds))
}

fn round(
    contest: &Contest,
    case: Case,
    dir: &Path,
    parallel: bool,
    k: usize,
    limit: Duration,
) -> Result<Option<Round>> {
    // Alternate the order, so that neither program always runs on a cache the other warmed.
    let (first_yours, alone) = (k % 2 == 0, Case { workers: 1, ..case });
    let mut r = Round {
        reference: 0.0,
        yours: 0.0,
        yours_alone: None,
        predecessor: None,
        capacity: None,
    };
    let yours = |r: &mut Round| -> Result<bool> {
        r.yours = match time_within(&contest.yours, case, dir, limit)? {
            Some(t) => t,
            None => return Ok(false),
        };
        Ok(true)
    };
    if first_yours && !yours(&mut r)? {
        return Ok(None);
    }
    r.reference = time(&contest.reference, case, dir)?;
    if !first_yours && !yours(&mut r)? {
        return Ok(None);
    }
    // What is only reported (one worker, the machine, the step before) needs a few rounds.
    if parallel && k < REPORTED_ROUNDS {
        r.yours_alone = Some(time(&contest.yours, alone, dir)?);
        r.capacity = Some((
            tools::capacity::seconds(1, 20),
            tools::capacity::seconds(2, 20),
        ));
    }
    if let Some(p) = contest.predecessor.as_ref().filter(|_| k < REPORTED_ROUNDS) {
        let same = if p.launch == contest.yours.launch {
            case
        } else {
            alone
        };
        r.predecessor = Some(time(p, same, dir)?);
    }
    Ok(Some(r))
}

fn report(
    contest: &Contest,
    case: Case,
    place: &str,
    (outcome, ratio): (Outcome, Ratio),
    rounds: &[Round],
) -> Checked {
    let case_text = contest.yours.describe(case);
    let summary = match outcome {
        Outcome::Pass => format!("your time is {} the reference's: within {WITHIN}×", ratio.shown()),
        Outcome::Fail => format!("your time is {} the reference's: more than {WITHIN}×", ratio.shown()),
        Outcome::NotMeasurable => format!(
            "not measurable here: your time is {} the reference's, and the rounds spread across {WITHIN}× (a busy machine; try again when it is quieter)",
            ratio.shown()
        ),
    };
    let mut checked = Checked::new(Check::Fast, outcome, summary).with(format!(
        "timed: {case_text}, on {place}, both in every round, the order alternating"
    ));
    let per_round = |f: &dyn Fn(&Round) -> Option<f64>| {
        Ratio::of(&rounds.iter().filter_map(f).collect::<Vec<_>>())
    };
    if let (Some(s), Some(c)) = (
        per_round(&|r| r.yours_alone.map(|a| a / r.yours)),
        per_round(&|r| {
            r.capacity
                .map(|(one, two)| tools::capacity::speedup(one, two, 2))
        }),
    ) {
        let unit = if contest.yours.launch == Launch::Mpi {
            "ranks"
        } else {
            "workers"
        };
        checked = checked.with(format!(
            "2 {unit}: {:.2}× your time with 1; the machine gives 2 threads {:.2}× now: {:.0}% of what it can",
            s.median, c.median, 100.0 * s.median / c.median
        ));
    }
    if let (Some(p), Some(pred)) = (
        per_round(&|r| r.predecessor.map(|p| p / r.yours)),
        &contest.predecessor,
    ) {
        checked = checked.with(format!(
            "yours is {} as fast as {}, its predecessor",
            p.shown(),
            pred.label
        ));
    }
    checked
}
