//! The run's unfinished files. Each file is written under a hidden name beside its final one,
//! `.data00042.npy~<pid>~<host>~<random>`, and renamed when complete: a final name never holds
//! half a file, and when two runs write into one folder the last to finish a name wins it whole.
//!
//! Ctrl-C (SIGINT), `scancel` or a job's time limit (SIGTERM) and a closed terminal (SIGHUP)
//! remove the unfinished files before the process ends. A SIGKILL cannot be caught: what it
//! leaves is hidden, and the next run into the folder removes it, since its name says which
//! process on which machine made it and that process is gone.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The unfinished files of a process, and what its signal handler says about them.
#[derive(Debug, Default)]
pub(crate) struct Unfinished {
    /// Held shared while a file is created or renamed and its name noted or forgotten; held
    /// alone by the signal handler, so that it never sees a file half-way through either.
    gate: RwLock<()>,
    paths: Mutex<HashSet<PathBuf>>,
    /// Files finished, for the line a stopped run prints.
    pub(crate) done: AtomicU64,
    pub(crate) n_files: u64,
    /// This process's rank, if it is one of an MPI job's (only rank 0 speaks).
    pub(crate) rank: Option<usize>,
    pub(crate) bar: Option<indicatif::ProgressBar>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Unfinished {
    pub(crate) fn new(
        n_files: u64,
        rank: Option<usize>,
        bar: Option<indicatif::ProgressBar>,
    ) -> Self {
        Unfinished {
            n_files,
            rank,
            bar,
            ..Unfinished::default()
        }
    }

    /// Runs `create`, which makes the file at `path` (or leaves it to a library to make), and
    /// notes `path` as unfinished.
    pub(crate) fn create<T>(
        &self,
        path: &Path,
        create: impl FnOnce() -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let _shared = self.gate.read();
        let made = create()?;
        lock(&self.paths).insert(path.to_owned());
        Ok(made)
    }

    /// Runs `finish`, which renames or removes the file at `path`, and forgets `path`.
    pub(crate) fn finish<T>(&self, path: &Path, finish: impl FnOnce() -> T) -> T {
        let _shared = self.gate.read();
        let done = finish();
        lock(&self.paths).remove(path);
        done
    }

    /// Starts a thread that waits for SIGINT, SIGTERM and SIGHUP and, on one, removes every
    /// unfinished file, says so in one line and ends the process.
    pub(crate) fn remove_on_signals(self: &Arc<Self>) -> std::io::Result<()> {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        let unfinished = Arc::clone(self);
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    unfinished.stop(signal);
                }
            })?;
        Ok(())
    }

    fn stop(&self, signal: i32) -> ! {
        let _alone = self.gate.write();
        let mut removed = 0;
        for path in lock(&self.paths).drain() {
            removed += usize::from(std::fs::remove_file(path).is_ok());
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.rank.unwrap_or(0) == 0 {
            let name = signal_hook::low_level::signal_name(signal).unwrap_or("a signal");
            let done = self.done.load(Ordering::Relaxed);
            let whose = match self.rank {
                Some(_) => format!("rank 0 had written {done} of its files"),
                None => format!("{done} of {} files written", self.n_files),
            };
            let plural = if removed == 1 { "" } else { "s" };
            let line =
                format!("Stopped by {name}: {whose}; {removed} unfinished file{plural} removed\n");
            // In one write(2), which the launcher's SIGKILL soon after cannot cut in two.
            eprint!("{line}");
        }
        // Straight out, as the signal would have ended it: no destructors and no exit handlers
        // (HDF5's would try to finish a file just removed, and under MPI-IO wait for the others).
        // SAFETY: _exit ends the process; it touches no Rust state.
        unsafe { libc::_exit(128 + signal) }
    }
}

/// A hidden name under which this process writes `final_name`:
/// `.data00042.npy~<pid>~<host>~<six random letters and digits>`.
pub(crate) fn hidden_name(final_name: &str) -> String {
    let random: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(6)
        .collect();
    format!(".{final_name}~{}~{}~{random}", std::process::id(), host())
}

/// Removes the hidden files in `dir` whose process, on this machine, has ended (a SIGKILL,
/// a crash). Another run's unfinished files are left alone while it lives.
pub(crate) fn remove_abandoned(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = host();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| n.starts_with('.')) else {
            continue;
        };
        let mut parts = name.rsplitn(4, '~');
        let (Some(random), Some(host), Some(pid), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let ours = random.len() == 6 && host == me;
        if let Ok(pid) = pid.parse::<i32>() {
            if ours && !alive(pid) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Whether process `pid` runs on this machine.
fn alive(pid: i32) -> bool {
    // A zombie has ended: it only waits for its parent (or init) to collect its exit status.
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        return !stat.rsplit(')').next().unwrap_or("").starts_with(" Z");
    }
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let status = unsafe { libc::kill(pid, 0) };
    status == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// This machine's name (where runs on several nodes share a folder, each clears its own).
fn host() -> String {
    let mut name = [0u8; 256];
    // SAFETY: gethostname writes at most name.len() bytes into the buffer.
    let status = unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) };
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    match status {
        0 => String::from_utf8_lossy(&name[..end]).replace('~', "-"),
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_processs_hidden_files_are_removed_and_a_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join(hidden_name("data00001.npy"));
        // A process id that no process has: beyond the kernel's largest.
        let dead = dir
            .path()
            .join(format!(".data00002.npy~{}~{}~abcdef", i32::MAX, host()));
        let elsewhere = dir
            .path()
            .join(format!(".data00003.npy~{}~elsewhere~abcdef", i32::MAX));
        let final_name = dir.path().join("data00004.npy");
        for path in [&mine, &dead, &elsewhere, &final_name] {
            std::fs::write(path, b"x").unwrap();
        }
        remove_abandoned(dir.path());
        assert!(mine.exists() && elsewhere.exists() && final_name.exists());
        assert!(!dead.exists());
    }

    #[test]
    fn notes_what_is_unfinished_until_it_is_finished() {
        let unfinished = Unfinished::default();
        let path = Path::new("/nonexistent/x");
        unfinished.create(path, || Ok(())).unwrap();
        assert!(lock(&unfinished.paths).contains(path));
        unfinished.finish(path, || ());
        assert!(lock(&unfinished.paths).is_empty());
        assert!(unfinished
            .create(path, || Err::<(), _>(std::io::Error::other("no")))
            .is_err());
        assert!(lock(&unfinished.paths).is_empty());
    }
}
