//! `gridgen-h5`: the frame around the HDF5 steps' one file, `<dir>/<prefix>.h5`.
//!
//! The steps make every HDF5 call themselves — the lesson is the `hdf5` crate. What is here is
//! the frame around their file: [`create`] (or, for every rank of an MPI job, [`create_on`])
//! hands the step's own `hdf5::File` call a path in a private folder of the run's own, and
//! [`H5File::close`] closes the file, checks that its bytes arrived, and gives it its final
//! name. Dropping an unclosed file (an error, a panic) removes it.
//!
//! In parallel HDF5 closing is collective, so the ranks first agree that every one of them got
//! there without an error. If one did not, no rank closes the file: a collective close after a
//! failed write is where HDF5 hangs or crashes (ranks disagree on what to flush). The file is
//! removed, and the run ends without finalizing MPI or HDF5.

use std::ops::Deref;
use std::path::Path;

use gridgen::frame::{secret_name, LibraryFile, TempName};
use gridgen::{Output, Team};

/// What an HDF5 step's code can fail with: HDF5's errors, and gridgen's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Hdf5(#[from] hdf5::Error),
    #[error("{0}")]
    Run(#[from] gridgen::Error),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Run(e.into())
    }
}

/// Result with [`Error`]: what the HDF5 steps' functions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for gridgen::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Hdf5(e) => gridgen::Error::Library {
                library: "HDF5",
                path: None,
                message: short_message(&e.to_string()),
            },
            Error::Run(e) => e,
        }
    }
}

/// An HDF5 file being written: use it as the [`hdf5::File`] it derefs to, then
/// [`close`](H5File::close) it.
pub struct H5File<'a> {
    file: Option<hdf5::File>,
    partial: Option<LibraryFile<'a>>,
    team: &'a dyn Team,
    /// Bytes of data the closed file must hold at least: every rank's arrays.
    data_bytes: u64,
    /// Its disk space was taken up front ([`LibraryFile::take_space`]): the holes a failed
    /// write leaves cannot be seen from the space the file takes.
    space_taken: bool,
}

/// Creates `<prefix>.h5` under its private temporary path: `open` is the step's own call that
/// creates the HDF5 file there (`hdf5::File::create_excl`).
pub fn create<'a>(
    out: &'a Output,
    open: impl FnOnce(&Path) -> hdf5::Result<hdf5::File>,
) -> Result<H5File<'a>> {
    create_on(out, &gridgen::Alone, open)
}

/// Creates `<prefix>.h5` for every member of `team` together: rank 0 reserves the private
/// temporary path and tells the others, then `open` — the step's own collective `hdf5::File`
/// call with the MPI-IO driver — creates it on every rank.
pub fn create_on<'a>(
    out: &'a Output,
    team: &'a dyn Team,
    open: impl FnOnce(&Path) -> hdf5::Result<hdf5::File>,
) -> Result<H5File<'a>> {
    let (partial, folder) = reserve_together(out, team)?;
    // Every rank opens the file by its path: each checks first that the path still leads into
    // rank 0's private folder, and no rank opens it unless all found it so.
    let checked = partial.check_path(folder);
    if !team.all(checked.is_ok()) {
        checked?;
        return Err(gridgen::Error::OtherRankFailed.into());
    }
    let mut partial = partial;
    let opened = open(partial.path());
    // Creating is collective: either every rank has the file, or none goes on.
    if !team.all(opened.is_ok()) {
        opened?;
        return Err(gridgen::Error::OtherRankFailed.into());
    }
    let file = opened?;
    // The disk space the file will take, taken now by rank 0: a write or a metadata flush that
    // meets a full disk on one rank only would leave the others waiting.
    let taken = if team.member() == 0 {
        partial
            .take_space(out.single_file_bound())
            .map_err(|source| gridgen::Error::Write {
                path: partial.target(),
                source,
            })
    } else {
        Ok(true)
    };
    let mut h5 = H5File {
        file: Some(file),
        partial: Some(partial),
        team,
        data_bytes: out.data_bytes(),
        space_taken: false,
    };
    if !team.all(taken.is_ok()) {
        taken?;
        return Err(gridgen::Error::OtherRankFailed.into());
    }
    h5.space_taken = taken?;
    Ok(h5)
}

