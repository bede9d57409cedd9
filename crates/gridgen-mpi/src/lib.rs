//! `gridgen-mpi`: the frame around the MPI steps — the same as [`gridgen::run`], with every rank
//! in mind. The step starts MPI itself (`mpi::initialize()`, `universe.world()`: its lesson) and
//! hands the world to [`run_in`].
//!
//! - Every rank parses the arguments; bad ones are reported once, by rank 0, and every rank
//!   exits with 2 before any collective starts (parsing gives the same answer on every rank).
//! - The checks before the run can differ between nodes, and the memory the ranks of one node
//!   need is added up before it is compared with what the node has. Every outcome is agreed on
//!   in one all-reduce that every rank makes, in the same order on every rank; the lowest failing
//!   rank reports. No two ranks can wait in different collectives.
//! - During the run, a rank that fails stops its own work; at the end every rank learns whether
//!   any failed, the failing rank reports its error with its rank number, and all exit non-zero.
//!   A rank that failed waits for the others a bounded time ([`PATIENCE`]): a failure inside one
//!   of HDF5's collective calls can leave the others in that call for good, and then the failed
//!   rank reports and exits, and the launcher ends the rest of the job.
//!   A panic aborts the whole job (`MPI_Abort`).
//! - Rank 0 prints the summary, with the bytes of all ranks added up.

mod start;

use std::cell::Cell;
use std::ops::Deref;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gridgen::frame::{self, Observer, Process, Seen};
use gridgen::profile::Profile;
use gridgen::trace::Slice;
use gridgen::{memory, Error, Output, Result, Step, StepArgs, Summary, Team};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::request::StaticScope;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// The rank that distributes work and reports.
pub const ROOT: i32 = 0;

/// The ranks of one run: the world communicator the step started, as the lesson uses it
/// (`world.rank()`, `world.size()`, … through [`Deref`]), and what the frame needs of it.
pub struct World<'a> {
    comm: &'a SimpleCommunicator,
    /// A parallel file was left unclosed after a failure: end without finalizing.
    abandoned: Cell<bool>,
    /// This rank failed and the others did not come to agree on it within [`PATIENCE`]: no
    /// collective call may be made any more, and the process ends without finalizing.
    stranded: Cell<bool>,
}

/// How long a rank that failed waits for the others to learn of it (see [`gridgen::PATIENCE`]).
pub use gridgen::split::array_split;
pub use gridgen::PATIENCE;

impl World<'_> {
    /// Every rank's `mine`, reduced with max, on every rank. A rank that `failed` waits at most
    /// [`PATIENCE`]; `None` if the others did not come (and from then on, at once). The others
    /// wait as long as it takes, in the same non-blocking all-reduce: MPI never matches a
    /// blocking collective call with a non-blocking one.
    fn max_of(&self, mine: [i32; 2], failed: bool) -> Option<[i32; 2]> {
        if self.stranded.get() {
            return None;
        }
        let all = bounded_max(self.comm, mine, failed.then_some(PATIENCE));
        if all.is_none() {
            // This rank reports its own failure and exits; the launcher then ends the others.
            // Rank 0 finds word of it in the parallel file's private folder (still registered
            // here, as the file is not yet dropped) and adds no "stopped by" line.
            frame::leave_word();
            self.stranded.set(true);
        }
        all
    }

    fn must_not_finalize(&self) -> bool {
        self.abandoned.get() || self.stranded.get()
    }
}

