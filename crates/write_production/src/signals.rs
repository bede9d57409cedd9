//! What ends a run from outside, and what the run leaves when it does.
//!
//! - **Ctrl-C** (SIGINT), **`scancel`** or a job's **time limit** (SIGTERM: Slurm sends it, then
//!   SIGKILL a little later), a closed terminal or ssh session (SIGHUP): every rank removes the
//!   unfinished file and its private folder, rank 0 says one line, and every rank exits with
//!   128 + the signal's number, as a shell expects of a program a signal ended.
//! - **A file-size limit met** (`ulimit -f`, lowered while the run writes): the kernel's default
//!   is to end the process without a word (SIGXFSZ). Here the signal is caught, so the write
//!   fails with "File too large" and is reported like any failed write. A rank that then stays
//!   held inside HDF5 (the others wait in a collective call it never finishes) gives up after
//!   [`HELD`], with one line.
//! - **A lost launcher**: when `mpirun` itself is killed, nobody stops its ranks; they would
//!   write on, alone, to the end. A thread of each rank watches its parent process (the
//!   launcher) and stops the rank as SIGTERM would once the parent is gone.
//!
//! A signal handler runs between any two instructions of the program, inside whatever the
//! program was doing: it may only make calls that are safe there ("async-signal-safe"): no
//! memory allocated, no lock taken, no `println!`. So what it needs is kept in statics it can
//! read, set once, and its calls are the C library's own (`unlinkat`, `write`, `_exit`).

use std::ffi::{c_int, CString};
use std::io;
use std::os::fd::{AsFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gridgen::Output;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// How long a rank may stay inside HDF5 after one of its writes met the file-size limit:
/// twice the time a failed rank waits for the others to agree (which ends the usual cases,
/// where the write's error comes back to the step, well before).
pub const HELD: Duration = Duration::from_secs(2 * gridgen_mpi::PATIENCE.as_secs());

/// The name of the mark a rank leaves in the private folder when it has said why the run
/// failed and ends while the others are still held: rank 0, stopped by the launcher a moment
/// later, then adds no line of its own.
const MARK: &std::ffi::CStr = c"outcome-told";

/// What the handler knows of the run, set once by [`watch`].
struct Run {
    /// This rank, and whether it speaks for the job (rank 0).
    rank: i32,
    reporter: bool,
    /// `output/data.h5`, for the line.
    target: Vec<u8>,
}

/// The unfinished file, set once by [`remove_on_stop`]: `file` in the private folder `folder`
/// of the output folder. The folders are held by descriptors of their own, never closed, so
/// that the handler never acts on a descriptor since reused for something else.
struct Unfinished {
    dir: RawFd,
    folder: CString,
    file: CString,
}

static RUN: OnceLock<Run> = OnceLock::new();
static UNFINISHED: OnceLock<Unfinished> = OnceLock::new();
/// The private folder's descriptor, once it is open (-1 before).
static PRIVATE: AtomicI32 = AtomicI32::new(-1);
/// Open MPI's shared-memory file of this rank (`/dev/shm/vader_segment.…`), which MPI removes
/// when it ends normally; a rank that ends at once removes it itself.
static SEGMENT: OnceLock<(RawFd, CString)> = OnceLock::new();
/// Set by the first of the handler, the watcher or the allocator to end the process.
static CLOSING: AtomicBool = AtomicBool::new(false);
/// Set once the run's outcome is told (its summary or its error): a signal adds no line.
static TOLD: AtomicBool = AtomicBool::new(false);
/// Set once the file has its final name: nothing of the run is unfinished any more.
static COMMITTED: AtomicBool = AtomicBool::new(false);
/// Set by SIGXFSZ: a write of this rank met the file-size limit.
static LIMIT_MET: AtomicBool = AtomicBool::new(false);
/// The launcher's process id and its stderr, opened at the start: where rank 0's line goes
/// once the launcher is gone (its pipe to us is gone with it).
static LAUNCHER: AtomicI32 = AtomicI32::new(-1);
static LAUNCHER_STDERR: AtomicI32 = AtomicI32::new(-1);

// ANCHOR: watch
/// Installs the handlers of SIGINT, SIGTERM, SIGHUP and SIGXFSZ (replacing the plain steps'
/// handler, which removes files by path), and starts the thread that notices, in a rank that a
/// launcher started, when the launcher is gone (and a rank held in HDF5 after SIGXFSZ).
pub fn watch(out: &Output, world: &SimpleCommunicator) -> io::Result<()> {
    let rank = world.rank();
    let target = out.one_path().display().to_string().into_bytes();
    let reporter = rank == 0;
    if RUN
        .set(Run {
            rank,
            reporter,
            target,
        })
        .is_err()
    {
        return Ok(()); // watched already
    }
    remember_own_segment();
    // SAFETY: the handlers make only async-signal-safe calls (see `on_signal`); SIGXFSZ's
    // stores one flag and lets the interrupted write fail with EFBIG.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        libc::sigfillset(&mut action.sa_mask);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
        action.sa_sigaction = on_file_size_limit as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGXFSZ, &action, std::ptr::null_mut());
    }
    let launched = gridgen::launcher_rank().is_some();
    let launcher = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    LAUNCHER.store(launcher, Ordering::Relaxed);
    if launched && reporter {
        keep_launcher_stderr(launcher);
    }
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || watch_launcher(launched.then_some(launcher)))?;
    Ok(())
}
// ANCHOR_END: watch

