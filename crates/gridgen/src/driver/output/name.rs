//! Temporary names: `.<name>.<pid>-<n>.partial`, hidden, unique to one process and one of its
//! files, and recognised by the guard's handler (which removes nothing else).

use crate::guard;

/// How many taken temporary names are skipped before creating a file is given up.
pub const NAME_TRIES: usize = 64;

/// What makes a temporary name unique among all runs writing into one folder at the same time:
/// the process id and a counter. (Ranks of one parallel file agree on rank 0's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempName {
    pub pid: u32,
    pub n: u64,
}

impl TempName {
    /// `.<name>.<pid>-<n>.partial`.
    pub fn for_name(self, name: &str) -> String {
        guard::temporary_name(name, self.pid, self.n)
    }
}
