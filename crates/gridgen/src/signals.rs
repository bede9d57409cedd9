//! Ending a run on a signal without leaving debris.
//!
//! - SIGINT (Ctrl-C), SIGTERM (`scancel`, Slurm's time limit, `mpirun` passing Ctrl-C on) and
//!   SIGHUP (a closed terminal): every temporary file still open is removed, one line says what
//!   was finished, and the process exits with 128 + the signal's number (130 for SIGINT, 143
//!   for SIGTERM), as a shell reports a process killed by it.
//! - SIGXFSZ (a file-size limit, `ulimit -f`) is ignored: the write that crosses the limit then
//!   fails with EFBIG, and the run reports it and cleans up like any failed write, instead of
//!   dying without a word.

use std::sync::OnceLock;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

static STARTED: OnceLock<()> = OnceLock::new();

/// Starts watching, once per process. `reports` is false on MPI ranks other than 0, so that a
/// job prints one line, not one per rank; every rank still removes its files.
pub(crate) fn watch(step: &'static str, n_files: usize, reports: bool) {
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
                if reports && !crate::report::outcome_told() {
                    crate::progress::clear_bar();
                    crate::report::line(&interrupted_line(
                        step,
                        signal,
                        crate::progress::files_done(),
                        n_files,
                        removed,
                    ));
                }
                // Straight out: no destructors, no atexit handlers (HDF5's would try to flush
                // a file just removed), no MPI_Finalize waiting for ranks that are gone.
                // SAFETY: _exit ends the process at once; nothing runs after it.
                unsafe { libc::_exit(128 + signal) }
            }
        });
    drop(watcher);
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