/// A non-blocking all-reduce (max), polled until it is done or `patience` is over. If it does
/// not finish, its buffers stay allocated: MPI still holds them, and the process ends without
/// completing it.
fn bounded_max(
    comm: &SimpleCommunicator,
    mine: [i32; 2],
    patience: Option<Duration>,
) -> Option<[i32; 2]> {
    let buffers = Box::into_raw(Box::new([mine, [0i32; 2]]));
    // SAFETY: `buffers` is a live allocation; the two halves do not overlap. The references live
    // as long as the request, which is completed (then the box is freed) or never completed
    // (then the box is never freed).
    let (send, recv) = unsafe {
        let [send, recv] = &mut *buffers;
        (&*send, recv)
    };
    let max = SystemOperation::max();
    let mut request = comm.immediate_all_reduce_into(StaticScope, &send[..], &mut recv[..], max);
    let Some(patience) = patience else {
        // No limit: a plain wait, as quick as the blocking call.
        request.wait();
        // SAFETY: the request is complete: MPI is done with the buffers.
        let [_, all] = *unsafe { Box::from_raw(buffers) };
        return Some(all);
    };
    let start = Instant::now();
    loop {
        match request.test() {
            Ok(_) => {
                // SAFETY: the request is complete: MPI is done with the buffers, and no
                // reference to them is used again.
                let [_, all] = *unsafe { Box::from_raw(buffers) };
                return Some(all);
            }
            Err(pending) if start.elapsed() < patience => {
                request = pending;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(pending) => {
                std::mem::forget(pending);
                return None;
            }
        }
    }
}

impl Deref for World<'_> {
    type Target = SimpleCommunicator;
    fn deref(&self) -> &SimpleCommunicator {
        self.comm
    }
}

impl Team for World<'_> {
    fn member(&self) -> usize {
        self.comm.rank() as usize
    }
    fn members(&self) -> usize {
        self.comm.size() as usize
    }
    fn all(&self, mine: bool) -> bool {
        // The max of "failed": 0 only if no rank failed.
        let failed = i32::from(!mine);
        self.max_of([failed, 0], !mine) == Some([0, 0])
    }
    fn broadcast(&self, values: &mut [u64]) {
        self.comm.process_at_rank(ROOT).broadcast_into(values);
    }
    fn abandon(&self) {
        self.abandoned.set(true);
    }
}

/// Runs one MPI step on every rank of `world`, which the step's own `main` set up with
/// `mpi::initialize()`. Returns the exit code for `main` to return once MPI is finalized (the
/// universe dropped). After a failure that left a parallel file unclosed it does not return: the
/// process exits at once, without finalizing (MPI's and HDF5's exit handlers would try to close
/// the file collectively, which hangs or crashes then).
pub fn run_in<A: StepArgs>(
    step: &'static Step,
    world: &SimpleCommunicator,
    body: impl FnOnce(&A, &Output, &World) -> Result<()>,
) -> ExitCode {
    frame::one_line_panics(format!("{}: rank {}", step.name, world.rank()));
    let world = World {
        comm: world,
        abandoned: Cell::new(false),
        stranded: Cell::new(false),
    };
    let code = run_on_rank(step, &world, body);
    if world.must_not_finalize() {
        use std::io::Write;
        // MPI is not finalized: its shared memory is this rank's to remove.
        frame::remove_own();
        // No rank leaves before every one has said what it had to: mpirun ends the whole job
        // as soon as one rank exits with an error. (Unless the others cannot come.)
        if !world.stranded.get() {
            world.barrier();
        }
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once: no MPI_Finalize, no HDF5 exit handler.
        unsafe { libc::_exit(code) }
    }
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run_on_rank<A: StepArgs>(
    step: &'static Step,
    world: &World,
    body: impl FnOnce(&A, &Output, &World) -> Result<()>,
) -> i32 {
    let (args, out, observer) = match start_together::<A>(step, world) {
        Ok(Some(started)) => started,
        Ok(None) => return 0,
        Err(code) => return code,
    };
    world.barrier();
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        frame::lesson(&out, body(&args, &out, world))
    }));
    let outcome = match outcome {
        Ok(result) => result,
        // The panic hook has printed it, and this rank's state is unknown: take the whole job
        // down at once.
        Err(_) => world.abort(1),
    };
    // Every rank gets here, failed or not, and learns whether any rank failed: no rank is left
    // waiting, and the one that hit the error reports it.
    if let Err(code) = together(world, step, outcome) {
        return code;
    }
    if out.files_done() == 0 {
        frame::line(&format!(
            "{}: rank {}: no files to write ({} files over {} ranks)",
            step.name,
            world.rank(),
            args.common().n_files,
            world.size()
        ));
    }
    let mut summary = total_summary(world, step, &args, &out, start);
    let observed = observer
        .finish(&out)
        .and_then(|seen| write_observed(world, step, args.common(), seen, summary.as_mut()));
    if let Err(code) = together(world, step, observed) {
        return code;
    }
    match summary {
        Some(summary)
            if frame::summary(step.name, &summary, args.common().json) != ExitCode::SUCCESS =>
        {
            1
        }
        _ => 0,
    }
}

