//! The one-file output of the HDF5 steps (feature `hdf5`): `<dir>/<prefix>.h5`, written under
//! a hidden temporary name and renamed only once complete and closed.
//!
//! The steps make every HDF5 call themselves — the lesson is the `hdf5` crate. What is here is
//! the frame around their file: [`Output::create_h5`] hands the step's own `hdf5::File` call the
//! temporary path, and [`H5Output::close`] closes the file and gives it its final name. Dropping
//! an unclosed file (an error, a panic) removes it.
//!
//! In parallel HDF5 (feature `mpio`, [`crate::mpi::create_h5`]) closing is collective, so the
//! ranks first agree that every one of them got there without an error. If one did not, no
//! rank closes the file: a collective close after a failed write is where HDF5 hangs or crashes
//! (ranks disagree on what to flush). The file is removed, and the run ends without finalizing
//! MPI or HDF5 (see [`crate::mpi`]).

use std::ops::Deref;
use std::path::Path;

use crate::output::PartialFile;
use crate::{Error, Output, Result};

/// An HDF5 file being written: use it as the [`hdf5::File`] it derefs to, then
/// [`close`](H5Output::close) it.
pub struct H5Output<'a> {
    file: Option<hdf5::File>,
    partial: Option<PartialFile<'a>>,
    /// The ranks writing this file together, in parallel HDF5.
    #[cfg(feature = "mpio")]
    pub(crate) comm: Option<&'a mpi::topology::SimpleCommunicator>,
}

impl Output {
    /// Creates `<prefix>.h5` under its temporary name: `open` is the step's own call that
    /// creates the HDF5 file at the path it is given (`hdf5::File::create`).
    pub fn create_h5(
        &self,
        open: impl FnOnce(&Path) -> hdf5::Result<hdf5::File>,
    ) -> Result<H5Output<'_>> {
        let mut partial = self.create_single("h5")?;
        // HDF5 opens the file itself; the exclusive creation above made sure the name is ours.
        partial.close_handle();
        let file = open(partial.path())?;
        Ok(H5Output::new(file, partial))
    }
}

impl<'a> H5Output<'a> {
    pub(crate) fn new(file: hdf5::File, partial: PartialFile<'a>) -> Self {
        H5Output {
            file: Some(file),
            partial: Some(partial),
            #[cfg(feature = "mpio")]
            comm: None,
        }
    }

    /// Closes the file (`hf.close()` in h5py) and renames it to its final name. In parallel
    /// HDF5 it is collective, and the file is kept only if every rank wrote all of its part.
    pub fn close(mut self) -> Result<()> {
        // The last dataset this thread wrote is finished.
        crate::progress::finish_thread();
        let file = self.file.take().expect("open until close");
        let partial = self.partial.take().expect("open until close");
        if !self.all_ranks_agree(true) {
            self.abandon(file);
            return Err(Error::OtherRankFailed);
        }
        let closed = file.close().map_err(Error::from);
        if !self.all_ranks_agree(closed.is_ok()) {
            // Some rank's close failed: what HDF5 left behind cannot be trusted to finish.
            self.skip_cleanup_at_exit();
            closed?;
            return Err(Error::OtherRankFailed);
        }
        if self.is_root() {
            partial.commit()
        } else {
            partial.release();
            Ok(())
        }
    }

    /// True if `mine` holds on every rank writing this file (just `mine` without MPI).
    fn all_ranks_agree(&self, mine: bool) -> bool {
        #[cfg(feature = "mpio")]
        if let Some(comm) = self.comm {
            return crate::mpi::all_true(comm, mine);
        }
        mine
    }

    fn is_root(&self) -> bool {
        #[cfg(feature = "mpio")]
        if let Some(comm) = self.comm {
            use mpi::topology::Communicator;
            return comm.rank() == crate::mpi::ROOT;
        }
        true
    }

    /// Gives up on an unfinished file. One process closes it (nobody else is involved); in
    /// parallel HDF5 the handle is left unclosed, as closing it is collective and unsafe now.
    fn abandon(&self, file: hdf5::File) {
        #[cfg(feature = "mpio")]
        if self.comm.is_some() {
            std::mem::forget(file);
            self.skip_cleanup_at_exit();
            return;
        }
        drop(file);
    }

    fn skip_cleanup_at_exit(&self) {
        #[cfg(feature = "mpio")]
        if self.comm.is_some() {
            crate::mpi::skip_finalize();
        }
    }
}

impl Deref for H5Output<'_> {
    type Target = hdf5::File;
    fn deref(&self) -> &hdf5::File {
        self.file.as_ref().expect("open until close")
    }
}

impl Drop for H5Output<'_> {
    /// Not closed: the step failed on its way. Tell the other ranks, and remove the file (the
    /// temporary file's own drop does that).
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = self.all_ranks_agree(false);
            self.abandon(file);
        }
    }
}

/// HDF5's low-level messages run to a line of diagnostics (time, descriptor, buffer address);
/// keep what a learner can act on: the failed call and the system's reason. HDF5 1.10 says only
/// "unknown library error" when its error stack is empty, as after a failed flush on a full
/// disk or at a file-size limit: then say which of the two the file `partial` (where its bytes
/// are) has run into.
pub(crate) fn short_message(message: &str, partial: &Path) -> String {
    let message = message.replace('\n', " ");
    let short = match message.split_once(": time = ") {
        None => message,
        Some((call, details)) => {
            let reason = details
                .split_once("error message = '")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map(|(reason, _)| reason);
            match reason {
                Some(reason) => format!("{call}: {reason}"),
                None => call.to_owned(),
            }
        }
    };
    if short.contains("unknown library error") {
        let size = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
        if let Some(limit) = crate::space::file_size_limit().filter(|&l| size + (1 << 16) > l) {
            return format!(
                "{short}: File too large (the file is {}, the file-size limit (ulimit -f) {})",
                crate::space::human(size),
                crate::space::human(limit)
            );
        }
        if let Some(free) = partial.parent().and_then(crate::space::free_bytes) {
            return format!(
                "{short} (its folder has {} free)",
                crate::space::human(free)
            );
        }
    }
    short
}

#[cfg(test)]
mod tests {
    use super::short_message;
    use std::path::Path;

    #[test]
    fn low_level_diagnostics_are_cut_to_the_reason() {
        let raw = "H5Dwrite(): can't write data: file write failed: time = Wed Nov 25 2026 , \
                   filename = 'x.h5', file descriptor = 3, errno = 27, error message = 'File too large', \
                   buf = 0x7f, total write size = 256512";
        let path = Path::new("/nonexistent/x.h5");
        assert_eq!(
            short_message(raw, path),
            "H5Dwrite(): can't write data: file write failed: File too large"
        );
        assert_eq!(
            short_message("unable to open file", path),
            "unable to open file"
        );
        let here = std::env::temp_dir().join("x.h5");
        let unknown = short_message("unknown library error", &here);
        assert!(
            unknown.starts_with("unknown library error (its folder has "),
            "{unknown}"
        );
    }
}
