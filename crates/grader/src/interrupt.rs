//! Ctrl-C (or a closed terminal, or `kill`) on the grader ends the learner's processes and
//! removes the run's folders before the grader ends: the program under test runs in a process
//! group of its own, so the terminal's Ctrl-C does not reach it, and without this it would run
//! on, re-parented to init.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The folders to remove if the grader is stopped: the run folders in use; and whether a
/// signal is being handled.
#[derive(Debug, Clone, Default)]
pub struct Folders {
    list: Arc<Mutex<Vec<PathBuf>>>,
    stopping: Arc<AtomicBool>,
}

impl Folders {
    pub fn add(&self, folder: PathBuf) {
        if let Ok(mut list) = self.list.lock() {
            list.push(folder);
        }
    }

    pub fn remove(&self, folder: &PathBuf) {
        if let Ok(mut list) = self.list.lock() {
            list.retain(|f| f != folder);
        }
    }

    fn all(&self) -> Vec<PathBuf> {
        self.list.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Ends the calling thread's part if a signal is being handled: ending the learner's
    /// program lets the grader's main thread finish its verdict, and it must not exit (with 1)
    /// before the signal's thread exits with 128 + the signal.
    pub fn wait_if_stopping(&self) {
        while self.stopping.load(Ordering::SeqCst) {
            std::thread::park();
        }
    }
}

/// Removes `folder`, unmounting first whatever is mounted below it (the safe check's small
/// disk).
pub fn remove_folder(folder: &std::path::Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    for point in mounts.lines().filter_map(|l| l.split_whitespace().nth(1)) {
        if std::path::Path::new(point).starts_with(folder) {
            if let Ok(path) = std::ffi::CString::new(point) {
                // SAFETY: umount2 of a mount point below our own folder.
                unsafe {
                    libc::umount2(path.as_ptr(), libc::MNT_DETACH);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(folder);
}

/// From here on, SIGINT, SIGTERM and SIGHUP end every process below the grader and remove
/// `folders` (and the RAM-backed timing folders), then end the grader with 128 + the signal.
/// Call it first in `main`, before any thread starts: the threads inherit the blocked signals,
/// so that only the one waiting for them sees them (children start with none blocked).
pub fn on_signals(folders: Folders) {
    // SAFETY: sigset operations on a set we own; pthread_sigmask on this thread.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut signal = 0;
        // SAFETY: sigwait on the set blocked above, writing the signal into our variable.
        if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
            return;
        }
        folders.stopping.store(true, Ordering::SeqCst);
        eprintln!(
            "exercise: stopped (signal {signal}): ending the runs and removing their folders"
        );
        crate::procs::end_everything_below();
        for folder in folders
            .all()
            .into_iter()
            .chain(crate::fast::timing_folders())
        {
            remove_folder(&folder);
        }
        std::process::exit(128 + signal);
    });
}
