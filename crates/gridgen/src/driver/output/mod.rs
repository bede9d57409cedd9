//! Where the steps write: file names, and the rule that no file is ever left half-written — or
//! swapped for someone else's — under its final name.
//!
//! A step asks for a file with [`Output::create`] and gets a [`PartialFile`]: a new, hidden
//! temporary file beside the final one, under a name no other run uses
//! (`.data00042.npy.<pid>-<n>.partial`), created exclusively through the folder's descriptor —
//! an existing file or a symlink at that name is never followed (the next name is tried). The
//! step writes into it, then calls [`PartialFile::commit`], which checks that the name still
//! holds the very file written (not a symlink or file someone put in its place) and renames it
//! into place. A file dropped without a commit (an error, a panic) is removed, and so is every
//! open one on Ctrl-C or `scancel` (see [`crate::signals`]). Two runs into one folder never
//! write into each other's files: the last one to finish a file wins, with a complete file.
//!
//! A library that opens its file by path (HDF5, and MPI-IO on every rank) gets a
//! [`LibraryFile`]: a file in a private folder of the run's own (mode 700, so no one else can
//! put anything in it), under a name no one can guess; it is renamed from there into place.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array2;
use steps::{Format, Step};

use crate::dirfd::{self, Dir, Identity};
use crate::error::in_file;
use crate::progress::{Begun, Progress, Progressing};
use crate::signals::{self, guarded, Registered};
use crate::{text, Error, Result};

pub use crate::signals::PARTIAL_SUFFIX;

/// How many taken temporary names are skipped before creating a file is given up.
const NAME_TRIES: usize = 64;

/// The output folder and file-name prefix of one run, what it has written so far and how far it
/// is. Shared by reference between worker threads.
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    folder: Dir,
    prefix: String,
    step: &'static Step,
    bytes: AtomicU64,
    names: AtomicU64,
    /// The bytes of every array the run writes (all ranks'), and how many arrays.
    data_bytes: u64,
    n_files: u64,
    pub(crate) progress: Progress,
}

/// What makes a temporary name unique among all runs writing into one folder at the same time:
/// the process id and a counter. (Ranks of one parallel file agree on rank 0's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempName {
    pub pid: u32,
    pub n: u64,
}

impl TempName {
    /// `.<name>.<pid>-<n>.partial`.
    pub fn for_name(self, name: &str) -> String {
        format!(".{name}.{}-{}{PARTIAL_SUFFIX}", self.pid, self.n)
    }

    /// The name a temporary name stands for: `data.h5` for `.data.h5.<pid>-<n>.partial`.
    pub(crate) fn target_of(temp: &str) -> Option<&str> {
        let inner = temp.strip_prefix('.')?.strip_suffix(PARTIAL_SUFFIX)?;
        let (name, counter) = inner.rsplit_once('.')?;
        let (pid, n) = counter.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits(pid) && digits(n) && !name.is_empty()).then_some(name)
    }
}

impl Output {
    /// The run's output in the existing folder `dir`.
    pub(crate) fn open(dir: &Path, args: &crate::Args, step: &'static Step) -> Result<Output> {
        let prefix = &args.output;
        let tracing = args.trace.is_some();
        let data_bytes = (args.n_files as u64)
            .saturating_mul(crate::memory::grid_bytes(args.size).unwrap_or(u64::MAX));
        let folder = Dir::open(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Output {
            dir: dir.to_owned(),
            folder,
            prefix: prefix.to_owned(),
            step,
            bytes: AtomicU64::new(0),
            names: AtomicU64::new(0),
            data_bytes,
            n_files: args.n_files as u64,
            progress: Progress::new(tracing),
        })
    }

    /// `<prefix><file_id:05>`: the name of file index `file_id` (and of its HDF5 dataset).
    pub fn name(&self, file_id: usize) -> String {
        format!("{}{file_id:05}", self.prefix)
    }

    /// `<dir>/<prefix><file_id:05>.<ext>`.
    pub fn path(&self, file_id: usize) -> PathBuf {
        self.dir.join(self.file_name(file_id))
    }

