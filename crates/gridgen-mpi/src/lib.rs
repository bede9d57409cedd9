//! `gridgen-mpi`: what the MPI steps add to gridgen. Every rank runs the same program; these
//! calls keep the ranks in step when one of them fails.
//!
//! - [`finish`]: the end of `main`. Every rank says whether its part succeeded; rank 0 prints
//!   the summary of all of them, or the first failing rank its one line, and every rank gets
//!   the same exit code.
//! - [`agree`]: the same agreement in the middle of a run, before the ranks go on to a
//!   collective call together (a collective write, the rename of a shared file).
//! - [`create_one_file`], [`close`] and [`commit`]: the one file that every rank writes
//!   (parallel HDF5), at one hidden name chosen by rank 0, closed by every rank together once
//!   all agree their writes succeeded, renamed by rank 0 once every rank has closed it.
//!
//! A rank whose part failed waits a few seconds ([`PATIENCE`]) for the others to agree; if they
//! cannot come (stuck in a collective call it left), it ends the whole job (`MPI_Abort`): an
//! error on any rank never leaves the job hanging.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use gridgen::{OneFile, Output, Result, Slice};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

pub use gridgen::split::array_split;

/// The rank that hands out work and reports.
pub const ROOT: i32 = 0;

/// How long a rank that failed waits for the others to learn of it before it ends the job.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A failure every rank has agreed on. The lowest failing rank holds its error, to report;
/// the others hold none.
#[derive(Debug)]
pub struct Failed {
    report: Option<(Option<i32>, String)>, // the rank, if the job has more than one
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.report {
            Some((Some(rank), error)) => write!(f, "rank {rank}: {error}"),
            Some((None, error)) => write!(f, "{error}"),
            None => f.write_str("another rank failed"),
        }
    }
}

impl std::error::Error for Failed {}

/// Every rank passes its own outcome and learns whether every rank succeeded. If one failed,
/// each rank gets [`Failed`] and goes no further with the others: the lowest failing rank's
/// holds its error, which [`finish`] prints.
pub fn agree<T>(world: &SimpleCommunicator, mine: Result<T>) -> Result<T> {
    let size = world.size();
    let failing = mine
        .as_ref()
        .err()
        .filter(|e| e.downcast_ref::<Failed>().is_none());
    // [any rank failed, size − the lowest failing rank], both reduced with max at once.
    let me = [
        i32::from(mine.is_err()),
        failing.map_or(0, |_| size - world.rank()),
    ];
    let mut all = [0i32; 2];
    mpi::request::scope(|scope| {
        let request =
            world.immediate_all_reduce_into(scope, &me[..], &mut all[..], SystemOperation::max());
        if mine.is_ok() {
            request.wait();
            return;
        }
        let start = Instant::now();
        let mut request = request;
        loop {
            match request.test() {
                Ok(_) => return,
                Err(pending) if start.elapsed() < PATIENCE => {
                    request = pending;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => {
                    // The others are stuck where this rank left them: end the whole job.
                    if let Err(e) = &mine {
                        eprintln!("Error: rank {}: {e}", world.rank());
                    }
                    world.abort(1)
                }
            }
        }
    });
    // All succeeded; or nothing new failed, and every rank holds the failure agreed on before,
    // its reporter keeping its report.
    if all[0] == 0 || (all[1] == 0 && mine.is_err()) {
        return mine;
    }
    let reporter = size - all[1];
    let report = match mine {
        Err(e) if world.rank() == reporter && e.downcast_ref::<Failed>().is_none() => {
            Some(((size > 1).then_some(reporter), e.to_string()))
        }
        _ => None,
    };
    Err(Failed { report }.into())
}

/// The end of an MPI step's `main`: every rank's outcome agreed on, then rank 0's summary of
/// the whole run (the bytes of all ranks, and the timeline of all ranks with `--trace`) or the
/// failing rank's one line. Every rank gets the same exit code.
pub fn finish(world: &SimpleCommunicator, written: Result<Output>) -> ExitCode {
    let agreed = match written {
        // A failure every rank agreed on mid-run: no rank makes one more agreement, so that a
        // rank that failed before that agreement (and came here from it) stays in step.
        Err(e) if e.downcast_ref::<Failed>().is_some() => Err(e),
        written => agree(world, written),
    };
    let out = match agreed {
        Ok(out) => out,
        Err(e) => {
            if let Some(failed) = e.downcast_ref::<Failed>().filter(|f| f.report.is_some()) {
                eprintln!("Error: {failed}");
            }
            // No rank ends before the report is printed: mpirun stops the whole job at the
            // first rank that ends with an error, and the line would be lost with it. Then rank
            // 0 ends first, so that mpirun's stop of the others makes it say nothing more.
            world.barrier();
            if world.rank() != ROOT {
                std::thread::sleep(Duration::from_secs(1));
            }
            end_without_finalizing()
        }
    };
    let mut summary = out.summary();
    let mut bytes = 0u64;
    world.all_reduce_into(&summary.bytes, &mut bytes, SystemOperation::sum());
    let mut seconds = 0f64;
    world.all_reduce_into(&summary.seconds, &mut seconds, SystemOperation::max());
    summary = gridgen::Summary::new(&summary.step, summary.n_files, summary.size, bytes, seconds);
    summary.ranks = Some(world.size() as usize);
    let slices = out.take_slices();
    let traced = slices.map(|s| gather_slices(world, &s, &summary.step));
    if world.rank() != ROOT {
        return ExitCode::SUCCESS;
    }
    match out.report(summary, traced.flatten().unwrap_or_default()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ends a failed rank at once. Not through `MPI_Finalize`: HDF5 closes the files still open
/// then, and a parallel file whose close failed crashes it (or waits for ranks that are gone).
fn end_without_finalizing() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // SAFETY: _exit ends the process; no Rust state is used after it.
    unsafe { libc::_exit(1) }
}

/// The run's one file, opened by every rank at the same hidden name, which rank 0 chooses.
pub fn create_one_file<'a>(out: &'a Output, world: &SimpleCommunicator) -> Result<OneFile<'a>> {
    agree(world, Ok(()))?;
    let mut name = [0u8; 512];
    if world.rank() == ROOT {
        let file = out.create_one_file()?;
        let chosen = file
            .path()
            .file_name()
            .unwrap_or_default()
            .as_encoded_bytes();
        name[..chosen.len()].copy_from_slice(chosen);
        file.leave();
    }
    world.process_at_rank(ROOT).broadcast_into(&mut name[..]);
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    let name = String::from_utf8_lossy(&name[..end]);
    out.one_file_named(&name)
}

