//! Step 11 — `write_final_collective`: one dataset, written by every rank together.
//!
//! Not in the Python workshop: what an HPC engineer changes first in `write_final`. There, every
//! rank creates every one of the n datasets — metadata work that grows with the file count on
//! every rank. Here the file holds **one** dataset `/data` of shape (n, size, size): file t is
//! the plane `data[t]` (h5py: `f["data"][t]`). Each rank's files are consecutive planes, and it
//! writes them in a few large **collective** transfers — batches of planes, as many as fit its
//! memory budget — so that MPI-IO can merge every rank's pieces into few large writes. Every
//! rank takes part in every round, the same number of rounds; a rank with no planes left writes
//! an empty selection.
//!
//! The layout is contiguous: the planes are known in size up front and written once, so chunking
//! (for growing or compressed data) would add an index and buy nothing.

mod collective;

use std::process::ExitCode;

use collective::{Hints, Transfer};
use gridgen::field::{frac, X_ORIGIN, Y_ORIGIN};
use gridgen::{Args, Output};
use gridgen_mpi::{array_split, World, ROOT};
use mpi::collective::SystemOperation;
use mpi::datatype::Partition;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;
use ndarray::{Array2, Array3, ArrayViewMut2, Axis, Zip};

/// The bytes of planes one round writes, per rank, and the buffer MPI-IO gathers them in: large
/// requests, within the memory every step keeps to (see the chapter).
const BATCH_BYTES: usize = 4 << 20;

/// The field of file `file_id` over the whole grid, computed straight into `plane` (a plane of
/// the batch written next): numpy's `((X/10)**2 * (Y/10) + (Y/10)**2 * (X/10) + t/n) % 1`, in
/// the same order of operations, so that every value has numpy's bits.
fn generate_into(
    mut plane: ArrayViewMut2<f64>,
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    n_files: usize,
    file_id: usize,
) {
    let t = file_id as f64 / n_files as f64;
    Zip::from(&mut plane).and(xx).and(yy).for_each(|z, &x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        *z = frac(x * x * y + y * y * x + t);
    });
}

// ANCHOR: attributes
/// The run's parameters on the file's root (h5py: `hf.attrs["n_files"] = n`, …).
fn write_attributes(hf: &hdf5::File, args: &Args) -> gridgen_h5::Result<()> {
    hf.new_attr::<u64>()
        .create("n_files")?
        .write_scalar(&(args.n_files as u64))?;
    hf.new_attr::<u64>()
        .create("size")?
        .write_scalar(&(args.size as u64))?;
    hf.new_attr::<f64>()
        .create("x_origin")?
        .write_scalar(&X_ORIGIN)?;
    hf.new_attr::<f64>()
        .create("y_origin")?
        .write_scalar(&Y_ORIGIN)?;
    Ok(())
}
// ANCHOR_END: attributes

// ANCHOR: distribute
/// This rank's file indices, handed out by MPI: a scatter gives every rank its count, then a
/// variable-count scatter its own slice of `0..n_files` (chunks sized like numpy.array_split).
fn my_files(world: &SimpleCommunicator, n_files: usize) -> Vec<usize> {
    let root = world.process_at_rank(ROOT);
    let mut my_count: Count = 0;
    let mut my_files: Vec<usize>;
    // ANCHOR: scatter
    if world.rank() == ROOT {
        let chunks = array_split(n_files, world.size() as usize);
        let counts: Vec<Count> = chunks.iter().map(|c| c.len() as Count).collect();
        let starts: Vec<Count> = chunks.iter().map(|c| c.start as Count).collect();
        let all_files: Vec<usize> = (0..n_files).collect();
        root.scatter_into_root(&counts[..], &mut my_count);
        my_files = vec![0; my_count as usize];
        let partition = Partition::new(&all_files[..], counts, starts);
        root.scatter_varcount_into_root(&partition, &mut my_files[..]);
    } else {
        root.scatter_into(&mut my_count);
        my_files = vec![0; my_count as usize];
        root.scatter_varcount_into(&mut my_files[..]);
    }
    // ANCHOR_END: scatter
    my_files
}
// ANCHOR_END: distribute

/// How many planes of `size × size` one round writes: as many as `BATCH_BYTES` hold, at least
/// one — or `PLANES_PER_ROUND` of them, to see what the size of a request does (the benchmark's
/// curve runs 1, 8, 64 and 512; more than the budget holds costs memory).
fn planes_per_round(size: usize) -> usize {
    let budget = (BATCH_BYTES / (8 * size * size).max(1)).max(1);
    std::env::var("PLANES_PER_ROUND")
        .ok()
        .and_then(|p| p.parse::<usize>().ok())
        .map_or(budget, |p| p.max(1))
}

