//! Files written all or nothing, as numpy.save's replacement must: into a hidden file beside
//! the final one, renamed only once complete and only if it is still the file written; and an
//! I/O error as the `OSError` Python expects.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use pyo3::exceptions::PyOSError;
use pyo3::PyErr;

/// Writes `parts` into a new hidden file beside `path`, and renames it to `path` once all is
/// written. On failure the hidden file is removed and `path` is left as it was.
pub fn write_new(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let (mut file, temp) = create_hidden(path)?;
    let written = parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| rename_if_ours(&file, &temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Renames `temp` to `path` only if `temp` still names the file written through `file` — not a
/// symlink or another file that someone put in its place — and checks afterwards that `path`
/// names it (a swap in the instant between is undone).
fn rename_if_ours(file: &File, temp: &Path, path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ours = file.metadata()?;
    let is_ours = |p: &Path| {
        std::fs::symlink_metadata(p).is_ok_and(|m| {
            m.file_type().is_file() && (m.dev(), m.ino()) == (ours.dev(), ours.ino())
        })
    };
    let replaced = || {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "someone replaced the temporary file while it was written",
        )
    };
    if !is_ours(temp) {
        return Err(replaced());
    }
    std::fs::rename(temp, path)?;
    if !is_ours(path) {
        let _ = std::fs::remove_file(path);
        return Err(replaced());
    }
    Ok(())
}

/// `.<name>.<pid>-<k>.partial` beside `path`: the first such name not taken, created
/// exclusively (a file or a symlink already there is never opened, the next name is tried).
fn create_hidden(path: &Path) -> io::Result<(File, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy();
    for k in 0..64 {
        let temp = path.with_file_name(format!(".{name}.{}-{k}.partial", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name beside it",
    ))
}

/// An I/O error as Python's own: `OSError(errno, strerror, filename)`, which prints as
/// `[Errno 28] No space left on device: 'output/data00001.npy'`.
pub fn os_error(e: io::Error, path: &Path) -> PyErr {
    let text = e.to_string();
    let reason = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let errno = e.raw_os_error().unwrap_or(0);
    PyOSError::new_err((errno, reason, path.display().to_string()))
}
