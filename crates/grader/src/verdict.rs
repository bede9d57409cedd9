//! What the grader found: one outcome per check, the grade they make, and the grade kept in
//! the exercise's folder so that `make exercises` can list every exercise's state without
//! running anything.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The checks, in the order they run: each needs the one before it to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
pub enum Outcome {
    Pass,
    Fail,
    /// The machine was too noisy to tell (said so, never counted as a pass).
    NotMeasurable,
}

/// One check's result: a line, and the lines that explain it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub check: Check,
    pub outcome: Outcome,
    pub summary: String,
    pub details: Vec<String>,
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
        }
    }

    pub fn with(mut self, detail: impl Into<String>) -> Checked {
        self.details.push(detail.into());
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
    }
}

/// What a whole verify says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Passed,
    /// Every check that could run passed; the speed could not be measured here.
    PassedUnmeasured,
    Failed(Check),
}

impl Verdict {
    /// 0 when all pass, 1 when one fails, 3 when nothing failed but the speed was not measured.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Passed => 0,
            Verdict::Failed(_) => 1,
            Verdict::PassedUnmeasured => 3,
        }
    }
}

/// Every check's result for one exercise, and the sources they were found on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    pub exercise: String,
    /// A hash of the exercise's files when it was graded.
    pub sources: u64,
    pub checks: Vec<Checked>,
}

/// The file a grade is kept in, inside the exercise's folder.
pub const GRADE_FILE: &str = ".grade.json";

impl Grade {
    pub fn verdict(&self) -> Verdict {
        if let Some(failed) = self.checks.iter().find(|c| c.outcome == Outcome::Fail) {
            return Verdict::Failed(failed.check);
        }
        if self
            .checks
            .iter()
            .any(|c| c.outcome == Outcome::NotMeasurable)
        {
            Verdict::PassedUnmeasured
        } else {
            Verdict::Passed
        }
    }

    pub fn save(&self, folder: &Path) {
        if let Ok(text) = serde_json::to_string_pretty(self) {
            let _ = fs::write(folder.join(GRADE_FILE), text);
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
