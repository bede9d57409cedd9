//! Ending a run on a signal without leaving debris.
//!
//! - SIGINT (Ctrl-C), SIGTERM (`scancel`, Slurm's time limit, `mpirun` passing Ctrl-C on) and
//!   SIGHUP (a closed terminal): every temporary file still open is removed, one line says what
//!   was finished, and the process exits with 128 + the signal's number (130 for SIGINT, 143
//!   for SIGTERM), as a shell reports a process killed by it.
//! - An MPI rank waits a quarter of a second between removing its files and exiting. `mpirun`
//!   passes SIGTERM to every rank and sends SIGKILL to the rest as soon as the first one exits;
//!   a rank still waiting for a core (more ranks than cores) would be killed before it had
//!   removed its own files. The pause lets every rank clean up first; `mpirun` itself waits a
//!   second (`odls_base_sigkill_timeout`) before killing anyone that has not exited.
//! - An MPI rank whose launcher is gone stops as if sent SIGTERM. `mpirun` that is killed, or
//!   sent a second signal before it has passed the first on (plain `timeout` signals it twice),
//!   exits at once without stopping its ranks; they would write on with no one waiting.
//! - SIGXFSZ (a file-size limit, `ulimit -f`) is ignored: the write that crosses the limit then
//!   fails with EFBIG, and the run reports it and cleans up like any failed write, instead of
//!   dying without a word.

use std::sync::OnceLock;
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static STARTED: OnceLock<()> = OnceLock::new();

/// Which process is watching: a step on its own, or one rank of an MPI job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Process {
    Alone,
    /// `reports` is false on every rank but 0, so that a job prints one line, not one per
    /// rank; every rank still removes its own files. `launched`: by mpirun or srun.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    Rank {
        reports: bool,
        launched: bool,
    },
}

impl Process {
    fn reports(self) -> bool {
        matches!(self, Process::Alone | Process::Rank { reports: true, .. })
    }

    /// How long to wait, files removed, before exiting (see the module docs).
    fn linger(self) -> Duration {
        match self {
            Process::Alone => Duration::ZERO,
            Process::Rank { .. } => Duration::from_millis(250),
        }
    }
}

/// Starts watching, once per process.
pub(crate) fn watch(step: &'static str, n_files: usize, process: Process) {
    if STARTED.set(()).is_err() {
        return;
    }
    // SAFETY: setting a signal's disposition to "ignore" has no handler to be unsafe in.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return; // the run goes on with the default dispositions
    };
    let watcher = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let removed = crate::output::live::remove_all();
                if process.reports() && !crate::report::outcome_told() {
                    crate::progress::clear_bar();
                    crate::report::line(&interrupted_line(
                        step,
                        signal,
                        crate::progress::files_done(),
                        n_files,
                        removed,
                    ));
                }
                std::thread::sleep(process.linger());
                // Straight out: no destructors, no atexit handlers (HDF5's would try to flush
                // a file just removed), no MPI_Finalize waiting for ranks that are gone.
                // SAFETY: _exit ends the process at once; nothing runs after it.
                unsafe { libc::_exit(128 + signal) }
            }
        });
    drop(watcher);
    if let Process::Rank { launched: true, .. } = process {
        stop_when_orphaned();
    }
}

/// Raises SIGTERM in this process once its parent (the launcher: `mpirun`, `srun`) has gone.
/// Polled: cheap, and unlike `PR_SET_PDEATHSIG` it does not depend on which of the launcher's
/// threads started the rank.
fn stop_when_orphaned() {
    let launcher = std::os::unix::process::parent_id();
    let poller = std::thread::Builder::new()
        .name("launcher".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            if std::os::unix::process::parent_id() != launcher {
                let _ = signal_hook::low_level::raise(SIGTERM);
                return;
            }
        });
    drop(poller);
}

fn interrupted_line(step: &str, signal: i32, done: u64, n_files: usize, removed: usize) -> String {
    let name = match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    };
    let temporary = match removed {
        0 => String::new(),
        1 => "; 1 unfinished file removed".to_owned(),
        n => format!("; {n} unfinished files removed"),
    };
    format!("{step}: stopped by {name} after {done} of {n_files} files{temporary}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_was_finished() {
        assert_eq!(
            interrupted_line("write", SIGINT, 3, 10, 1),
            "write: stopped by SIGINT after 3 of 10 files; 1 unfinished file removed"
        );
        assert_eq!(
            interrupted_line("write_mpi", SIGTERM, 0, 4, 0),
            "write_mpi: stopped by SIGTERM after 0 of 4 files"
        );
    }
}
