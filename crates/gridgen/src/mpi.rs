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
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::args::{self, Step, StepArgs};
use crate::observe::{title, write_profile, write_trace, Observer, Seen};
use crate::profile::Profile;
use crate::report::{self, Summary};
use crate::run::{prepare, summarize};
use crate::trace::Slice;
use crate::{progress, signals, Error, Output, Result};
use mpi::datatype::PartitionMut;

/// The rank that distributes work and reports.
pub const ROOT: i32 = 0;

/// Set when a parallel HDF5 file was left unclosed after a failure: finalizing MPI (and
/// HDF5's exit handler) would try to close it collectively, which hangs or crashes then.
static SKIP_FINALIZE: AtomicBool = AtomicBool::new(false);

pub(crate) fn skip_finalize() {
    SKIP_FINALIZE.store(true, Ordering::Relaxed);
}

/// Runs one MPI step on every rank: `body` is the lesson, handed the parsed arguments, the
/// output folder and the world communicator. (It is the frame's `mpi::initialize()` and
/// `universe.world()`; a step that wants them in its own code calls [`run_in`].)
pub fn run<A: StepArgs>(
    step: Step,
    body: impl FnOnce(&A, &Output, &SimpleCommunicator) -> Result<()>,
) -> ExitCode {
    report::one_line_panics(step.name);
    let Some(universe) = mpi::initialize() else {
        report::line(&format!("{}: MPI could not be initialised", step.name));
        return ExitCode::from(1);
    };
    run_in(step, &universe.world(), body)
}

/// Runs one MPI step on every rank of `world`, which the step's own `main` set up with
/// `mpi::initialize()`. Returns the exit code for `main` to return once MPI is finalized (the
/// universe dropped). After a failure that left a parallel file unclosed it does not return:
/// the process exits at once, without finalizing (see [`crate::h5`]).
pub fn run_in<A: StepArgs>(
    step: Step,
    world: &SimpleCommunicator,
    body: impl FnOnce(&A, &Output, &SimpleCommunicator) -> Result<()>,
) -> ExitCode {
    report::one_line_panics(step.name);
    let code = run_on_rank(step, world, body);
    if SKIP_FINALIZE.load(Ordering::Relaxed) {
        use std::io::Write;
        // No rank leaves before every one has said what it had to: mpirun ends the whole job
        // as soon as one rank exits with an error.
        world.barrier();
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once: no MPI_Finalize, no HDF5 exit handler.
        unsafe { libc::_exit(code) }
    }
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run_on_rank<A: StepArgs>(
    step: Step,
    world: &SimpleCommunicator,
    body: impl FnOnce(&A, &Output, &SimpleCommunicator) -> Result<()>,
) -> i32 {
    let rank = world.rank();
    let (args, out, observer) = match start_together::<A>(step, world) {
        Ok(Some(started)) => started,
        Ok(None) => return 0,
        Err(code) => return code,
    };
    world.barrier();
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&args, &out, world)));
    let outcome = match outcome {
        Ok(result) => result,
        // The panic hook has printed it, and this rank's state is unknown: take the whole job
        // down at once.
        Err(_) => world.abort(1),
    };
    // Every rank gets here, failed or not, and learns whether any rank failed: no rank is left
    // waiting, and the one that hit the error reports it. (MPI_Abort would do as well, but
    // Open MPI 4.1's mpirun now and then hangs or crashes tearing down an aborted job.)
    if let Err(code) = together(world, step, outcome) {
        return code;
    }
    if progress::files_done() == 0 {
        report::line(&format!(
            "{}: rank {rank}: no files to write ({} files over {} ranks)",
            step.name,
            args.common().n_files,
            world.size()
        ));
    }
    let mut summary = total_summary(world, step, &args, &out, start);
    let observed = observer
        .finish()
        .and_then(|seen| write_observed(world, step, args.common(), seen, summary.as_mut()));
    if let Err(code) = together(world, step, observed) {
        return code;
    }
    match summary {
        Some(summary)
            if report::summary(step.name, &summary, args.common().json) != ExitCode::SUCCESS =>
        {
            1
        }
        _ => 0,
    }
}

