//! What the grader found: one outcome per check, the grade they make, and the grade kept in
//! the exercise's folder so that `make exercises` (and the room page) can show every
//! exercise's state without running anything.
//!
//! # `.grade.json`
//!
//! Written by every `make verify` into the exercise's folder, whole or not at all. Its fields
//! are stable (new fields may be added; none is renamed or changes meaning):
//!
//! ```json
//! {
//!   "schema": 1,
//!   "exercise": "write_mpi",
//!   "verdict": "failed",              // "passed", "passed_speed_not_judged" or "failed"
//!   "failed_check": "correct",        // "builds", "correct", "safe", "fast"; null unless failed
//!   "cause": {                        // null when nothing was named
//!     "kind": "split_drops_remainder",// a Cause, snake_case (crate::cause::Cause)
//!     "sentence": "the split of 0..5 over 2 ranks …"
//!   },
//!   "speed_ratio": 1.07,              // your time ÷ the reference's (median); null if not timed
//!   "finished_at": 1765140000,        // when the grade was made, seconds since the Unix epoch
//!   "seconds": 41.8,                  // how long the verify took
//!   "sources": 1234567890,            // a hash of the exercise's files when graded
//!   "checks": [ { "check": "builds", "outcome": "pass", "summary": "…", "details": [],
//!                 "cause": null }, … ]
//! }
//! ```
//!
//! A grade that passed names a cause only when its speed was not judged
//! (`speed_not_judged`).

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use crate::cause::{Cause, Named};

/// The checks, in the order they run: each needs the one before it to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Builds,
    Correct,
    Safe,
    Fast,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::Builds => "builds",
            Check::Correct => "correct",
            Check::Safe => "safe",
            Check::Fast => "fast",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The machine was too busy to tell (said so; not a failure).
    NotMeasurable,
}

/// One check's result: a line, the lines that explain it, and the cause it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub check: Check,
    pub outcome: Outcome,
    pub summary: String,
    pub details: Vec<String>,
    #[serde(default)]
    pub cause: Option<Named>,
    /// Your time ÷ the reference's (the speed check's median), when it was timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
}

impl Checked {
    pub fn pass(check: Check, summary: impl Into<String>) -> Checked {
        Checked::new(check, Outcome::Pass, summary)
    }

    pub fn fail(check: Check, summary: impl Into<String>) -> Checked {
        Checked::new(check, Outcome::Fail, summary)
    }

    pub fn new(check: Check, outcome: Outcome, summary: impl Into<String>) -> Checked {
        Checked {
            check,
            outcome,
            summary: summary.into(),
            details: Vec::new(),
            cause: None,
            ratio: None,
        }
    }

    pub fn with(mut self, detail: impl Into<String>) -> Checked {
        self.details.push(detail.into());
        self
    }

    /// The cause this check names (printed last, as "likely cause: …").
    pub fn because(mut self, kind: Cause, sentence: impl Into<String>) -> Checked {
        self.cause = Some(Named::new(kind, sentence));
        self
    }

    pub fn named(mut self, named: Named) -> Checked {
        self.cause = Some(named);
        self
    }

    pub fn print(&self) {
        let mark = match self.outcome {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::NotMeasurable => "?",
        };
        println!("{mark} {}: {}", self.check.name(), self.summary);
        for detail in &self.details {
            println!("    {detail}");
        }
        if let Some(named) = &self.cause {
            let lead = if self.outcome == Outcome::Fail {
                "likely cause"
            } else {
                "why"
            };
            println!("    {lead}: {}", named.sentence);
        }
    }
}

/// What a whole verify says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Passed,
    /// Every check that could run passed; the machine was too busy to judge the speed.
    PassedSpeedNotJudged,
    Failed,
}

impl Verdict {
    /// 0 unless a check failed: a busy machine is no failure of the learner's.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Passed | Verdict::PassedSpeedNotJudged => 0,
            Verdict::Failed => 1,
        }
    }
}

/// Every check's result for one exercise, and the sources they were found on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    pub schema: u32,
    pub exercise: String,
    pub verdict: Verdict,
    pub failed_check: Option<Check>,
    pub cause: Option<Named>,
    pub speed_ratio: Option<f64>,
    pub finished_at: u64,
    pub seconds: f64,
    /// A hash of the exercise's files when it was graded.
    pub sources: u64,
    pub checks: Vec<Checked>,
}

/// The file a grade is kept in, inside the exercise's folder.
pub const GRADE_FILE: &str = ".grade.json";

impl Grade {
    /// The grade the checks make.
    pub fn of(exercise: &str, sources: u64, checks: Vec<Checked>, seconds: f64) -> Grade {
        let failed = checks.iter().find(|c| c.outcome == Outcome::Fail);
        let unjudged = checks.iter().find(|c| c.outcome == Outcome::NotMeasurable);
        let verdict = match (failed, unjudged) {
            (Some(_), _) => Verdict::Failed,
            (None, Some(_)) => Verdict::PassedSpeedNotJudged,
            (None, None) => Verdict::Passed,
        };
        let named = failed.or(unjudged).and_then(|c| c.cause.clone());
        Grade {
            schema: 1,
            exercise: exercise.to_string(),
            verdict,
            failed_check: failed.map(|c| c.check),
            cause: named,
            speed_ratio: checks.iter().find_map(|c| c.ratio),
            finished_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            seconds,
            sources,
            checks,
        }
    }

    /// Kept whole or not at all; a grade that cannot be kept is said, not fatal.
    pub fn save(&self, folder: &Path) {
        let saved = serde_json::to_vec_pretty(self)
            .map_err(anyhow::Error::from)
            .and_then(|text| crate::files::write_whole(&folder.join(GRADE_FILE), &text));
        if let Err(e) = saved {
            eprintln!("exercise: the grade is not kept: {e:#}");
        }
    }

    pub fn load(folder: &Path) -> Option<Grade> {
        let text = fs::read_to_string(folder.join(GRADE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// A hash of the exercise's own files (its manifest and sources), FNV-1a: enough to tell
/// whether they changed since they were graded.
pub fn hash_sources(folder: &Path) -> u64 {
    let mut files = vec![folder.join("Cargo.toml")];
    let mut stack = vec![folder.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let bytes = fs::read(&file).unwrap_or_default();
        for b in file.to_string_lossy().bytes().chain(bytes) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grade_file_names_the_failed_check_and_its_cause_kind() {
        let checks = vec![
            Checked::pass(Check::Builds, "cargo build"),
            Checked::fail(Check::Correct, "data00000.npy differs")
                .because(Cause::ByteSwapped, "big-endian"),
        ];
        let grade = Grade::of("write_mpi", 7, checks, 1.5);
        assert_eq!(grade.verdict, Verdict::Failed);
        let json: serde_json::Value = serde_json::to_value(&grade).unwrap();
        assert_eq!(json["verdict"], "failed");
        assert_eq!(json["failed_check"], "correct");
        assert_eq!(json["cause"]["kind"], "byte_swapped");
        assert_eq!(json["cause"]["sentence"], "big-endian");
        assert_eq!(json["schema"], 1);
        assert!(json["finished_at"].as_u64().unwrap() > 1_700_000_000);
        let unjudged = Grade::of(
            "write_mpi",
            7,
            vec![Checked::new(Check::Fast, Outcome::NotMeasurable, "busy")
                .because(Cause::SpeedNotJudged, "busy")],
            1.0,
        );
        assert_eq!(unjudged.verdict.exit_code(), 0);
        assert_eq!(unjudged.cause.unwrap().kind, Cause::SpeedNotJudged);
    }
}
