//! Where a step writes: its folder, its files (each whole or not there at all), how far the run
//! is, and the summary line at the end.

use std::io::{BufWriter, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ndarray::Array2;
pub use steps::Format;
use tempfile::TempPath;

use crate::args::launcher_rank;
use crate::trace::{self, Recorder, Slice};
use crate::unfinished::{self, Unfinished};
use crate::{Args, Result, Summary};

/// The output of one run: its folder, file names and progress. Worker threads share it (`&out`).
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    prefix: String,
    format: Format,
    args: Args,
    started: Instant,
    bytes: AtomicU64,
    unfinished: Arc<Unfinished>,
    trace: Option<Recorder>,
}

impl Output {
    /// Creates the folder `--dir` (and its parents) for a run that writes `format`. From here
    /// on, Ctrl-C or `scancel` removes the run's unfinished files before it ends, and the clock
    /// of the summary runs.
    pub fn create(args: &Args, format: Format) -> Result<Output> {
        let dir = &args.dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| fail!("cannot create the folder {}: {e}", dir.display()))?;
        // What a run killed outright (SIGKILL) left here, hidden.
        unfinished::remove_abandoned(dir);
        if let Some(path) = &args.trace {
            crate::profile::check_writable(path)?;
        }
        let rank = launcher_rank();
        let bar = rank.is_none().then(|| bar(args.n_files)).flatten();
        let unfinished = Arc::new(Unfinished::new(args.n_files as u64, rank, bar));
        unfinished
            .remove_on_signals()
            .map_err(|e| fail!("cannot watch for Ctrl-C: {e}"))?;
        Ok(Output {
            dir: dir.clone(),
            prefix: args.output.clone(),
            format,
            args: args.clone(),
            started: Instant::now(),
            bytes: AtomicU64::new(0),
            unfinished,
            trace: args.trace.is_some().then(Recorder::default),
        })
    }

    /// `data00042`: the name of file index `file_id` (and of its HDF5 dataset).
    pub fn name(&self, file_id: usize) -> String {
        format!("{}{file_id:05}", self.prefix)
    }

    /// `output/data00042.npy`: where file index `file_id` goes.
    pub fn path(&self, file_id: usize) -> PathBuf {
        self.dir
            .join(format!("{}.{}", self.name(file_id), self.format))
    }

    /// `output/data.h5`: the one file of a run that writes one.
    pub fn one_path(&self) -> PathBuf {
        self.dir.join(format!("{}.{}", self.prefix, self.format))
    }

    /// A new file for index `file_id`, under a hidden name until [`NewFile::commit`].
    pub fn create_file(&self, file_id: usize) -> Result<NewFile<'_>> {
        if let Some(trace) = &self.trace {
            trace.writing();
        }
        NewFile::create(self, self.path(file_id))
    }

    /// `numpy.savetxt(path, data)`: file `file_id` as text, every value as `%.18e`.
    pub fn save_txt(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        let mut file = self.create_file(file_id)?;
        gridgen_contract::text::savetxt(&mut file, data)
            .map_err(|e| fail!("cannot write {}: {e}", self.path(file_id).display()))?;
        file.commit()
    }

    /// The run's one file (HDF5), at a hidden path for the library to create; its final name
    /// comes with [`OneFile::commit`].
    pub fn create_one_file(&self) -> Result<OneFile<'_>> {
        let final_name = format!("{}.{}", self.prefix, self.format);
        self.one_file_named(&unfinished::hidden_name(&final_name))
    }

    /// The run's one file at the hidden name `hidden` in the folder (every MPI rank uses the
    /// same one, chosen by rank 0).
    pub fn one_file_named(&self, hidden: &str) -> Result<OneFile<'_>> {
        let path = self.dir.join(hidden);
        self.unfinished.create(&path, || Ok(()))?;
        Ok(OneFile {
            out: self,
            path,
            committed: false,
        })
    }

    /// The file indices `files`, counted as the loop moves on: a progress bar on a terminal,
    /// and with `--trace` the time each index was taken up and done.
    pub fn progress<I: IntoIterator<Item = usize>>(&self, files: I) -> Progress<'_, I::IntoIter> {
        Progress {
            out: self,
            files: files.into_iter(),
            current: None,
        }
    }

    /// File index `file_id`, taken up on this thread: it is counted as done (the bar, the
    /// timeline) when the value is dropped. For loops that are no `for` loop, such as rayon's.
    pub fn track(&self, file_id: usize) -> Tracked<'_> {
        if let Some(trace) = &self.trace {
            trace.start(file_id);
        }
        Tracked { out: self }
    }

    /// What this process has done so far, as a summary (an MPI run adds up its ranks').
    pub fn summary(&self) -> Summary {
        let seconds = self.started.elapsed().as_secs_f64();
        let bytes = self.bytes.load(Ordering::Relaxed);
        let mut summary = Summary::new(
            &Args::program(),
            self.args.n_files,
            self.args.size,
            bytes,
            seconds,
        );
        if self.args.workers_from.is_some() {
            (summary.workers, summary.workers_from) =
                (Some(self.args.workers), self.args.workers_from);
        }
        summary
    }

    /// The slices `--trace` recorded in this process, if it was asked for.
    pub fn take_slices(&self) -> Option<Vec<Slice>> {
        self.trace.as_ref().map(Recorder::take)
    }

    /// Ends the run: writes the timeline if asked, and prints the summary line.
    pub fn finish(self) -> Result<()> {
        let summary = self.summary();
        let slices = self.take_slices().unwrap_or_default();
        self.report(summary, vec![(0, Args::program(), slices)])
    }

    /// Prints `summary` and writes the timeline of `processes` if the run was asked for one.
    pub fn report(
        &self,
        mut summary: Summary,
        processes: Vec<(i32, String, Vec<Slice>)>,
    ) -> Result<()> {
        if let Some(bar) = &self.unfinished.bar {
            bar.finish_and_clear();
        }
        if let Some(path) = &self.args.trace {
            crate::profile::write_whole(path, trace::chrome_json(&processes).as_bytes())?;
            summary.trace = Some(path.display().to_string());
        }
        let line = if self.args.json {
            summary.json()
        } else {
            summary.line()
        };
        writeln!(std::io::stdout(), "{line}").map_err(|e| fail!("cannot print the summary: {e}"))
    }

    fn done_one(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The loop's file indices, counted as it moves on (see [`Output::progress`]).
pub struct Progress<'a, I> {
    out: &'a Output,
    files: I,
    current: Option<Tracked<'a>>,
}