/// Closes `file`, the library's handle of the shared `one` file, with `close` on every rank
/// together (closing is collective), once all agree their writes succeeded. If any failed, no
/// rank closes it: a failed rank's close takes another path through the library (HDF5 flushes
/// what it could not write), where the others would wait for it forever; the file stays open
/// until [`finish`] ends the process without closing anything. Errors name the file.
pub fn close<F, E>(
    world: &SimpleCommunicator,
    one: &OneFile<'_>,
    file: F,
    written: Result<()>,
    close: impl FnOnce(F) -> std::result::Result<(), E>,
) -> Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let written = written.map_err(|e| naming(e, one));
    match agree(world, written) {
        Ok(()) => close(file).map_err(|e| one.write_error(e)),
        Err(failed) => {
            std::mem::forget(file);
            Err(failed)
        }
    }
}

/// A rank's error writing the one file, naming it (inside a failure agreed on mid-run too).
fn naming(error: gridgen::Error, one: &OneFile<'_>) -> gridgen::Error {
    let Some(Failed { report }) = error.downcast_ref::<Failed>() else {
        return one.write_error(error);
    };
    let report = report
        .as_ref()
        .map(|(rank, e)| (*rank, one.write_error(e).to_string()));
    Failed { report }.into()
}

/// Every rank has closed the one file: rank 0 checks that its data reached the disk, then gives
/// it its final name. Every rank learns whether that worked.
pub fn commit(file: OneFile<'_>, world: &SimpleCommunicator) -> Result<()> {
    agree(world, Ok(()))?;
    let renamed = if world.rank() == ROOT {
        file.check_on_disk().and_then(|()| file.commit())
    } else {
        file.leave();
        Ok(())
    };
    agree(world, renamed)
}

/// Every rank's trace slices on rank 0, one process per rank; `None` on the other ranks.
fn gather_slices(
    world: &SimpleCommunicator,
    slices: &[Slice],
    step: &str,
) -> Option<Vec<(i32, String, Vec<Slice>)>> {
    let bytes = serde_json::to_vec(slices).unwrap_or_default();
    let root = world.process_at_rank(ROOT);
    let len = bytes.len() as mpi::Count;
    if world.rank() != ROOT {
        root.gather_into(&len);
        root.gather_varcount_into(&bytes[..]);
        return None;
    }
    let mut lens = vec![0 as mpi::Count; world.size() as usize];
    root.gather_into_root(&len, &mut lens[..]);
    let starts: Vec<mpi::Count> = lens
        .iter()
        .scan(0, |at, &l| Some(std::mem::replace(at, *at + l)))
        .collect();
    let mut all = vec![0u8; lens.iter().map(|&l| l as usize).sum()];
    let mut partition = PartitionMut::new(&mut all[..], &lens[..], &starts[..]);
    root.gather_varcount_into_root(&bytes[..], &mut partition);
    let processes = lens
        .iter()
        .zip(&starts)
        .enumerate()
        .map(|(rank, (&l, &s))| {
            let part = &all[s as usize..(s + l) as usize];
            let slices = serde_json::from_slice(part).unwrap_or_default();
            (rank as i32, format!("{step} rank {rank}"), slices)
        });
    Some(processes.collect())
}
