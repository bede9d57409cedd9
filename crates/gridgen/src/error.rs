//! gridgen's typed errors. Each one prints as a single line that names its cause and, where there
//! is one, the file.
//!
//! The exit code says whose move it is: 2 when the arguments are wrong on every machine (fix the
//! command), 1 when this machine refuses them or the run fails (free space, limits, memory, a
//! failed write: fix the allocation or the folder).

use std::io;
use std::path::PathBuf;

/// Everything a step can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments that cannot work anywhere; the message says which and why.
    #[error("{0}")]
    Usage(String),
    /// The run would not fit in the memory this process may use; refused before allocating.
    #[error(
        "size {size} needs about {} of memory ({grids} grids of {size}×{size} f64 and the file lists) but {limit}",
        mib(*.needed)
    )]
    TooLarge {
        size: usize,
        grids: u64,
        needed: u64,
        /// What limits it, with the number: "only 1.2 GiB is available".
        limit: String,
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
    /// A file name longer than the output folder's filesystem allows.
    #[error("the file name {name:?} is {} bytes, more than the {limit} that the filesystem of {} allows for a name (use a shorter -o)", .name.len(), .dir.display())]
    NameTooLong {
        name: String,
        limit: usize,
        dir: PathBuf,
    },
    /// A library (HDF5) refused an operation on the run's file, or on none that it knows of.
    #[error("{library} error{}: {message}", .path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Library {
        library: &'static str,
        path: Option<PathBuf>,
        message: String,
    },
    /// The file's bytes did not all reach it, although every call said they did.
    #[error("{} is incomplete: {why}; it was removed", .path.display())]
    Incomplete { path: PathBuf, why: String },
    /// Another MPI rank failed (and reports why); this rank stops too.
    #[error("stopped because another rank failed")]
    OtherRankFailed,
    /// A launcher started several processes, but MPI sees each one alone: the binary was built
    /// with another MPI than the launcher's, or srun's `--mpi` plugin does not match it.
    #[error("started as one of {processes} processes ({variable}={processes}), but MPI sees only this one: this binary uses {library}, not the launcher's MPI. Start it with the launcher of the MPI it was built with, or build it with the MPI loaded now (make build); under srun, --mpi must match the MPI (srun --mpi=list)")]
    ForeignLauncher {
        variable: &'static str,
        processes: usize,
        library: String,
    },
    /// Worker threads could not be started, or vanished.
    #[error("worker threads: {0}")]
    Threads(String),
    /// The profiler could not start or report.
    #[error("profiler: {0}")]
    Profiler(String),
}

impl Error {
    /// 2 when the arguments are wrong on every machine, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The same error, naming `path` if it named no file (a library's error names none; the
    /// run knows which file it has open).
    pub fn in_file(self, path: impl FnOnce() -> Option<PathBuf>) -> Error {
        match self {
            Error::Library {
                library,
                path: None,
                message,
            } => Error::Library {
                library,
                path: path(),
                message,
            },
            other => other,
        }
    }
}

/// An I/O error that knows the file it happened to: what [`crate::PartialFile`] returns from
/// its writes, so that `?` in a step turns it into [`Error::Write`] naming that file.
#[derive(Debug)]
pub(crate) struct InFile {
    pub path: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for InFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for InFile {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `source` so that it carries `path` through `io::Result` (see [`InFile`]).
pub(crate) fn in_file(path: &std::path::Path, source: io::Error) -> io::Error {
    if source.get_ref().is_some_and(|e| e.is::<InFile>()) {
        return source;
    }
    io::Error::new(
        source.kind(),
        InFile {
            path: path.to_owned(),
            source,
        },
    )
}

/// `?` on an I/O error inside a step: a write into a gridgen file names that file.
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<InFile>()) {
            let inner = e.into_inner().expect("checked above");
            let InFile { path, source } = *inner.downcast::<InFile>().expect("checked above");
            return Error::Write { path, source };
        }
        Error::Io(e)
    }
}

/// Result with gridgen's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn mib(bytes: u64) -> String {
    crate::space::human(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_error_keeps_its_file_through_io_result() {
        let e = in_file(
            std::path::Path::new("out/data00001.npy"),
            io::Error::other("disk on fire"),
        );
        assert_eq!(
            e.to_string(),
            "cannot write out/data00001.npy: disk on fire"
        );
        let again = in_file(std::path::Path::new("elsewhere"), e);
        let e: Error = again.into();
        assert_eq!(
            e.to_string(),
            "cannot write out/data00001.npy: disk on fire"
        );
        let plain: Error = io::Error::other("plain").into();
        assert_eq!(plain.to_string(), "plain");
    }

    #[test]
    fn only_usage_errors_exit_with_2() {
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        let space = Error::NoSpace {
            path: "o".into(),
            needed: 2,
            available: 1,
        };
        assert_eq!(space.exit_code(), 1);
        let library = Error::Library {
            library: "HDF5",
            path: None,
            message: "m".into(),
        };
        assert_eq!(
            library.in_file(|| Some("o/data.h5".into())).to_string(),
            "HDF5 error in o/data.h5: m"
        );
    }
}
