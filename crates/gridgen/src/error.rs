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
    /// The run would not fit in memory; refused before allocating anything.
    #[error(
        "size {size} needs about {} of memory ({grids} grids of {size}×{size} f64 and the file lists) but only {} is available",
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
    /// Writing one output file failed; its temporary file was removed.
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    /// An I/O error outside any output file.
    #[error("{0}")]
    Io(io::Error),
    /// The output's filesystem has less room than the run will write; refused before starting.
    #[error(
        "the run writes about {} but {} has only {} free",
        mib(*.needed), .path.display(), mib(*.available)
    )]
    NoSpace {
        path: PathBuf,
        needed: u64,
        available: u64,
    },
    /// A file of the run would exceed the file-size limit (`ulimit -f`); refused up front.
    #[error(
        "a file of this run takes about {} but the file-size limit (ulimit -f) is {}",
        mib(*.needed), mib(*.limit)
    )]
    FileSizeLimit { limit: u64, needed: u64 },
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
            Error::Usage(_)
            | Error::TooLarge { .. }
            | Error::NoSpace { .. }
            | Error::FileSizeLimit { .. } => 2,
            _ => 1,
        }
    }
}

/// `?` on an I/O error inside a step: it names the file this thread is writing, if any.
impl From<io::Error> for Error {
    fn from(source: io::Error) -> Self {
        match crate::output::naming::current() {
            Some(path) => Error::Write { path, source },
            None => Error::Io(source),
        }
    }
}

/// `?` on an HDF5 error inside a step: one line, naming the file this thread is writing.
#[cfg(feature = "hdf5")]
impl From<hdf5::Error> for Error {
    fn from(e: hdf5::Error) -> Self {
        let path = crate::output::naming::current().unwrap_or_default();
        let partial = crate::output::naming::current_partial().unwrap_or_default();
        Error::Hdf5 {
            message: crate::h5::short_message(&e.to_string(), &partial),
            path,
        }
    }
}

/// Result with gridgen's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn mib(bytes: u64) -> String {
    crate::space::human(bytes)
}
