//! Where the steps write: file names, and the rule that no file is ever left half-written
//! under its final name.
//!
//! A step asks for a file with [`Output::create`] and gets a [`PartialFile`]: a new, hidden
//! temporary file beside the final one, under a name no other run uses (`.data00042.npy.<pid>-<n>.partial`),
//! created exclusively — an existing file or a symlink at that name is an error, never
//! followed. The step writes into it with whatever library its lesson is about, then calls
//! [`PartialFile::commit`], which renames it into place. A file that is dropped without a commit
//! (an error, a panic) is removed, and so is every open one on Ctrl-C or `scancel` (see
//! [`crate::signals`]). Two runs into one folder therefore never write into each other's files:
//! the last one to finish a file wins, with a complete file.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ndarray::Array2;

use crate::{progress, text, Error, Result};

/// The output folder and file-name prefix of one run, and the bytes written to it so far.
/// Shared by reference between worker threads: the counter is atomic.
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    prefix: String,
    bytes: AtomicU64,
}

impl Output {
    /// Creates the folder if it is missing.
    pub fn create_dir(dir: &Path, prefix: &str) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Output {
            dir: dir.to_owned(),
            prefix: prefix.to_owned(),
            bytes: AtomicU64::new(0),
        })
    }

    /// `<prefix><file_id:05>`: the name of file index `file_id` (and of its HDF5 dataset).
    pub fn name(&self, file_id: usize) -> String {
        format!("{}{file_id:05}", self.prefix)
    }

    /// `<dir>/<prefix><file_id:05>.<ext>`.
    pub fn path(&self, file_id: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.name(file_id)))
    }

    /// `<dir>/<prefix>.<ext>`: the one file of the HDF5 steps.
    pub fn single_path(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.prefix))
    }

    /// The file-name prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Bytes written by this process so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Starts `<prefix><file_id:05>.<ext>`: a new hidden temporary file, renamed into place by
    /// [`PartialFile::commit`].
    pub fn create(&self, file_id: usize, ext: &str) -> Result<PartialFile<'_>> {
        PartialFile::create(
            self,
            self.path(file_id, ext),
            Some(file_id),
            TempName::next(),
        )
    }

    /// Starts `<prefix>.<ext>`, the one file of a run, the same way.
    pub fn create_single(&self, ext: &str) -> Result<PartialFile<'_>> {
        self.create_single_named(ext, TempName::next())
    }

    /// Starts `<prefix>.<ext>` under the temporary name `name` — rank 0's, which the other
    /// ranks of a parallel file were told.
    #[cfg_attr(not(feature = "mpio"), allow(dead_code))]
    pub(crate) fn create_single_named(&self, ext: &str, name: TempName) -> Result<PartialFile<'_>> {
        PartialFile::create(self, self.single_path(ext), None, name)
    }

    /// `numpy.savetxt(path, data)` into `<prefix><file_id:05>.txt`, all or nothing.
    pub fn save_txt(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        let mut txt = self.create(file_id, "txt")?;
        // Buffered: savetxt hands over one row at a time.
        text::savetxt(io::BufWriter::with_capacity(1 << 16, &mut txt), data)?;
        txt.commit()
    }
}

/// A file being written under a hidden temporary name; see the [module](self) docs.
///
/// It writes like a [`File`] (`Write`), and [`PartialFile::path`] hands its temporary path to a
/// library that opens files itself (HDF5). While it lives, an error converted with `?` on this
/// thread names its final path.
#[derive(Debug)]
pub struct PartialFile<'a> {
    out: &'a Output,
    target: PathBuf,
    partial: PathBuf,
    file: Option<File>,
    file_id: Option<usize>,
    done: bool,
}

impl<'a> PartialFile<'a> {
    fn create(
        out: &'a Output,
        path: PathBuf,
        file_id: Option<usize>,
        name: TempName,
    ) -> Result<Self> {
        if let Some(id) = file_id {
            progress::write_started(id);
        }
        let partial = name.path_for(&path);
        // live::create registers the file as it creates it.
        let file = live::create(&partial).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok(Self::registered(out, path, partial, Some(file), file_id))
    }

    /// Closes gridgen's own handle, for a library that opens the file itself.
    #[cfg_attr(not(feature = "hdf5"), allow(dead_code))]
    pub(crate) fn close_handle(&mut self) {
        self.file = None;
    }

    /// A temporary file another process created (rank 0 of a parallel HDF5 file): this one
    /// writes into it, and removes it too if interrupted.
    #[cfg_attr(not(feature = "mpio"), allow(dead_code))]
    pub(crate) fn adopt(out: &'a Output, path: PathBuf, partial: PathBuf) -> Self {
        live::add(&partial);
        Self::registered(out, path, partial, None, None)
    }