impl<I: Iterator<Item = usize>> Iterator for Progress<'_, I> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        // The loop asks for the next index: the one before it is done.
        self.current = None;
        let file_id = self.files.next()?;
        self.current = Some(self.out.track(file_id));
        Some(file_id)
    }
}

/// A file index taken up (see [`Output::track`]).
pub struct Tracked<'a> {
    out: &'a Output,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        self.out.unfinished.done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.out.unfinished.bar {
            bar.inc(1);
        }
        if let Some(trace) = &self.out.trace {
            trace.end();
        }
    }
}

/// The buffer of a file being written: 8 KiB.
const WRITE_BUFFER: usize = 8 << 10;

/// A file being written, under a hidden name beside its final one. [`NewFile::commit`] gives
/// it its name; dropped without (an error), it is removed.
pub struct NewFile<'a> {
    out: &'a Output,
    path: PathBuf,
    /// `None` once committed.
    writer: Option<BufWriter<std::fs::File>>,
    /// The hidden file's name: removed when dropped, unless persisted (renamed).
    hidden: Option<TempPath>,
    bytes: u64,
}

impl<'a> NewFile<'a> {
    fn create(out: &'a Output, path: PathBuf) -> Result<NewFile<'a>> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let hidden = out.dir.join(unfinished::hidden_name(&name));
        let create = || -> std::io::Result<(std::fs::File, TempPath)> {
            let file = std::fs::File::options()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .open(&hidden)?;
            Ok((file, TempPath::try_from_path(&hidden)?))
        };
        let (file, hidden) = out
            .unfinished
            .create(&hidden, create)
            .map_err(|e| fail!("cannot create {}: {e}", path.display()))?;
        Ok(NewFile {
            out,
            path,
            // Small writes are gathered; a piece as large as the buffer (savetxt's 64 KiB of
            // text, an array's bytes) goes to the file as it is, never copied into the buffer.
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            hidden: Some(hidden),
            bytes: 0,
        })
    }

