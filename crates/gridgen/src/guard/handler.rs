//! What the guard says and does when the process must end at once: on SIGINT, SIGTERM or
//! SIGHUP (`on_signal`), or when an allocation fails ([`out_of_memory`]). Every call here is
//! async-signal-safe: the registry's files are removed, one line is written without allocating,
//! and the process exits with `_exit`.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::registry::{remove_all, remove_own, BUSY, CLOSING};

/// What the handler says, and how it leaves.
#[derive(Debug, Clone, Copy)]
pub(super) struct Info {
    pub(super) step: &'static str,
    pub(super) n_files: usize,
    pub(super) reports: bool,
    pub(super) linger: Duration,
    /// stderr is a terminal (where a progress bar may need clearing).
    pub(super) terminal: bool,
    /// This process's rank, if it is one rank of several: its count is its own files'.
    pub(super) rank: Option<usize>,
}

/// Which process is watching: a step on its own, or one rank of an MPI job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Alone,
    /// `reports` is false on every rank but 0, so that a job prints one line, not one per
    /// rank; every rank still removes its own files. `launched`: by mpirun or srun.
    Rank {
        rank: usize,
        reports: bool,
        launched: bool,
    },
}

/// Set once the run's outcome has been told: a signal after it has nothing to add.
static TOLD: AtomicBool = AtomicBool::new(false);
/// The run's count of finished files, for the handler's line.
static DONE: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());
/// The launcher's own stderr, opened at the start (MPI ranks), for when it has gone; and the
/// launcher's process id, to tell.
pub(super) static LAUNCHER_STDERR: AtomicI32 = AtomicI32::new(-1);
pub(super) static LAUNCHER_PID: AtomicI32 = AtomicI32::new(-1);
pub(super) static INFO: OnceLock<Info> = OnceLock::new();

/// The run's count of finished files, for the line an interrupted run prints.
pub fn count_files(done: &Arc<AtomicU64>) {
    let ptr = Arc::into_raw(Arc::clone(done)) as *mut AtomicU64;
    let old = DONE.swap(ptr, Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: `old` came from Arc::into_raw above, and the handler has not begun (it would
        // be exiting): dropping our reference is fine even if it still reads the count.
        drop(unsafe { Arc::from_raw(old) });
    }
}

/// The outcome has been told (a summary or an error): a later signal only cleans up.
pub fn mark_told() {
    TOLD.store(true, Ordering::SeqCst);
}

pub(super) fn outcome_told() -> bool {
    TOLD.load(Ordering::SeqCst)
}

/// Records what the handler needs, once per process; false if it was recorded before.
pub(super) fn install(info: Info) -> bool {
    INFO.set(info).is_ok()
}

pub(super) extern "C" fn on_signal(signal: libc::c_int) {
    if CLOSING.swap(true, Ordering::SeqCst) {
        return; // another thread's handler is already ending the process
    }
    // Let the file operations under way finish (bounded: this thread may be one of them).
    for _ in 0..100 {
        if BUSY.load(Ordering::SeqCst) == 0 {
            break;
        }
        sleep(Duration::from_millis(1));
    }
    let reporter = INFO.get().is_some_and(|i| i.reports);
    let removed = remove_all(reporter);
    remove_own();
    if let Some(info) = INFO.get() {
        if info.reports && !outcome_told() && !removed.told_elsewhere {
            say_stopped(info, signal, removed.count);
        }
        sleep(info.linger);
    }
    // Straight out: no destructors, no atexit handlers (HDF5's would flush a file just
    // removed), no MPI_Finalize waiting for ranks that are gone.
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + signal) }
}