    /// Wraps a temporary file already in the registry of live ones.
    fn registered(
        out: &'a Output,
        path: PathBuf,
        partial: PathBuf,
        file: Option<File>,
        file_id: Option<usize>,
    ) -> Self {
        naming::push(&path, &partial);
        PartialFile {
            out,
            target: path,
            partial,
            file,
            file_id,
            done: false,
        }
    }

    /// The hidden temporary path being written (for libraries that open the file themselves).
    pub fn path(&self) -> &Path {
        &self.partial
    }

    /// Closes the file and renames it to its final name: from now on it is a complete output.
    /// (It replaces any file of that name, as `numpy.save` would.)
    pub fn commit(mut self) -> Result<()> {
        let bytes = self.close_and_rename().map_err(|source| Error::Write {
            path: self.target.clone(),
            source,
        })?;
        self.out.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(id) = self.file_id {
            progress::file_done(id);
        }
        Ok(())
    }

    fn close_and_rename(&mut self) -> io::Result<u64> {
        let bytes = match self.file.take() {
            Some(file) => file.metadata()?.len(),
            None => fs::symlink_metadata(&self.partial)?.len(),
        };
        live::rename(&self.partial, &self.target)?;
        self.done = true;
        Ok(bytes)
    }

    /// Marks the file as someone else's to rename (the ranks of a parallel HDF5 file other than
    /// rank 0): dropping it then leaves it alone.
    #[cfg_attr(not(feature = "hdf5"), allow(dead_code))]
    pub(crate) fn release(mut self) {
        self.done = true;
    }
}

impl Write for PartialFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file_mut()?.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file_mut()?.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file_mut()?.flush()
    }
}

impl PartialFile<'_> {
    fn file_mut(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file is opened by a library, not by gridgen"))
    }
}

impl Drop for PartialFile<'_> {
    /// Not committed: an error or a panic came first. The file is incomplete; remove it.
    fn drop(&mut self) {
        drop(self.file.take());
        live::forget(&self.partial, !self.done);
        naming::pop(&self.target);
    }
}

/// Every temporary name ends so, whatever the run: `.<name>.<pid>-<n>.partial`.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// What makes a temporary name unique among all runs on this machine writing into one folder
/// at the same time: the process id and a counter. (Ranks of one parallel file agree on rank 0's.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TempName {
    pub pid: u32,
    pub n: u64,
}

