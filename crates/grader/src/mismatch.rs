//! A difference between the learner's output and the reference's: where it is, what the
//! evidence shows, and the cause it names.

use steps::Launch;

use crate::cause::{Cause, Named};
use crate::run::Case;
use crate::values::Explained;

/// The first difference between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where: the file, the index, both values.
    pub what: String,
    /// What else the evidence shows.
    pub details: Vec<String>,
    pub cause: Named,
}

impl Mismatch {
    pub fn new(what: impl Into<String>, kind: Cause, sentence: impl Into<String>) -> Mismatch {
        Mismatch {
            what: what.into(),
            details: Vec::new(),
            cause: Named::new(kind, sentence),
        }
    }

    pub fn with(mut self, detail: impl Into<String>) -> Mismatch {
        self.details.push(detail.into());
        self
    }
}

impl From<Explained> for Mismatch {
    fn from(e: Explained) -> Mismatch {
        Mismatch {
            what: e.what,
            details: e.details,
            cause: e.cause,
        }
    }
}

/// What ran: the case and how its processes were started, for the likely cause of a file
/// missing.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    pub case: Case,
    pub launch: Launch,
}