    fn file_name(&self, file_id: usize) -> String {
        format!("{}.{}", self.name(file_id), self.step.format)
    }

    /// `<dir>/<prefix>.<ext>`: the one file of a run that writes one.
    pub fn single_path(&self) -> PathBuf {
        self.dir.join(self.single_name())
    }

    fn single_name(&self) -> String {
        format!("{}.{}", self.prefix, self.step.format)
    }

    /// The file-name prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What the step writes.
    pub fn format(&self) -> Format {
        self.step.format
    }

    /// Bytes written by this process so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The bytes of every array of the run, on all ranks: what its one file must hold at least.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// What the run's one file will take at most: every array's bytes, and a generous bound on
    /// an HDF5 file's metadata (a few hundred bytes a dataset are measured; 2 KiB are allowed).
    pub fn single_file_bound(&self) -> u64 {
        self.data_bytes
            .saturating_add(self.n_files.saturating_mul(2048))
            .saturating_add(1 << 20)
    }

    /// Files (or datasets) this process has finished so far.
    pub fn files_done(&self) -> u64 {
        self.progress.done()
    }

    /// A temporary name no other file of this run has had.
    pub fn temp_name(&self) -> TempName {
        TempName {
            pid: std::process::id(),
            n: self.names.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Starts `<prefix><file_id:05>.<ext>`: a new hidden temporary file, renamed into place by
    /// [`PartialFile::commit`].
    pub fn create(&self, file_id: usize) -> Result<PartialFile<'_>> {
        let begun = self.progress.writing();
        let name = self.file_name(file_id);
        let file =
            TempFile::create(&self.folder, &name, || self.temp_name()).map_err(|source| {
                Error::Write {
                    path: self.dir.join(&name),
                    source,
                }
            })?;
        Ok(PartialFile {
            out: self,
            file,
            file_id,
            begun,
            path: self.dir.join(name),
        })
    }

    /// `numpy.savetxt(path, data)` into `<prefix><file_id:05>.txt`, all or nothing.
    pub fn save_txt(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        let mut txt = self.create(file_id)?;
        // Unbuffered: savetxt hands over its text in large pieces already.
        text::savetxt(&mut txt, data)?;
        txt.commit()
    }

    /// The file indices `files`, each counted as finished (for the progress bar, the summary
    /// and `--trace`) when the loop moves on to the next — for the datasets of an HDF5 file,
    /// which have no file of their own to tell when they are done. Like `tqdm(range(n))`.
    pub fn progress<I: IntoIterator<Item = usize>>(
        &self,
        files: I,
    ) -> Progressing<'_, I::IntoIter> {
        Progressing::new(&self.progress, files.into_iter())
    }

    /// Reserves the run's one file (`<prefix>.<ext>`) for a library that creates it itself, in a
    /// private folder under a new temporary name, as the file `<secret>.<ext>` there.
    pub fn reserve_library_file(&self, secret: &str) -> Result<LibraryFile<'_>> {
        let mut last = None;
        for _ in 0..NAME_TRIES {
            match LibraryFile::reserve(self, self.temp_name(), secret, true) {
                Err(Error::Write { source, .. })
                    if source.kind() == io::ErrorKind::AlreadyExists =>
                {
                    last = Some(source);
                }
                other => return other,
            }
        }
        Err(Error::Write {
            path: self.single_path(),
            source: last.unwrap_or_else(|| io::Error::other("no free temporary name")),
        })
    }

    /// The same file, reserved by another rank: this one only opens it (through the library)
    /// and removes it if interrupted.
    pub fn adopt_library_file(&self, name: TempName, secret: &str) -> Result<LibraryFile<'_>> {
        LibraryFile::reserve(self, name, secret, false)
    }

    fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A private name for a library's file (64 random bits), so that no one can put a symlink where
/// it will be opened.
pub fn secret_name() -> String {
    dirfd::random_hex()
}

/// A new temporary file of ours in a folder, written through its descriptor and renamed into
/// place only if the name still holds it.
#[derive(Debug)]
struct TempFile<'d> {
    folder: &'d Dir,
    target: String,
    temp: String,
    file: Option<File>,
    identity: Identity,
    _registered: Registered,
    done: bool,
}