impl TempName {
    /// A name no other file of this process has had.
    pub(crate) fn next() -> TempName {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        TempName {
            pid: std::process::id(),
            n: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// `.<name>.<pid>-<n>.partial` beside `path`.
    pub(crate) fn path_for(self, path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        path.with_file_name(format!(".{name}.{}-{}{PARTIAL_SUFFIX}", self.pid, self.n))
    }
}

/// `O_CREAT | O_EXCL`: fails if anything — a file, a folder, a symlink, even a dangling one — is
/// at `path`, so a run never writes through a name someone else put there.
pub(crate) fn create_exclusive(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// The temporary files this process has open, for removal when a signal ends the run.
pub(crate) mod live {
    use super::*;
    use std::sync::{RwLock, RwLockReadGuard};

    /// Held shared by every creation, rename and removal of a temporary file — threads do those
    /// at once, which matters where each is a round trip to a metadata server (Lustre, GPFS) —
    /// and exclusively, for good, by [`remove_all`].
    static GATE: RwLock<()> = RwLock::new(());
    static FILES: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

    fn files() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
        FILES.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn shared() -> RwLockReadGuard<'static, ()> {
        GATE.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates `path` exclusively and remembers it. Once [`remove_all`] has run, this waits
    /// for the end of the process instead: no new temporary file can appear.
    pub(crate) fn create(path: &Path) -> io::Result<File> {
        let _gate = shared();
        let file = create_exclusive(path)?;
        files().insert(path.to_owned());
        Ok(file)
    }

    pub(crate) fn add(path: &Path) {
        files().insert(path.to_owned());
    }

    /// Renames a temporary file into place. Once [`remove_all`] has run, this waits for the
    /// end of the process instead of renaming (or reporting a failed rename of) a removed file.
    pub(crate) fn rename(partial: &Path, target: &Path) -> io::Result<()> {
        let _gate = shared();
        fs::rename(partial, target)?;
        files().remove(partial);
        Ok(())
    }

    /// Stops tracking `path`, removing the file first when `remove` (it was never completed).
    pub(crate) fn forget(path: &Path, remove: bool) {
        let _gate = shared();
        if remove {
            let _ = fs::remove_file(path);
        }
        files().remove(path);
    }

    #[cfg(test)]
    pub(crate) fn files_contain(path: &Path) -> bool {
        files().contains(path)
    }

    /// Removes every temporary file still open and returns how many there were. For the end of
    /// the process: it waits for the file operations under way, then keeps the gate closed, so
    /// no thread creates, renames or removes a temporary file after this; such a thread waits
    /// for the process to end.
    pub(crate) fn remove_all() -> usize {
        let gate = GATE.write().unwrap_or_else(|p| p.into_inner());
        let mut files = files();
        for path in files.iter() {
            let _ = fs::remove_file(path);
        }
        let removed = std::mem::take(&mut *files).len();
        std::mem::forget(gate);
        removed
    }
}

/// Which file this thread is writing, so that an I/O or HDF5 error that `?` converts into
/// gridgen's [`Error`] names it (the libraries' errors do not).
pub(crate) mod naming {
    use super::*;

    thread_local! {
        /// (final name, temporary name) of each file this thread has open.
        static OPEN: RefCell<Vec<(PathBuf, PathBuf)>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn push(path: &Path, partial: &Path) {
        OPEN.with(|o| o.borrow_mut().push((path.to_owned(), partial.to_owned())));
    }

    pub(crate) fn pop(path: &Path) {
        OPEN.with(|o| {
            let mut open = o.borrow_mut();
            if let Some(at) = open.iter().rposition(|(p, _)| p == path) {
                open.remove(at);
            }
        });
    }

    /// The file most recently started on this thread and not yet finished.
    pub(crate) fn current() -> Option<PathBuf> {
        OPEN.with(|o| o.borrow().last().map(|(p, _)| p.clone()))
    }

    /// Its temporary name, where its bytes are now.
    #[cfg_attr(not(feature = "hdf5"), allow(dead_code))]
    pub(crate) fn current_partial() -> Option<PathBuf> {
        OPEN.with(|o| o.borrow().last().map(|(_, p)| p.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn names_follow_the_workshop() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create_dir(dir.path(), "data").unwrap();
        assert_eq!(out.path(7, "npy"), dir.path().join("data00007.npy"));
        assert_eq!(out.path(123456, "txt"), dir.path().join("data123456.txt"));
        assert_eq!(out.single_path("h5"), dir.path().join("data.h5"));
        let name = TempName { pid: 42, n: 7 };
        assert_eq!(
            name.path_for(&dir.path().join("data00001.txt")),
            dir.path().join(".data00001.txt.42-7.partial")
        );
        assert_ne!(TempName::next(), TempName::next());
    }

    #[test]
    fn a_committed_file_appears_under_its_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create_dir(dir.path(), "data").unwrap();
        let mut file = out.create(3, "bin").unwrap();
        file.write_all(b"12345").unwrap();
        let partial = file.path().to_owned();
        assert!(partial.exists());
        assert!(!out.path(3, "bin").exists());
        file.commit().unwrap();
        assert_eq!(leftovers(dir.path()), ["data00003.bin"]);
        assert_eq!(out.bytes_written(), 5);
    }

    #[test]
    fn two_writers_of_one_name_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create_dir(dir.path(), "data").unwrap();
        let mut first = out.create(0, "bin").unwrap();
        let mut second = out.create(0, "bin").unwrap();
        assert_ne!(first.path(), second.path());
        first.write_all(b"first").unwrap();
        second.write_all(b"second").unwrap();
        second.commit().unwrap();
        first.commit().unwrap();
        assert_eq!(fs::read(out.path(0, "bin")).unwrap(), b"first");
        assert_eq!(leftovers(dir.path()), ["data00000.bin"]);
    }

    #[test]
    fn an_uncommitted_file_is_removed_and_errors_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create_dir(dir.path(), "data").unwrap();
        let failed = || -> Result<()> {
            let mut file = out.create(0, "txt")?;
            file.write_all(b"half of it")?;
            Err(io::Error::other("disk on fire"))?
        };
        let err = failed().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: disk on fire",
                out.path(0, "txt").display()
            )
        );
        assert!(leftovers(dir.path()).is_empty());
        assert_eq!(out.bytes_written(), 0);
        // Outside any file, an I/O error names none.
        let err: Error = io::Error::other("plain").into();
        assert_eq!(err.to_string(), "plain");
    }

    #[test]
    fn a_symlink_at_the_temporary_name_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "precious").unwrap();
        let target = dir.path().join("data00000.npy");
        let partial = TempName { pid: 1, n: 1 }.path_for(&target);
        std::os::unix::fs::symlink(&victim, &partial).unwrap();
        let err = create_exclusive(&partial).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_target_that_is_a_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create_dir(dir.path(), "data").unwrap();
        fs::create_dir(out.path(0, "txt")).unwrap();
        let err = out.save_txt(0, &Array2::zeros((2, 2))).unwrap_err();
        assert!(err.to_string().contains("data00000.txt"), "{err}");
        assert_eq!(leftovers(dir.path()), ["data00000.txt"]);
    }

    #[test]
    fn open_temporary_files_are_known_until_finished() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create_dir(dir.path(), "data").unwrap();
        let file = out.create(9, "bin").unwrap();
        assert!(live::files_contain(file.path()));
        let partial = file.path().to_owned();
        drop(file);
        assert!(!live::files_contain(&partial));
    }
}
