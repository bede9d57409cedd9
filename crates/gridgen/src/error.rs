//! gridgen's typed errors. Each one prints as a single line that names its cause and, where there
//! is one, the file.
//!
//! The exit code says whose move it is: 2 when the arguments are wrong on every machine (fix the
//! command), 1 when this machine refuses them or the run fails (free space, limits, memory, a
//! failed write: fix the allocation or the folder).

use std::io;
use std::path::PathBuf;

use crate::guard::Refused;

/// Everything a step can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Arguments that cannot work anywhere.
    #[error(transparent)]
    Usage(#[from] Usage),
    /// The guard's checks before the run: it cannot fit (memory, disk, limits, names).
    #[error(transparent)]
    Refused(#[from] Refused),
    /// The output folder could not be created.
    #[error("cannot create output folder {}: {source}", .path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    /// Writing one output file failed; its temporary file was removed.
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    /// An I/O error outside any output file.
    #[error("{0}")]
    Io(#[from] io::Error),
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
    #[error(transparent)]
    Workers(#[from] Workers),
    /// The profiler could not start or report.
    #[error(transparent)]
    Profiler(#[from] Profiler),
}

/// Arguments wrong on every machine: exit 2.
#[derive(Debug, thiserror::Error)]
pub enum Usage {
    /// What clap said of the command line (its first line: the cause).
    #[error("{cause} (see --help)")]
    Command { cause: String },
    /// A default taken from the environment that cannot be used.
    #[error("{variable}: {why}; pass {instead} to choose")]
    FromEnvironment {
        variable: &'static str,
        why: String,
        /// The flag that overrides it.
        instead: &'static str,
    },
    /// `--flamegraph` must name a drawing or a samples file.
    #[error("--flamegraph {}: name an .svg (the drawing, its samples beside it) or a .folded file (the samples alone, to merge several runs)", .0.display())]
    FlamegraphPath(PathBuf),
    /// More files than an MPI count (a C int) can describe.
    #[error("--n-files {n_files} is more than an MPI count can hold ({max})")]
    TooManyForMpi { n_files: usize, max: i64 },
}

/// The thread steps' workers.
#[derive(Debug, thiserror::Error)]
pub enum Workers {
    /// The system refused a thread (its thread limit, or memory for the stack).
    #[error("worker threads: cannot start worker {worker}: {source}")]
    Start { worker: usize, source: io::Error },
    /// A thread pool could not start its threads.
    #[error("worker threads: cannot start the workers: {source}")]
    Pool {
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A worker went away without answering: it panicked (its message was printed).
    #[error("worker threads: a worker stopped without answering")]
    Gone,
}

/// The sampler behind `--flamegraph`.
#[derive(Debug, thiserror::Error)]
pub enum Profiler {
    #[error("profiler: cannot start: {0}")]
    Start(pprof::Error),
    #[error("profiler: cannot build the report: {0}")]
    Report(pprof::Error),
}

impl Error {
    /// 2 when the arguments are wrong on every machine, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Refused(refused) if refused.on_every_machine() => 2,
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

/// Result with gridgen's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_of_the_command_exit_with_2() {
        let usage = Error::from(Usage::FlamegraphPath("p.png".into()));
        assert_eq!(usage.exit_code(), 2);
        assert!(usage
            .to_string()
            .starts_with("--flamegraph p.png: name an .svg"));
        let impossible = Error::from(Refused::Impossible {
            size: 1 << 40,
            grids: 3,
        });
        assert_eq!(impossible.exit_code(), 2);
        let space = Error::from(Refused::NoSpace {
            path: "o".into(),
            needed: 2,
            available: 1,
        });
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

    #[test]
    fn messages_name_their_cause_in_one_line() {
        let e = Error::from(Usage::FromEnvironment {
            variable: "SLURM_CPUS_PER_TASK",
            why: "expected a whole number of at least 1, got 'lots'".into(),
            instead: "-w",
        });
        assert_eq!(
            e.to_string(),
            "SLURM_CPUS_PER_TASK: expected a whole number of at least 1, got 'lots'; pass -w to choose"
        );
        let plain: Error = io::Error::other("plain").into();
        assert_eq!(plain.to_string(), "plain");
        assert_eq!(
            Error::from(Workers::Gone).to_string(),
            "worker threads: a worker stopped without answering"
        );
    }
}
