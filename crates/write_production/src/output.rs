//! The one file, written safely in a folder that others share.
//!
//! On a shared scratch folder, other users of the cluster ("co-users") may be able to create,
//! rename and replace names in the folder. A program that writes by path can then be fooled:
//! between two of its calls a name is swapped for a **symbolic link** (a symlink: a name that
//! points elsewhere), and the next open follows it — into someone's thesis, or a folder of the
//! co-user's own. The plain steps write by path. Here:
//!
//! - The output folder is opened once, and every later call is made **relative to that open
//!   folder** (through its *descriptor*, the number the kernel gave the open folder):
//!   `mkdirat`, `openat`, `renameat`, `unlinkat` — a folder renamed or replaced by a symlink
//!   mid-run does not redirect a single call.
//! - The file is written inside a **private folder** of the run's own,
//!   `.data.h5~<pid>~<host>~<random>`, mode 0700 (no one else may enter it, list it or change
//!   it), created **exclusively** (it fails if the name exists, even as a symlink).
//! - HDF5 opens files by path. The path it is given goes through the folder held open:
//!   `/proc/self/fd/<n>/data.h5` is Linux's name for "`data.h5` in the folder behind descriptor
//!   `n`", so whatever is renamed or swapped meanwhile, it leads into our private folder.
//! - Rank 0 takes the file's **disk space up front** (`fallocate`): a full disk is found here,
//!   not half-way through a collective write on one rank only.
//! - The **commit** checks that what it renames is the plain file HDF5 closed and that `--dir`
//!   still leads to the folder held open; the rename replaces whatever is at the final name (a
//!   symlink planted there is replaced, never followed), and takes nothing away after it.
//! - Private folders left by runs killed outright (SIGKILL) on this machine are removed — only
//!   those: ours, mode 0700, not a symlink, their process gone.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use gridgen::{Output, Result};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use rustix::fs::{AtFlags, FallocateFlags, FileType, Mode, OFlags};

use crate::limits::METADATA_BYTES;
use crate::{agree, signals};

/// The run's one file, in its private folder until [`OneFile::commit`]; removed if dropped
/// before.
pub struct OneFile<'a> {
    /// The plain steps' file, at the path through the private folder: the final rename, and
    /// the bytes counted for the summary, are its own.
    file: gridgen::OneFile<'a>,
    /// Dropped after `file`: the folder is removed once the file inside is gone.
    folder: PrivateFolder,
    /// The disk space rank 0 took up front, held until the commit gives back what is unused.
    taken: Option<OwnedFd>,
    /// `output/data.h5`: its final name.
    target: PathBuf,
}

/// A private folder of the run's own, in the output folder: removed (if empty) when dropped.
struct PrivateFolder {
    dir: OwnedFd,
    name: String,
    private: OwnedFd,
}

impl Drop for PrivateFolder {
    fn drop(&mut self) {
        let _ = rustix::fs::unlinkat(&self.dir, self.name.as_str(), AtFlags::REMOVEDIR);
    }
}

// ANCHOR: create_one_file
/// The run's one file for every rank: rank 0 makes the private folder and tells the others
/// its name and identity (its inode number); each opens it and checks it is that one, ours and
/// no symlink. HDF5 is then given a path through the folder held open.
pub fn create_one_file<'a>(out: &'a Output, world: &SimpleCommunicator) -> Result<OneFile<'a>> {
    // Every rank got this far (its folder, its watch): a rank that did not is in this agreement.
    agree::agree(world, Ok(()))?;
    let target = out.one_path();
    let dir = open_folder(&target).map_err(|e| signals::cannot_write(&target, e))?;
    let inner = file_name(&target);
    let mut told = [0u8; 264]; // [made, inode (8 bytes), the folder's name]
    let mut made = None;
    if world.rank() == 0 {
        remove_abandoned(&dir);
        let name = hidden_name(&inner);
        let folder = make_private(&dir, &name, &inner);
        if let Ok((_, inode)) = &folder {
            told[0] = 1;
            told[1..9].copy_from_slice(&inode.to_le_bytes());
            told[9..9 + name.len()].copy_from_slice(name.as_bytes());
        }
        made = Some(folder.map(|(private, _)| (name, private)));
    }
    world.process_at_rank(0).broadcast_into(&mut told[..]);
    let opened = match made {
        Some(made) => made,
        None if told[0] == 1 => open_private(&dir, &told, &inner),
        None => Err(io::Error::other(
            "rank 0 could not make the run's private folder",
        )),
    };
    let (name, private) =
        agree::agree(world, opened.map_err(|e| signals::cannot_write(&target, e)))?;
    let path = format!("/proc/self/fd/{}/{inner}", private.as_raw_fd());
    let file = out.one_file_named(&path)?;
    let folder = PrivateFolder { dir, name, private };
    Ok(OneFile {
        file,
        folder,
        taken: None,
        target,
    })
}
// ANCHOR_END: create_one_file

