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

use super::{Info, CLOSING, LIVE, NAME, REGISTRY};
use crate::team::PATIENCE;

/// Set by SIGXFSZ: a write of this process met the file-size limit.
static LIMIT_MET: AtomicBool = AtomicBool::new(false);

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
        if !LIMIT_MET.load(Ordering::SeqCst) || super::outcome_told() {
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
    let limit = crate::space::file_size_limit()
        .map_or_else(|| "raised again since".to_string(), crate::space::human);
    let rank = info.rank.map(|r| format!("rank {r}: ")).unwrap_or_default();
    let line = format!(
        "{}: {rank}cannot write {file}: File too large: a write met the file-size limit (ulimit -f, now {limit}) and the parallel library did not return within {} s (the other ranks are held in it); unfinished file removed\n",
        info.step,
        HELD.as_secs()
    );
    if info.reports {
        super::remove_all(true);
    } else {
        // The library's file only, not the private folder: that is the rank's that made it.
        REGISTRY.iter().for_each(|slot| {
            super::unlink_library_file(slot);
        });
        super::leave_word();
    }
    super::remove_own();
    // SAFETY: write and _exit; the main thread is held in a library call and prints nothing.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
        super::sleep(info.linger);
        libc::_exit(1)
    }
}

/// The final path of the file being written when the rank was held: the registered library
/// file's (a private folder's), else any registered temporary file's.
fn held_file() -> Option<PathBuf> {
    let live = || {
        REGISTRY
            .iter()
            .filter(|s| s.state.load(Ordering::Acquire) == LIVE)
    };
    let slot = live()
        .find(|s| s.inner_dir.load(Ordering::Acquire) > 0)
        .or_else(|| live().next())?;
    // SAFETY: the name was complete when LIVE was published.
    let name = unsafe { &*slot.name.get() };
    let len = name.iter().position(|&b| b == 0).unwrap_or(NAME);
    let temp = std::str::from_utf8(&name[..len]).ok()?;
    let target = crate::output::TempName::target_of(temp)?;
    Some(folder_path(slot.dir.load(Ordering::Relaxed) - 1)?.join(target))
}

/// The path of an open folder, as the kernel knows it.
fn folder_path(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}
