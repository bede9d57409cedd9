//! A temporary file of the run's own: created exclusively, under a name no other run uses
//! ([`super::name`]), through its folder's descriptor (a symlink at that name is never
//! followed), registered with the guard from before it exists, and renamed into place only if
//! the name still holds it.

use std::fs::File;
use std::io;

use super::dirfd::{self, Dir, Identity};
use super::name::{TempName, NAME_TRIES};
use crate::guard::{self, guarded, Registered};

/// A new temporary file of ours in a folder, written through its descriptor and renamed into
/// place only if the name still holds it.
#[derive(Debug)]
pub struct TempFile<'d> {
    folder: &'d Dir,
    target: String,
    temp: String,
    file: Option<File>,
    identity: Identity,
    _registered: Registered,
    done: bool,
}

impl<'d> TempFile<'d> {
    /// Creates a temporary file for `target` in `folder`, skipping names already taken.
    pub fn create(
        folder: &'d Dir,
        target: &str,
        mut next: impl FnMut() -> TempName,
    ) -> io::Result<Self> {
        let mut last = None;
        for _ in 0..NAME_TRIES {
            let temp = next().for_name(target);
            if temp.len() > folder.name_max() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("its temporary name {temp:?} is longer than the filesystem allows"),
                ));
            }
            let registered = guard::register(folder.raw(), &temp)?;
            match guarded(|| folder.create_new(&temp)) {
                Ok(file) => {
                    let identity = dirfd::identity(&file)?;
                    return Ok(TempFile {
                        folder,
                        target: target.to_owned(),
                        temp,
                        file: Some(file),
                        identity,
                        _registered: registered,
                        done: false,
                    });
                }
                // Someone's file (or a symlink) holds that name: never touch it, try the next.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    pub fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("the file is already closed"))
    }

    /// Closes the file, checks the temporary name still holds it, and renames it into place.
    /// Returns its size.
    pub fn commit(&mut self) -> io::Result<u64> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("closed twice"))?;
        let bytes = file.metadata()?.len();
        drop(file);
        rename_checked(
            self.folder,
            &self.temp,
            self.identity,
            self.folder,
            &self.target,
        )?;
        self.done = true;
        Ok(bytes)
    }
}

impl Drop for TempFile<'_> {
    /// Not committed: an error or a panic came first. The file is incomplete; remove it.
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.done {
            let _ = guarded(|| self.folder.remove(&self.temp));
        }
    }
}

/// Renames `from` (in `src`) to `to` (in `dst`) if, and only if, `from` still names the file
/// `identity` — not a symlink or another file someone put in its place — and checks afterwards
/// that `to` names it: a swap in the instant between the check and the rename is undone.
pub fn rename_checked(
    src: &Dir,
    from: &str,
    identity: Identity,
    dst: &Dir,
    to: &str,
) -> io::Result<()> {
    let replaced = || {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "someone replaced the temporary file while it was written (another user of the folder?)",
        )
    };
    match src.identity_of(from)? {
        Some((id, true)) if id == identity => {}
        _ => return Err(replaced()),
    }
    guarded(|| src.rename(from, dst, to))?;
    match dst.identity_of(to)? {
        Some((id, true)) if id == identity => Ok(()),
        _ => {
            // What we renamed was not ours: take it away again rather than leave it there.
            let _ = guarded(|| dst.remove(to));
            Err(replaced())
        }
    }
}
