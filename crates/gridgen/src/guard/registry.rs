//! Ending a run on a signal without leaving debris — the one piece of global state gridgen keeps,
//! because a signal handler has nothing else to reach.
//!
//! - SIGINT (Ctrl-C), SIGTERM (`scancel`, Slurm's time limit, `mpirun` passing Ctrl-C on) and
//!   SIGHUP (a closed terminal): every temporary file still open is removed, one line says what
//!   was finished, and the process exits with 128 + the signal's number (130 for SIGINT, 143 for
//!   SIGTERM), as a shell reports a process killed by it.
//! - The handler does all of that itself, with calls that are safe inside a signal handler
//!   (`unlinkat`, `write`, `nanosleep`, `_exit`) on a registry of fixed slots: no thread has to
//!   be started for it (a process at its thread limit is still stopped cleanly), no lock is taken.
//! - Creating, renaming and removing a temporary file go through [`guarded`]: once the handler
//!   has begun, a thread that wants to start such an operation waits for the end of the process
//!   instead, and the handler waits (briefly) for the operations already under way.
//! - An MPI rank waits a quarter of a second between removing its files and exiting: `mpirun`
//!   sends SIGKILL to every rank as soon as the first one exits, and a rank still waiting for a
//!   core would be killed before it had removed its own files.
//! - An MPI rank whose launcher is gone stops as if sent SIGTERM (a watcher thread polls its
//!   parent), and says so where the launcher's own stderr went.
//! - A rank that gave up waiting for the others ([`leave_word`]) has told the job's outcome itself:
//!   it leaves a mark in the parallel file's private folder, and rank 0, ended by the launcher
//!   moments later, finds it there while removing the folder and adds no "stopped by" line.
//! - SIGXFSZ (`ulimit -f`) ends nothing: the write that crosses the limit fails with EFBIG and
//!   is reported like any failed write. Its handler notes the moment, for the one case where the
//!   error never comes back from the library ([`held`]).

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

mod held;
pub use held::HELD;

/// Every temporary name ends so, whatever the run: `.<name>.<pid>-<n>.partial`. The handler
/// removes only names like that.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Room for every temporary file open at once: one per worker thread (at most
/// [`crate::args::MAX_WORKERS`]), and a few for profiles, traces and HDF5 files.
const SLOTS: usize = crate::args::MAX_WORKERS + 32;
/// File names are at most this long (Linux's NAME_MAX), plus the NUL.
const NAME: usize = 256;

/// The mark [`leave_word`] leaves in a private folder: the outcome was told by another process.
/// The folder is the run owner's alone (mode 0700), so no other user can put it there.
pub(crate) const TOLD_MARK: &str = "outcome-told";
/// [`TOLD_MARK`] as the handler needs it, NUL-terminated.
const TOLD_MARK_C: &[u8] = b"outcome-told\0";

const FREE: u8 = 0;
const FILLING: u8 = 1;
const LIVE: u8 = 2;

/// One temporary file: `name` in the folder `dir`, or a private folder `name` holding `inner`.
/// Descriptors are stored plus one, so that an empty slot is all zeros (the registry then
/// takes no room in the binary).
struct Slot {
    state: AtomicU8,
    dir: AtomicI32,
    name: UnsafeCell<[u8; NAME]>,
    /// The private folder's descriptor (plus one) once its file is named, else 0.
    inner_dir: AtomicI32,
    inner: UnsafeCell<[u8; NAME]>,
}

// SAFETY: a slot's names are written only by the thread that moved it from FREE to FILLING (or,
// for `inner`, before `inner_dir` is published with Release), and read only after an Acquire
// load has seen LIVE (or a descriptor in `inner_dir`).
unsafe impl Sync for Slot {}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    state: AtomicU8::new(FREE),
    dir: AtomicI32::new(0),
    name: UnsafeCell::new([0; NAME]),
    inner_dir: AtomicI32::new(0),
    inner: UnsafeCell::new([0; NAME]),
};

static REGISTRY: [Slot; SLOTS] = [EMPTY; SLOTS];
/// Files of this process's own that are not run outputs but must not outlive it either when it
/// ends abnormally (an MPI rank's shared-memory segment, which MPI_Finalize would remove).
static OWN: [Slot; 2] = [EMPTY; 2];
/// Set once the handler has begun: no new temporary file may appear, none may be renamed.
static CLOSING: AtomicBool = AtomicBool::new(false);
/// File operations under way (see [`guarded`]).
static BUSY: AtomicUsize = AtomicUsize::new(0);
/// Set once the run's outcome has been told: a signal after it has nothing to add.
static TOLD: AtomicBool = AtomicBool::new(false);
/// The run's count of finished files, for the handler's line.
static DONE: AtomicPtr<AtomicU64> = AtomicPtr::new(std::ptr::null_mut());
/// The launcher's own stderr, opened at the start (MPI ranks), for when it has gone; and the
/// launcher's process id, to tell.
static LAUNCHER_STDERR: AtomicI32 = AtomicI32::new(-1);
static LAUNCHER_PID: AtomicI32 = AtomicI32::new(-1);
static INFO: OnceLock<Info> = OnceLock::new();

