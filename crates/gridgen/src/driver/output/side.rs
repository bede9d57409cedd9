//! Files beside the data — a profile, a timeline — written all or nothing like the data files,
//! under temporary names numbered apart from theirs.

use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::dirfd::Dir;
use super::name::TempName;
use super::temp::TempFile;
use crate::{Error, Result};

/// Writes `bytes` to `path` all or nothing, as the steps' data files are written: a profile or
/// a timeline is either complete under its name or not there.
pub fn write_all_or_nothing(path: &Path, bytes: &[u8]) -> Result<()> {
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
pub fn check_creatable(path: &Path) -> Result<()> {
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