/// Polls, every tenth of a second: the launcher still there (a rank whose parent changed was
/// left behind: it stops as SIGTERM would stop it), and a rank not held in HDF5 since its
/// write met the file-size limit. Polling is cheap, and unlike the kernel's "tell me when my
/// parent dies" (`PR_SET_PDEATHSIG`) it does not depend on which thread of the launcher
/// started the rank.
fn watch_launcher(launcher: Option<i32>) {
    let mut limit_met_at: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
        if launcher.is_some_and(|l| l != parent) {
            stop(Stopped::LauncherGone);
        }
        if LIMIT_MET.load(Ordering::SeqCst) && !TOLD.load(Ordering::SeqCst) {
            let since = *limit_met_at.get_or_insert_with(Instant::now);
            if since.elapsed() >= HELD {
                give_up_held();
            }
        }
    }
}

/// Opens the launcher's stderr (`/proc/<launcher>/fd/2`): the terminal or log that `mpirun`
/// writes to, which rank 0's line must still reach once `mpirun` has been killed.
fn keep_launcher_stderr(launcher: i32) {
    let path = format!("/proc/{launcher}/fd/2");
    let flags = rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::APPEND;
    let flags = flags | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC;
    if let Ok(fd) = rustix::fs::open(path.as_str(), flags, rustix::fs::Mode::empty()) {
        LAUNCHER_STDERR.store(fd.into_raw_fd(), Ordering::Relaxed);
    }
}

/// From now on a signal removes `file` in the private folder `folder` of the output folder
/// `dir` (and the private folder): both are noted before the folder is made, so that no
/// moment is left when a signal would leave it behind. `private` is given once it is open.
pub fn remove_on_stop(dir: impl AsFd, folder: &str, file: &str) -> io::Result<()> {
    let name = |s: &str| CString::new(s).map_err(|_| io::Error::other("a NUL in a file name"));
    let unfinished = Unfinished {
        dir: rustix::io::fcntl_dupfd_cloexec(dir, 0)?.into_raw_fd(),
        folder: name(folder)?,
        file: name(file)?,
    };
    UNFINISHED
        .set(unfinished)
        .map_err(|_| io::Error::other("a run makes one file"))
}

/// The private folder is open: the handler removes the file inside it through `private`.
pub fn private_folder_opened(private: impl AsFd) -> io::Result<()> {
    let fd = rustix::io::fcntl_dupfd_cloexec(private, 0)?.into_raw_fd();
    PRIVATE.store(fd, Ordering::SeqCst);
    Ok(())
}

/// The run's outcome has been told: a signal from now on ends the process without a word.
pub fn told() {
    TOLD.store(true, Ordering::SeqCst);
}