/// What the handler says, and how it leaves.
#[derive(Debug, Clone, Copy)]
struct Info {
    step: &'static str,
    n_files: usize,
    reports: bool,
    linger: Duration,
    /// stderr is a terminal (where a progress bar may need clearing).
    terminal: bool,
    /// This process's rank, if it is one rank of several: its count is its own files'.
    rank: Option<usize>,
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

/// A temporary file in the registry; dropping it takes it out (the file itself is the
/// caller's to remove or rename first).
#[derive(Debug)]
pub(crate) struct Registered {
    index: usize,
}

/// Puts `name` (in folder `dir`) in the registry, before it is created: from now on a signal
/// removes it, whether or not it exists yet.
pub(crate) fn register(dir: RawFd, name: &str) -> io::Result<Registered> {
    let bytes = name.as_bytes();
    if bytes.len() >= NAME || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a temporary file name longer than the system allows",
        ));
    }
    for (index, slot) in REGISTRY.iter().enumerate() {
        if slot
            .state
            .compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            // SAFETY: FILLING makes this thread the slot's only writer.
            let buf = unsafe { &mut *slot.name.get() };
            buf[..bytes.len()].copy_from_slice(bytes);
            buf[bytes.len()] = 0;
            slot.dir.store(dir + 1, Ordering::Relaxed);
            slot.inner_dir.store(0, Ordering::Relaxed);
            slot.state.store(LIVE, Ordering::Release);
            return Ok(Registered { index });
        }
    }
    Err(io::Error::other(
        "more temporary files open at once than the registry holds",
    ))
}

impl Registered {
    /// The registered name is a private folder, now holding the file `inner` (folder `dir`).
    pub(crate) fn holds(&self, dir: RawFd, inner: &str) {
        let slot = &REGISTRY[self.index];
        let bytes = inner.as_bytes();
        let len = bytes.len().min(NAME - 1);
        // SAFETY: `inner` is read only after `inner_dir` is published below.
        let buf = unsafe { &mut *slot.inner.get() };
        buf[..len].copy_from_slice(&bytes[..len]);
        buf[len] = 0;
        slot.inner_dir.store(dir + 1, Ordering::Release);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let slot = &REGISTRY[self.index];
        slot.inner_dir.store(0, Ordering::Relaxed);
        slot.state.store(FREE, Ordering::Release);
    }
}

/// Removes `name` (in folder `dir`, which is kept open for it) if this process ends abnormally: on
/// a signal, or through [`remove_own`]. For files this process made that are not outputs (an MPI
/// rank's shared-memory segment).
pub fn remove_on_abnormal_end(dir: std::fs::File, name: &str) -> io::Result<()> {
    use std::os::fd::IntoRawFd;
    let bytes = name.as_bytes();
    if bytes.len() >= NAME || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a name too long",
        ));
    }
    let slot = OWN
        .iter()
        .find(|s| {
            s.state
                .compare_exchange(FREE, FILLING, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })
        .ok_or_else(|| io::Error::other("no room left for another file to remove"))?;
    // SAFETY: FILLING makes this thread the slot's only writer.
    let buf = unsafe { &mut *slot.name.get() };
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[bytes.len()] = 0;
    // The descriptor stays open for the life of the process: the handler needs it.
    slot.dir.store(dir.into_raw_fd() + 1, Ordering::Relaxed);
    slot.state.store(LIVE, Ordering::Release);
    Ok(())
}

/// Removes the files given to [`remove_on_abnormal_end`] now (a rank ending without finalizing).
pub fn remove_own() {
    for slot in &OWN {
        if slot.state.load(Ordering::Acquire) == LIVE {
            let dir = slot.dir.load(Ordering::Relaxed) - 1;
            // SAFETY: a NUL-terminated name in a valid folder; unlinkat is async-signal-safe.
            unsafe { libc::unlinkat(dir, (*slot.name.get()).as_ptr().cast(), 0) };
        }
    }
}

