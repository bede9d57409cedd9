//! The frame around the MPI steps (feature `mpi`): the same as [`crate::run`], with every rank
//! in mind.
//!
//! - Every rank parses the arguments; bad ones are reported once, by rank 0, and every rank
//!   exits with 2 before any collective starts (parsing gives the same answer on every rank).
//! - The set-up checks (memory, output folder) can differ between nodes, so their outcome is
//!   agreed on collectively; the lowest failing rank reports.
//! - During the run, a rank that fails stops its own work; at the end every rank learns whether
//!   any failed, the failing rank reports its error with its rank number, and all exit non-zero.
//!   No rank waits forever in a collective. A panic aborts the whole job (`MPI_Abort`).
//! - Rank 0 prints the summary, with the bytes of all ranks added up.

use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::args::{self, Step, StepArgs};
use crate::observe::{title, write_profile, write_trace, Observer, Seen};
use crate::profile::Profile;
use crate::run::{one_line_panics, prepare, print_summary, report, summarize};
use crate::trace::Slice;
use crate::{Error, Output, Result, Summary};
use mpi::datatype::PartitionMut;

/// The rank that distributes work and reports.
pub const ROOT: i32 = 0;

/// Runs one MPI step on every rank: `body` is the lesson, handed the parsed arguments, the
/// output folder and the world communicator.
pub fn run<A: StepArgs>(
    step: Step,
    body: impl FnOnce(&A, &Output, &SimpleCommunicator) -> Result<()>,
) -> ExitCode {
    one_line_panics(step.name);
    let Some(universe) = mpi::initialize() else {
        report(&format!("{}: MPI could not be initialised", step.name));
        return ExitCode::from(1);
    };
    let code = run_on_rank(step, &universe.world(), body);
    drop(universe); // MPI_Finalize, before the exit code is returned
    code
}

fn run_on_rank<A: StepArgs>(
    step: Step,
    world: &SimpleCommunicator,
    body: impl FnOnce(&A, &Output, &SimpleCommunicator) -> Result<()>,
) -> ExitCode {
    let rank = world.rank();
    let args: A = match args::parse(step, rank == ROOT) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            if rank == ROOT {
                report(&format!("{}: {message}", step.name));
            }
            return ExitCode::from(2);
        }
    };

    // MPI counts are C ints: refuse what a scatter could not describe, on every rank alike.
    if args.common().n_files > mpi::Count::MAX as usize {
        if rank == ROOT {
            report(&format!(
                "{}: --n-files {} is more than an MPI count can hold ({})",
                step.name,
                args.common().n_files,
                mpi::Count::MAX
            ));
        }
        return ExitCode::from(2);
    }

    let prepared = prepare(&args);
    let setup_failure = prepared.as_ref().err().map(|e| e.exit_code());
    let (code, reporter) = agree_on_failure(world, setup_failure, setup_failure.is_some());
    let out = match prepared {
        Ok(out) if code == 0 => out,
        other => {
            if let Err(e) = other {
                if reporter == rank {
                    report(&format!("{}: rank {rank}: {e}", step.name));
                }
            }
            return ExitCode::from(code);
        }
    };

    let observer = match Observer::start(args.common()) {
        Ok(observer) => observer,
        Err(e) => {
            // The same arguments on every rank: every rank fails here alike.
            if rank == ROOT {
                report(&format!("{}: {e}", step.name));
            }
            return ExitCode::from(e.exit_code());
        }
    };
    world.barrier();
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&args, &out, world)));
    let failure = match outcome {
        Ok(result) => result.err(),
        // The panic hook has printed it, and this rank's state is unknown: take the whole job
        // down at once.
        Err(_) => world.abort(1),
    };
    // Every rank gets here, failed or not, and learns whether any rank failed: no rank is left
    // waiting, and the one that hit the error reports it. (MPI_Abort would do as well, but
    // Open MPI 4.1's mpirun now and then hangs or crashes tearing down an aborted job.)
    let real_failure = failure
        .as_ref()
        .filter(|e| !matches!(e, Error::OtherRankFailed));
    let (code, reporter) = agree_on_failure(
        world,
        failure.as_ref().map(|e| e.exit_code()),
        real_failure.is_some(),
    );
    if code != 0 {
        if let Some(e) = real_failure.filter(|_| reporter == rank) {
            report(&format!("{}: rank {rank}: {e}", step.name));
        }
        return ExitCode::from(code);
    }
    if out.files_written() == 0 {
        report(&format!(
            "{}: rank {rank}: no files to write ({} files over {} ranks)",
            step.name,
            args.common().n_files,
            world.size()
        ));
    }

    let root = world.process_at_rank(ROOT);
    let bytes = out.bytes_written();
    let mut summary = None;
    if rank == ROOT {
        let mut total = 0u64;
        root.reduce_into_root(&bytes, &mut total, SystemOperation::sum());
        let mut s: Summary = summarize(step, &args, total, start);
        s.ranks = Some(world.size() as usize);
        summary = Some(s);
    } else {
        root.reduce_into(&bytes, SystemOperation::sum());
    }
    let observed = observer
        .finish()
        .and_then(|seen| write_observed(world, step, args.common(), seen, summary.as_mut()));
    if let Err(e) = observed {
        report(&format!("{}: rank {rank}: {e}", step.name));
        return ExitCode::from(e.exit_code());
    }
    if let Some(summary) = summary {
        print_summary(&summary, args.common().json);
    }
    ExitCode::SUCCESS
}

