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

mod collective;

use std::process::ExitCode;

use gridgen::field::{frac, X_ORIGIN, Y_ORIGIN};
use gridgen::{Args, Format, Output, Result};
use gridgen_mpi::{array_split, ROOT};
use mpi::datatype::Partition;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;
use ndarray::{s, Array2, Array3, ArrayViewMut2, Axis, Zip};

/// The bytes of planes one round writes, per rank: large requests, within the memory every
/// step keeps to (see the chapter).
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

/// The run's parameters on the file's root (h5py: `hf.attrs["n_files"] = n`, …).
fn write_attributes(hf: &hdf5::File, args: &Args) -> Result<()> {
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

/// This rank's file indices, handed out by MPI: a scatter gives every rank its count, then a
/// variable-count scatter its own slice of `0..n_files` (chunks sized like numpy.array_split).
fn my_files(world: &SimpleCommunicator, n_files: usize) -> Vec<usize> {
    let root = world.process_at_rank(ROOT);
    let mut my_count: Count = 0;
    let mut my_files: Vec<usize>;
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
    my_files
}

/// How many planes of `size × size` one round writes: as many as `BATCH_BYTES` hold, at least
/// one — or `PLANES_PER_ROUND` of them, to see what the size of a request does (the benchmark's
/// curve runs 1, 8, 64 and 512).
fn planes_per_round(size: usize) -> usize {
    let budget = (BATCH_BYTES / (8 * size * size).max(1)).max(1);
    match std::env::var("PLANES_PER_ROUND").map(|p| p.parse::<usize>()) {
        Ok(Ok(planes)) => planes.max(1),
        _ => budget,
    }
}

// ANCHOR: write_planes
/// Every rank writes its planes (`my_files`, consecutive) into the one dataset, in collective
/// rounds of at most a batch each. The rounds are as many on every rank: the largest share's.
fn write_planes(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    args: &Args,
    out: &Output,
    world: &SimpleCommunicator,
    hf: &hdf5::File,
    my_files: &[usize],
) -> Result<()> {
    // Collective: one dataset for all files, created by every rank.
    let shape = (args.n_files, args.size, args.size);
    let dataset = hf
        .new_dataset::<f64>()
        .shape(shape)
        .create(args.output.as_str())?;
    let batch = planes_per_round(args.size);
    let mut planes = Array3::<f64>::zeros((batch, args.size, args.size));
    let rounds = args.n_files.div_ceil(world.size() as usize).div_ceil(batch);
    let mut batches = my_files.chunks(batch);
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
        let filled = planes.slice(s![..files.len(), .., ..]);
        let written = collective::write_planes(&dataset, first, filled);
        // No rank goes on to the next collective round if any rank's write failed.
        gridgen_mpi::agree(world, written.map_err(gridgen::Error::from))?;
    }
    Ok(())
    // The dataset is closed here: the file can be closed only after it.
}
// ANCHOR_END: write_planes

/// This rank's part of the one file.
fn write_file(args: &Args, world: &SimpleCommunicator, my_files: Vec<usize>) -> Result<Output> {
    let out = Output::create(args, Format::H5)?; // the output folder
    let _profile = gridgen::profile(args)?; // --flamegraph: one per rank
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)

    // Collective: every rank opens the same file (one hidden name, chosen by rank 0), through
    // HDF5's MPI-IO driver on `world`.
    let h5 = gridgen_mpi::create_one_file(&out, world)?;
    let hf = hdf5::File::with_options()
        .with_fapl(|fapl| fapl.mpio(world.as_raw(), None))
        .create(h5.path())?;
    let written = write_attributes(&hf, args)
        .and_then(|()| write_planes(&xx, &yy, args, &out, world, &hf, &my_files));
    // Collective: closing writes the metadata of every rank's changes, so every rank closes
    // the file together, and only once all agree their writes succeeded.
    gridgen_mpi::close(world, &h5, hf, written, hdf5::File::close)?;
    gridgen_mpi::commit(h5, world)?; // every rank closed it: rank 0 names it data.h5
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work, on every rank

    // ANCHOR: fcoll
    // Open MPI chooses how to carry out a collective write when MPI starts. Its default in 4.1
    // (`vulcan`, which gathers pieces on aggregator ranks) reports success when a write fails
    // (a full disk) and leaves holes in the file; `individual`, where each rank writes its own
    // part, reports the failure. Unless you chose one yourself.
    if std::env::var_os("OMPI_MCA_fcoll").is_none() {
        std::env::set_var("OMPI_MCA_fcoll", "individual");
    }
    // ANCHOR_END: fcoll
    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is started once, here");
    let world = universe.world();
    let my_files = my_files(&world, args.n_files);
    let written = write_file(&args, &world, my_files);
    // Every rank says how its part went; rank 0 prints the summary of all of them.
    gridgen_mpi::finish(&world, written)
    // `universe` goes out of scope here: MPI is finalized.
}