    /// Writes all of `bytes` (an error names the file).
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        Write::write_all(self, bytes)
            .map_err(|e| fail!("cannot write {}: {e}", self.path.display()))
    }

    /// The file is complete: it takes its final name (replacing what was there).
    pub fn commit(mut self) -> Result<()> {
        let path = &self.path;
        let (Some(writer), Some(hidden)) = (self.writer.take(), self.hidden.take()) else {
            return Err(fail!("{} was committed already", path.display()));
        };
        writer
            .into_inner()
            .map_err(|e| fail!("cannot write {}: {}", path.display(), e.error()))?;
        let hidden_path = hidden.to_path_buf();
        self.out
            .unfinished
            .finish(&hidden_path, || hidden.persist(path))
            .map_err(|e| fail!("cannot write {}: {}", path.display(), e.error))?;
        self.out.done_one(self.bytes);
        Ok(())
    }
}

impl Write for NewFile<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let writer = self
            .writer
            .as_mut()
            .ok_or(std::io::ErrorKind::NotConnected)?;
        let n = writer.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.as_mut().map_or(Ok(()), Write::flush)
    }
}

impl Drop for NewFile<'_> {
    fn drop(&mut self) {
        // Not committed: the hidden file goes (tempfile removes it when it is dropped).
        drop(self.writer.take());
        if let Some(hidden) = self.hidden.take() {
            let path = hidden.to_path_buf();
            self.out.unfinished.finish(&path, || drop(hidden));
        }
    }
}

/// The run's one file, which a library such as HDF5 creates at [`OneFile::path`]: a hidden
/// name until [`OneFile::commit`]; removed if dropped before.
pub struct OneFile<'a> {
    out: &'a Output,
    path: PathBuf,
    committed: bool,
}

impl OneFile<'_> {
    /// Where the library is to create the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of data the file must hold at least: every array of the run.
    pub fn data_bytes(&self) -> u64 {
        let grid = 8 * (self.out.args.size as u64).pow(2);
        (self.out.args.n_files as u64).saturating_mul(grid)
    }

    /// Fails, naming the file, unless its data bytes all reached the disk: a write that failed
    /// without saying so (as some MPI-IO layers do on a full disk) leaves a hole instead.
    pub fn check_on_disk(&self) -> Result<()> {
        let target = self.out.one_path();
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| fail!("cannot write {}: {e}", target.display()))?;
        let on_disk = meta.blocks().saturating_mul(512);
        if meta.len() < self.data_bytes() || on_disk < self.data_bytes() {
            return Err(fail!(
                "cannot write {}: only {on_disk} of its {} bytes of data reached the disk (is it full?)",
                target.display(),
                self.data_bytes()
            ));
        }
        Ok(())
    }

    /// `error`, met writing this file, naming it, and its full disk when the rest of the data
    /// no longer fits in what a user may write: HDF5 says neither ("file write failed").
    pub fn write_error(&self, error: impl std::fmt::Display) -> crate::Error {
        let target = self.out.one_path().display().to_string();
        let written = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        match rustix::fs::statvfs(&self.path).map(|s| s.f_bavail * s.f_frsize) {
            Ok(free) if free < self.data_bytes().saturating_sub(written) => {
                fail!("cannot write {target}: No space left on device ({free} bytes free): {error}")
            }
            _ => fail!("cannot write {target}: {error}"),
        }
    }

    /// The file is complete and closed: it takes its final name.
    pub fn commit(mut self) -> Result<()> {
        let target = self.out.one_path();
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| fail!("cannot write {}: {e}", target.display()))?;
        self.out
            .unfinished
            .finish(&self.path, || std::fs::rename(&self.path, &target))
            .map_err(|e| fail!("cannot write {}: {e}", target.display()))?;
        self.committed = true;
        self.out.done_one(meta.len());
        Ok(())
    }

    /// Forgets the file without touching it (every MPI rank but the one that renames it).
    pub fn leave(mut self) {
        self.out.unfinished.finish(&self.path, || ());
        self.committed = true;
    }
}

impl Drop for OneFile<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let path = self.path.clone();
            self.out.unfinished.finish(&path, || {
                let _ = std::fs::remove_file(&path);
            });
        }
    }
}

/// A progress bar of `n_files` on stderr, only if stderr is a terminal.
fn bar(n_files: usize) -> Option<indicatif::ProgressBar> {
    let target = indicatif::ProgressDrawTarget::stderr();
    if target.is_hidden() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(n_files as u64), target);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files, {eta} left")
    {
        bar.set_style(style);
    }
    Some(bar)
}