impl<'d> TempFile<'d> {
    /// Creates a temporary file for `target` in `folder`, skipping names already taken.
    fn create(
        folder: &'d Dir,
        target: &str,
        mut next: impl FnMut() -> TempName,
    ) -> io::Result<Self> {
        let mut last = None;
        for _ in 0..NAME_TRIES {
            let temp = next().for_name(target);
            if temp.len() > folder.name_max() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("its temporary name {temp:?} is longer than the filesystem allows"),
                ));
            }
            let registered = signals::register(folder.raw(), &temp)?;
            match guarded(|| folder.create_new(&temp)) {
                Ok(file) => {
                    let identity = dirfd::identity(&file)?;
                    return Ok(TempFile {
                        folder,
                        target: target.to_owned(),
                        temp,
                        file: Some(file),
                        identity,
                        _registered: registered,
                        done: false,
                    });
                }
                // Someone's file (or a symlink) holds that name: never touch it, try the next.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file is already closed"))
    }

    /// Closes the file, checks the temporary name still holds it, and renames it into place.
    /// Returns its size.
    fn commit(&mut self) -> io::Result<u64> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("closed twice"))?;
        let bytes = file.metadata()?.len();
        drop(file);
        rename_checked(
            self.folder,
            &self.temp,
            self.identity,
            self.folder,
            &self.target,
        )?;
        self.done = true;
        Ok(bytes)
    }
}

impl Drop for TempFile<'_> {
    /// Not committed: an error or a panic came first. The file is incomplete; remove it.
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.done {
            let _ = guarded(|| self.folder.remove(&self.temp));
        }
    }
}

/// Renames `from` (in `src`) to `to` (in `dst`) if, and only if, `from` still names the file
/// `identity` — not a symlink or another file someone put in its place — and checks afterwards
/// that `to` names it: a swap in the instant between the check and the rename is undone.
fn rename_checked(
    src: &Dir,
    from: &str,
    identity: Identity,
    dst: &Dir,
    to: &str,
) -> io::Result<()> {
    let replaced = || {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "someone replaced the temporary file while it was written (another user of the folder?)",
        )
    };
    match src.identity_of(from)? {
        Some((id, true)) if id == identity => {}
        _ => return Err(replaced()),
    }
    guarded(|| src.rename(from, dst, to))?;
    match dst.identity_of(to)? {
        Some((id, true)) if id == identity => Ok(()),
        _ => {
            // What we renamed was not ours: take it away again rather than leave it there.
            let _ = guarded(|| dst.remove(to));
            Err(replaced())
        }
    }
}

/// A file being written under a hidden temporary name; see the [module](self) docs.
///
/// It writes like a [`File`] (`Write`); an error from a write names the file, so `?` in a step
/// reports it.
#[derive(Debug)]
pub struct PartialFile<'a> {
    out: &'a Output,
    file: TempFile<'a>,
    file_id: usize,
    begun: Option<Begun>,
    path: PathBuf,
}

impl PartialFile<'_> {
    /// Closes the file and renames it to its final name: from now on it is a complete output.
    /// (It replaces any file of that name, as `numpy.save` would.)
    pub fn commit(mut self) -> Result<()> {
        let bytes = self.file.commit().map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        self.out.add_bytes(bytes);
        self.out.progress.finished(self.file_id, self.begun);
        Ok(())
    }
}

