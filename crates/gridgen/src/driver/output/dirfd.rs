//! A folder held open, and the few calls made relative to it (`openat`, `renameat`, …).
//!
//! Every temporary file is created, checked and renamed through the descriptor of its folder,
//! never by a path that someone could change on the way: a folder renamed or replaced by a
//! symlink mid-run does not redirect a single write.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// An open folder.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

/// Identity of a file: its device and inode.
pub type Identity = (u64, u64);

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a file name"))
}

fn check(status: libc::c_int) -> io::Result<libc::c_int> {
    if status < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(status)
    }
}

impl Dir {
    /// Opens the folder at `path` (following a symlink there: the folder the learner named).
    pub fn open(path: &Path) -> io::Result<Dir> {
        use std::os::unix::ffi::OsStrExt;
        let path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))?;
        // SAFETY: a valid C string; the descriptor returned is owned below.
        let fd = check(unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(Dir {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Creates `name` exclusively (`O_CREAT | O_EXCL`, never through a symlink) for writing.
    pub fn create_new(&self, name: &str) -> io::Result<File> {
        let c = c_name(name)?;
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: a valid folder descriptor and C string.
        let fd =
            check(unsafe { libc::openat(self.raw(), c.as_ptr(), flags, 0o644 as libc::c_uint) })?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Creates the folder `name` exclusively with `mode`, and opens it.
    pub fn create_dir(&self, name: &str, mode: u32) -> io::Result<Dir> {
        let c = c_name(name)?;
        // SAFETY: a valid folder descriptor and C string.
        check(unsafe { libc::mkdirat(self.raw(), c.as_ptr(), mode as libc::mode_t) })?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: as above.
        let fd = check(unsafe { libc::openat(self.raw(), c.as_ptr(), flags) })?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        Ok(Dir {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The identity of what is at `name` now, without following a symlink; `None` if nothing.
    pub fn identity_of(&self, name: &str) -> io::Result<Option<(Identity, bool)>> {
        let c = c_name(name)?;
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: a valid folder descriptor, C string and buffer.
        let status = unsafe {
            libc::fstatat(
                self.raw(),
                c.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if status < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(e)
            };
        }
        // SAFETY: fstatat filled it.
        let st = unsafe { st.assume_init() };
        let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
        Ok(Some(((st.st_dev, st.st_ino), regular)))
    }

    /// Renames `from` (in this folder) to `to` in folder `into`.
    pub fn rename(&self, from: &str, into: &Dir, to: &str) -> io::Result<()> {
        let (from, to) = (c_name(from)?, c_name(to)?);
        // SAFETY: valid folder descriptors and C strings.
        check(unsafe { libc::renameat(self.raw(), from.as_ptr(), into.raw(), to.as_ptr()) })
            .map(drop)
    }

    /// Removes the file `name`.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: a valid folder descriptor and C string.
        check(unsafe { libc::unlinkat(self.raw(), c.as_ptr(), 0) }).map(drop)
    }

    /// Removes the empty folder `name`.
    pub fn remove_dir(&self, name: &str) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: a valid folder descriptor and C string.
        check(unsafe { libc::unlinkat(self.raw(), c.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    }

    /// The folder's own identity.
    pub fn identity(&self) -> io::Result<Identity> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: a valid descriptor and buffer.
        check(unsafe { libc::fstat(self.raw(), st.as_mut_ptr()) })?;
        // SAFETY: fstat filled it.
        let st = unsafe { st.assume_init() };
        Ok((st.st_dev, st.st_ino))
    }

    /// The longest file name this folder's filesystem allows.
    pub fn name_max(&self) -> usize {
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: a valid descriptor and buffer.
        if unsafe { libc::fstatvfs(self.raw(), st.as_mut_ptr()) } != 0 {
            return 255;
        }
        // SAFETY: fstatvfs filled it.
        let st = unsafe { st.assume_init() };
        (st.f_namemax as usize).max(1)
    }
}

/// The identity of an open file.
pub fn identity(file: &File) -> io::Result<Identity> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

/// 64 random bits from the kernel, as 16 hex digits: a name no one can guess in advance.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    // SAFETY: a valid buffer of its length; getrandom fills what it reports.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got != bytes.len() as isize {
        // Not random, but still unique to this process and moment.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes = (now ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_created_exclusively_and_renamed_by_descriptor() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        let file = dir.create_new("a").unwrap();
        assert!(dir.create_new("a").is_err(), "created twice");
        let (id, regular) = dir.identity_of("a").unwrap().unwrap();
        assert!(regular);
        assert_eq!(identity(&file).unwrap(), id);
        dir.rename("a", &dir, "b").unwrap();
        assert!(dir.identity_of("a").unwrap().is_none());
        std::os::unix::fs::symlink("b", tmp.path().join("link")).unwrap();
        let (_, regular) = dir.identity_of("link").unwrap().unwrap();
        assert!(!regular, "a symlink is not followed");
        assert!(dir.create_new("link").is_err());
        let sub = dir.create_dir("d", 0o700).unwrap();
        sub.create_new("x").unwrap();
        sub.remove("x").unwrap();
        dir.remove_dir("d").unwrap();
        assert_eq!(random_hex().len(), 16);
        assert_ne!(random_hex(), random_hex());
        assert!(dir.name_max() >= 14);
    }
}
