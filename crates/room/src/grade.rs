//! The grader's `.grade.json`, read for the room: the few fields a report needs, every other
//! field ignored, so that the grader may add fields without breaking the room. The grader
//! documents the file (crates/grader/src/verdict.rs); this reader depends on its `schema`,
//! `exercise`, `verdict`, `failed_check`, `cause.kind`, `speed_ratio` and `finished_at`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::report::{Check, Invalid, Kind, Verdict};

/// The file's name inside an exercise's folder.
pub const GRADE_FILE: &str = ".grade.json";
/// The version of the file this reader knows.
const SCHEMA: u32 = 1;

/// What a grade says, as the room needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    pub exercise: Kind,
    pub verdict: Verdict,
    pub failed_check: Option<Check>,
    pub cause: Option<Kind>,
    pub speed_ratio: Option<f64>,
    pub finished_at: u64,
    /// When the file was last written: a grade already sent is not sent again.
    pub written: SystemTime,
}

/// Why a grade cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error("{}: no grade (did the grader finish?): {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a grade this room reads: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: schema {found}, where the room reads schema {SCHEMA}", path.display())]
    Schema { path: PathBuf, found: u32 },
    #[error("{}: {source}", path.display())]
    Field { path: PathBuf, source: Invalid },
}

/// The fields read; serde skips every other.
#[derive(Deserialize)]
struct File {
    schema: u32,
    exercise: String,
    verdict: Verdict,
    #[serde(default)]
    failed_check: Option<Check>,
    #[serde(default)]
    cause: Option<Cause>,
    #[serde(default)]
    speed_ratio: Option<f64>,
    finished_at: u64,
}

#[derive(Deserialize)]
struct Cause {
    kind: String,
}

/// Reads the grade kept in `folder`.
pub fn read(folder: &Path) -> Result<Graded, GradeError> {
    let path = folder.join(GRADE_FILE);
    let read_error = |source| GradeError::Read {
        path: path.clone(),
        source,
    };
    let text = std::fs::read(&path).map_err(read_error)?;
    let written = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .map_err(read_error)?;
    let file: File = serde_json::from_slice(&text).map_err(|source| GradeError::Parse {
        path: path.clone(),
        source,
    })?;
    if file.schema != SCHEMA {
        return Err(GradeError::Schema {
            path,
            found: file.schema,
        });
    }
    let field = |source| GradeError::Field {
        path: path.clone(),
        source,
    };
    Ok(Graded {
        exercise: Kind::parse(&file.exercise, "exercise").map_err(field)?,
        verdict: file.verdict,
        failed_check: file.failed_check,
        cause: file
            .cause
            .map(|c| Kind::parse(&c.kind, "cause"))
            .transpose()
            .map_err(field)?,
        speed_ratio: file.speed_ratio,
        finished_at: file.finished_at,
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grade as the grader writes it, with fields this reader does not know.
    const FAILED: &str = r#"{
      "schema": 1,
      "exercise": "write_multiprocessing_queue",
      "verdict": "failed",
      "failed_check": "correct",
      "cause": { "kind": "hang_channel_not_closed", "sentence": "every file written, no exit", "see": "x.md" },
      "speed_ratio": null,
      "finished_at": 1765140000,
      "seconds": 41.8,
      "sources": 1234567890,
      "checks": [ { "check": "builds", "outcome": "pass", "summary": "…", "details": [], "cause": null } ],
      "a_field_added_later": { "nested": [1, 2, 3] }
    }"#;

    fn graded(text: &str) -> Result<Graded, GradeError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(GRADE_FILE), text).unwrap();
        read(dir.path())
    }

    #[test]
    fn reads_what_it_needs_and_skips_the_rest() {
        let g = graded(FAILED).unwrap();
        assert_eq!(g.exercise.as_str(), "write_multiprocessing_queue");
        assert_eq!(g.verdict, Verdict::Failed);
        assert_eq!(g.failed_check, Some(Check::Correct));
        assert_eq!(g.cause.unwrap().as_str(), "hang_channel_not_closed");
        assert_eq!(g.speed_ratio, None);
        assert_eq!(g.finished_at, 1_765_140_000);
    }

    #[test]
    fn a_passing_grade_has_its_ratio_and_no_cause() {
        let g = graded(
            r#"{"schema":1,"exercise":"write_vectorized","verdict":"passed","failed_check":null,
                "cause":null,"speed_ratio":1.07,"finished_at":1765140000}"#,
        )
        .unwrap();
        assert_eq!((g.verdict, g.speed_ratio), (Verdict::Passed, Some(1.07)));
        assert!(g.cause.is_none() && g.failed_check.is_none());
    }

    #[test]
    fn says_why_a_grade_cannot_be_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(dir.path()), Err(GradeError::Read { .. })));
        let e = graded(&FAILED.replace("\"schema\": 1", "\"schema\": 2")).unwrap_err();
        assert!(e.to_string().contains("schema 2"), "{e}");
        let e = graded(&FAILED.replace("\"failed\"", "\"so-so\"")).unwrap_err();
        assert!(matches!(e, GradeError::Parse { .. }), "{e}");
        let e = graded(&FAILED.replace("hang_channel_not_closed", "Hang!")).unwrap_err();
        assert!(e.to_string().contains("cause"), "{e}");
    }
}