/// Parsing, the checks, the folders and the profiler's start, each agreed on by every rank
/// before any goes on: `Ok(None)` for `--help`, `Err(exit code)` when any rank cannot start.
fn start_together<A: StepArgs>(
    step: &'static Step,
    world: &World,
) -> std::result::Result<Option<(A, Output, Observer)>, i32> {
    let rank = world.rank();
    // The same arguments on every rank: they all parse alike, and only rank 0 speaks.
    let args: A = match gridgen::args::parse(step, rank == ROOT) {
        Ok(Some(args)) => args,
        Ok(None) => return Ok(None),
        Err(e) => {
            if rank == ROOT {
                frame::failure(step.name, None, &e);
            }
            return Err(e.exit_code().into());
        }
    };
    frame::watch(
        step.name,
        args.common().n_files,
        Process::Rank {
            rank: rank as usize,
            reports: rank == ROOT,
            // A run started without mpirun or srun has a shell for a parent, not a launcher.
            launched: world.size() > 1
                || ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some()),
        },
    );
    start::remember_own_segment();
    // The root holds the list of every file index (8 bytes each) while it hands them out, and
    // each rank its own share.
    let index_bytes = (args.common().n_files as u64).saturating_mul(16);
    let own = check_launch(world)
        .and_then(|()| check_count(&args))
        .and_then(|()| frame::check(step, &args, index_bytes));
    // Collective: every rank takes part in its node's sum, whatever its own checks said.
    let node = node_memory(world, &args, index_bytes);
    together(world, step, own.and(node))?;
    let created = frame::create(step, &args).and_then(|(out, made)| {
        let observer = Observer::start(args.common())?;
        Ok((out, made, observer))
    });
    // A failure on any rank removes the folders each rank made (if still empty).
    let (out, made, observer) = together(world, step, created)?;
    made.keep();
    Ok(Some((args, out, observer)))
}

/// What the ranks of this node need together, against what the node has: the kernel's free
/// memory and the job's memory limit are shared by them all. Collective over the node's ranks.
fn node_memory<A: StepArgs>(world: &World, args: &A, extra: u64) -> Result<()> {
    let common = args.common();
    let grids = args.grids_in_memory();
    let ranks = world.size() as u64;
    let mine = memory::needed(common.size, grids, extra)
        .map_or(u64::MAX / ranks, |m| m.min(u64::MAX / ranks));
    let node = world.split_shared(world.rank());
    let mut total = 0u64;
    node.all_reduce_into(&mine, &mut total, SystemOperation::sum());
    if node.rank() != 0 || node.size() == 1 {
        return Ok(()); // one rank alone was checked by gridgen's own check
    }
    let ranks = node.size();
    let limit = memory::shared_limit().map(|l| memory::Limit {
        says: format!("{} (for {ranks} ranks on this node together)", l.says),
        ..l
    });
    memory::check_against(common.size, grids * ranks as u64, total, limit)
}

/// The variables launchers give each process they start, naming how many they started.
const LAUNCHED_AS_ONE_OF: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"];

