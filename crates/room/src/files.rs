//! Files written whole or not at all: into a hidden temporary file beside the target, then
//! renamed over it. A verify stopped mid-write leaves the old file or the new one, never half.
//! (No fsync: what is guarded against is an interrupted verify, not a power cut, and a home
//! folder on a network file system can take a good part of a second for one.)

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` whole, creating its folder if needed.
pub fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::Builder::new()
        .prefix(".room-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
