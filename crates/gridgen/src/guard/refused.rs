//! What the guard's checks before a run refuse, each with the numbers that decided it.

use std::path::PathBuf;

/// A run that cannot fit, refused before anything is created.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// More memory than a 64-bit machine can address: wrong on every machine.
    #[error("size {size} needs more memory than any machine has ({grids} grids of {size}×{size} f64 overflow 64 bits)")]
    Impossible { size: usize, grids: u64 },
    /// More than this process may use (its limits, the node's memory, the job's `--mem`).
    #[error(
        "size {size} needs about {} of memory ({grids} grids of {size}×{size} f64 and the file lists) but {limit}",
        human(*.needed)
    )]
    TooLarge {
        size: usize,
        grids: u64,
        needed: u64,
        /// What limits it, with the number: "only 1.2 GiB is available".
        limit: String,
    },
    /// The output's filesystem has less room than the run will write.
    #[error(
        "the run writes about {} but {} has only {} free",
        human(*.needed), .path.display(), human(*.available)
    )]
    NoSpace {
        path: PathBuf,
        needed: u64,
        available: u64,
    },
    /// A file of the run would exceed the file-size limit (`ulimit -f`).
    #[error(
        "a file of this run takes about {} but the file-size limit (ulimit -f) is {}",
        human(*.needed), human(*.limit)
    )]
    FileSizeLimit { limit: u64, needed: u64 },
    /// A file name longer than the output folder's filesystem allows.
    #[error("the file name {name:?} is {} bytes, more than the {limit} that the filesystem of {} allows for a name (use a shorter -o)", .name.len(), .dir.display())]
    NameTooLong {
        name: String,
        limit: usize,
        dir: PathBuf,
    },
}

impl Refused {
    /// True when no machine could run it (the command must change), not just this one.
    pub fn on_every_machine(&self) -> bool {
        matches!(self, Refused::Impossible { .. })
    }
}

/// Bytes in a unit a learner reads at a glance.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}