impl Write for PartialFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let path = &self.path;
        self.file.file()?.write(buf).map_err(|e| in_file(path, e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let path = &self.path;
        self.file
            .file()?
            .write_all(buf)
            .map_err(|e| in_file(path, e))
    }
    fn flush(&mut self) -> io::Result<()> {
        let path = &self.path;
        self.file.file()?.flush().map_err(|e| in_file(path, e))
    }
}

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
    fn reserve(out: &'a Output, name: TempName, secret: &str, owner: bool) -> Result<Self> {
        let target = out.single_name();
        let folder_name = name.for_name(&target);
        let inner = format!("{secret}.{}", out.step.format);
        let path = out.dir.join(&folder_name).join(&inner);
        let fail = |source| Error::Write {
            path: out.single_path(),
            source,
        };
        if folder_name.len() > out.folder.name_max() {
            return Err(fail(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("its temporary name {folder_name:?} is longer than the filesystem allows"),
            )));
        }
        let registered = signals::register(out.folder.raw(), &folder_name).map_err(fail)?;
        let private = if owner {
            let dir = guarded(|| out.folder.create_dir(&folder_name, 0o700)).map_err(fail)?;
            registered.holds(dir.raw(), &inner);
            Some(dir)
        } else {
            // Another rank made it; this one removes the file too if a signal comes first.
            let dir = Dir::open(&out.dir.join(&folder_name)).ok();
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
        match self.out.folder.identity_of(&self.folder_name) {
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
            &self.out.folder,
            &self.out.single_name(),
        )
        .map_err(fail)?;
        let _ = guarded(|| self.out.folder.remove_dir(&self.folder_name));
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
            // Left by a rank that gave up waiting for this one (see signals::leave_word).
            let _ = guarded(|| private.remove(signals::TOLD_MARK));
        }
        let _ = guarded(|| self.out.folder.remove_dir(&self.folder_name));
    }
}

/// Writes `bytes` to `path` all or nothing, as the steps' data files are written: a profile or
/// a timeline is either complete under its name or not there.
pub(crate) fn write_all_or_nothing(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let (folder, name) = folder_and_name(path).map_err(fail)?;
    let mut file = side_file(&folder, &name).map_err(fail)?;
    file.file().and_then(|f| f.write_all(bytes)).map_err(fail)?;
    file.commit().map_err(fail)?;
    Ok(())
}

/// Checks that a file can be created where `path` will be (a temporary file, removed again).
pub(crate) fn check_creatable(path: &Path) -> Result<()> {
    let fail = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let (folder, name) = folder_and_name(path).map_err(fail)?;
    drop(side_file(&folder, &name).map_err(fail)?);
    Ok(())
}

fn folder_and_name(path: &Path) -> io::Result<(Dir, String)> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    Ok((Dir::open(parent)?, name))
}