/// The file has its final name, whole: a signal from now on removes nothing, and says nothing
/// (the run's summary is its outcome).
pub fn committed() {
    COMMITTED.store(true, Ordering::SeqCst);
    told();
}

/// This rank says why the run failed and ends while the others may still be held: it leaves a
/// mark in the private folder, so that rank 0, stopped by the launcher next, stays quiet. True
/// if this rank made the mark (false: another rank has, and says the line).
pub fn leave_word() -> bool {
    told();
    let private = PRIVATE.load(Ordering::SeqCst);
    if private < 0 {
        return true;
    }
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a descriptor of ours and a NUL-terminated name; the new descriptor is closed.
    unsafe {
        let fd = libc::openat(private, MARK.as_ptr(), flags, 0o600);
        if fd >= 0 {
            libc::close(fd);
        }
        fd >= 0
    }
}

/// Why the process is ending at once.
#[derive(Clone, Copy)]
enum Stopped {
    Signal(c_int),
    LauncherGone,
}

extern "C" fn on_signal(signal: c_int) {
    stop(Stopped::Signal(signal));
}

extern "C" fn on_file_size_limit(_signal: c_int) {
    LIMIT_MET.store(true, Ordering::SeqCst);
}

// ANCHOR: stop
/// Removes the unfinished file, says one line (rank 0, unless the outcome was told), and ends
/// the process at once. Async-signal-safe: no allocation, no lock.
fn stop(why: Stopped) -> ! {
    if CLOSING.swap(true, Ordering::SeqCst) {
        // Another thread is ending the process already: wait for it.
        loop {
            sleep(Duration::from_secs(1));
        }
    }
    let run = RUN.get();
    let reporter = run.is_some_and(|r| r.reporter);
    let removed = remove_unfinished(reporter);
    if let Some(run) = run.filter(|r| r.reporter) {
        if !TOLD.load(Ordering::SeqCst) && !removed.told_elsewhere {
            say_stopped(run, why, removed.file);
        }
    } else {
        // Let rank 0 say its line before the launcher, seeing this rank end, ends it too.
        sleep(Duration::from_millis(250));
    }
    let code = match why {
        Stopped::Signal(signal) => 128 + signal,
        Stopped::LauncherGone => 128 + libc::SIGTERM,
    };
    // Straight out: no destructors, no exit handlers (HDF5's would try to finish the file just
    // removed), no MPI_Finalize waiting for ranks that are gone.
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(code) }
}
// ANCHOR_END: stop

/// What [`remove_unfinished`] found.
pub struct Removed {
    /// The run had begun its file, which is gone now (this rank or another removed it).
    pub file: bool,
    /// Another rank left word that it told the outcome.
    pub told_elsewhere: bool,
}

/// Removes the unfinished file, the private folder, and this rank's shared-memory file.
/// Rank 0 also takes the mark another rank may have left (the others leave it to rank 0, who
/// would otherwise not find it). Async-signal-safe.
pub fn remove_unfinished(reporter: bool) -> Removed {
    let mut removed = Removed {
        file: false,
        told_elsewhere: false,
    };
    if let Some(u) = UNFINISHED.get() {
        let private = PRIVATE.load(Ordering::SeqCst);
        // SAFETY: descriptors this module holds open for the life of the process, and
        // NUL-terminated names; unlinkat is async-signal-safe, and a failure (already renamed,
        // never created) changes nothing.
        unsafe {
            if private >= 0 {
                // Gone, whichever rank took it away first.
                let gone = libc::unlinkat(private, u.file.as_ptr(), 0) == 0
                    || *libc::__errno_location() == libc::ENOENT;
                removed.file = gone && !COMMITTED.load(Ordering::SeqCst);
                removed.told_elsewhere = reporter && libc::unlinkat(private, MARK.as_ptr(), 0) == 0;
            }
            libc::unlinkat(u.dir, u.folder.as_ptr(), libc::AT_REMOVEDIR);
        }
    }
    if let Some((shm, name)) = SEGMENT.get() {
        // SAFETY: as above.
        unsafe { libc::unlinkat(*shm, name.as_ptr(), 0) };
    }
    removed
}

