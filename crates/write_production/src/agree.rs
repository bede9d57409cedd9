//! Every rank agreeing on every failure, with bounded patience.
//!
//! The ranks of an MPI job call the same collective operations in the same order. If one rank
//! fails and simply stops, the others wait for it in their next collective call — for ever,
//! until the job's time limit. So at each point where a rank could fail, every rank says how
//! its part went (one small all-reduce), and if any failed, every rank stops, the lowest
//! failing rank saying why in one line. `gridgen_mpi::agree` (the steps before this one) does
//! that much. Production adds what a long job on a shared cluster meets:
//!
//! - A failure agreed on stays what it was through later agreements: the line that says why is
//!   never lost on the way to the end of `main`.
//! - A rank that failed waits for the others at most [`PATIENCE`]. If they do not come (they
//!   are held inside a collective call of HDF5's that this rank left), it says its line, leaves
//!   word for rank 0 (so that rank 0, ended by the launcher next, adds no second line) and ends
//!   the whole job (`MPI_Abort`).
//! - The file is closed only if every rank wrote its part: after a failure, HDF5's collective
//!   close can wait for ever or crash (the ranks disagree on what to write), so the file is left
//!   unclosed, and removed.
//! - A failed run's ranks end together once each has said what it had to, without
//!   `MPI_Finalize` (it would wait for ranks that are gone, and run HDF5's exit handlers).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gridgen::{Error, Output, Result};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::signals;

/// How long a rank that failed waits for the others to learn of it.
pub use gridgen_mpi::PATIENCE;

/// A failure every rank has agreed on. The lowest failing rank's holds its line; the others
/// hold none.
#[derive(Debug)]
pub struct Agreed {
    report: Option<String>,
}

impl std::fmt::Display for Agreed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.report.as_deref().unwrap_or("another rank failed"))
    }
}

impl std::error::Error for Agreed {}

// ANCHOR: agree
/// Every rank passes its own outcome and learns whether every rank succeeded; if one failed,
/// every rank gets [`Agreed`]. A failure agreed on before passes through as it is.
pub fn agree<T>(world: &SimpleCommunicator, mine: Result<T>) -> Result<T> {
    let size = world.size();
    let fresh = mine
        .as_ref()
        .err()
        .filter(|e| e.downcast_ref::<Agreed>().is_none());
    // [any rank failed, size − the lowest rank with a new failure], both reduced with max.
    let me = [
        i32::from(mine.is_err()),
        fresh.map_or(0, |_| size - world.rank()),
    ];
    let all = max_of_all(world, me, fresh);
    if all[0] == 0 {
        return mine;
    }
    // The outcome is known on every rank: a signal from now on adds no line of its own.
    signals::told();
    let reporter = size - all[1];
    match mine {
        Err(e) if fresh.is_none() => Err(e),
        Err(e) if world.rank() == reporter => {
            let report = if size > 1 {
                format!("rank {reporter}: {e}")
            } else {
                e.to_string()
            };
            Err(Agreed {
                report: Some(report),
            }
            .into())
        }
        _ => Err(Agreed { report: None }.into()),
    }
}
// ANCHOR_END: agree

/// Every rank's `me`, reduced with max. A rank with a new failure (`failed`) waits at most
/// [`PATIENCE`], then gives up; the others wait as long as it takes (they may be slower, not
/// stuck), in the same non-blocking call: MPI never matches a blocking collective call with a
/// non-blocking one.
fn max_of_all(world: &SimpleCommunicator, me: [i32; 2], failed: Option<&Error>) -> [i32; 2] {
    let mut all = [0i32; 2];
    mpi::request::scope(|scope| {
        let max = SystemOperation::max();
        let mut request = world.immediate_all_reduce_into(scope, &me[..], &mut all[..], max);
        let Some(failure) = failed else {
            request.wait();
            return;
        };
        let start = Instant::now();
        loop {
            match request.test() {
                Ok(_) => return,
                Err(pending) if start.elapsed() < PATIENCE => {
                    request = pending;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => give_up(world, failure),
            }
        }
    });
    all
}

/// The others did not come within [`PATIENCE`]: they are held where this rank left them.
/// It says why (unless another rank gave up first and says it), takes the file away, leaves
/// word for rank 0, and ends the whole job, whatever the launcher does when one rank ends.
fn give_up(world: &SimpleCommunicator, failure: &Error) -> ! {
    let rank = world.rank();
    signals::say_once(|_| eprintln!("Error: rank {rank}: {failure}"));
    world.abort(1)
}

/// Closes the file if every rank wrote its part (`written`), else leaves it unclosed (its
/// removal follows); every rank learns whether the close worked. HDF5's close is collective:
/// it writes the metadata of every rank's changes. (`target`: the file's name, for the line.)
pub fn close(
    hf: hdf5::File,
    written: Result<()>,
    target: &Path,
    world: &SimpleCommunicator,
) -> Result<()> {
    match agree(world, written) {
        Ok(()) => agree(
            world,
            hf.close().map_err(|e| signals::cannot_write(target, e)),
        ),
        Err(e) => {
            // Never closed: after a failure HDF5's collective close can wait for ever.
            std::mem::forget(hf);
            Err(e)
        }
    }
}

// ANCHOR: finish
/// The end of `main`: every rank's outcome agreed on. A success is the plain steps' end (rank
/// 0 prints the summary of every rank's work). A failure is one line from the lowest failing
/// rank; then the ranks end together, with exit code 1, without MPI_Finalize.
pub fn finish(world: &SimpleCommunicator, written: Result<Output>) -> ExitCode {
    match agree(world, written) {
        Ok(out) => {
            let code = gridgen_mpi::finish(world, Ok(out));
            signals::told();
            code
        }
        Err(e) => {
            if let Some(report) = e.downcast_ref::<Agreed>().and_then(|a| a.report.as_ref()) {
                eprintln!("Error: {report}");
            }
            // No rank leaves before every rank has said what it had to: the launcher ends the
            // whole job as soon as one rank exits with an error.
            barrier_within(world, PATIENCE);
            signals::end_now(1)
        }
    }
}
// ANCHOR_END: finish

/// A barrier that waits at most `patience` (a rank may be gone).
fn barrier_within(world: &SimpleCommunicator, patience: Duration) {
    let start = Instant::now();
    let mut request = world.immediate_barrier();
    loop {
        match request.test() {
            Ok(_) => return,
            Err(pending) if start.elapsed() < patience => {
                request = pending;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(pending) => {
                // MPI still holds it; the process ends without completing it.
                std::mem::forget(pending);
                return;
            }
        }
    }
}