/// Parsing, the set-up checks and the profiler's start, each agreed on by every rank before
/// any goes on: `Ok(None)` for `--help`, `Err(exit code)` when any rank cannot start.
fn start_together<A: StepArgs>(
    step: Step,
    world: &SimpleCommunicator,
) -> std::result::Result<Option<(A, Output, Observer)>, i32> {
    let rank = world.rank();
    // The same arguments on every rank: they all parse alike, and only rank 0 speaks.
    let args: A = match args::parse(step, rank == ROOT) {
        Ok(Some(args)) => args,
        Ok(None) => return Ok(None),
        Err(e) => {
            if rank == ROOT {
                report::failure(step.name, None, &e);
            }
            return Err(e.exit_code().into());
        }
    };
    signals::watch(
        step.name,
        args.common().n_files,
        signals::Process::Rank {
            reports: rank == ROOT,
            // A run started without mpirun or srun has a shell for a parent, not a launcher.
            launched: world.size() > 1
                || ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some()),
        },
    );
    // Memory, disk and folders can differ between nodes. The root holds the list of every file
    // index (8 bytes each) while it hands them out, and each rank its own share.
    let index_bytes = (args.common().n_files as u64).saturating_mul(16);
    let prepared = check_count(&args).and_then(|()| prepare(step, &args, index_bytes));
    let out = together(world, step, prepared)?;
    let observer = together(world, step, Observer::start(args.common()))?;
    Ok(Some((args, out, observer)))
}

/// MPI counts are C ints: refuse what a scatter could not describe, on every rank alike.
fn check_count<A: StepArgs>(args: &A) -> Result<()> {
    let n_files = args.common().n_files;
    if n_files > mpi::Count::MAX as usize {
        return Err(Error::Usage(format!(
            "--n-files {n_files} is more than an MPI count can hold ({})",
            mpi::Count::MAX
        )));
    }
    Ok(())
}

/// Every rank passes its own outcome and learns whether all succeeded. If any failed, the
/// lowest rank with an error of its own (not "another rank failed") reports it — with its rank
/// for failures during the run, without for usage errors that every rank shares — and every
/// rank gets the worst exit code.
fn together<T>(
    world: &SimpleCommunicator,
    step: Step,
    mine: Result<T>,
) -> std::result::Result<T, i32> {
    let failure = mine.as_ref().err();
    let reportable = failure.is_some_and(|e| !matches!(e, Error::OtherRankFailed));
    let (code, reporter) = agree_on_failure(world, failure.map(Error::exit_code), reportable);
    match mine {
        Ok(value) if code == 0 => Ok(value),
        other => {
            report::mark_told();
            if let Err(e) = other {
                if reporter == world.rank() {
                    let rank = (e.exit_code() != 2).then_some(world.rank());
                    report::failure(step.name, rank, &e);
                }
            }
            Err(code.max(1).into())
        }
    }
}

/// Rank 0's summary, with the bytes of every rank added up; `None` on the other ranks.
fn total_summary<A: StepArgs>(
    world: &SimpleCommunicator,
    step: Step,
    args: &A,
    out: &Output,
    start: Instant,
) -> Option<Summary> {
    let root = world.process_at_rank(ROOT);
    let bytes = out.bytes_written();
    if world.rank() != ROOT {
        root.reduce_into(&bytes, SystemOperation::sum());
        return None;
    }
    let mut total = 0u64;
    root.reduce_into_root(&bytes, &mut total, SystemOperation::sum());
    let mut summary = summarize(step, args, total, start);
    summary.ranks = Some(world.size() as usize);
    Some(summary)
}

/// True on every rank if `mine` is true on every rank.
pub(crate) fn all_true(world: &SimpleCommunicator, mine: bool) -> bool {
    let mut all = 0i32;
    world.all_reduce_into(&i32::from(mine), &mut all, SystemOperation::min());
    all == 1
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
    let slices = serde_json::to_vec(seen.slices.as_deref().unwrap_or_default())
        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
    let all_slices = args
        .trace
        .as_ref()
        .and_then(|_| gather_bytes(world, &slices));

    if let (Some(profile), Some(svg)) = (&seen.profile, &args.flamegraph) {
        let title = format!(
            "{} rank {rank}  n={} size={}",
            step.name, args.n_files, args.size
        );
        profile.write(&crate::profile::rank_path(svg, rank), &title)?;
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
        write_profile(&merged, svg, &title(summary), step.name, seen.seconds)?;
        summary.flamegraph = Some(svg.display().to_string());
    }
    if let (Some(parts), Some(path)) = (all_slices, &args.trace) {
        let mut processes: Vec<(i32, String, Vec<Slice>)> = Vec::new();
        for (r, part) in parts.iter().enumerate() {
            let slices = serde_json::from_slice(part).map_err(|e| Error::Io(e.into()))?;
            processes.push((r as i32, format!("{} rank {r}", step.name), slices));
        }
        write_trace(path, &processes)?;
        summary.trace = Some(path.display().to_string());
    }
    Ok(())
}