/// Rank 0 reserves the private temporary file and broadcasts its name, secret and folder
/// identity; the others adopt the same file. Returns it and the folder's (device, inode).
fn reserve_together<'a>(out: &'a Output, team: &dyn Team) -> Result<(LibraryFile<'a>, (u64, u64))> {
    // [reserved, pid, n, secret, device, inode]: rank 0's choice, for everyone.
    let mut told = [0u64; 6];
    let mut mine = None;
    if team.member() == 0 {
        let secret = u64::from_str_radix(&secret_name(), 16).unwrap_or(0);
        let reserved = out.reserve_library_file(&format!("{secret:016x}"));
        if let Ok(file) = &reserved {
            let name = file.name();
            let (dev, ino) = file.folder_identity().unwrap_or_default();
            told = [1, u64::from(name.pid), name.n, secret, dev, ino];
        }
        mine = Some(reserved);
    }
    team.broadcast(&mut told);
    let partial = match mine {
        Some(reserved) => reserved?,
        None if told[0] == 1 => {
            let name = TempName {
                pid: told[1] as u32,
                n: told[2],
            };
            out.adopt_library_file(name, &format!("{:016x}", told[3]))?
        }
        None => return Err(gridgen::Error::OtherRankFailed.into()),
    };
    Ok((partial, (told[4], told[5])))
}

impl H5File<'_> {
    /// Closes the file (`hf.close()` in h5py) and renames it to its final name. In parallel HDF5
    /// it is collective, and the file is kept only if every rank wrote all of its part.
    pub fn close(mut self) -> Result<()> {
        let file = self.file.take().expect("open until close");
        let partial = self.partial.take().expect("open until close");
        if !self.team.all(true) {
            self.abandon(file);
            return Err(gridgen::Error::OtherRankFailed.into());
        }
        let closed = file.close();
        if !self.team.all(closed.is_ok()) {
            // Some rank's close failed: what HDF5 left behind cannot be trusted to finish.
            self.team.abandon();
            closed?;
            return Err(gridgen::Error::OtherRankFailed.into());
        }
        if self.team.member() != 0 {
            partial.release();
            return Ok(());
        }
        // The bytes must have arrived, although every call said they did (see check_allocated);
        // where the space was taken up front, no write could meet a full disk to begin with.
        if !self.space_taken {
            check_allocated(&partial, self.data_bytes)?;
        }
        partial.commit()?;
        Ok(())
    }

    /// Gives up on an unfinished file. One process closes it (nobody else is involved); in
    /// parallel HDF5 the handle is left unclosed, as closing it is collective and unsafe now.
    fn abandon(&self, file: hdf5::File) {
        if self.team.members() > 1 {
            std::mem::forget(file);
            self.team.abandon();
        } else {
            drop(file);
        }
    }
}

/// The file's filesystem must have given it room for every byte of data: a write that failed
/// without the library noticing leaves a hole, which takes no room.
fn check_allocated(partial: &LibraryFile, data_bytes: u64) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if data_bytes == 0 {
        return Ok(());
    }
    let meta = partial
        .open_for_check()
        .and_then(|f| f.metadata())
        .map_err(|source| gridgen::Error::Write {
            path: partial.target(),
            source,
        })?;
    let allocated = meta.blocks().saturating_mul(512);
    if meta.len() < data_bytes || allocated < data_bytes {
        return Err(gridgen::Error::Incomplete {
            path: partial.target(),
            why: format!(
                "{} of its {} bytes of data reached the disk, although every write reported success (a full disk?)",
                allocated.min(meta.len()),
                data_bytes
            ),
        }
        .into());
    }
    Ok(())
}

impl Deref for H5File<'_> {
    type Target = hdf5::File;
    fn deref(&self) -> &hdf5::File {
        self.file.as_ref().expect("open until close")
    }
}

impl Drop for H5File<'_> {
    /// Not closed: the step failed on its way. Tell the other ranks, and remove the file (the
    /// temporary file's own drop does that).
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = self.team.all(false);
            self.abandon(file);
        }
    }
}

/// HDF5's low-level messages run to a line of diagnostics (time, descriptor, buffer address);
/// keep what a learner can act on: the failed call and the system's reason.
pub fn short_message(message: &str) -> String {
    let message = message.replace('\n', " ");
    match message.split_once(": time = ") {
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
    }
}

#[cfg(test)]
mod tests {
    use super::short_message;

    #[test]
    fn low_level_diagnostics_are_cut_to_the_reason() {
        let raw = "H5Dwrite(): can't write data: file write failed: time = Wed Nov 25 2026 , \
                   filename = 'x.h5', file descriptor = 3, errno = 27, error message = 'File too large', \
                   buf = 0x7f, total write size = 256512";
        assert_eq!(
            short_message(raw),
            "H5Dwrite(): can't write data: file write failed: File too large"
        );
        assert_eq!(short_message("unable to open file"), "unable to open file");
    }
}
