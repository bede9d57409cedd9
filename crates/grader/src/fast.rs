//! The speed check: the learner's program between two runs of the reference solution in every
//! round on this machine (in a RAM-backed folder where there is one, so that the code is timed
//! rather than the disk). The two reference runs of a round tell how much the machine itself
//! moves a time just then. Yours passes within 1.25× the reference; it fails only when it is
//! slower than that beyond what the machine's own noise does to the reference; while the
//! rounds cannot tell, more are run, and when they never can the speed is said not judged —
//! which is no failure. Every slow verdict says how many write calls a file took. Thread and
//! MPI programs also get their efficiency against the machine's measured capacity.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use steps::{Format, Launch};
use tools::stats::Ratio;

use crate::cause::{Cause, Topic, Tutor};
use crate::run::{fresh, watched, Case, Program, Usage, Watch};
use crate::trial::{Contest, Trial};
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

/// Where to time: a RAM-backed folder if the machine has one with room, else `fallback`.
pub fn timing_folder(fallback: &Path, bytes: u64) -> (PathBuf, &'static str) {
    let shm = Path::new("/dev/shm");
    let dir = shm.join(format!(
        "grader-{}-{}",
        std::process::id(),
        fallback.file_name().unwrap_or_default().to_string_lossy()
    ));
    if std::fs::create_dir_all(&dir).is_ok() {
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

/// Every folder [`timing_folder`] may have made for this process, to remove on the way out.
pub fn timing_folders() -> Vec<PathBuf> {
    let prefix = format!("grader-{}-", std::process::id());
    std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
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
    crate::trial::file_bytes(format, case.s) * case.n as u64
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
    let watch = Watch {
        sample: program.launch == Launch::Mpi,
        ..Watch::default()
    };
    let ran = watched(&mut program.command(case, dir), limit, watch)?;
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

/// The times of one round, by program: the reference before and after yours.
struct Round {
    before: Timed,
    yours: Timed,
    after: Timed,
    yours_alone: Option<f64>,
    predecessor: Option<f64>,
    capacity: Option<(f64, f64)>,
}

impl Round {
    /// Your time ÷ the reference's (the mean of its two runs).
    fn ratio(&self) -> f64 {
        self.yours.seconds / ((self.before.seconds + self.after.seconds) / 2.0)
    }

    /// The reference against itself: how much the machine moved a time in this round.
    fn control(&self) -> f64 {
        let (a, b) = (self.before.seconds, self.after.seconds);
        a.max(b) / a.min(b).max(1e-9)
    }
}

/// The verdict of the rounds so far, or `None` while more are needed.
fn judge(rounds: &[Round]) -> Option<(Outcome, Ratio)> {
    let ratio = Ratio::of(&rounds.iter().map(Round::ratio).collect::<Vec<_>>())?;
    let noise = Ratio::of(&rounds.iter().map(Round::control).collect::<Vec<_>>())?.q3;
    // Slower beyond what the machine does to the reference against itself: the code is slow.
    let slow = |q1: f64, factor: f64| q1 > factor * WITHIN * noise;
    if ratio.rounds >= 3 && slow(ratio.q1, 2.0) {
        return Some((Outcome::Fail, ratio));
    }
    if ratio.rounds < MIN_ROUNDS {
        return None;
    }
    if ratio.q3 <= WITHIN {
        return Some((Outcome::Pass, ratio));
    }
    if slow(ratio.q1, 1.0) {
        return Some((Outcome::Fail, ratio));
    }
    (ratio.rounds >= MAX_ROUNDS).then_some((Outcome::NotMeasurable, ratio))
}

pub fn check(trial: &Trial) -> Result<Checked> {
    let contest = trial.contest;
    let format = trial.format;
    let parallel =
        matches!(contest.yours.launch, Launch::Threads | Launch::Mpi) && tools::cores() >= 2;
    let workers = if parallel { 2 } else { 1 };
    let probe = Case {
        n: 64,
        s: 512,
        workers,
    };
    let (dir, place) = timing_folder(&trial.scratch.join("timed"), bytes_of(format, probe));
    let (case, reference) = calibrate(contest, format, &dir, workers)?;
    // A run far slower than the reference is stopped: how much slower needs no more rounds.
    let limit = Duration::from_secs_f64((SLOWEST * reference).max(2.0));
    let mut rounds: Vec<Round> = Vec::new();
    let mut stops = 0;
    let verdict = loop {
        match round(contest, case, &dir, parallel, rounds.len(), limit)? {
            Ok(r) => rounds.push(r),
            // Once may be a moment of the machine's; twice is the program.
            Err(_) if stops == 0 => stops += 1,
            Err(usage) => {
                let checked = stopped(trial, case, &dir, place, (limit, reference), usage);
                let _ = std::fs::remove_dir_all(&dir);
                return checked;
            }
        }
        if let Some(verdict) = judge(&rounds) {
            break verdict;
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report(trial, case, place, verdict, &rounds))
}

/// One round: the reference, yours, the reference again; and in the first rounds what is
/// only reported. `Err` with where the time went when your run had to be stopped.
fn round(
    contest: &Contest,
    case: Case,
    dir: &Path,
    parallel: bool,
    k: usize,
    limit: Duration,
) -> Result<Result<Round, Usage>> {
    let alone = Case { workers: 1, ..case };
    let before = time(&contest.reference, case, dir)?;
    let yours = match time_within(&contest.yours, case, dir, limit)? {
        Ok(t) => t,
        Err(usage) => return Ok(Err(usage)),
    };
    let after = time(&contest.reference, case, dir)?;
    let mut r = Round {
        before,
        yours,
        after,
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

/// "1.09× slower than the reference", "as fast as the reference".
pub fn compared(ratio: f64, whom: &str) -> String {
    let words = relative(ratio);
    let link = if words == "as fast" { "as" } else { "than" };
    format!("{words} {link} {whom}")
}

/// `1.09× slower than the reference (your time ÷ its time: median 1.09, IQR 1.05–1.12, 5 rounds)`.
fn against(ratio: &Ratio, whom: &str) -> String {
    format!(
        "{} (your time ÷ its time: median {:.2}, IQR {:.2}–{:.2}, {} rounds)",
        compared(ratio.median, whom),
        ratio.median,
        ratio.q1,
        ratio.q3,
        ratio.rounds
    )
}

/// Write calls a file: "4096 write calls a file (the reference: 2)".
fn calls_per_file(yours: &Usage, theirs: Option<&Usage>, files: usize) -> Option<String> {
    let per = |u: &Usage| u.write_calls.map(|c| c as f64 / files.max(1) as f64);
    let mine = per(yours)?;
    let reference = theirs
        .and_then(per)
        .map(|r| format!(" (the reference: {r:.0})"))
        .unwrap_or_default();
    Some(format!("{mine:.0} write calls a file{reference}"))
}

/// Where the time of a run stopped for slowness went, and the likely cause — unless the
/// reference itself has slowed down as much since it was calibrated: then the machine is too
/// busy to judge.
fn stopped(
    trial: &Trial,
    case: Case,
    dir: &Path,
    place: &str,
    (limit, reference): (Duration, f64),
    usage: Usage,
) -> Result<Checked> {
    let again = time(&trial.contest.reference, case, dir)?;
    if again.seconds > 2.0 * reference {
        return Ok(Checked::new(Check::Fast, Outcome::NotMeasurable, format!(
            "not judged: yours was stopped after {:.1} s, but the reference too now takes {:.2} s where it took {reference:.2} s: the machine is busy",
            limit.as_secs_f64(), again.seconds)).because(Cause::SpeedNotJudged, "the machine is too busy to time anything now: try again when it is quieter"));
    }
    let checked = Checked::fail(
        Check::Fast,
        format!("yours is more than {SLOWEST}× slower than the reference: stopped after {:.1} s (the reference takes {reference:.2} s)", limit.as_secs_f64()),
    )
    .with(format!("timed: {} on {place}", trial.contest.yours.describe(case)));
    let values = (case.s * case.s) as f64;
    let file = crate::trial::file_bytes(trial.format, case.s) as f64;
    // Write calls a file: those made so far, over the files their bytes would fill.
    let calls = usage.write_calls.unwrap_or(0) as f64;
    let per_file = calls * file / (usage.write_bytes.unwrap_or(0) as f64).max(file);
    let theirs = again.usage.write_calls.unwrap_or(0) as f64 / case.n.max(1) as f64;
    let calls_said = format!("{per_file:.0} write calls a file (the reference: {theirs:.0})");
    let kernel = format!(
        "{:.0}% of its CPU time in the kernel",
        100.0 * usage.system_share()
    );
    let checked = checked.with(format!(
        "where the time went: {calls} write system calls before it was stopped; {kernel}"
    ));
    Ok(if per_file >= values / 2.0 {
        checked.because(Cause::SlowWritePerValue, format!("{calls_said}, where a file holds {values} values: one write per value, each a system call — write each array's bytes with one write_all {}", trial.tutor.see(Topic::Npy)))
    } else if usage.system_share() > 0.5 {
        checked.because(Cause::SlowSystemCalls, format!("{calls_said}, {kernel}: system calls — many small reads or writes, or files opened again and again; one write_all per file is enough"))
    } else {
        checked.because(Cause::SlowOwnCode, format!("{calls_said}, {kernel}: work repeated per value or per file in your own code; profile yours and the reference and compare them {}", trial.tutor.see(Topic::Profile)))
    })
}

/// The graded line, then the information lines (marked so).
fn report(
    trial: &Trial,
    case: Case,
    place: &str,
    (outcome, ratio): (Outcome, Ratio),
    rounds: &[Round],
) -> Checked {
    let contest = trial.contest;
    let yours_vs = against(&ratio, "the reference");
    let noise =
        Ratio::of(&rounds.iter().map(Round::control).collect::<Vec<_>>()).map_or(1.0, |r| r.q3);
    let summary = match outcome {
        Outcome::Pass => format!("yours is {yours_vs}: within the {WITHIN}× slower allowed"),
        Outcome::Fail => format!("yours is {yours_vs}: more than the {WITHIN}× slower allowed"),
        Outcome::NotMeasurable => format!(
            "not judged: yours is {yours_vs}, and the rounds spread across the {WITHIN}× allowed"
        ),
    };
    let mut checked = Checked::new(Check::Fast, outcome, summary).with(format!(
        "timed: {}, on {place}, the reference before and after yours in every round; the reference against itself varied up to {noise:.2}× a round",
        contest.yours.describe(case)
    ));
    checked.ratio = Some(ratio.median);
    let last = rounds.last();
    let calls = last.and_then(|r| calls_per_file(&r.yours.usage, Some(&r.before.usage), case.n));
    match outcome {
        Outcome::Fail => {
            if let Some(calls) = &calls {
                checked = checked.with(format!("yours made {calls}"));
            }
            let (kind, sentence) = slow_cause(rounds, case, &trial.tutor);
            checked = checked.because(kind, sentence);
        }
        Outcome::NotMeasurable => {
            checked = checked.because(Cause::SpeedNotJudged, "the machine was too busy for the rounds to agree: this is no failure; `make verify` again when it is quieter judges the speed");
        }
        Outcome::Pass => {}
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
            "information, not graded: yours is {}, its predecessor",
            compared(p.median, &pred.label)
        ));
    }
    checked
}

/// Why a finished run was slower: its write calls and the kernel's share of its CPU time,
/// against the reference's.
fn slow_cause(rounds: &[Round], case: Case, tutor: &Tutor) -> (Cause, String) {
    let median = |f: &dyn Fn(&Round) -> f64| {
        Ratio::of(&rounds.iter().map(f).collect::<Vec<_>>()).map_or(0.0, |r| r.median)
    };
    let share = (
        median(&|r| r.yours.usage.system_share()),
        median(&|r| r.before.usage.system_share()),
    );
    let calls = |f: &dyn Fn(&Round) -> Option<u64>| {
        median(&|r| f(r).unwrap_or(0) as f64) / case.n.max(1) as f64
    };
    let (mine, theirs) = (
        calls(&|r| r.yours.usage.write_calls),
        calls(&|r| r.before.usage.write_calls),
    );
    let values = (case.s * case.s) as f64;
    if mine >= values / 2.0 {
        return (Cause::SlowWritePerValue, format!("{mine:.0} write calls a file where a file holds {values:.0} values: one write per value, each a system call — write each array's bytes with one write_all {}", tutor.see(Topic::Npy)));
    }
    if share.0 > 0.5 && share.0 > 2.0 * share.1 || mine > 4.0 * theirs.max(1.0) {
        return (Cause::SlowSystemCalls, format!("{:.0}% of your CPU time is in the kernel (the reference's: {:.0}%), {mine:.0} write calls a file (the reference's: {theirs:.0}): system calls — many small writes? One write_all per file is enough", 100.0 * share.0, 100.0 * share.1));
    }
    (Cause::SlowOwnCode, format!("more work than the reference's in your own code ({mine:.0} write calls a file, as the reference's {theirs:.0}): profile both and compare them {}", tutor.see(Topic::Profile)))
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
        return Some(format!("information, not graded: 2 {unit} against 1 is not measurable now: the rounds gave {spread}"));
    }
    let efficiency = speedup.median / capacity.median;
    let noise = if efficiency > 1.0 {
        " — above 100%: the noise of a shared machine, not a gain"
    } else {
        ""
    };
    Some(format!(
        "information, not graded: 2 {unit} made yours {} 1 ({spread}); the machine gave 2 threads {:.2}× just then: {:.0}% of what it could{noise}",
        compared(1.0 / speedup.median, "with"),
        capacity.median,
        100.0 * efficiency
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(seconds: f64) -> Timed {
        Timed {
            seconds,
            usage: Usage::default(),
        }
    }

    fn rounds(pairs: &[(f64, f64, f64)]) -> Vec<Round> {
        pairs
            .iter()
            .map(|&(b, y, a)| Round {
                before: timed(b),
                yours: timed(y),
                after: timed(a),
                yours_alone: None,
                predecessor: None,
                capacity: None,
            })
            .collect()
    }

    #[test]
    fn speed_is_said_one_way() {
        assert_eq!(relative(1.0), "as fast");
        assert_eq!(compared(1.0, "the reference"), "as fast as the reference");
        assert_eq!(
            compared(2.0, "the reference"),
            "2.00× slower than the reference"
        );
        assert_eq!(relative(0.5), "2.00× faster");
        let r = Ratio::of(&[1.05, 1.09, 1.12]).unwrap();
        assert!(against(&r, "the reference")
            .starts_with("1.09× slower than the reference (your time ÷ its time: median 1.09"));
    }

    #[test]
    fn a_busy_machine_never_fails_a_solution_as_fast_as_the_reference() {
        // Yours as fast as the reference, on a machine that moves every time by up to 3×: the
        // reference against itself shows it, and the verdict is never a failure.
        let mut seed = 12345u64;
        let mut factor = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            1.0 + 2.0 * ((seed >> 33) as f64 / (1u64 << 31) as f64)
        };
        let noisy: Vec<(f64, f64, f64)> = (0..MAX_ROUNDS)
            .map(|_| (factor(), factor(), factor()))
            .collect();
        let mut verdict = None;
        for k in 1..=noisy.len() {
            if let Some(v) = judge(&rounds(&noisy[..k])) {
                verdict = Some(v.0);
                break;
            }
        }
        assert_ne!(verdict, Some(Outcome::Fail));
        // Three times slower on a quiet machine fails.
        let slow = rounds(&[(1.0, 3.0, 1.0); 5]);
        assert_eq!(judge(&slow).map(|v| v.0), Some(Outcome::Fail));
        let same = rounds(&[(1.0, 1.02, 1.01); 5]);
        assert_eq!(judge(&same).map(|v| v.0), Some(Outcome::Pass));
    }
}