/// An allocation of `bytes` failed: remove the temporary files, say so in one line, exit 1. Called
/// from the allocator, so nothing here allocates.
pub fn out_of_memory(bytes: usize) -> ! {
    CLOSING.store(true, Ordering::SeqCst);
    remove_all(INFO.get().is_some_and(|i| i.reports));
    remove_own();
    let mut line = Line::default();
    line.push(INFO.get().map_or("gridgen", |i| i.step).as_bytes());
    line.push(b": out of memory: an allocation of ");
    line.number((bytes as u64).div_ceil(1 << 20));
    line.push(b" MiB failed (the machine's memory, the job's --mem or ulimit -v); unfinished files removed\n");
    // SAFETY: write and _exit are async-signal-safe, and need no memory.
    unsafe {
        libc::write(2, line.bytes.as_ptr().cast(), line.len);
        libc::_exit(1)
    }
}

pub(super) fn sleep(d: Duration) {
    let ts = libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // SAFETY: nanosleep is async-signal-safe.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// `<step>: stopped by SIGINT after 3 of 10 files; 1 unfinished file removed`, written with no
/// allocation, to stderr or, if that is gone, to the launcher's stderr.
fn say_stopped(info: &Info, signal: libc::c_int, removed: usize) {
    let mut line = Line::default();
    if info.terminal {
        line.push(b"\r\x1b[2K"); // clear the progress bar first
    }
    line.push(info.step.as_bytes());
    line.push(b": stopped by ");
    line.push(match signal {
        libc::SIGINT => b"SIGINT",
        libc::SIGTERM => b"SIGTERM",
        libc::SIGHUP => b"SIGHUP",
        _ => b"a signal",
    });
    line.push(b" after ");
    let done = DONE.load(Ordering::Acquire);
    // SAFETY: DONE holds an Arc's pointer that is never freed while a handler runs.
    line.number(if done.is_null() {
        0
    } else {
        unsafe { (*done).load(Ordering::Relaxed) }
    });
    if info.rank.is_some() {
        line.push(b" files on rank 0 (of ");
        line.number(info.n_files as u64);
        line.push(b" in all)");
    } else {
        line.push(b" of ");
        line.number(info.n_files as u64);
        line.push(b" files");
    }
    match removed {
        0 => {}
        1 => line.push(b"; 1 unfinished file removed"),
        n => {
            line.push(b"; ");
            line.number(n as u64);
            line.push(b" unfinished files removed");
        }
    }
    line.push(b"\n");
    // Through our own stderr while the launcher is there to pass it on (a pipe to mpirun); once
    // it is gone, straight to where the launcher's own stderr went.
    let launcher = LAUNCHER_STDERR.load(Ordering::Relaxed);
    // SAFETY: getppid and write are async-signal-safe; the buffer is valid for its length.
    unsafe {
        let orphaned = libc::getppid() != LAUNCHER_PID.load(Ordering::Relaxed);
        let fd = if launcher >= 0 && orphaned {
            launcher
        } else {
            2
        };
        if libc::write(fd, line.bytes.as_ptr().cast(), line.len) < 0 && launcher >= 0 {
            libc::write(launcher, line.bytes.as_ptr().cast(), line.len);
        }
    }
}

/// A line built without allocating, for code that must not allocate: a signal handler, the
/// allocator's failure, a check that runs before `main`.
pub struct Line {
    bytes: [u8; 512],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Line {
            bytes: [0; 512],
            len: 0,
        }
    }
}

impl Line {
    /// Appends `text` (cut at the line's 512 bytes).
    pub fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - self.len;
        let n = text.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

    /// Appends `n` in decimal.
    pub fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    /// Writes the line to the descriptor `fd` in one call. Async-signal-safe.
    pub fn write_to(&self, fd: libc::c_int) -> isize {
        // SAFETY: a valid buffer of `len` bytes; write is async-signal-safe.
        unsafe { libc::write(fd, self.bytes.as_ptr().cast(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_built_without_allocating() {
        let mut line = Line::default();
        line.push(b"write: stopped after ");
        line.number(0);
        line.push(b" of ");
        line.number(1234567);
        assert_eq!(
            &line.bytes[..line.len],
            b"write: stopped after 0 of 1234567"
        );
    }
}
