//! The processes that run one step together: this process alone ([`Alone`]), or every rank of
//! an MPI job (`gridgen-mpi` provides that one). The driver asks the same few things of either —
//! agree on an outcome, add up a count, gather what each observed — so that the run is written
//! once, for both. A shared HDF5 file asks a few more (gridgen-h5).

use std::any::Any;

use gridgen_contract::Summary;

use crate::driver::args::Args;
use crate::guard::Process;
use crate::Result;

/// The processes running one step, or writing one file, together.
pub trait Team {
    /// This process's place among them (0: the one that names and renames the file, and
    /// speaks for them all). (Not `rank`: an MPI communicator has its own.)
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

    /// The max of every member's `mine`, on every member; `None` when a member that `failed`
    /// gave up waiting for the others ([`crate::guard::PATIENCE`]).
    fn max_of(&self, mine: [i32; 2], failed: bool) -> Option<[i32; 2]>;
    /// The sum of every member's `value`, on member 0; `None` on the others.
    fn sum(&self, value: u64) -> Option<u64>;
    /// Every member's `bytes`, in member order, on member 0; `None` on the others.
    fn gather(&self, bytes: &[u8]) -> Option<Vec<Vec<u8>>>;
    /// Waits until every member gets here.
    fn barrier(&self);

    /// How this process's guard should behave ([`crate::guard::start`]).
    fn process(&self) -> Process;
    /// The rank to name in a failure's line, when there are ranks to tell apart.
    fn named_rank(&self) -> Option<usize>;
    /// What only a team refuses, checked by each member alone before the driver's own checks
    /// (a launcher that started this process for another MPI, a count MPI cannot hold).
    fn refuses(&self, args: &Args) -> Result<()>;
    /// The checks the members make together, before anything is created: every member calls it
    /// (it may be collective), whatever its own checks said.
    fn check_together(&self, args: &Args, grids: u64, extra: u64) -> Result<()>;
    /// Memory the driver holds beside the grids for `n_files` files (a rank's file lists).
    fn frame_bytes(&self, n_files: usize) -> u64;
    /// A member's lesson panicked (the hook has said where): what happens to the run.
    fn panicked(&self, payload: Box<dyn Any + Send>) -> !;
    /// What the summary says of the team (`by 4 ranks`).
    fn annotate(&self, summary: &mut Summary);
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
    fn max_of(&self, mine: [i32; 2], _failed: bool) -> Option<[i32; 2]> {
        Some(mine)
    }
    fn sum(&self, value: u64) -> Option<u64> {
        Some(value)
    }
    fn gather(&self, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
        Some(vec![bytes.to_vec()])
    }
    fn barrier(&self) {}
    fn process(&self) -> Process {
        Process::Alone
    }
    fn named_rank(&self) -> Option<usize> {
        None
    }
    fn refuses(&self, _args: &Args) -> Result<()> {
        Ok(())
    }
    fn check_together(&self, _args: &Args, _grids: u64, _extra: u64) -> Result<()> {
        Ok(())
    }
    fn frame_bytes(&self, _n_files: usize) -> u64 {
        0
    }
    /// A panic ends the process as Rust's would (the hook has printed its line): its temporary
    /// files are removed as it unwinds.
    fn panicked(&self, payload: Box<dyn Any + Send>) -> ! {
        std::panic::resume_unwind(payload)
    }
    fn annotate(&self, _summary: &mut Summary) {}
}