/// `Stopped by SIGINT: output/data.h5 not written; 1 unfinished file removed`, written
/// without allocating: to stderr while the launcher is there to pass it on, else straight to
/// where the launcher's own stderr went.
fn say_stopped(run: &Run, why: Stopped, removed: bool) {
    let mut line = Line::default();
    match why {
        Stopped::Signal(signal) => {
            line.push(b"Stopped by ");
            line.push(match signal {
                libc::SIGINT => b"SIGINT",
                libc::SIGTERM => b"SIGTERM",
                libc::SIGHUP => b"SIGHUP",
                _ => b"a signal",
            });
        }
        Stopped::LauncherGone => line.push(b"Stopped: the launcher (mpirun or srun) is gone"),
    }
    line.push(b": ");
    line.push(&run.target);
    line.push(b" not written");
    if removed {
        line.push(b"; 1 unfinished file removed");
    }
    line.push(b"\n");
    let launcher = LAUNCHER_STDERR.load(Ordering::Relaxed);
    // SAFETY: getppid is async-signal-safe.
    let orphaned = unsafe { libc::getppid() } != LAUNCHER.load(Ordering::Relaxed);
    let fd = if launcher >= 0 && orphaned {
        launcher
    } else {
        2
    };
    if line.write_to(fd) < 0 && launcher >= 0 {
        line.write_to(launcher);
    }
}

/// `cannot write output/data.h5: <why>`, and the cause beneath it when a write of this rank
/// met the file-size limit (HDF5 says only that the write failed; this module saw SIGXFSZ).
pub fn cannot_write(target: &std::path::Path, why: impl std::fmt::Display) -> gridgen::Error {
    let mut line = format!("cannot write {}: {why}", target.display());
    if let Some(limit) = file_size_limit_met() {
        line += &format!(": File too large: a write met the file-size limit (ulimit -f, {limit})");
    }
    gridgen::Error::msg(line)
}

/// The file-size limit (`ulimit -f`) as it is now, if a write of this rank has met it.
pub fn file_size_limit_met() -> Option<String> {
    LIMIT_MET.load(Ordering::SeqCst).then(file_size_limit)
}

fn file_size_limit() -> String {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Fsize).current;
    limit.map_or_else(|| "raised again since".to_owned(), crate::limits::human)
}

/// A rank held inside HDF5 since its write met the file-size limit: it says so, takes the
/// file away and ends with 1; the launcher then ends the other ranks. Runs on the watching
/// thread (not in a handler), while the main thread is held.
fn give_up_held() {
    if CLOSING.load(Ordering::SeqCst) {
        return;
    }
    let Some(run) = RUN.get() else { return };
    let line = format!(
        "Error: rank {}: cannot write {}: File too large: a write met the file-size limit (ulimit -f, {}) and HDF5 did not return within {} s (the other ranks wait in it)",
        run.rank,
        String::from_utf8_lossy(&run.target),
        file_size_limit(),
        HELD.as_secs()
    );
    // The main thread is held in a library call and prints nothing meanwhile.
    fail_alone(|removed| {
        let removed = if removed {
            "; 1 unfinished file removed"
        } else {
            ""
        };
        eprintln!("{line}{removed}");
    })
}

/// An allocation failed: remove the unfinished file, say so in one line, exit 1. Called from
/// the allocator, so nothing here allocates.
pub fn out_of_memory(bytes: usize) -> ! {
    let run = RUN.get();
    fail_alone(|removed| say_out_of_memory(run, bytes, removed))
}

/// Ends this rank at once, with exit code 1, after a failure only it knows of (no agreement
/// can be reached now): see [`say_once`]; the launcher then ends the other ranks. Safe in a
/// handler if `say` is.
pub fn fail_alone(say: impl FnOnce(bool)) -> ! {
    say_once(say);
    if RUN.get().is_some_and(|r| !r.reporter) {
        // Let rank 0 see the mark before the launcher, seeing this rank end, stops it.
        sleep(Duration::from_millis(250));
    }
    // SAFETY: _exit is async-signal-safe and needs no memory.
    unsafe { libc::_exit(1) }
}

