//! The processes that write one file together: this process alone, or every rank of an MPI job
//! (`gridgen-mpi` provides that one). What a shared file needs of them is small: agree, share
//! rank 0's choice of name, and know when a failure left the file unclosable.

use std::time::Duration;

/// How long a member that failed waits for the others to learn of it. Members busy with their
/// own files come when they are done or are ended with the job; a member that never comes is
/// held in a collective call of HDF5's that the failure left unfinished (a metadata write that
/// met `ulimit -f` on one rank), which only the launcher can end.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The processes writing one file together.
pub trait Team {
    /// This process's place among them (0: the one that names and renames the file). (Not
    /// `rank`: an MPI communicator has its own.)
    fn member(&self) -> usize;
    /// How many they are.
    fn members(&self) -> usize;
    /// True on every member if `mine` is true on every member (every member must call it).
    fn all(&self, mine: bool) -> bool;
    /// Rank 0's `values`, on every member.
    fn broadcast(&self, values: &mut [u64]);
    /// A file they shared was left unclosed after a failure: the process must end without the
    /// library's exit handlers, which would try to close it collectively (and hang).
    fn abandon(&self);
}

/// One process on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Alone;

impl Team for Alone {
    fn member(&self) -> usize {
        0
    }
    fn members(&self) -> usize {
        1
    }
    fn all(&self, mine: bool) -> bool {
        mine
    }
    fn broadcast(&self, _values: &mut [u64]) {}
    fn abandon(&self) {}
}
