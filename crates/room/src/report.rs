//! What one `make verify` sends to the room, and the rules each field follows. The learner's
//! client checks a report before it queues it, the server again before it stores it: both
//! read it through these types, so a field that breaks a rule never gets past parsing.
//!
//! A report holds no code and no login name: a random id for the result, a random id for the
//! learner, the pseudonym, the exercise, the verdict, the failed check, the cause's kind, the
//! speed ratio and when the verify ended.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most results one post may carry (a queue that waited longer goes in several).
pub const BATCH_MAX: usize = 50;
/// The largest body the server reads: a full batch is about 15 KiB.
pub const BODY_MAX: usize = 32 * 1024;
/// The longest pseudonym, in characters.
pub const NAME_MAX: usize = 24;
/// The longest exercise name or cause kind.
pub const KIND_MAX: usize = 48;

/// A field that breaks its rule, said so that a person can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{field}: must be 32 hexadecimal digits (a random id)")]
    Id { field: &'static str },
    #[error(
        "name: 1 to {NAME_MAX} letters, digits, '-', '_' or '.', starting with a letter or digit"
    )]
    Name,
    #[error("{field}: 1 to {KIND_MAX} lowercase letters, digits and '_', starting with a letter")]
    Kind { field: &'static str },
    #[error("failed_check: a failed verdict names its check, and only a failed one")]
    FailedCheck,
    #[error("speed_ratio: a number between 0.001 and 1000")]
    SpeedRatio,
    #[error("finished_at: seconds since 1970, after 2020")]
    FinishedAt,
    #[error("results: 1 to {BATCH_MAX} in one post")]
    BatchSize,
}