impl OneFile<'_> {
    /// Where HDF5 is to create the file: a path through the private folder held open.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Rank 0 takes the file's disk space now (its data and a bound on HDF5's metadata), so
    /// that no write meets a full disk later; every rank learns whether it could.
    pub fn take_space(&mut self, world: &SimpleCommunicator) -> Result<()> {
        let mut taken = Ok(None);
        if world.rank() == 0 {
            let bytes = self.file.data_bytes().saturating_add(METADATA_BYTES);
            taken = take_space(&self.folder.private, &file_name(self.path()), bytes);
        }
        let taken = taken.map_err(|e| signals::cannot_write(&self.target, e));
        self.taken = agree::agree(world, taken)?;
        Ok(())
    }

    /// Every rank has closed the file: rank 0 checks it and gives it its final name, and every
    /// rank learns whether that worked.
    pub fn commit(self, world: &SimpleCommunicator) -> Result<()> {
        // A write that met the file-size limit failed, whatever the library reported.
        let mine = match signals::file_size_limit_met() {
            Some(_) => Err(signals::cannot_write(&self.target, "a write failed")),
            None => Ok(()),
        };
        agree::agree(world, mine)?;
        let OneFile {
            file,
            folder,
            taken,
            target,
        } = self;
        let renamed = if world.rank() == 0 {
            check_before_rename(&file, &folder, taken, &target).and_then(|()| file.commit())
        } else {
            file.leave();
            Ok(())
        };
        drop(folder);
        agree::agree(world, renamed)?;
        // The file is whole under its name: a signal from now on has nothing to take away.
        signals::committed();
        Ok(())
    }
}

// ANCHOR: check_before_rename
/// Before the rename: what is renamed is the plain file HDF5 wrote (not a symlink, not a
/// folder), the space taken and not used is given back, and `--dir` still leads to the folder
/// held open.
fn check_before_rename(
    file: &gridgen::OneFile<'_>,
    folder: &PrivateFolder,
    taken: Option<OwnedFd>,
    target: &Path,
) -> Result<()> {
    let fail = |e: io::Error| signals::cannot_write(target, e);
    let inner = file_name(file.path());
    let stat = rustix::fs::statat(&folder.private, inner.as_str(), AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| fail(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(fail(io::Error::other("HDF5 left no plain file")));
    }
    match taken {
        // Gives back the disk space taken beyond the file's end.
        Some(fd) => rustix::fs::ftruncate(&fd, stat.st_size as u64).map_err(|e| fail(e.into()))?,
        // No space was taken (the filesystem cannot): check that every byte arrived instead.
        None => file.check_on_disk()?,
    }
    let named = rustix::fs::stat(target.parent().unwrap_or(Path::new("."))).ok();
    let held = rustix::fs::fstat(&folder.dir).ok();
    match (named, held) {
        (Some(n), Some(h)) if (n.st_dev, n.st_ino) == (h.st_dev, h.st_ino) => Ok(()),
        _ => Err(fail(io::Error::other(
            "its folder was replaced while the run wrote (by another user of the folder?)",
        ))),
    }
}
// ANCHOR_END: check_before_rename

/// The output folder, opened once (a symlink at the name the learner gave is followed: that is
/// the folder they named).
fn open_folder(target: &Path) -> io::Result<OwnedFd> {
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty());
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::open(
        dir.unwrap_or(Path::new(".")),
        flags,
        Mode::empty(),
    )?)
}

/// Makes the private folder `name` in `dir` (exclusively, mode 0700) and opens it, noted first
/// for the signal handler. Returns it and its inode number.
fn make_private(dir: &OwnedFd, name: &str, inner: &str) -> io::Result<(OwnedFd, u64)> {
    signals::remove_on_stop(dir, name, inner)?;
    rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o700))?;
    let private = open_dir_at(dir, name)?;
    signals::private_folder_opened(&private)?;
    let inode = rustix::fs::fstat(&private)?.st_ino;
    Ok((private, inode))
}

