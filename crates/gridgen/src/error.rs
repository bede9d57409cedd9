//! gridgen's typed errors. Each one prints as a single line that names its cause and, where there
//! is one, the file.

use std::io;
use std::path::PathBuf;

/// Everything a step can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments that cannot work; the message says which and why.
    #[error("{0}")]
    Usage(String),
    /// The grid would not fit in memory; refused before allocating anything.
    #[error(
        "size {size} needs about {} of memory ({grids} grids of {size}×{size} f64) but only {} is available",
        mib(*.needed), mib(*.available)
    )]
    TooLarge {
        size: usize,
        grids: u64,
        needed: u64,
        available: u64,
    },
    /// The output folder could not be created.
    #[error("cannot create output folder {}: {source}", .path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    /// Writing one output file failed; the partial file was removed.
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    /// The HDF5 library refused an operation on this file.
    #[error("HDF5 error in {}: {message}", .path.display())]
    Hdf5 { path: PathBuf, message: String },
    /// Another MPI rank failed (and reports why); this rank stops too.
    #[error("stopped because another rank failed")]
    OtherRankFailed,
    /// A worker thread panicked; its message, if it had one.
    #[error("worker {worker} panicked: {message}")]
    WorkerPanicked { worker: usize, message: String },
    /// Worker threads could not be started, or vanished.
    #[error("worker threads: {0}")]
    Threads(String),
    /// The profiler could not start or report.
    #[error("profiler: {0}")]
    Profiler(String),
}

impl Error {
    /// 2 for usage errors (the run never started), 1 for failures during the run.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::TooLarge { .. } => 2,
            _ => 1,
        }
    }
}

/// Result with gridgen's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}
