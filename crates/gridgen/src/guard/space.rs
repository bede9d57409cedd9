//! Refusing a run whose output cannot fit on its filesystem, before writing anything.

use std::path::{Path, PathBuf};

use steps::Format;

pub use super::refused::human;
use super::refused::Refused;

/// Bytes the caller may still write under `dir` (`statvfs`: blocks free to unprivileged users).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a valid C string and a buffer of the right type; statvfs fills it on success.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return None;
        }
        stat.assume_init()
    };
    (stat.f_bavail as u64).checked_mul(stat.f_frsize as u64)
}

/// The longest file name the filesystem of `dir` allows.
pub fn name_max(dir: &Path) -> usize {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return 255;
    };
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: as in free_bytes.
    unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return 255;
        }
        (stat.assume_init().f_namemax as usize).max(1)
    }
}

/// `dir` itself if it exists, else its nearest ancestor that does: where a folder about to be
/// created will live, and so which filesystem it will be on.
pub fn nearest_existing(dir: &Path) -> PathBuf {
    let mut at = dir.to_path_buf();
    loop {
        if at.exists() {
            return at;
        }
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
}

/// Checks that `needed` bytes fit in `dir`'s filesystem. A filesystem that cannot say is not
/// refused; neither is one that reports no blocks at all (some network filesystems do).
pub fn check_room(dir: &Path, needed: u64) -> Result<(), Refused> {
    match free_bytes(dir) {
        Some(available) if available > 0 && needed > available => Err(Refused::NoSpace {
            path: dir.to_owned(),
            needed,
            available,
        }),
        _ => Ok(()),
    }
}

/// Checks that a file of `largest` bytes is allowed by this process's file-size limit
/// (`ulimit -f`, `RLIMIT_FSIZE`). Refused up front because a write that crosses the limit fails
/// halfway — and inside a collective MPI-IO write, one rank's failure leaves the others waiting.
pub fn check_file_size_limit(largest: u64) -> Result<(), Refused> {
    match file_size_limit() {
        Some(limit) if largest > limit => Err(Refused::FileSizeLimit {
            limit,
            needed: largest,
        }),
        _ => Ok(()),
    }
}

/// This process's file-size limit in bytes, if it has one.
pub fn file_size_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } != 0 {
        return None;
    }
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The largest single file a run writes: one array's file, or the one HDF5 file.
pub fn largest_file(format: Format, n_files: usize, size: usize) -> u64 {
    if format.one_file() {
        bytes_for(format, n_files, size)
    } else {
        bytes_for(format, 1, size)
    }
}

/// What a run of `n_files` arrays of `size × size` writes in each format, in bytes: exact for
/// text (25 bytes a value: `d.{18 digits}e-XX` and a separator; tiny values take a digit more,
/// which the check may miss) and .npy (a 128-byte header), and for HDF5 the data plus about
/// 600 bytes of metadata a dataset (measured: 6 000 one-value datasets take 2.4 MB).
pub fn bytes_for(format: Format, n_files: usize, size: usize) -> u64 {
    let values = (size as u64).saturating_mul(size as u64);
    let per_file = match format {
        Format::Txt => values.saturating_mul(25),
        Format::Npy => values.saturating_mul(8).saturating_add(128),
        Format::H5 => values.saturating_mul(8).saturating_add(600),
    };
    per_file.saturating_mul(n_files as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_per_format() {
        assert_eq!(bytes_for(Format::Txt, 2, 10), 2 * 100 * 25);
        assert_eq!(bytes_for(Format::Npy, 3, 10), 3 * (800 + 128));
        assert_eq!(bytes_for(Format::Npy, usize::MAX, usize::MAX), u64::MAX);
        assert_eq!(human(3 << 20), "3.0 MiB");
    }

    #[test]
    fn the_largest_file_is_one_array_or_the_whole_hdf5_file() {
        assert_eq!(largest_file(Format::Npy, 1000, 10), 928);
        assert_eq!(largest_file(Format::H5, 10, 10), 10 * (800 + 600));
        assert!(check_file_size_limit(1).is_ok());
    }

    #[test]
    fn a_run_larger_than_the_disk_is_refused() {
        let here = std::env::temp_dir();
        assert!(check_room(&here, 1).is_ok());
        let err = check_room(&here, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("free"), "{err}");
        assert_eq!(
            crate::Error::from(err).exit_code(),
            1,
            "the machine refuses, not the arguments"
        );
        let missing = here.join("no/such/folder");
        assert_eq!(nearest_existing(&missing), here);
        assert!(name_max(&here) >= 14);
    }
}
