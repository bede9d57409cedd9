//! Files written all or nothing, as numpy.save's replacement must: into a hidden file beside
//! the final one, `.data00042.npy~<pid>~<host>~<random>` (the Rust steps' names, which the
//! next run into the folder clears if its process was killed), renamed once complete; and an
//! I/O error as the `OSError` Python expects.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use pyo3::exceptions::PyOSError;
use pyo3::PyErr;

/// Writes `parts` into a new hidden file beside `path`, and renames it to `path` once all is
/// written. What stood at `path` is replaced: of two runs writing one name, the last to finish
/// wins it whole, and nothing is deleted after the rename. On failure the hidden file is
/// removed and `path` is left as it was.
pub fn write_new(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let (mut file, hidden) = create_hidden(path)?;
    let written = parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| std::fs::rename(&hidden, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&hidden);
    }
    written
}

/// A new file at a hidden name beside `path`, created exclusively (a name already taken, by a
/// file or a symlink, is never opened: another is drawn).
fn create_hidden(path: &Path) -> io::Result<(File, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy();
    let (pid, host) = (std::process::id(), host());
    for _ in 0..16 {
        let random: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(6)
            .collect();
        let hidden = path.with_file_name(format!(".{name}~{pid}~{host}~{random}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&hidden)
        {
            Ok(file) => return Ok((file, hidden)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free hidden name beside it",
    ))
}

/// This machine's name, as the kernel has it (`~` separates the hidden names' parts).
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "unknown".to_owned(), |h| h.trim().replace('~', "-"))
}

/// An I/O error as Python's own: `OSError(errno, strerror, filename)`, which prints as
/// `[Errno 28] No space left on device: 'output/data00001.npy'`.
pub fn os_error(e: io::Error, path: &Path) -> PyErr {
    let text = e.to_string();
    let reason = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let errno = e.raw_os_error().unwrap_or(0);
    PyOSError::new_err((errno, reason, path.display().to_string()))
}
