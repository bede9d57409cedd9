//! The run's one file, written by a library that opens it by path (HDF5; with MPI-IO, every
//! rank), with its whole life here: reserved under a private folder of the run's own
//! (`.<prefix>.h5.<pid>-<n>.partial/<secret>.h5`, mode 0700, registered with gridgen's guard
//! before it exists), its path checked before the library opens it, its disk space taken up
//! front, and renamed into place at the commit — or removed, with its folder, when dropped.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use gridgen::driver::output::dirfd::{self, Dir};
use gridgen::driver::output::name::{TempName, NAME_TRIES};
use gridgen::driver::output::temp::rename_checked;
use gridgen::guard::{guarded, register, Registered, TOLD_MARK};
use gridgen::{Error, Output, Result};

/// The run's one file, written by a library that opens it by path (HDF5; with MPI-IO, every
/// rank): `.<prefix>.h5.<pid>-<n>.partial/<secret>.h5`, in a private folder of the run's own.
#[derive(Debug)]
pub struct LibraryFile<'a> {
    out: &'a Output,
    name: TempName,
    folder_name: String,
    private: Option<Dir>,
    inner: String,
    path: PathBuf,
    owner: bool,
    /// The file, held open once its space is taken ([`LibraryFile::take_space`]).
    taken: Option<File>,
    _registered: Registered,
    done: bool,
}

/// `O_NOFOLLOW` for `OpenOptions`.
trait NoFollow {
    fn custom_flags_nofollow(&mut self) -> &mut Self;
}

impl NoFollow for std::fs::OpenOptions {
    fn custom_flags_nofollow(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(libc::O_NOFOLLOW)
    }
}

impl<'a> LibraryFile<'a> {
    /// Reserves a new temporary name for the run's one file, and makes its private folder.
    pub fn reserve(out: &'a Output, secret: &str) -> Result<Self> {
        let mut last = None;
        for _ in 0..NAME_TRIES {
            match LibraryFile::make(out, out.temp_name(), secret, true) {
                Err(Error::Write { source, .. })
                    if source.kind() == io::ErrorKind::AlreadyExists =>
                {
                    last = Some(source);
                }
                other => return other,
            }
        }
        Err(Error::Write {
            path: out.single_path(),
            source: last.unwrap_or_else(|| io::Error::other("no free temporary name")),
        })
    }

    /// The file another rank reserved (`name`, `secret`): this rank's view of it.
    pub fn adopt(out: &'a Output, name: TempName, secret: &str) -> Result<Self> {
        LibraryFile::make(out, name, secret, false)
    }

