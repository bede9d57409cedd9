//! Where the steps write: file names, and the rule that no file is ever left half-written — or
//! swapped for someone else's — under its final name.
//!
//! A step asks for a file with [`Output::create`] and gets a [`PartialFile`]: a new, hidden
//! temporary file beside the final one ([`temp`]), under a name no other run uses ([`name`])
//! (`.data00042.npy.<pid>-<n>.partial`), created exclusively through the folder's descriptor
//! ([`dirfd`]) — an existing file or a symlink at that name is never followed (the next name is
//! tried). The step writes into it, then calls [`PartialFile::commit`], which checks that the
//! name still holds the very file written (not a symlink or file someone put in its place) and
//! renames it into place. A file dropped without a commit (an error, a panic) is removed, and so
//! is every open one on Ctrl-C or `scancel` (the guard's registry). Two runs into one folder never
//! write into each other's files: the last one to finish a file wins, with a complete file.
//! Profiles and timelines are written the same way ([`side`]); a library's file that it opens by
//! path (HDF5) is gridgen-h5's.

pub mod dirfd;
pub mod name;
pub mod partial;
pub mod side;
pub mod temp;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array2;
use steps::{Format, Step};

use crate::driver::args::Args;
use crate::driver::progress::{Progress, Progressing};
use crate::guard::memory::grid_bytes;
use crate::{Error, Result};
use dirfd::Dir;
use gridgen_contract::text;
pub use name::TempName;
pub use partial::PartialFile;
pub use side::{check_creatable, write_all_or_nothing};
use temp::TempFile;

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

impl Output {
    /// The run's output in the existing folder `dir`.
    pub(crate) fn open(dir: &Path, args: &Args, step: &'static Step) -> Result<Output> {
        let prefix = &args.output;
        let tracing = args.trace.is_some();
        let data_bytes =
            (args.n_files as u64).saturating_mul(grid_bytes(args.size).unwrap_or(u64::MAX));
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
        Ok(PartialFile::new(
            file,
            self.dir.join(name),
            (file_id, begun),
            &self.bytes,
            &self.progress,
        ))
    }

    /// `numpy.savetxt(path, data)` into `<prefix><file_id:05>.txt`, all or nothing.
    pub fn save_txt(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        let mut txt = self.create(file_id)?;
        // Unbuffered: savetxt hands over its text in large pieces already.
        text::savetxt(&mut txt, data).map_err(|source| Error::Write {
            path: self.path(file_id),
            source,
        })?;
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

    /// The output folder, opened: for gridgen-h5's private folder beside the run's files.
    pub fn folder(&self) -> &Dir {
        &self.folder
    }

    /// `<prefix>.<ext>`: the name of the run's one file.
    pub fn single_name(&self) -> String {
        format!("{}.{}", self.prefix, self.step.format)
    }

    /// Counts `bytes` as written by this process (a library's file, once it has its name).
    pub fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::PARTIAL_SUFFIX;

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
        let args = Args::try_parse_from(["step", "-n", "4", "-s", "3"]).unwrap();
        Output::open(dir, &args, steps::find(step).unwrap()).unwrap()
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
            Err(Error::Write {
                path: file.path().to_owned(),
                source: std::io::Error::other("disk on fire"),
            })
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