/// A temporary file for a profile or a timeline, numbered apart from the data files' names.
fn side_file<'d>(folder: &'d Dir, name: &str) -> io::Result<TempFile<'d>> {
    let counter = AtomicU64::new(0);
    TempFile::create(folder, name, || TempName {
        pid: std::process::id(),
        n: u64::MAX / 2 + counter.fetch_add(1, Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn output(dir: &Path, step: &str) -> Output {
        use clap::Parser;
        let args = crate::Args::try_parse_from(["step", "-n", "4", "-s", "3"]).unwrap();
        Output::open(dir, &args, steps::find(step).unwrap()).unwrap()
    }

    #[test]
    fn a_temporary_name_leads_back_to_its_final_name() {
        let temp = TempName { pid: 4242, n: 7 }.for_name("data.h5");
        assert_eq!(TempName::target_of(&temp), Some("data.h5"));
        for odd in [
            ".data.h5.partial",
            "data.h5.1-2.partial",
            ".data.h5.x-2.partial",
            "..1-2.partial",
        ] {
            assert_eq!(TempName::target_of(odd), None, "{odd}");
        }
    }

    #[test]
    fn names_follow_the_workshop() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(dir.path(), "write_vectorized_binary");
        assert_eq!(out.path(7), dir.path().join("data00007.npy"));
        assert_eq!(out.name(123456), "data123456");
        let h5 = output(dir.path(), "write_hdf5");
        assert_eq!(h5.single_path(), dir.path().join("data.h5"));
        let name = TempName { pid: 42, n: 7 };
        assert_eq!(
            name.for_name("data00001.txt"),
            ".data00001.txt.42-7.partial"
        );
        assert_ne!(out.temp_name(), out.temp_name());
    }

    #[test]
    fn a_committed_file_appears_under_its_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(dir.path(), "write_vectorized_binary");
        let mut file = out.create(3).unwrap();
        file.write_all(b"12345").unwrap();
        assert_eq!(leftovers(dir.path()).len(), 1);
        assert!(!out.path(3).exists());
        file.commit().unwrap();
        assert_eq!(leftovers(dir.path()), ["data00003.npy"]);
        assert_eq!(out.bytes_written(), 5);
        assert_eq!(out.files_done(), 1);
    }

    #[test]
    fn two_writers_of_one_name_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(dir.path(), "write_vectorized_binary");
        let mut first = out.create(0).unwrap();
        let mut second = out.create(0).unwrap();
        first.write_all(b"first").unwrap();
        second.write_all(b"second").unwrap();
        second.commit().unwrap();
        first.commit().unwrap();
        assert_eq!(std::fs::read(out.path(0)).unwrap(), b"first");
        assert_eq!(leftovers(dir.path()), ["data00000.npy"]);
    }

    #[test]
    fn an_uncommitted_file_is_removed_and_errors_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(dir.path(), "write");
        let failed = || -> Result<()> {
            let mut file = out.create(0)?;
            file.write_all(b"half of it")?;
            Err(in_file(&out.path(0), io::Error::other("disk on fire")))?
        };
        let err = failed().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: disk on fire", out.path(0).display())
        );
        assert!(leftovers(dir.path()).is_empty());
        assert_eq!(out.bytes_written(), 0);
    }

    #[test]
    fn a_name_someone_holds_is_skipped_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let out = output(dir.path(), "write_vectorized_binary");
        // Symlinks at the next few temporary names this run will try.
        for n in 0..3 {
            let name = TempName {
                pid: std::process::id(),
                n,
            };
            std::os::unix::fs::symlink(&victim, dir.path().join(name.for_name("data00000.npy")))
                .unwrap();
        }
        let mut file = out.create(0).unwrap();
        file.write_all(b"ours").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read(out.path(0)).unwrap(), b"ours");
    }

    #[test]
    fn a_temporary_file_swapped_for_a_symlink_is_never_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "precious").unwrap();
        let out = output(dir.path(), "write_vectorized_binary");
        let mut file = out.create(0).unwrap();
        file.write_all(b"ours").unwrap();
        let temp = leftovers(dir.path())
            .into_iter()
            .find(|n| n.ends_with(PARTIAL_SUFFIX))
            .unwrap();
        std::fs::remove_file(dir.path().join(&temp)).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join(&temp)).unwrap();
        let err = file.commit().unwrap_err();
        assert!(err.to_string().contains("replaced"), "{err}");
        assert!(!out.path(0).exists(), "a symlink under the final name");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_target_that_is_a_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(dir.path(), "write");
        std::fs::create_dir(out.path(0)).unwrap();
        let err = out.save_txt(0, &Array2::zeros((2, 2))).unwrap_err();
        assert!(err.to_string().contains("data00000.txt"), "{err}");
        assert_eq!(leftovers(dir.path()), ["data00000.txt"]);
    }

    #[test]
    fn a_library_file_lives_in_a_private_folder_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let out = output(dir.path(), "write_hdf5");
        let file = out.reserve_library_file(&secret_name()).unwrap();
        std::fs::write(file.path(), b"hdf5 bytes").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let private = file.path().parent().unwrap();
        assert_eq!(
            std::fs::metadata(private).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(file.commit().unwrap(), 10);
        assert_eq!(leftovers(dir.path()), ["data.h5"]);
        let dropped = out.reserve_library_file(&secret_name()).unwrap();
        std::fs::write(dropped.path(), b"half").unwrap();
        drop(dropped);
        assert_eq!(leftovers(dir.path()), ["data.h5"]);
    }

    #[test]
    fn profiles_are_written_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.svg");
        write_all_or_nothing(&path, b"<svg/>").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
        assert_eq!(leftovers(dir.path()), ["p.svg"]);
        check_creatable(&dir.path().join("q.json")).unwrap();
        assert_eq!(leftovers(dir.path()), ["p.svg"]);
        assert!(check_creatable(&path.join("x")).is_err());
    }
}
