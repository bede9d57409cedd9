//! A data file being written: what `Output::create` returns.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicU64, Ordering};

use super::temp::TempFile;
use crate::driver::progress::{Begun, Progress};
use crate::{Error, Result};

/// A file being written under a hidden temporary name; see the [module](self) docs.
///
/// [`PartialFile::write_all`] writes into it and, on failure, names the file, so that `?` in a
/// step reports it. It is also a `std::io::Write`, for whatever takes a writer (a `BufWriter`,
/// `numpy.savetxt`'s text); those errors are plain I/O errors.
#[derive(Debug)]
pub struct PartialFile<'a> {
    file: TempFile<'a>,
    path: PathBuf,
    file_id: usize,
    begun: Option<Begun>,
    /// The run's count of bytes written, and its progress, told at the commit.
    written: &'a AtomicU64,
    progress: &'a Progress,
}

impl<'a> PartialFile<'a> {
    pub(super) fn new(
        file: TempFile<'a>,
        path: PathBuf,
        (file_id, begun): (usize, Option<Begun>),
        written: &'a AtomicU64,
        progress: &'a Progress,
    ) -> Self {
        PartialFile {
            file,
            path,
            file_id,
            begun,
            written,
            progress,
        }
    }
}

impl PartialFile<'_> {
    /// Closes the file and renames it to its final name: from now on it is a complete output.
    /// (It replaces any file of that name, as `numpy.save` would.)
    pub fn commit(mut self) -> Result<()> {
        let bytes = self.file.commit().map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        self.written.fetch_add(bytes, Ordering::Relaxed);
        self.progress.finished(self.file_id, self.begun);
        Ok(())
    }
}

impl PartialFile<'_> {
    /// Writes all of `bytes`; a failure is [`Error::Write`], naming the file.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let path = &self.path;
        self.file
            .file()
            .and_then(|f| f.write_all(bytes))
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })
    }

    /// The file's final path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Write for PartialFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.file()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.file()?.flush()
    }
}
