//! `gridgen-h5`: the frame around the HDF5 steps' one file, `<dir>/<prefix>.h5`.
//!
//! The steps make every HDF5 call themselves — the lesson is the `hdf5` crate. What is here is
//! the frame around their file: [`create`] (or, for every rank of an MPI job, [`create_on`])
//! hands the step's own `hdf5::File` call a path in a private folder of the run's own
//! ([`library`]), and [`H5File::close`] closes the file with the step's own close call, checks
//! that its bytes arrived, and gives it its final name. Dropping an unclosed file (an error, a
//! panic) removes it.
//!
//! In parallel HDF5 closing is collective, so the ranks first agree that every one of them got
//! there without an error. If one did not, no rank closes the file: a collective close after a
//! failed write is where HDF5 hangs or crashes (ranks disagree on what to flush). The file is
//! removed, and the run ends without finalizing MPI or HDF5.
//!
//! It does not link HDF5 itself: the file is the step's (`H5File<hdf5::File>`), and so are the
//! calls that open and close it. So it is built once, whether a step's HDF5 is serial or
//! parallel (the `hdf5` crate's `mpio` feature).

pub mod library;

use std::fmt::Display;
use std::ops::Deref;
use std::path::Path;
use std::process::ExitCode;

use gridgen::driver::output::TempName;
use gridgen::{Output, Step, StepArgs, Team};
use library::{secret_name, LibraryFile};

/// What an HDF5 step's code can fail with: an error of any of the library's calls (`?` on an
/// `hdf5::Error`), or gridgen's own. It prints as gridgen's error does.
#[derive(Debug)]
pub struct Error(gridgen::Error);

/// Result with [`Error`]: what the HDF5 steps' functions return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `?` on any error: gridgen's own (say, another rank failed) and I/O errors stay what they are;
/// every other error is the library's, named `HDF5 error: <its message, cut to the reason>`.
/// (`Error` itself is not a `std::error::Error`, which is what lets this take every other.)
impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(e: E) -> Self {
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
        let boxed = match boxed.downcast::<gridgen::Error>() {
            Ok(own) => return Error(*own),
            Err(other) => other,
        };
        match boxed.downcast::<std::io::Error>() {
            Ok(io) => Error(gridgen::Error::from(*io)),
            Err(library) => Error(hdf5_error(&*library)),
        }
    }
}

impl From<Error> for gridgen::Error {
    fn from(e: Error) -> Self {
        e.0
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An error of an HDF5 call, as gridgen reports a library's errors.
fn hdf5_error(e: &dyn Display) -> gridgen::Error {
    gridgen::Error::Library {
        library: "HDF5",
        path: None,
        message: short_message(&e.to_string()),
    }
}

/// Another rank failed (and reports why): this one stops too.
fn other_rank_failed() -> Error {
    Error(gridgen::Error::OtherRankFailed)
}

/// Runs one HDF5 step in this process alone: gridgen's [`gridgen::run`], for a lesson whose
/// functions return this crate's [`Result`] (HDF5's errors and gridgen's in one type).
pub fn run<A: StepArgs>(
    step: &'static Step,
    body: impl FnOnce(&A, &Output) -> Result<()>,
) -> ExitCode {
    ExitCode::from(gridgen::run_with(
        step,
        &gridgen::Alone,
        |args: &A, out, _| body(args, out),
    ))
}

/// An HDF5 file being written: use it as the file `F` (`hdf5::File`) it derefs to, then
/// [`close`](H5File::close) it.
pub struct H5File<'a, F> {
    file: Option<F>,
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
pub fn create<'a, F, E: Display>(
    out: &'a Output,
    open: impl FnOnce(&Path) -> Result<F, E>,
) -> Result<H5File<'a, F>> {
    create_on(out, &gridgen::Alone, open)
}

/// Creates `<prefix>.h5` for every member of `team` together: rank 0 reserves the private
/// temporary path and tells the others, then `open` — the step's own collective `hdf5::File`
/// call with the MPI-IO driver — creates it on every rank.
pub fn create_on<'a, F, E: Display>(
    out: &'a Output,
    team: &'a dyn Team,
    open: impl FnOnce(&Path) -> Result<F, E>,
) -> Result<H5File<'a, F>> {
    let (partial, folder) = reserve_together(out, team)?;
    // Every rank opens the file by its path: each checks first that the path still leads into
    // rank 0's private folder, and no rank opens it unless all found it so.
    let checked = partial.check_path(folder);
    if !team.all(checked.is_ok()) {
        checked?;
        return Err(other_rank_failed());
    }
    let mut partial = partial;
    let opened = open(partial.path());
    // Creating is collective: either every rank has the file, or none goes on.
    if !team.all(opened.is_ok()) {
        opened.map_err(|e| Error(hdf5_error(&e)))?;
        return Err(other_rank_failed());
    }
    let file = opened.map_err(|e| Error(hdf5_error(&e)))?;
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
        return Err(other_rank_failed());
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
        let reserved = LibraryFile::reserve(out, &format!("{secret:016x}"));
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
            LibraryFile::adopt(out, name, &format!("{:016x}", told[3]))?
        }
        None => return Err(other_rank_failed()),
    };
    Ok((partial, (told[4], told[5])))
}

impl<F> H5File<'_, F> {
    /// Closes the file with `close`, the step's own call (`hdf5::File::close`: `hf.close()` in
    /// h5py), and renames it to its final name. In parallel HDF5 it is collective, and the file
    /// is kept only if every rank wrote all of its part.
    pub fn close<E: Display>(mut self, close: impl FnOnce(F) -> Result<(), E>) -> Result<()> {
        let file = self.file.take().expect("open until close");
        let partial = self.partial.take().expect("open until close");
        if !self.team.all(true) {
            self.abandon(file);
            return Err(other_rank_failed());
        }
        let closed = close(file);
        if !self.team.all(closed.is_ok()) {
            // Some rank's close failed: what HDF5 left behind cannot be trusted to finish.
            self.team.abandon();
            closed.map_err(|e| Error(hdf5_error(&e)))?;
            return Err(other_rank_failed());
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
    fn abandon(&self, file: F) {
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
        return Err(Error(gridgen::Error::Incomplete {
            path: partial.target(),
            why: format!(
                "{} of its {} bytes of data reached the disk, although every write reported success (a full disk?)",
                allocated.min(meta.len()),
                data_bytes
            ),
        }));
    }
    Ok(())
}

impl<F> Deref for H5File<'_, F> {
    type Target = F;
    fn deref(&self) -> &F {
        self.file.as_ref().expect("open until close")
    }
}

impl<F> Drop for H5File<'_, F> {
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
