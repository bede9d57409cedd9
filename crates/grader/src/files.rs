//! The grader's own files, each all or nothing: written under a hidden name beside the final
//! one and renamed only once complete, so that a full disk or a Ctrl-C never leaves a
//! `Cargo.lock` cut mid-line or a `.grade.json` half written.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` as `path`, whole or not at all (what stood there before stays on failure).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?
        .to_string_lossy();
    let hidden = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = File::create(&hidden)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&hidden, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&hidden);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Copies `from` to `to`, whole or not at all.
pub fn copy_whole(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_whole(to, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_hidden_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.lock");
        fs::write(&path, "old\n").unwrap();
        write_whole(&path, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A folder in the way of the rename: the old file is untouched, nothing left beside.
        let blocked = dir.path().join("sub");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), "").unwrap();
        assert!(write_whole(&blocked, b"data").is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