/// A launcher that started several processes, and an MPI that sees only this one: the binary
/// was built with another MPI than the launcher's (or srun's `--mpi` plugin does not match).
/// Every process would write every file, each believing it is alone.
fn check_launch(world: &World) -> Result<()> {
    if world.size() > 1 {
        return Ok(());
    }
    let started = LAUNCHED_AS_ONE_OF.iter().find_map(|v| {
        let n: usize = std::env::var(v).ok()?.trim().parse().ok()?;
        (n > 1).then_some((*v, n))
    });
    let Some((variable, n)) = started else {
        return Ok(());
    };
    let library = mpi::environment::library_version().unwrap_or_default();
    // Its first part, on one line: "Open MPI v4.1.4", "MPICH Version: 4.0.2" (MPICH puts a tab
    // after the colon).
    let first = library.split([',', '\n']).next().unwrap_or_default();
    let library = match first.split_whitespace().collect::<Vec<_>>().join(" ") {
        name if name.is_empty() => "another MPI".to_string(),
        name => name,
    };
    Err(Error::ForeignLauncher {
        variable,
        processes: n,
        library,
    })
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

/// Every rank passes its own outcome and learns, in one all-reduce, whether all succeeded. If
/// any failed, the lowest rank with an error of its own (not "another rank failed") reports it
/// — with its rank for failures during the run, without for usage errors that every rank shares
/// — and every rank gets the worst exit code.
fn together<T>(world: &World, step: &Step, mine: Result<T>) -> std::result::Result<T, i32> {
    let failure = mine.as_ref().err();
    let reportable = failure.is_some_and(|e| !matches!(e, Error::OtherRankFailed));
    // [worst exit code, size − the lowest reporting rank], both reduced with max at once.
    let size = world.size();
    let me = [
        failure.map_or(0, |e| i32::from(e.exit_code())),
        if reportable { size - world.rank() } else { 0 },
    ];
    // The others did not come: this rank reports its own failure, and goes no further.
    let all = world
        .max_of(me, failure.is_some())
        .unwrap_or([me[0].max(1), me[1]]);
    let (code, reporter) = (all[0], size - all[1]);
    match mine {
        Ok(value) if code == 0 => Ok(value),
        other => {
            frame::mark_told();
            if let Err(e) = other {
                if reporter == world.rank() {
                    let rank = (e.exit_code() != 2).then_some(world.rank() as usize);
                    frame::failure(step.name, rank, &e);
                }
            }
            Err(code.max(1))
        }
    }
}

/// Rank 0's summary, with the bytes of every rank added up; `None` on the other ranks.
fn total_summary<A: StepArgs>(
    world: &World,
    step: &Step,
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
    let mut summary = frame::summarize(step, args, total, start);
    summary.ranks = Some(world.size() as usize);
    Some(summary)
}

/// Profiles and timelines under MPI: every rank writes its own flamegraph (`PATH.rankNN.svg`),
/// and rank 0 gathers every rank's samples and slices into the merged flamegraph (each rank its
/// own root frame) and one timeline (one process per rank). The gathers come first and happen
/// on every rank alike (the flags are the same everywhere); only then are files written.
fn write_observed(
    world: &World,
    step: &Step,
    args: &gridgen::Args,
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
        profile.write(&gridgen::profile::rank_path(svg, rank), &title)?;
    }
    match summary {
        Some(summary) => write_merged(step, args, &seen, all_folded, all_slices, summary),
        None => Ok(()),
    }
}

/// Rank 0: the merged flamegraph (every rank under a root frame of its own) and the timeline
/// (one process per rank).
fn write_merged(
    step: &Step,
    args: &gridgen::Args,
    seen: &Seen,
    all_folded: Option<Vec<Vec<u8>>>,
    all_slices: Option<Vec<Vec<u8>>>,
    summary: &mut Summary,
) -> Result<()> {
    if let (Some(parts), Some(svg)) = (all_folded, &args.flamegraph) {
        let mut merged = Profile::default();
        for (r, part) in parts.iter().enumerate() {
            merged.merge(
                &Profile::parse_folded(&String::from_utf8_lossy(part)).under(&format!("rank {r}")),
            );
        }
        summary.samples = Some(merged.samples());
        frame::write_profile(
            &merged,
            svg,
            &frame::title(summary),
            step.name,
            seen.seconds,
        )?;
        summary.flamegraph = Some(svg.display().to_string());
    }
    if let (Some(parts), Some(path)) = (all_slices, &args.trace) {
        let mut processes: Vec<(i32, String, Vec<Slice>)> = Vec::new();
        for (r, part) in parts.iter().enumerate() {
            let slices = serde_json::from_slice(part).map_err(|e| Error::Io(e.into()))?;
            processes.push((r as i32, format!("{} rank {r}", step.name), slices));
        }
        frame::write_trace(path, &processes)?;
        summary.trace = Some(path.display().to_string());
    }
    Ok(())
}

/// Gathers every rank's bytes on rank 0 (in rank order); `None` on the other ranks.
fn gather_bytes(world: &World, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
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