/// Profiles and timelines under MPI: every rank writes its own flamegraph (`PATH.rankNN.svg`),
/// and rank 0 gathers every rank's samples and slices into the merged flamegraph (each rank its
/// own root frame) and one timeline (one process per rank). The gathers come first and happen
/// on every rank alike (the flags are the same everywhere); only then are files written.
fn write_observed(
    world: &SimpleCommunicator,
    step: Step,
    args: &crate::Args,
    seen: Seen,
    summary: Option<&mut Summary>,
) -> Result<()> {
    let rank = world.rank();
    let folded = seen
        .profile
        .as_ref()
        .map(|p| p.folded())
        .unwrap_or_default();
    let all_folded = args
        .flamegraph
        .as_ref()
        .and_then(|_| gather_bytes(world, folded.as_bytes()));
    let slices = serde_json::to_vec(seen.slices.as_deref().unwrap_or_default()).unwrap_or_default();
    let all_slices = args
        .trace
        .as_ref()
        .and_then(|_| gather_bytes(world, &slices));

    if let (Some(profile), Some(svg)) = (&seen.profile, &args.flamegraph) {
        if profile.samples() >= crate::profile::MIN_SAMPLES {
            let title = format!(
                "{} rank {rank}  n={} size={}",
                step.name, args.n_files, args.size
            );
            profile.write(&crate::profile::rank_path(svg, rank), &title)?;
        }
    }
    let Some(summary) = summary else {
        return Ok(());
    };
    if let (Some(parts), Some(svg)) = (all_folded, &args.flamegraph) {
        let mut merged = Profile::default();
        for (r, part) in parts.iter().enumerate() {
            merged.merge(
                &Profile::parse_folded(&String::from_utf8_lossy(part)).under(&format!("rank {r}")),
            );
        }
        summary.samples = Some(merged.samples());
        if write_profile(&merged, svg, &title(summary), step.name, seen.seconds)? {
            summary.flamegraph = Some(svg.display().to_string());
        }
    }
    if let (Some(parts), Some(path)) = (all_slices, &args.trace) {
        let processes: Vec<(i32, String, Vec<Slice>)> = parts
            .iter()
            .enumerate()
            .map(|(r, part)| {
                (
                    r as i32,
                    format!("{} rank {r}", step.name),
                    serde_json::from_slice(part).unwrap_or_default(),
                )
            })
            .collect();
        write_trace(path, &processes)?;
        summary.trace = Some(path.display().to_string());
    }
    Ok(())
}

/// Gathers every rank's bytes on rank 0 (in rank order); `None` on the other ranks.
fn gather_bytes(world: &SimpleCommunicator, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let root = world.process_at_rank(ROOT);
    let len = bytes.len() as mpi::Count;
    if world.rank() != ROOT {
        root.gather_into(&len);
        root.gather_varcount_into(bytes);
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
    root.gather_varcount_into_root(bytes, &mut partition);
    Some(
        lens.iter()
            .zip(&starts)
            .map(|(&l, &s)| all[s as usize..(s + l) as usize].to_vec())
            .collect(),
    )
}

/// Every rank learns the worst exit code (0: all fine) and the lowest rank whose failure is
/// worth reporting (`reportable`), which is the one to report it.
fn agree_on_failure(
    world: &SimpleCommunicator,
    failure: Option<u8>,
    reportable: bool,
) -> (u8, i32) {
    let mine = failure.map_or(0, i32::from);
    let mut worst = 0;
    world.all_reduce_into(&mine, &mut worst, SystemOperation::max());
    let me = if reportable {
        world.rank()
    } else {
        world.size()
    };
    let mut first = 0;
    world.all_reduce_into(&me, &mut first, SystemOperation::min());
    (worst as u8, first)
}

/// Splits the file indices `0..n_files` into `parts` contiguous chunks like
/// `numpy.array_split`: sizes differ by at most one, the larger chunks first. Some chunks are
/// empty when there are more parts than files.
pub fn array_split(n_files: usize, parts: usize) -> Vec<Range<usize>> {
    let (base, extra) = (n_files / parts, n_files % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let len = base + usize::from(p < extra);
            start += len;
            start - len..start
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::array_split;

    #[test]
    fn chunks_are_sized_like_numpy_array_split() {
        assert_eq!(array_split(10, 3), vec![0..4, 4..7, 7..10]);
        assert_eq!(array_split(12, 4), vec![0..3, 3..6, 6..9, 9..12]);
        assert_eq!(array_split(3, 5), vec![0..1, 1..2, 2..3, 3..3, 3..3]);
        assert_eq!(array_split(7, 1), vec![0..7]);
        for (n, parts) in [(1, 1), (7, 3), (100, 7), (5, 64)] {
            let chunks = array_split(n, parts);
            assert_eq!(chunks.len(), parts);
            assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), n);
            assert!(chunks
                .windows(2)
                .all(|w| w[0].end == w[1].start && w[0].len() >= w[1].len()));
            assert!(chunks[0].len() - chunks[parts - 1].len() <= 1);
        }
    }
}
