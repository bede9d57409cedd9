//! Starting the guard: the handlers of SIGINT, SIGTERM, SIGHUP and SIGXFSZ, and for an MPI rank
//! a thread that ends the rank when its launcher is gone (or when it is held too long in a
//! library call: [`super::held`]).

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::handler::{install, on_signal, Info, Process, INFO, LAUNCHER_PID, LAUNCHER_STDERR};
use super::held;

/// Starts the guard, once per process: the signal handlers, and for an MPI rank started by a
/// launcher the thread that watches for the launcher's end.
pub fn start(step: &'static str, n_files: usize, process: Process) {
    let linger = match process {
        Process::Alone => Duration::ZERO,
        Process::Rank { .. } => Duration::from_millis(250),
    };
    let reports = matches!(
        process,
        Process::Alone | Process::Rank { reports: true, .. }
    );
    // SAFETY: isatty only reads the descriptor's state.
    let terminal = unsafe { libc::isatty(2) } == 1;
    if !install(Info {
        step,
        n_files,
        reports,
        linger,
        terminal,
        rank: match process {
            Process::Rank { rank, .. } => Some(rank),
            Process::Alone => None,
        },
    }) {
        return;
    }
    // SAFETY: the handlers only make async-signal-safe calls (see `on_signal`); SIGXFSZ's
    // stores one flag, and restarts what it interrupted.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        libc::sigfillset(&mut action.sa_mask);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
        action.sa_sigaction = held::on_file_size_limit as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGXFSZ, &action, std::ptr::null_mut());
    }
    if let Process::Rank {
        launched: true,
        reports,
        ..
    } = process
    {
        if reports {
            keep_launcher_stderr();
        }
        stop_when_orphaned();
    }
}

/// Opens the launcher's stderr (`/proc/<parent>/fd/2`), so that the line of a rank whose
/// `mpirun` has died still reaches the terminal or log that `mpirun` wrote to.
fn keep_launcher_stderr() {
    let parent = std::os::unix::process::parent_id();
    LAUNCHER_PID.store(parent as i32, Ordering::Relaxed);
    let path = format!("/proc/{parent}/fd/2\0");
    // SAFETY: a NUL-terminated path; the descriptor is kept for the life of the process.
    let fd = unsafe {
        libc::open(
            path.as_ptr().cast(),
            libc::O_WRONLY | libc::O_APPEND | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    LAUNCHER_STDERR.store(fd, Ordering::Relaxed);
}

/// Raises SIGTERM in this process once its parent (the launcher) has gone, and ends a rank held
/// in a library call after the file-size limit ([`held`]). Polled: cheap, and unlike
/// `PR_SET_PDEATHSIG` it does not depend on which of the launcher's threads started the rank.
/// (If the thread cannot start, an orphaned rank writes on to the end, as any program would; its
/// files are still complete or removed.)
fn stop_when_orphaned() {
    let launcher = std::os::unix::process::parent_id();
    let mut held = held::Watch::default();
    let _ = std::thread::Builder::new()
        .name("launcher".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            if let Some(info) = INFO.get() {
                held.poll(info);
            }
            if std::os::unix::process::parent_id() != launcher {
                // SAFETY: raise is async-signal-safe and has no preconditions.
                unsafe { libc::raise(libc::SIGTERM) };
                return;
            }
        });
}
