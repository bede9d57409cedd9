//! The speed check: the learner's program and the reference solution, timed in the same
//! shuffled rounds on this machine (in a RAM-backed folder where there is one, so that the
//! code is timed rather than the disk). It passes within 1.25× the reference; while the
//! rounds disagree it runs more, and when they never agree it says the speed could not be
//! measured here. Thread and MPI programs also get their efficiency against the machine's
//! measured capacity for two threads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use steps::{Format, Launch};
use tools::stats::Ratio;

use crate::run::{bounded, fresh, Case, Program, Usage};
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
    )?
    .seconds;
    let s = if format == Format::Txt { 256 } else { 512 };
    let mut case = Case { n: 8, s, workers };
    loop {
        let t = time(&contest.reference, case, dir)?.seconds;
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
fn time(program: &Program, case: Case, dir: &Path) -> Result<Timed> {
    time_within(program, case, dir, TIMED_LIMIT)?.map_err(|_| {
        anyhow::anyhow!(
            "{} {} did not end in {} s",
            program.label,
            program.describe(case),
            TIMED_LIMIT.as_secs()
        )
    })
}

/// A timed run: its wall time and where its CPU time went.
#[derive(Debug, Clone, Copy)]
struct Timed {
    seconds: f64,
    usage: Usage,
}

/// One timed run, or (`Err`) where the time had gone when it was stopped at `limit`.
fn time_within(
    program: &Program,
    case: Case,
    dir: &Path,
    limit: Duration,
) -> Result<Result<Timed, Usage>> {
    fresh(dir)?;
    let ran = bounded(&mut program.command(case, dir), limit)?;
    if ran.hung() {
        return Ok(Err(ran.usage));
    }
    if !ran.succeeded() {
        bail!(
            "{} {} failed while timed: {}",
            program.label,
            program.describe(case),
            ran.stderr.trim()
        );
    }
    Ok(Ok(Timed {
        seconds: ran.seconds,
        usage: ran.usage,
    }))
}

/// The times of one round, by program.
struct Round {
    reference: Timed,
    yours: Timed,
    yours_alone: Option<f64>,
    predecessor: Option<f64>,
    capacity: Option<(f64, f64)>,
}

pub fn check(contest: &Contest, format: Format, scratch: &Path) -> Result<Checked> {
    let parallel =
        matches!(contest.yours.launch, Launch::Threads | Launch::Mpi) && tools::cores() >= 2;
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
        let r = match round(contest, case, &dir, parallel, rounds.len(), limit)? {
            Ok(r) => r,
            Err(usage) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Ok(stopped(contest, case, place, (limit, reference), usage));
            }
        };
        rounds.push(r);
        let ratio = Ratio::of(
            &rounds
                .iter()
                .map(|r| r.yours.seconds / r.reference.seconds)
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

/// One round: yours and the reference in alternating order, and in the first rounds what is
/// only reported. `Err` with where the time went when your run had to be stopped.
fn round(
    contest: &Contest,
    case: Case,
    dir: &Path,
    parallel: bool,
    k: usize,
    limit: Duration,
) -> Result<Result<Round, Usage>> {
    // Alternate the order, so that neither program always runs on a cache the other warmed.
    let (first_yours, alone) = (k % 2 == 0, Case { workers: 1, ..case });
    let yours = |dir: &Path| time_within(&contest.yours, case, dir, limit);
    let (reference, yours) = if first_yours {
        let y = yours(dir)?;
        (time(&contest.reference, case, dir)?, y)
    } else {
        let r = time(&contest.reference, case, dir)?;
        (r, yours(dir)?)
    };
    let yours = match yours {
        Ok(t) => t,
        Err(usage) => return Ok(Err(usage)),
    };
    let mut r = Round {
        reference,
        yours,
        yours_alone: None,
        predecessor: None,
        capacity: None,
    };
    // What is only reported (one worker, the machine, the step before) needs a few rounds.
    if parallel && k < REPORTED_ROUNDS {
        r.yours_alone = Some(time(&contest.yours, alone, dir)?.seconds);
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
        r.predecessor = Some(time(p, same, dir)?.seconds);
    }
    Ok(Ok(r))
}

/// A time ratio (yours ÷ theirs) in words: "1.09× slower", "2.30× faster", "as fast".
pub fn relative(ratio: f64) -> String {
    if (ratio - 1.0).abs() < 0.005 {
        "as fast".to_string()
    } else if ratio > 1.0 {
        format!("{ratio:.2}× slower")
    } else {
        format!("{:.2}× faster", 1.0 / ratio)
    }
}

/// `1.09× slower than the reference (your time ÷ its time: IQR 1.05–1.12, 5 rounds)`.
fn against(ratio: &Ratio, whom: &str) -> String {
    format!(
        "{} than {whom} (your time ÷ its time: median {:.2}, IQR {:.2}–{:.2}, {} rounds)",
        relative(ratio.median),
        ratio.median,
        ratio.q1,
        ratio.q3,
        ratio.rounds
    )
}

/// Where the time of a run stopped for slowness went, and the likely cause.
fn stopped(
    contest: &Contest,
    case: Case,
    place: &str,
    (limit, reference): (Duration, f64),
    usage: Usage,
) -> Checked {
    let checked = Checked::fail(
        Check::Fast,
        format!(
            "yours is more than {SLOWEST}× slower than the reference: stopped after {:.1} s (the reference takes {reference:.2} s)",
            limit.as_secs_f64()
        ),
    )
    .with(format!("timed: {} on {place}", contest.yours.describe(case)));
    let values = (case.s * case.s) as u64;
    let kernel = format!(
        "{:.0}% of its CPU time in the kernel",
        100.0 * usage.system_share()
    );
    match usage.write_calls {
        Some(calls) if calls >= values => checked
            .with(format!("where the time went: {calls} write system calls before it was stopped, where a file holds {values} values; {kernel}"))
            .with("likely cause: one write per value, each a system call: write each array's bytes with one write_all (binary.md#the-npy-format)"),
        _ if usage.system_share() > 0.5 => checked
            .with(format!("where the time went: {kernel}"))
            .with("likely cause: system calls — many small reads or writes, or files opened again and again; one write_all per file is enough"),
        _ => checked
            .with(format!("where the time went: {kernel}: your own code"))
            .with("likely cause: work repeated per value or per file; profile yours and the reference and compare them (profiling.md#write-it-yourself-profile-your-own-exercise)"),
    }
}

/// The graded line, then the information lines (marked so).
fn report(
    contest: &Contest,
    case: Case,
    place: &str,
    (outcome, ratio): (Outcome, Ratio),
    rounds: &[Round],
) -> Checked {
    let yours_vs = against(&ratio, "the reference");
    let summary = match outcome {
        Outcome::Pass => format!("yours is {yours_vs}: within the {WITHIN}× slower allowed"),
        Outcome::Fail => format!("yours is {yours_vs}: more than the {WITHIN}× slower allowed"),
        Outcome::NotMeasurable => format!(
            "not measurable here: yours is {yours_vs}, and the rounds spread across the {WITHIN}× allowed (a busy machine; try again when it is quieter)"
        ),
    };
    let mut checked = Checked::new(Check::Fast, outcome, summary).with(format!(
        "timed: {}, on {place}, both in every round, the order alternating",
        contest.yours.describe(case)
    ));
    if outcome == Outcome::Fail {
        checked = checked.with(slow_cause(rounds));
    }
    if let Some(line) = scaling(contest, rounds) {
        checked = checked.with(line);
    }
    let per_round = |f: &dyn Fn(&Round) -> Option<f64>| {
        Ratio::of(&rounds.iter().filter_map(f).collect::<Vec<_>>())
    };
    if let (Some(p), Some(pred)) = (
        per_round(&|r| r.predecessor.map(|p| r.yours.seconds / p)),
        &contest.predecessor,
    ) {
        checked = checked.with(format!(
            "information, not graded: yours is {} than {}, its predecessor",
            relative(p.median),
            pred.label
        ));
    }
    checked
}

/// Why a finished run was slower: the kernel's share of its CPU time against the reference's.
fn slow_cause(rounds: &[Round]) -> String {
    let share = |f: &dyn Fn(&Round) -> Usage| {
        Ratio::of(
            &rounds
                .iter()
                .map(|r| f(r).system_share())
                .collect::<Vec<_>>(),
        )
        .map_or(0.0, |r| r.median)
    };
    let (yours, theirs) = (share(&|r| r.yours.usage), share(&|r| r.reference.usage));
    if yours > 0.5 && yours > 2.0 * theirs {
        format!(
            "likely cause: {:.0}% of your CPU time is in the kernel (the reference's: {:.0}%): system calls — many small writes? One write_all per file is enough",
            100.0 * yours,
            100.0 * theirs
        )
    } else {
        "likely cause: more work than the reference's in your own code: profile both and compare them (profiling.md#write-it-yourself-profile-your-own-exercise)".to_string()
    }
}

/// How much faster two workers or ranks ran than one, against what the machine gave two
/// threads just then — or that the rounds disagree too much to say.
fn scaling(contest: &Contest, rounds: &[Round]) -> Option<String> {
    let per_round = |f: &dyn Fn(&Round) -> Option<f64>| {
        Ratio::of(&rounds.iter().filter_map(f).collect::<Vec<_>>())
    };
    let speedup = per_round(&|r| r.yours_alone.map(|a| a / r.yours.seconds))?;
    let capacity = per_round(&|r| {
        r.capacity
            .map(|(one, two)| tools::capacity::speedup(one, two, 2))
    })?;
    let unit = if contest.yours.launch == Launch::Mpi {
        "ranks"
    } else {
        "workers"
    };
    let spread = format!(
        "{:.2}–{:.2}× over {} rounds",
        speedup.q1, speedup.q3, speedup.rounds
    );
    if speedup.q3 > speedup.q1 * 1.2 {
        return Some(format!(
            "information, not graded: 2 {unit} against 1 is not measurable now: the rounds gave {spread}"
        ));
    }
    let efficiency = speedup.median / capacity.median;
    let noise = if efficiency > 1.0 {
        " — above 100%: the noise of a shared machine, not a gain"
    } else {
        ""
    };
    Some(format!(
        "information, not graded: 2 {unit} made yours {} than 1 ({spread}); the machine gave 2 threads {:.2}× just then: {:.0}% of what it could{noise}",
        relative(1.0 / speedup.median),
        capacity.median,
        100.0 * efficiency
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_is_said_one_way() {
        assert_eq!(relative(1.0), "as fast");
        assert_eq!(relative(2.0), "2.00× slower");
        assert_eq!(relative(0.5), "2.00× faster");
        let r = Ratio::of(&[1.05, 1.09, 1.12]).unwrap();
        assert!(against(&r, "the reference")
            .starts_with("1.09× slower than the reference (your time ÷ its time: median 1.09"));
    }
}
