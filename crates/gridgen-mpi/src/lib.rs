//! `gridgen-mpi`: what the MPI steps add to gridgen's driver — the ranks of an MPI world as a
//! [`Team`], and the checks only MPI needs. The run itself is gridgen's ([`gridgen::run_with`]),
//! the same sequence as for one process. The step starts MPI itself (`mpi::initialize()`,
//! `universe.world()`: its lesson) and hands the world to [`run_in`].
//!
//! - Every rank parses the arguments; bad ones are reported once, by rank 0, and every rank
//!   exits with 2 before any collective starts (parsing gives the same answer on every rank).
//! - The checks before the run can differ between nodes, and the memory the ranks of one node
//!   need is added up before it is compared with what the node has ([`World`]'s
//!   `check_together`). A launcher of another MPI is named (`ForeignLauncher`).
//! - Every outcome is agreed on in one all-reduce that every rank makes, in the same order on
//!   every rank; the lowest failing rank reports. A rank that failed waits for the others a
//!   bounded time ([`PATIENCE`]): a failure inside one of HDF5's collective calls can leave the
//!   others in that call for good, and then the failed rank reports and exits, and the launcher
//!   ends the rest of the job. A panic aborts the whole job (`MPI_Abort`).
//! - Rank 0 prints the summary, with the bytes of all ranks added up.

mod start;

use std::any::Any;
use std::cell::Cell;
use std::ops::Deref;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gridgen::guard::{self, memory, Process};
use gridgen::{Args, Error, Output, Step, StepArgs, Summary, Team, Usage};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::request::StaticScope;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// How long a rank that failed waits for the others to learn of it (see [`gridgen::PATIENCE`]).
pub use gridgen::split::array_split;
pub use gridgen::PATIENCE;

/// The rank that distributes work and reports.
pub const ROOT: i32 = 0;

/// Runs one MPI step on every rank of `world`, which the step's own `main` set up with
/// `mpi::initialize()`: gridgen's driver, with the world as its team. Returns the exit code for
/// `main` to return once MPI is finalized (the universe dropped). After a failure that left a
/// parallel file unclosed it does not return: the process exits at once, without finalizing
/// (MPI's and HDF5's exit handlers would try to close the file collectively, which hangs or
/// crashes then).
pub fn run_in<A: StepArgs, E: Into<Error>>(
    step: &'static Step,
    world: &SimpleCommunicator,
    body: impl FnOnce(&A, &Output, &World) -> Result<(), E>,
) -> ExitCode {
    let world = World::new(world);
    let code = gridgen::run_with(step, &world, body);
    if world.must_not_finalize() {
        world.end_without_finalizing(code);
    }
    ExitCode::from(code)
}

/// The ranks of one run: the world communicator the step started, as the lesson uses it
/// (`world.rank()`, `world.size()`, … through [`Deref`]), and what the driver needs of it.
pub struct World<'a> {
    comm: &'a SimpleCommunicator,
    /// A parallel file was left unclosed after a failure: end without finalizing.
    abandoned: Cell<bool>,
    /// This rank failed and the others did not come to agree on it within [`PATIENCE`]: no
    /// collective call may be made any more, and the process ends without finalizing.
    stranded: Cell<bool>,
}

impl<'a> World<'a> {
    fn new(comm: &'a SimpleCommunicator) -> Self {
        // MPI made this rank's shared-memory segment in `mpi::initialize()`; a rank that ends
        // without finalizing must remove it itself.
        start::remember_own_segment();
        World {
            comm,
            abandoned: Cell::new(false),
            stranded: Cell::new(false),
        }
    }

    fn must_not_finalize(&self) -> bool {
        self.abandoned.get() || self.stranded.get()
    }

    fn end_without_finalizing(&self, code: u8) -> ! {
        use std::io::Write;
        // MPI is not finalized: its shared memory is this rank's to remove.
        guard::remove_own();
        // No rank leaves before every one has said what it had to: mpirun ends the whole job
        // as soon as one rank exits with an error. (Unless the others cannot come.)
        if !self.stranded.get() {
            self.comm.barrier();
        }
        let _ = std::io::stdout().flush();
        // SAFETY: ends the process at once: no MPI_Finalize, no HDF5 exit handler.
        unsafe { libc::_exit(i32::from(code)) }
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
            guard::leave_word();
            self.stranded.set(true);
        }
        all
    }
    fn sum(&self, value: u64) -> Option<u64> {
        let root = self.comm.process_at_rank(ROOT);
        if self.comm.rank() != ROOT {
            root.reduce_into(&value, SystemOperation::sum());
            return None;
        }
        let mut total = 0u64;
        root.reduce_into_root(&value, &mut total, SystemOperation::sum());
        Some(total)
    }
    fn gather(&self, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
        gather_bytes(self.comm, bytes)
    }
    fn barrier(&self) {
        self.comm.barrier();
    }
    fn process(&self) -> Process {
        let rank = self.comm.rank();
        Process::Rank {
            rank: rank as usize,
            reports: rank == ROOT,
            // A run started without mpirun or srun has a shell for a parent, not a launcher.
            launched: self.comm.size() > 1
                || ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"]
                    .iter()
                    .any(|v| std::env::var_os(v).is_some()),
        }
    }
    fn named_rank(&self) -> Option<usize> {
        Some(self.comm.rank() as usize)
    }
    fn refuses(&self, args: &Args) -> gridgen::Result<()> {
        check_launch(self)?;
        check_count(args)
    }
    fn check_together(&self, args: &Args, grids: u64, extra: u64) -> gridgen::Result<()> {
        node_memory(self, args, grids, extra)
    }
    /// The root holds the list of every file index (8 bytes each) while it hands them out, and
    /// each rank its own share.
    fn frame_bytes(&self, n_files: usize) -> u64 {
        (n_files as u64).saturating_mul(16)
    }
    /// This rank's state is unknown after a panic (its hook has printed it): the whole job is
    /// taken down at once.
    fn panicked(&self, _payload: Box<dyn Any + Send>) -> ! {
        self.comm.abort(1)
    }
    fn annotate(&self, summary: &mut Summary) {
        summary.ranks = Some(self.comm.size() as usize);
    }
}

/// What the ranks of this node need together, against what the node has: the kernel's free
/// memory and the job's memory limit are shared by them all. Collective over the node's ranks.
fn node_memory(world: &World, common: &Args, grids: u64, extra: u64) -> gridgen::Result<()> {
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
    Ok(memory::check_against(
        common.size,
        grids * ranks as u64,
        total,
        limit,
    )?)
}

/// The variables launchers give each process they start, naming how many they started.
const LAUNCHED_AS_ONE_OF: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"];

/// A launcher that started several processes, and an MPI that sees only this one: the binary
/// was built with another MPI than the launcher's (or srun's `--mpi` plugin does not match).
/// Every process would write every file, each believing it is alone.
fn check_launch(world: &World) -> gridgen::Result<()> {
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
fn check_count(args: &Args) -> gridgen::Result<()> {
    if args.n_files > mpi::Count::MAX as usize {
        return Err(Usage::TooManyForMpi {
            n_files: args.n_files,
            max: i64::from(mpi::Count::MAX),
        }
        .into());
    }
    Ok(())
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
