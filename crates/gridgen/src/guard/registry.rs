//! The registry of temporary files: fixed slots that a signal handler can read and act on with
//! async-signal-safe calls alone (`unlinkat`), no lock taken, no memory allocated. Every
//! temporary file a run creates is registered before it exists and taken out once renamed or
//! removed; [`guarded`] keeps file operations from starting once the process is ending.

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

/// The most worker threads a run may start: each may hold a temporary file open, and the
/// registry has a slot for every one.
pub const MAX_WORKERS: usize = 1024;

/// Every temporary name ends so, whatever the run: `.<name>.<pid>-<n>.partial`. The handler
/// removes only names like that.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Room for every temporary file open at once: one per worker thread (at most
/// [`MAX_WORKERS`]), and a few for profiles, traces and HDF5 files.
const SLOTS: usize = MAX_WORKERS + 32;
/// File names are at most this long (Linux's NAME_MAX), plus the NUL.
pub(super) const NAME: usize = 256;

/// The mark [`leave_word`] leaves in a private folder: the outcome was told by another process.
/// The folder is the run owner's alone (mode 0700), so no other user can put it there.
pub const TOLD_MARK: &str = "outcome-told";
/// [`TOLD_MARK`] as the handler needs it, NUL-terminated.
const TOLD_MARK_C: &[u8] = b"outcome-told\0";

const FREE: u8 = 0;
const FILLING: u8 = 1;
pub(super) const LIVE: u8 = 2;

/// One temporary file: `name` in the folder `dir`, or a private folder `name` holding `inner`.
/// Descriptors are stored plus one, so that an empty slot is all zeros (the registry then
/// takes no room in the binary).
pub(super) struct Slot {
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

pub(super) static REGISTRY: [Slot; SLOTS] = [EMPTY; SLOTS];
/// Files of this process's own that are not run outputs but must not outlive it either when it
/// ends abnormally (an MPI rank's shared-memory segment, which MPI_Finalize would remove).
static OWN: [Slot; 2] = [EMPTY; 2];
/// Set once the handler has begun: no new temporary file may appear, none may be renamed.
pub(super) static CLOSING: AtomicBool = AtomicBool::new(false);
/// File operations under way (see [`guarded`]).
pub(super) static BUSY: AtomicUsize = AtomicUsize::new(0);

/// A temporary file in the registry; dropping it takes it out (the file itself is the
/// caller's to remove or rename first).
#[derive(Debug)]
pub struct Registered {
    index: usize,
}

/// Puts `name` (in folder `dir`) in the registry, before it is created: from now on a signal
/// removes it, whether or not it exists yet.
pub fn register(dir: RawFd, name: &str) -> io::Result<Registered> {
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
    pub fn holds(&self, dir: RawFd, inner: &str) {
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
pub fn guarded<T>(op: impl FnOnce() -> T) -> T {
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
pub(super) struct Removed {
    /// Temporary files registered.
    pub(super) count: usize,
    /// Another process of the job left word that it has told the outcome.
    pub(super) told_elsewhere: bool,
}

/// Removes every registered temporary file. The process that reports (`reporter`) also takes any
/// mark [`leave_word`] left beside one; the others leave the mark, and the private folder that
/// holds it, to that one (if they took it, rank 0 could find it gone).
pub(super) fn remove_all(reporter: bool) -> Removed {
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
pub(super) fn unlink_library_file(slot: &Slot) -> Option<libc::c_int> {
    let inner_dir = private_folder(slot)?;
    // SAFETY: a valid folder descriptor and the NUL-terminated name published with it.
    unsafe { libc::unlinkat(inner_dir, (*slot.inner.get()).as_ptr().cast(), 0) };
    Some(inner_dir)
}

/// The temporary file most likely being written now: the registered library file (a private
/// folder's), else any registered one — its folder's descriptor and its temporary name.
pub(super) fn open_file() -> Option<(RawFd, String)> {
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
    let temp = std::str::from_utf8(&name[..len]).ok()?.to_owned();
    Some((slot.dir.load(Ordering::Relaxed) - 1, temp))
}

/// `.<name>.<pid>-<n>.partial`: the temporary name of `name`, unique to this process (`pid`)
/// and one of its files (`n`).
pub fn temporary_name(name: &str, pid: u32, n: u64) -> String {
    format!(".{name}.{pid}-{n}{PARTIAL_SUFFIX}")
}

/// The name a temporary name stands for: `data.h5` for `.data.h5.<pid>-<n>.partial`.
pub fn target_of(temp: &str) -> Option<&str> {
    let inner = temp.strip_prefix('.')?.strip_suffix(PARTIAL_SUFFIX)?;
    let (name, counter) = inner.rsplit_once('.')?;
    let (pid, n) = counter.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n) && !name.is_empty()).then_some(name)
}

/// Only names gridgen makes for temporary files are ever removed: `.<…>.partial`.
fn is_temporary(name: &[u8; NAME]) -> bool {
    let len = name.iter().position(|&b| b == 0).unwrap_or(NAME);
    let name = &name[..len];
    name.first() == Some(&b'.') && name.ends_with(PARTIAL_SUFFIX.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_temporary_name_leads_back_to_its_final_name() {
        let temp = temporary_name("data.h5", 4242, 7);
        assert_eq!(temp, ".data.h5.4242-7.partial");
        assert_eq!(target_of(&temp), Some("data.h5"));
        for odd in [
            ".data.h5.partial",
            "data.h5.1-2.partial",
            ".data.h5.x-2.partial",
            "..1-2.partial",
        ] {
            assert_eq!(target_of(odd), None, "{odd}");
        }
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