// ANCHOR: collective_write
/// Every rank writes its planes (`mine`, consecutive) in collective rounds of at most a batch
/// each. The rounds are as many on every rank: the largest share's.
fn write_planes(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    args: &Args,
    out: &Output,
    world: &World,
    hf: &hdf5::File,
    mine: &[usize],
) -> gridgen_h5::Result<()> {
    // ANCHOR: one_dataset
    // Collective: one dataset for all files, created by every rank.
    let shape = (args.n_files, args.size, args.size);
    let dataset = hf.new_dataset::<f64>().shape(shape).create(out.prefix())?;
    // The transfer mode, made once: collective (every rank in every H5Dwrite).
    let transfer = Transfer::collective()?;
    // ANCHOR_END: one_dataset
    let batch = planes_per_round(args.size);
    let mut planes = Array3::<f64>::zeros((batch, args.size, args.size));
    // ANCHOR: rounds
    let rounds = args.n_files.div_ceil(world.size() as usize).div_ceil(batch);
    let mut batches = mine.chunks(batch);
    for _ in 0..rounds {
        // This rank's next batch; an empty one once its share is written.
        let files = batches.next().unwrap_or_default();
        for (k, file_id) in out.progress(files.iter().copied()).enumerate() {
            generate_into(
                planes.index_axis_mut(Axis(0), k),
                xx,
                yy,
                args.n_files,
                file_id,
            );
        }
        let first = files.first().copied().unwrap_or(0);
        let written = transfer.write_planes(&dataset, first, &planes, files.len());
        // ANCHOR_END: rounds
        // ANCHOR: agree
        // No rank goes on to the next collective round if any rank's write failed: the ranks
        // agree in an all-reduce, the minimum of everyone's 1 (written) or 0 (failed).
        let mut everyone = 0;
        let mine = i32::from(written.is_ok());
        world.all_reduce_into(&mine, &mut everyone, SystemOperation::min());
        if everyone == 0 {
            written?;
            return Err(gridgen::Error::OtherRankFailed.into());
        }
        // ANCHOR_END: agree
    }
    Ok(())
    // The dataset is closed here: the file can be closed only after it.
}
// ANCHOR_END: collective_write

// ANCHOR: parallel_hdf5
/// One HDF5 file that every rank writes into together.
fn write_file(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    args: &Args,
    out: &Output,
    world: &World,
    my_files: &[usize],
) -> gridgen_h5::Result<()> {
    // MPI-IO's own buffer for collective writes: no larger than a batch.
    let hints = Hints::new(BATCH_BYTES);
    // Collective: every rank opens the same file, through the MPI-IO driver on `world`.
    let hf = gridgen_h5::create_on(out, world, |path| {
        hdf5::File::with_options()
            .with_fapl(|fapl| fapl.mpio(world.as_raw(), Some(hints.raw())))
            .create_excl(path)
    })?;
    write_attributes(&hf, args)?;
    write_planes(xx, yy, args, out, world, &hf, my_files)?;
    // Collective: closing writes the metadata of every rank's changes.
    hf.close(hdf5::File::close)
}
// ANCHOR_END: parallel_hdf5

// The process's allocator: the system's, except that a failed allocation ends the run with one
// line and its unfinished files removed (gridgen's guard), not with Rust's abort.
#[global_allocator]
static ALLOCATOR: gridgen::guard::OneLineOnFailure = gridgen::guard::OneLineOnFailure;

fn main() -> ExitCode {
    // ANCHOR: fcoll
    // Open MPI chooses how to carry out a collective write when MPI starts. Its default in 4.1
    // (`vulcan`, which gathers pieces on aggregator ranks) reports success when a write fails —
    // a full disk — and leaves holes in the file; `individual`, where each rank writes its own
    // part (one contiguous block a round, here), reports the failure. Unless you chose one.
    if std::env::var_os("OMPI_MCA_fcoll").is_none() {
        std::env::set_var("OMPI_MCA_fcoll", "individual");
    }
    // ANCHOR_END: fcoll
    // ANCHOR: init
    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is initialised once, here");
    let world = universe.world();
    // ANCHOR_END: init
    gridgen_mpi::run_in(gridgen::step!(), &world, |args: &Args, out, world| {
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        let my_files = my_files(world, args.n_files);
        write_file(&xx, &yy, args, out, world, &my_files)
    })
    // `universe` is dropped on the way out of main: MPI_Finalize.
}