    fn make(out: &'a Output, name: TempName, secret: &str, owner: bool) -> Result<Self> {
        let target = out.single_name();
        let folder_name = name.for_name(&target);
        let inner = format!("{secret}.{}", out.format());
        let path = out.dir().join(&folder_name).join(&inner);
        let fail = |source| Error::Write {
            path: out.single_path(),
            source,
        };
        if folder_name.len() > out.folder().name_max() {
            return Err(fail(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("its temporary name {folder_name:?} is longer than the filesystem allows"),
            )));
        }
        let registered = register(out.folder().raw(), &folder_name).map_err(fail)?;
        let private = if owner {
            let dir = guarded(|| out.folder().create_dir(&folder_name, 0o700)).map_err(fail)?;
            registered.holds(dir.raw(), &inner);
            Some(dir)
        } else {
            // Another rank made it; this one removes the file too if a signal comes first.
            let dir = Dir::open(&out.dir().join(&folder_name)).ok();
            if let Some(dir) = &dir {
                registered.holds(dir.raw(), &inner);
            }
            dir
        };
        Ok(LibraryFile {
            out,
            name,
            folder_name,
            private,
            inner,
            path,
            owner,
            taken: None,
            _registered: registered,
            done: false,
        })
    }

    /// The temporary name, for the other ranks of a parallel file.
    pub fn name(&self) -> TempName {
        self.name
    }

    /// The private folder's identity (device, inode), as the reserving rank sees it.
    pub fn folder_identity(&self) -> Option<(u64, u64)> {
        self.private.as_ref().and_then(|d| d.identity().ok())
    }

    /// Checks that the path the library will open still leads into the private folder whose
    /// identity is `expected` — not to a folder someone put in its place — just before the
    /// library opens it by that path.
    pub fn check_path(&self, expected: (u64, u64)) -> Result<()> {
        let fail = |why: &str| Error::Write {
            path: self.out.single_path(),
            source: io::Error::new(io::ErrorKind::PermissionDenied, why.to_owned()),
        };
        match self.out.folder().identity_of(&self.folder_name) {
            Ok(Some((id, _))) if id == expected => Ok(()),
            _ => Err(fail(
                "someone replaced the run's private folder (another user of the folder?)",
            )),
        }
    }

    /// Where the library creates the file (exclusively: `hdf5::File::create_excl`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The final name, `<dir>/<prefix>.<ext>`.
    pub fn target(&self) -> PathBuf {
        self.out.single_path()
    }

    /// The file as it is now, opened for reading without following a symlink: for checking
    /// that its bytes arrived before it is renamed.
    pub fn open_for_check(&self) -> io::Result<File> {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags_nofollow()
            .open(&self.path)
    }

    /// Takes `bytes` of the disk for the file now, before anything is written into it, so that no
    /// write can later meet a full disk — in parallel HDF5 a write or a metadata flush that fails
    /// on one rank only leaves the others waiting. The file's size stays what the library makes
    /// it; what was taken and not used is given back at the commit. `Ok(false)` where the
    /// filesystem cannot do it (then the commit's check of the bytes is what remains).
    pub fn take_space(&mut self, bytes: u64) -> io::Result<bool> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags_nofollow()
            .open(&self.path)?;
        // SAFETY: a valid descriptor; FALLOC_FL_KEEP_SIZE allocates without changing the size.
        let status = unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                libc::FALLOC_FL_KEEP_SIZE,
                0,
                bytes.min(i64::MAX as u64) as libc::off_t,
            )
        };
        if status == 0 {
            self.taken = Some(file);
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(false),
            _ => Err(e),
        }
    }

    /// The library has closed the file: rename it into place (on the rank that reserved it).
    /// Returns its size.
    pub fn commit(mut self) -> Result<u64> {
        let fail = |source| Error::Write {
            path: self.out.single_path(),
            source,
        };
        if !self.owner {
            self.done = true;
            return Ok(0);
        }
        let private = self
            .private
            .as_ref()
            .ok_or_else(|| fail(io::Error::other("the private folder is gone")))?;
        let (identity, regular) = private
            .identity_of(&self.inner)
            .map_err(fail)?
            .ok_or_else(|| fail(io::Error::other("the library left no file")))?;
        if !regular {
            return Err(fail(io::Error::other(
                "the library's file is not a plain file",
            )));
        }
        let size = std::fs::symlink_metadata(&self.path).map_err(fail)?.len();
        if let Some(taken) = self.taken.take() {
            // Give back the space taken beyond what the file came to be.
            taken.set_len(size).map_err(fail)?;
        }
        rename_checked(
            private,
            &self.inner,
            identity,
            self.out.folder(),
            &self.out.single_name(),
        )
        .map_err(fail)?;
        let _ = guarded(|| self.out.folder().remove_dir(&self.folder_name));
        self.done = true;
        self.out.add_bytes(size);
        Ok(size)
    }

    /// Leaves the file to the rank that reserved it (a rank other than 0 of a parallel file).
    pub fn release(mut self) {
        self.done = true;
    }
}

impl Drop for LibraryFile<'_> {
    fn drop(&mut self) {
        if self.done || !self.owner {
            return;
        }
        if let Some(private) = &self.private {
            let _ = guarded(|| private.remove(&self.inner));
            // Left by a rank that gave up waiting for this one (see gridgen::guard::leave_word).
            let _ = guarded(|| private.remove(TOLD_MARK));
        }
        let _ = guarded(|| self.out.folder().remove_dir(&self.folder_name));
    }
}

/// A private name for a library's file (64 random bits), so that no one can put a symlink where
/// it will be opened.
pub fn secret_name() -> String {
    dirfd::random_hex()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_library_file_lives_in_a_private_folder_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().to_str().unwrap();
        let args =
            gridgen::Args::try_parse_from(["write_hdf5", "-n", "4", "-s", "3", "--dir", folder])
                .unwrap();
        let step = steps::find("write_hdf5").unwrap();
        let (out, made) = gridgen::driver::prepare::create(step, &args).unwrap();
        made.keep();
        let file = LibraryFile::reserve(&out, &secret_name()).unwrap();
        std::fs::write(file.path(), b"hdf5 bytes").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let private = file.path().parent().unwrap();
        assert_eq!(
            std::fs::metadata(private).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(file.commit().unwrap(), 10);
        assert_eq!(leftovers(dir.path()), ["data.h5"]);
        let dropped = LibraryFile::reserve(&out, &secret_name()).unwrap();
        std::fs::write(dropped.path(), b"half").unwrap();
        drop(dropped);
        assert_eq!(leftovers(dir.path()), ["data.h5"]);
    }
}
