//! Where the steps write: file names, the text and .npy writers, and the rule that no file is
//! ever left half-written under its final name.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::Array2;

use crate::{text, trace, Error, Result};

/// The output folder and file-name prefix of one run, and what has been written to it so far.
/// Shared by reference between worker threads: the counters are atomic.
#[derive(Debug)]
pub struct Output {
    dir: PathBuf,
    prefix: String,
    bytes: AtomicU64,
    files: AtomicU64,
    /// A progress bar on stderr, drawn only when stderr is a terminal.
    progress: Option<indicatif::ProgressBar>,
}

impl Output {
    /// Creates the folder if it is missing.
    pub fn create(dir: &Path, prefix: &str) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Output {
            dir: dir.to_owned(),
            prefix: prefix.to_owned(),
            bytes: AtomicU64::new(0),
            files: AtomicU64::new(0),
            progress: None,
        })
    }

    /// `<dir>/<prefix><file_id:05>.<ext>`.
    pub fn path(&self, file_id: usize, ext: &str) -> PathBuf {
        self.dir.join(format!("{}{file_id:05}.{ext}", self.prefix))
    }

    /// `<dir>/<prefix>.<ext>`: the one file of the HDF5 steps.
    pub fn single_path(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.prefix))
    }

    /// The file-name prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Bytes written by this run so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Adds bytes written outside [`Output::write_file`] (the HDF5 file).
    pub fn count_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Arrays written by this process so far (files, or datasets of the HDF5 file).
    pub fn files_written(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// Counts one array written outside [`Output::write_file`] (an HDF5 dataset).
    pub fn count_file(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
    }

    /// Shows a progress bar of `n_files` on stderr — only on a terminal: piped, redirected or
    /// under test, nothing is drawn. (Not under MPI, where every rank shares one terminal.)
    pub fn show_progress(&mut self, n_files: usize) {
        let target = indicatif::ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(Some(n_files as u64), target);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files, {eta} left")
        {
            bar.set_style(style);
        }
        self.progress = Some(bar);
    }

    /// Removes the progress bar, if one is drawn, before the summary is printed.
    pub fn finish_progress(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }

    /// `numpy.savetxt` of `data` into `<prefix><file_id:05>.txt`.
    pub fn save_txt(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        // Buffered: savetxt hands over one row at a time.
        trace::writing(file_id, || {
            self.write_file(&self.path(file_id, "txt"), |file| {
                text::savetxt(BufWriter::with_capacity(1 << 16, file), data)
            })
        })
    }

    /// `numpy.save` of `data` into `<prefix><file_id:05>.npy`.
    pub fn save_npy(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        trace::writing(file_id, || {
            self.write_file(&self.path(file_id, "npy"), |file| write_npy(file, data))
        })
    }

    /// Writes `path` through `fill`, all or nothing: the bytes go to a hidden `.<name>.partial`
    /// beside it, which is renamed to `path` only once complete and removed on any failure.
    pub fn write_file(
        &self,
        path: &Path,
        fill: impl FnOnce(&mut File) -> io::Result<u64>,
    ) -> Result<()> {
        let bytes = write_atomically(path, fill).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })?;
        self.count_bytes(bytes);
        self.count_file();
        Ok(())
    }
}

/// The hidden name a file is written under until it is complete.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<u64>,
) -> io::Result<u64> {
    let partial = partial_path(path);
    let result = File::create(&partial)
        .and_then(|mut file| fill(&mut file))
        .and_then(|bytes| fs::rename(&partial, path).map(|()| bytes));
    if result.is_err() {
        let _ = fs::remove_file(&partial); // it may never have been created
    }
    result
}

/// The .npy format: npyz writes the header (`<f8`, C order, the shape), then the array's bytes
/// follow in one write.
pub fn write_npy<W: Write>(mut writer: W, data: &Array2<f64>) -> io::Result<u64> {
    let (rows, cols) = data.dim();
    let mut header = Vec::with_capacity(128);
    use npyz::WriterBuilder;
    npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(&[rows as u64, cols as u64])
        .writer(&mut header)
        .write_header_only()?;
    writer.write_all(&header)?;
    let data = data.as_standard_layout();
    let values = data
        .as_slice()
        .expect("a standard-layout array is one slice");
    if cfg!(target_endian = "little") {
        writer.write_all(bytemuck::cast_slice(values))?;
    } else {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        writer.write_all(&bytes)?;
    }
    Ok(header.len() as u64 + 8 * values.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_workshop() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create(dir.path(), "data").unwrap();
        assert_eq!(out.path(7, "npy"), dir.path().join("data00007.npy"));
        assert_eq!(out.path(123456, "txt"), dir.path().join("data123456.txt"));
        assert_eq!(out.single_path("h5"), dir.path().join("data.h5"));
        assert_eq!(
            partial_path(&dir.path().join("data00001.txt")),
            dir.path().join(".data00001.txt.partial")
        );
    }

    #[test]
    fn npy_round_trips_through_npyz() {
        let data = ndarray::array![[0.5, 0.25, 1e-300], [0.0, 0.125, 0.75]];
        let mut bytes = Vec::new();
        let written = write_npy(&mut bytes, &data).unwrap();
        assert_eq!(written, bytes.len() as u64);
        assert_eq!(
            bytes.len() % 64,
            48,
            "header padded to 64 bytes, then 6 values"
        );
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 3]);
        let values: Vec<f64> = npy.into_vec().unwrap();
        assert_eq!(values, data.iter().copied().collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create(dir.path(), "data").unwrap();
        let path = out.path(0, "txt");
        let err = out
            .write_file(&path, |file| {
                file.write_all(b"half of it")?;
                Err(io::Error::other("disk on fire"))
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot write {}: disk on fire", path.display())
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        assert_eq!(out.bytes_written(), 0);
    }

    #[test]
    fn a_target_that_is_a_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::create(dir.path(), "data").unwrap();
        fs::create_dir(out.path(0, "npy")).unwrap();
        let err = out.save_npy(0, &Array2::zeros((2, 2))).unwrap_err();
        assert!(err.to_string().contains("data00000.npy"), "{err}");
        assert!(!partial_path(&out.path(0, "npy")).exists());
    }
}