/// Runs a creation, rename or removal of a temporary file. Once the handler has begun, it
/// waits for the end of the process instead: no file appears, and none is renamed, after the
/// handler has removed them.
pub(crate) fn guarded<T>(op: impl FnOnce() -> T) -> T {
    BUSY.fetch_add(1, Ordering::SeqCst);
    if CLOSING.load(Ordering::SeqCst) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    let out = op();
    BUSY.fetch_sub(1, Ordering::SeqCst);
    out
}

/// The run's count of finished files, for the line an interrupted run prints.
pub(crate) fn count_files(done: &Arc<AtomicU64>) {
    let ptr = Arc::into_raw(Arc::clone(done)) as *mut AtomicU64;
    let old = DONE.swap(ptr, Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: `old` came from Arc::into_raw above, and the handler has not begun (it would
        // be exiting): dropping our reference is fine even if it still reads the count.
        drop(unsafe { Arc::from_raw(old) });
    }
}

/// The outcome has been told (a summary or an error): a later signal only cleans up.
pub(crate) fn mark_told() {
    TOLD.store(true, Ordering::SeqCst);
}

pub(crate) fn outcome_told() -> bool {
    TOLD.load(Ordering::SeqCst)
}

/// Starts watching, once per process.
pub fn watch(step: &'static str, n_files: usize, process: Process) {
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
    if INFO
        .set(Info {
            step,
            n_files,
            reports,
            linger,
            terminal,
            rank: match process {
                Process::Rank { rank, .. } => Some(rank),
                Process::Alone => None,
            },
        })
        .is_err()
    {
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

/// Marks every private folder this process has registered with [`TOLD_MARK`]: this process has
/// told the run's outcome, and is about to end while the others are still held (a rank that
/// gave up waiting for them). The launcher then ends them, and rank 0 stays quiet.
pub fn leave_word() {
    REGISTRY.iter().for_each(leave_word_in);
}

fn leave_word_in(slot: &Slot) {
    let Some(inner_dir) = private_folder(slot) else {
        return;
    };
    // SAFETY: a valid folder descriptor and a NUL-terminated name; the descriptor returned is
    // closed at once. A failure only means rank 0 will add its line.
    unsafe {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let fd = libc::openat(inner_dir, TOLD_MARK_C.as_ptr().cast(), flags, 0o600);
        if fd >= 0 {
            libc::close(fd);
        }
    }
}

/// What [`remove_all`] found.
struct Removed {
    /// Temporary files registered.
    count: usize,
    /// Another process of the job left word that it has told the outcome.
    told_elsewhere: bool,
}

/// Removes every registered temporary file. The process that reports (`reporter`) also takes any
/// mark [`leave_word`] left beside one; the others leave the mark, and the private folder that
/// holds it, to that one (if they took it, rank 0 could find it gone).
fn remove_all(reporter: bool) -> Removed {
    let mut removed = Removed {
        count: 0,
        told_elsewhere: false,
    };
    for found in REGISTRY
        .iter()
        .filter_map(|slot| remove_slot(slot, reporter))
    {
        removed.count += 1;
        removed.told_elsewhere |= found.told_elsewhere;
    }
    removed
}

/// Removes one slot's temporary file: `None` if the slot is empty.
fn remove_slot(slot: &Slot, reporter: bool) -> Option<Removed> {
    if slot.state.load(Ordering::Acquire) != LIVE {
        return None;
    }
    let mut removed = Removed {
        count: 1,
        told_elsewhere: false,
    };
    let dir = slot.dir.load(Ordering::Relaxed) - 1;
    // SAFETY: the name was complete when LIVE was published, and stays NUL-terminated.
    let name = unsafe { &*slot.name.get() };
    if !is_temporary(name) {
        return Some(removed);
    }
    // SAFETY: unlinkat with valid C strings is async-signal-safe; a failure (the file was never
    // created, or already renamed) changes nothing.
    unsafe {
        if let Some(inner_dir) = unlink_library_file(slot) {
            removed.told_elsewhere =
                reporter && libc::unlinkat(inner_dir, TOLD_MARK_C.as_ptr().cast(), 0) == 0;
            libc::unlinkat(dir, name.as_ptr().cast(), libc::AT_REMOVEDIR);
        } else {
            libc::unlinkat(dir, name.as_ptr().cast(), 0);
        }
    }
    Some(removed)
}

/// The descriptor of a live slot's private folder, if it has one.
fn private_folder(slot: &Slot) -> Option<libc::c_int> {
    if slot.state.load(Ordering::Acquire) != LIVE {
        return None;
    }
    let inner_dir = slot.inner_dir.load(Ordering::Acquire) - 1;
    (inner_dir >= 0).then_some(inner_dir)
}

/// Removes the file a library writes inside a live slot's private folder, if the slot has one,
/// and returns that folder's descriptor. Async-signal-safe; a failure (the file was never
/// created) changes nothing.
fn unlink_library_file(slot: &Slot) -> Option<libc::c_int> {
    let inner_dir = private_folder(slot)?;
    // SAFETY: a valid folder descriptor and the NUL-terminated name published with it.
    unsafe { libc::unlinkat(inner_dir, (*slot.inner.get()).as_ptr().cast(), 0) };
    Some(inner_dir)
}

/// Only names gridgen makes for temporary files are ever removed: `.<…>.partial`.
fn is_temporary(name: &[u8; NAME]) -> bool {
    let len = name.iter().position(|&b| b == 0).unwrap_or(NAME);
    let name = &name[..len];
    name.first() == Some(&b'.') && name.ends_with(PARTIAL_SUFFIX.as_bytes())
}

extern "C" fn on_signal(signal: libc::c_int) {
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
pub(crate) fn out_of_memory(bytes: usize) -> ! {
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

fn sleep(d: Duration) {
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

/// A line built without allocating.
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
    fn push(&mut self, text: &[u8]) {
        let room = self.bytes.len() - self.len;
        let n = text.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&text[..n]);
        self.len += n;
    }

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

    #[test]
    fn the_told_mark_is_one_name() {
        assert_eq!(TOLD_MARK_C, format!("{TOLD_MARK}\0").as_bytes());
    }

    #[test]
    fn word_left_in_a_private_folder_is_found_and_removed_with_it() {
        use std::os::fd::AsRawFd;
        let top = tempfile::tempdir().unwrap();
        let folder = ".data.h5.1-0.partial";
        std::fs::create_dir(top.path().join(folder)).unwrap();
        std::fs::write(top.path().join(folder).join("f.h5"), b"x").unwrap();
        let dir = std::fs::File::open(top.path()).unwrap();
        let private = std::fs::File::open(top.path().join(folder)).unwrap();
        let registered = register(dir.as_raw_fd(), folder).unwrap();
        registered.holds(private.as_raw_fd(), "f.h5");
        let slot = &REGISTRY[registered.index];
        // Without word: removed, and nothing was told elsewhere.
        let empty = EMPTY;
        leave_word_in(&empty);
        let quiet = remove_slot(slot, true).unwrap();
        assert!(!quiet.told_elsewhere);
        assert!(!top.path().join(folder).exists());
        // With word: the mark is there, found, and the folder goes with it.
        std::fs::create_dir(top.path().join(folder)).unwrap();
        std::fs::write(top.path().join(folder).join("f.h5"), b"x").unwrap();
        let private = std::fs::File::open(top.path().join(folder)).unwrap();
        registered.holds(private.as_raw_fd(), "f.h5");
        leave_word_in(slot);
        assert!(top.path().join(folder).join(TOLD_MARK).exists());
        // Another rank, ended at the same moment, leaves the word and its folder to rank 0.
        let other = remove_slot(slot, false).unwrap();
        assert!(!other.told_elsewhere);
        assert!(!top.path().join(folder).join("f.h5").exists());
        assert!(top.path().join(folder).join(TOLD_MARK).exists());
        let told = remove_slot(slot, true).unwrap();
        assert!(told.told_elsewhere);
        assert_eq!(told.count, 1);
        assert!(!top.path().join(folder).exists());
    }

    #[test]
    fn only_temporary_names_are_removed() {
        let name = |s: &str| {
            let mut b = [0u8; NAME];
            b[..s.len()].copy_from_slice(s.as_bytes());
            b
        };
        assert!(is_temporary(&name(".data00001.npy.42-0.partial")));
        assert!(!is_temporary(&name("data00001.npy")));
        assert!(!is_temporary(&name(".data00001.npy")));
    }

    #[test]
    fn a_registered_name_frees_its_slot_when_dropped() {
        let state = |r: &Registered| REGISTRY[r.index].state.load(Ordering::Acquire);
        let a = register(3, ".a.partial").unwrap();
        let b = register(3, ".b.partial").unwrap();
        assert_ne!(a.index, b.index);
        assert_eq!((state(&a), state(&b)), (LIVE, LIVE));
        let index = a.index;
        drop(a);
        assert_ne!(REGISTRY[index].state.load(Ordering::Acquire), LIVE);
        drop(b);
        assert!(register(3, &"x".repeat(300)).is_err());
        assert_eq!(guarded(|| 7), 7);
    }
}