/// A rank about to end alone removes the unfinished file, and the first rank to leave its mark
/// says the line (`say`, told whether the file was removed), so that several ranks failing at
/// once say one line. Rank 0 takes the mark and the private folder away last, once the others
/// have had time to see it.
pub fn say_once(say: impl FnOnce(bool)) {
    CLOSING.store(true, Ordering::SeqCst);
    let first = leave_word();
    let removed = remove_unfinished(false);
    if first {
        say(removed.file);
    }
    if RUN.get().is_some_and(|r| r.reporter) {
        sleep(Duration::from_millis(250));
        remove_unfinished(true);
    }
}

/// `Error: rank 1: cannot write output/data.h5: out of memory: …`, without allocating.
fn say_out_of_memory(run: Option<&Run>, bytes: usize, removed: bool) {
    let mut line = Line::default();
    line.push(b"Error: ");
    if let Some(run) = run {
        line.push(b"rank ");
        line.number(run.rank as u64);
        line.push(b": cannot write ");
        line.push(&run.target);
        line.push(b": ");
    }
    line.push(b"out of memory: an allocation of ");
    line.number((bytes as u64).div_ceil(1 << 20));
    line.push(b" MiB failed (the node's memory, the job's --mem or ulimit -v)");
    if removed {
        line.push(b"; 1 unfinished file removed");
    }
    line.push(b"\n");
    line.write_to(2);
}

/// Ends this rank at once after a failure that every rank agreed on (or that the others never
/// came to agree on): its shared-memory file removed, no MPI_Finalize (the others may be held
/// in a collective call), no HDF5 exit handler (it would close the abandoned file).
pub fn end_now(code: i32) -> ! {
    use std::io::Write;
    told();
    CLOSING.store(true, Ordering::SeqCst);
    remove_unfinished(RUN.get().is_some_and(|r| r.reporter));
    let _ = std::io::stdout().flush();
    // SAFETY: ends the process; nothing is used after it.
    unsafe { libc::_exit(code) }
}

/// Finds this rank's shared-memory file among the files it has mapped (so never another
/// job's): Open MPI's `vader_segment.<node>.<job>.<local rank>` in /dev/shm.
fn remember_own_segment() {
    let Some(local) = std::env::var_os("OMPI_COMM_WORLD_LOCAL_RANK") else {
        return;
    };
    let suffix = format!(".{}", local.to_string_lossy());
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let own = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter_map(|path| path.strip_prefix("/dev/shm/"))
        .find(|name| name.starts_with("vader_segment.") && name.ends_with(&suffix));
    let Some(name) = own.and_then(|name| CString::new(name).ok()) else {
        return;
    };
    let flags = rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY;
    let flags = flags | rustix::fs::OFlags::CLOEXEC;
    if let Ok(shm) = rustix::fs::open("/dev/shm", flags, rustix::fs::Mode::empty()) {
        let _ = SEGMENT.set((shm.into_raw_fd(), name));
    }
}

fn sleep(d: Duration) {
    let ts = libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    // SAFETY: nanosleep is async-signal-safe.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

/// A line built without allocating, for code that must not allocate: a signal handler, the
/// allocator's failure.
struct Line {
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
    fn push(&mut self, text: &[u8]) {
        let n = text.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

    /// Appends `n` in decimal.
    fn number(&mut self, mut n: u64) {
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

    /// Writes the line to `fd` in one call. Async-signal-safe.
    fn write_to(&self, fd: RawFd) -> isize {
        // SAFETY: a valid buffer of `len` bytes; write is async-signal-safe.
        unsafe { libc::write(fd, self.bytes.as_ptr().cast(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_built_without_allocating() {
        let mut line = Line::default();
        line.push(b"Stopped by SIGINT: ");
        line.number(0);
        line.push(b" of ");
        line.number(1234567);
        assert_eq!(&line.bytes[..line.len], b"Stopped by SIGINT: 0 of 1234567");
        line.push(&[b'x'; 600]);
        assert_eq!(line.len, 512, "cut at its buffer");
    }
}