/// Creates `<prefix>.h5` for every rank of `world` together, under its temporary name: rank 0
/// creates the name exclusively and tells the others, then `open` — the step's own collective
/// `hdf5::File` call with the MPI-IO driver — opens it on every rank.
#[cfg(feature = "mpio")]
pub fn create_h5<'a>(
    out: &'a Output,
    world: &'a SimpleCommunicator,
    open: impl FnOnce(&std::path::Path) -> hdf5::Result<hdf5::File>,
) -> Result<crate::H5Output<'a>> {
    use crate::output::TempName;
    let root = world.process_at_rank(ROOT);
    // Rank 0 creates the temporary name exclusively and tells the others [created, pid, n].
    let mut told = [0u64; 3];
    let mut mine = None;
    if world.rank() == ROOT {
        let name = TempName::next();
        let made = out.create_single_named("h5", name);
        told = [u64::from(made.is_ok()), u64::from(name.pid), name.n];
        mine = Some(made);
    }
    root.broadcast_into(&mut told[..]);
    let mut partial = match mine {
        Some(made) => made?,
        None if told[0] == 1 => {
            let path = out.single_path("h5");
            let name = TempName {
                pid: told[1] as u32,
                n: told[2],
            };
            let partial = name.path_for(&path);
            crate::PartialFile::adopt(out, path, partial)
        }
        None => return Err(Error::OtherRankFailed),
    };
    partial.close_handle();
    let file = open(partial.path())?;
    let mut h5 = crate::H5Output::new(file, partial);
    h5.comm = Some(world);
    Ok(h5)
}

/// Writes `plane = (t, data)` into `dataset[t, :, :]` of an `(n, size, size)` dataset as one
/// **collective** transfer (MPI-IO collective mode, `H5FD_MPIO_COLLECTIVE`): every rank of
/// `world` calls it the same number of times, and a rank with no plane this round passes `None`
/// and writes an empty selection. Afterwards the ranks agree: if any failed, all return an
/// error, so none goes on to a collective the others will not join.
///
/// hdf5-metno 0.15 writes only with the default (independent) transfer, so this is the C API:
/// a transfer property list with `H5Pset_dxpl_mpio`, hyperslab selections, `H5Dwrite`.
#[cfg(feature = "mpio")]
pub fn write_plane_collective(
    world: &SimpleCommunicator,
    dataset: &hdf5::Dataset,
    plane: Option<(usize, &ndarray::Array2<f64>)>,
) -> Result<()> {
    let written = collective_h5dwrite(dataset, plane).map_err(Error::from);
    let everyone = all_true(world, written.is_ok());
    written?;
    if everyone {
        Ok(())
    } else {
        Err(Error::OtherRankFailed)
    }
}

#[cfg(feature = "mpio")]
fn collective_h5dwrite(
    dataset: &hdf5::Dataset,
    plane: Option<(usize, &ndarray::Array2<f64>)>,
) -> hdf5::Result<()> {
    use hdf5::Datatype;
    use hdf5_sys::h5d::H5Dwrite;
    use hdf5_sys::h5p::{
        H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio, H5P_CLS_DATASET_XFER,
    };
    use hdf5_sys::h5s::{H5S_seloper_t, H5Sselect_hyperslab, H5Sselect_none};

    let file_space = dataset.space()?;
    let shape = file_space.shape();
    let (rows, cols) = (
        shape.get(1).copied().unwrap_or(0),
        shape.get(2).copied().unwrap_or(0),
    );
    let memory_space = hdf5::Dataspace::try_new([rows, cols])?;
    let double = Datatype::from_type::<f64>()?;
    let empty = [0f64; 1];
    // hdf5-metno's own check: a negative status becomes an error carrying HDF5's error stack.
    let check = |status: i32| hdf5::h5check(status).map(drop);
    hdf5::sync::sync(|| {
        // SAFETY: every id comes from a live hdf5-metno object; the buffer holds rows × cols
        // values in C order when a plane is written, and is not read when none is selected.
        unsafe {
            let buffer = match plane {
                Some((t, data)) => {
                    let start = [t as u64, 0, 0];
                    let count = [1, rows as u64, cols as u64];
                    let status = H5Sselect_hyperslab(
                        file_space.id(),
                        H5S_seloper_t::H5S_SELECT_SET,
                        start.as_ptr(),
                        std::ptr::null(),
                        count.as_ptr(),
                        std::ptr::null(),
                    );
                    check(status)?;
                    let values = data
                        .as_slice()
                        .ok_or("a plane must be in standard layout")?;
                    values.as_ptr()
                }
                None => {
                    check(H5Sselect_none(file_space.id()))?;
                    check(H5Sselect_none(memory_space.id()))?;
                    empty.as_ptr()
                }
            };
            let transfer = hdf5::h5check(H5Pcreate(*H5P_CLS_DATASET_XFER))?;
            let mode = H5Pset_dxpl_mpio(transfer, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE);
            let status = if mode < 0 {
                mode
            } else {
                H5Dwrite(
                    dataset.id(),
                    double.id(),
                    memory_space.id(),
                    file_space.id(),
                    transfer,
                    buffer.cast(),
                )
            };
            H5Pclose(transfer);
            check(status)
        }
    })
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
