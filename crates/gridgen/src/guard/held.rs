//! A rank held inside a library call after one of its writes met the file-size limit.
//!
//! When `ulimit -f` is lowered on one rank while parallel HDF5 writes its metadata, that rank's
//! write fails (EFBIG) inside one of HDF5's collective steps, and HDF5 on it and on the others
//! can go on into different MPI calls: no rank returns to the step, and the failure agreement
//! never begins. The kernel sends SIGXFSZ with that failure, which marks the moment. If the
//! outcome is still untold [`HELD`] later, the watcher thread says what happened, takes the
//! file away and ends the rank with 1; the launcher then ends the others.

use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::handler::{outcome_told, sleep, Info};
use super::registry::{
    self, leave_word, remove_all, remove_own, target_of, unlink_library_file, CLOSING, REGISTRY,
};
use super::space;

/// Set by SIGXFSZ: a write of this process met the file-size limit.
static LIMIT_MET: AtomicBool = AtomicBool::new(false);

/// How long a member of a team that failed waits for the others to learn of it. Members busy
/// with their own files come when they are done or are ended with the job; a member that never
/// comes is held in a collective call of HDF5's that the failure left unfinished (a metadata write
/// that met `ulimit -f` on one rank), which only the launcher can end.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// How long a rank whose write met the limit may go on without telling the outcome: twice the
/// time a failed rank waits for the others in the failure agreement, which ends the usual cases
/// (the write's error returned to the step) before.
pub const HELD: Duration = Duration::from_secs(2 * PATIENCE.as_secs());

/// SIGXFSZ's handler: the write that crossed the limit fails with EFBIG, as if the signal were
/// ignored, and is reported like any failed write; this only notes when it happened.
pub(super) extern "C" fn on_file_size_limit(_signal: libc::c_int) {
    LIMIT_MET.store(true, Ordering::SeqCst);
}

/// The watcher thread's view: since when the limit has been met with no outcome told.
#[derive(Debug, Default)]
pub(super) struct Watch {
    since: Option<Instant>,
}

impl Watch {
    /// Called at every poll of the watcher thread; ends the process once it is held.
    pub(super) fn poll(&mut self, info: &Info) {
        if !LIMIT_MET.load(Ordering::SeqCst) || outcome_told() {
            return;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        if since.elapsed() >= HELD {
            give_up(info);
        }
    }
}

/// Says that the rank is held, takes the file away and ends the rank. A rank other than 0 removes
/// the library's file and leaves word in its private folder for rank 0, which removes the folder
/// when the launcher ends it and adds no line of its own.
fn give_up(info: &Info) {
    if CLOSING.swap(true, Ordering::SeqCst) {
        return; // a signal's handler is ending the process already
    }
    let file = held_file().map_or_else(|| "its file".to_string(), |p| p.display().to_string());
    let limit =
        space::file_size_limit().map_or_else(|| "raised again since".to_string(), space::human);
    let rank = info.rank.map(|r| format!("rank {r}: ")).unwrap_or_default();
    let line = format!(
        "{}: {rank}cannot write {file}: File too large: a write met the file-size limit (ulimit -f, now {limit}) and the parallel library did not return within {} s (the other ranks are held in it); unfinished file removed\n",
        info.step,
        HELD.as_secs()
    );
    if info.reports {
        remove_all(true);
    } else {
        // The library's file only, not the private folder: that is the rank's that made it.
        REGISTRY.iter().for_each(|slot| {
            unlink_library_file(slot);
        });
        leave_word();
    }
    remove_own();
    // SAFETY: write and _exit; the main thread is held in a library call and prints nothing.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
        sleep(info.linger);
        libc::_exit(1)
    }
}

/// The final path of the file being written when the rank was held: the registered library
/// file's (a private folder's), else any registered temporary file's.
fn held_file() -> Option<PathBuf> {
    let (dir, temp) = registry::open_file()?;
    let target = target_of(&temp)?;
    Some(folder_path(dir)?.join(target))
}

/// The path of an open folder, as the kernel knows it.
fn folder_path(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}