/// A rank other than 0 opens the private folder rank 0 made (`told`: its inode and name) and
/// checks it is that folder: ours, and not something put in its place.
fn open_private(dir: &OwnedFd, told: &[u8; 264], inner: &str) -> io::Result<(String, OwnedFd)> {
    let inode = u64::from_le_bytes(told[1..9].try_into().unwrap_or_default());
    let end = told[9..]
        .iter()
        .position(|&b| b == 0)
        .map_or(told.len(), |e| 9 + e);
    let name = String::from_utf8_lossy(&told[9..end]).into_owned();
    signals::remove_on_stop(dir, &name, inner)?;
    let private = open_dir_at(dir, &name)?;
    let stat = rustix::fs::fstat(&private)?;
    if stat.st_ino != inode || stat.st_uid != rustix::process::getuid().as_raw() {
        return Err(io::Error::other(
            "someone replaced the run's private folder (another user of the folder?)",
        ));
    }
    signals::private_folder_opened(&private)?;
    Ok((name, private))
}

/// Opens the folder `name` in `dir`, never through a symlink.
fn open_dir_at(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?)
}

/// Takes `bytes` of the disk for the file `name` in `private`, keeping its size as it is (HDF5
/// decides it). `None` where the filesystem cannot (then the commit checks the bytes instead).
fn take_space(private: &OwnedFd, name: &str, bytes: u64) -> io::Result<Option<OwnedFd>> {
    let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let file = rustix::fs::openat(private, name, flags, Mode::empty())?;
    match rustix::fs::fallocate(&file, FallocateFlags::KEEP_SIZE, 0, bytes) {
        Ok(()) => Ok(Some(file)),
        Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::NOSYS) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `.data.h5~<pid>~<host>~<six random letters or digits>`: the plain steps' hidden names, whose
/// process and machine the next run can read, with six letters no one can guess in advance.
fn hidden_name(final_name: &str) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut random = [0u8; 6];
    let _ = rustix::rand::getrandom(&mut random, rustix::rand::GetRandomFlags::empty());
    let random: String = random
        .iter()
        .map(|b| LETTERS[*b as usize % LETTERS.len()] as char)
        .collect();
    format!(".{final_name}~{}~{}~{random}", std::process::id(), host())
}

/// This machine's name, as the hidden names carry it.
fn host() -> String {
    let uname = rustix::system::uname();
    uname.nodename().to_string_lossy().replace('~', "-")
}

/// Removes the private folders in `dir` that runs on this machine left when killed outright:
/// only a folder (never a symlink) of ours, mode 0700, named as ours are, whose process is
/// gone — and in it only plain files.
fn remove_abandoned(dir: &OwnedFd) {
    let Ok(entries) = rustix::fs::Dir::read_from(dir) else {
        return;
    };
    let me = host();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let mut parts = name.rsplitn(4, '~');
        let (Some(random), Some(host), Some(pid), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let ours = name.starts_with('.') && random.len() == 6 && host == me;
        if ours && pid.parse().is_ok_and(|pid| !alive(pid)) && is_private(dir, &name) {
            let _ = remove_private(dir, &name);
        }
    }
}

/// A folder of ours, mode 0700, not a symlink.
fn is_private(dir: &OwnedFd, name: &str) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|s| {
        FileType::from_raw_mode(s.st_mode) == FileType::Directory
            && s.st_uid == rustix::process::getuid().as_raw()
            && s.st_mode & 0o777 == 0o700
    })
}

/// Removes the plain files in the private folder `name`, then the folder.
fn remove_private(dir: &OwnedFd, name: &str) -> io::Result<()> {
    let private = open_dir_at(dir, name)?;
    for entry in rustix::fs::Dir::read_from(&private)?.flatten() {
        if entry.file_type() == FileType::RegularFile {
            rustix::fs::unlinkat(&private, entry.file_name(), AtFlags::empty())?;
        }
    }
    Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
}

/// Whether process `pid` still runs on this machine (a zombie has ended: it only waits for its
/// parent to notice).
fn alive(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    let exists = match rustix::process::test_kill_process(pid) {
        Ok(()) | Err(rustix::io::Errno::PERM) => true,
        Err(_) => false,
    };
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_nonzero()));
    let zombie = stat.is_ok_and(|s| s.rsplit(')').next().unwrap_or("").starts_with(" Z"));
    exists && !zombie
}

/// The last part of `path`, as text.
fn file_name(path: &Path) -> String {
    let name = path.file_name().unwrap_or_default();
    name.to_string_lossy().into_owned()
}