/// A random id: 128 bits as 32 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl Id {
    /// A new random id (the operating system's random source).
    pub fn random() -> Result<Id, getrandom::Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Id(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    pub fn parse(text: &str, field: &'static str) -> Result<Id, Invalid> {
        let ok = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Id(text.to_owned())).ok_or(Invalid::Id { field })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Id {
    type Error = Invalid;
    fn try_from(text: String) -> Result<Id, Invalid> {
        Id::parse(&text, "id")
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name a learner is shown by: their own choice or a random one, never their login.
/// Letters (any script), digits, `-`, `_` and `.`: nothing a page, a spreadsheet or SQL could
/// read as markup, a formula or a quote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

impl Name {
    pub fn parse(text: &str) -> Result<Name, Invalid> {
        let count = text.chars().count();
        let first_ok = text.chars().next().is_some_and(char::is_alphanumeric);
        let all_ok = text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if (1..=NAME_MAX).contains(&count) && first_ok && all_ok {
            Ok(Name(text.to_owned()))
        } else {
            Err(Invalid::Name)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = Invalid;
    fn try_from(text: String) -> Result<Name, Invalid> {
        Name::parse(&text)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A machine-readable name: an exercise (`write_mpi_scatter`) or a cause's kind
/// (`hang_channel_not_closed`). Its spelling is checked here; whether it names a real exercise
/// or cause, the server checks against the step table and the grader.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kind(String);

impl Kind {
    pub fn parse(text: &str, field: &'static str) -> Result<Kind, Invalid> {
        let ok = (1..=KIND_MAX).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then(|| Kind(text.to_owned()))
            .ok_or(Invalid::Kind { field })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// In words, for the page: `hang_channel_not_closed` → `hang channel not closed`.
    pub fn words(&self) -> String {
        self.0.replace('_', " ")
    }
}

impl TryFrom<String> for Kind {
    type Error = Invalid;
    fn try_from(text: String) -> Result<Kind, Invalid> {
        Kind::parse(&text, "exercise or cause")
    }
}

impl From<Kind> for String {
    fn from(kind: Kind) -> String {
        kind.0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a verify concluded (the grader's own words in `.grade.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    /// Correct and safe; the machine was too busy to judge the speed.
    PassedSpeedNotJudged,
    Failed,
}

impl Verdict {
    pub fn key(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::PassedSpeedNotJudged => "passed_speed_not_judged",
            Verdict::Failed => "failed",
        }
    }

    pub fn from_key(key: &str) -> Option<Verdict> {
        [
            Verdict::Passed,
            Verdict::PassedSpeedNotJudged,
            Verdict::Failed,
        ]
        .into_iter()
        .find(|v| v.key() == key)
    }
}

/// The grader's checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Builds,
    Correct,
    Safe,
    Fast,
}

impl Check {
    pub fn key(self) -> &'static str {
        match self {
            Check::Builds => "builds",
            Check::Correct => "correct",
            Check::Safe => "safe",
            Check::Fast => "fast",
        }
    }

    pub fn from_key(key: &str) -> Option<Check> {
        [Check::Builds, Check::Correct, Check::Safe, Check::Fast]
            .into_iter()
            .find(|c| c.key() == key)
    }
}

/// One verify's result, as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// This result's own id: a result sent twice (its answer lost on the way) is kept once.
    pub id: Id,
    /// The learner's random id, kept beside their exercises: the row on the page.
    pub learner: Id,
    pub name: Name,
    pub exercise: Kind,
    pub verdict: Verdict,
    pub failed_check: Option<Check>,
    pub cause: Option<Kind>,
    /// The learner's time ÷ the reference's, when the speed was timed.
    pub speed_ratio: Option<f64>,
    /// When the verify ended, seconds since the Unix epoch (the learner's clock).
    pub finished_at: u64,
}

/// 2020-01-01 in seconds since the Unix epoch: no grade is older.
const EARLIEST: u64 = 1_577_836_800;

impl Report {
    /// The rules that tie fields together (each field's own rule held when it was parsed).
    pub fn check(&self) -> Result<(), Invalid> {
        if (self.verdict == Verdict::Failed) != self.failed_check.is_some() {
            return Err(Invalid::FailedCheck);
        }
        if let Some(r) = self.speed_ratio {
            if !(0.001..=1000.0).contains(&r) {
                return Err(Invalid::SpeedRatio);
            }
        }
        if self.finished_at < EARLIEST {
            return Err(Invalid::FinishedAt);
        }
        Ok(())
    }
}

/// What one post carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub results: Vec<Report>,
}

impl Batch {
    pub fn check(&self) -> Result<(), Invalid> {
        if !(1..=BATCH_MAX).contains(&self.results.len()) {
            return Err(Invalid::BatchSize);
        }
        self.results.iter().try_for_each(Report::check)
    }
}

/// The server's answer to a post that it stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// Results new to the room.
    pub stored: usize,
    /// Results it had already (sent again after an answer was lost).
    pub already: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            id: Id::random().unwrap(),
            learner: Id::random().unwrap(),
            name: Name::parse("amber-heron-17").unwrap(),
            exercise: Kind::parse("write_vectorized", "exercise").unwrap(),
            verdict: Verdict::Failed,
            failed_check: Some(Check::Correct),
            cause: Some(Kind::parse("floor_modulo", "cause").unwrap()),
            speed_ratio: None,
            finished_at: 1_765_140_000,
        }
    }

    #[test]
    fn a_report_goes_there_and_back_as_json() {
        let r = report();
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), r);
        assert_eq!(r.check(), Ok(()));
    }

    #[test]
    fn names_hold_nothing_a_page_a_sheet_or_sql_could_misread() {
        for good in ["ada", "Émilie-2", "data.wrangler_7", "张伟"] {
            assert!(Name::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(NAME_MAX + 1);
        for bad in [
            "",
            " ada",
            "a b",
            "<script>",
            "x'); DROP TABLE results;--",
            "=cmd|'/c calc'!A1",
            "-rf",
            "a\nb",
            long.as_str(),
        ] {
            assert_eq!(Name::parse(bad), Err(Invalid::Name), "{bad:?}");
        }
    }

    #[test]
    fn ids_and_kinds_are_checked_as_they_are_parsed() {
        let mut value = serde_json::to_value(report()).unwrap();
        value["id"] = "not hex".into();
        let e = serde_json::from_value::<Report>(value.clone()).unwrap_err();
        assert!(e.to_string().contains("32 hexadecimal digits"), "{e}");
        value["id"] = Id::random().unwrap().to_string().into();
        value["cause"] = "Floor Modulo; DELETE".into();
        let e = serde_json::from_value::<Report>(value.clone()).unwrap_err();
        assert!(e.to_string().contains("lowercase letters"), "{e}");
        value["cause"] = serde_json::Value::Null;
        value["verdict"] = "sort_of".into();
        assert!(serde_json::from_value::<Report>(value.clone()).is_err());
        value["verdict"] = "failed".into();
        value["code"] = "fn main() {}".into();
        let e = serde_json::from_value::<Report>(value).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn fields_that_must_agree_do() {
        let mut r = report();
        r.failed_check = None;
        assert_eq!(r.check(), Err(Invalid::FailedCheck));
        let mut r = report();
        r.verdict = Verdict::Passed;
        assert_eq!(r.check(), Err(Invalid::FailedCheck));
        let mut r = report();
        r.speed_ratio = Some(f64::INFINITY);
        assert_eq!(r.check(), Err(Invalid::SpeedRatio));
        let mut r = report();
        r.finished_at = 3;
        assert_eq!(r.check(), Err(Invalid::FinishedAt));
        let empty = Batch { results: vec![] };
        assert_eq!(empty.check(), Err(Invalid::BatchSize));
        let full = Batch {
            results: vec![report(); BATCH_MAX + 1],
        };
        assert_eq!(full.check(), Err(Invalid::BatchSize));
    }

    #[test]
    fn verdicts_and_checks_have_one_spelling() {
        for v in [
            Verdict::Passed,
            Verdict::PassedSpeedNotJudged,
            Verdict::Failed,
        ] {
            assert_eq!(Verdict::from_key(v.key()), Some(v));
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::from(v.key())
            );
        }
        for c in [Check::Builds, Check::Correct, Check::Safe, Check::Fast] {
            assert_eq!(Check::from_key(c.key()), Some(c));
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::from(c.key())
            );
        }
    }
}
