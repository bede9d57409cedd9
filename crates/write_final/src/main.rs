//! Step 9 — `write_final`: every rank writes into one shared HDF5 file.
//!
//! The scatter of step 7, and the one file of step 8, together: every rank opens the same
//! `data.h5` through HDF5's MPI-IO driver (parallel HDF5). Creating datasets and attributes
//! changes the file's structure, which all ranks must agree on, so every rank creates every
//! dataset, in the same order; then each rank fills only the datasets of its own files.
//!
//! The Python original's final step crashes (a group name missing its f-string prefix makes
//! every rank create the same name); this one works at any rank count.

use std::process::ExitCode;

use gridgen::field::{frac, X_ORIGIN, Y_ORIGIN};
use gridgen::{Args, Format, Output, Result};
use gridgen_mpi::{array_split, ROOT};
use mpi::datatype::Partition;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;
use ndarray::{Array2, Zip};

/// The field of file `file_id` over the whole grid: numpy's
/// `((X/10)**2 * (Y/10) + (Y/10)**2 * (X/10) + t/n) % 1` as one expression over `xx` and `yy`,
/// in the same order of operations, so that every value has numpy's bits.
fn generate_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    n_files: usize,
    file_id: usize,
) -> Array2<f64> {
    let t = file_id as f64 / n_files as f64;
    // Zip walks both grids together, point by point, and collects the results into a new
    // array of their shape: numpy's whole expression, in one pass.
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        frac(x * x * y + y * y * x + t)
    })
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

// ANCHOR: write_file
/// This rank's part of the one file: every dataset created, its own files' datasets filled.
fn write_file(args: &Args, world: &SimpleCommunicator, my_files: Vec<usize>) -> Result<Output> {
    let out = Output::create(args, Format::H5)?; // the output folder
    let _profile = gridgen::profile(args)?; // --flamegraph: one per rank
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)

    // ANCHOR: parallel_open
    // Collective: every rank opens the same file (one hidden name, chosen by rank 0), through
    // HDF5's MPI-IO driver on `world`.
    let h5 = gridgen_mpi::create_one_file(&out, world)?;
    let hf = hdf5::File::with_options()
        .with_fapl(|fapl| fapl.mpio(world.as_raw(), None))
        .create(h5.path())?;
    // ANCHOR_END: parallel_open
    let written = write_datasets(&xx, &yy, args, &out, &hf, my_files);
    // ANCHOR: parallel_close
    // Collective: closing writes the metadata of every rank's changes, so every rank closes
    // the file together, and only once all agree their writes succeeded.
    gridgen_mpi::close(world, &h5, hf, written, hdf5::File::close)?;
    gridgen_mpi::commit(h5, world)?; // every rank closed it: rank 0 names it data.h5
                                     // ANCHOR_END: parallel_close
    Ok(out)
}
// ANCHOR_END: write_file

// ANCHOR: write_datasets
/// Every dataset of the file created, on every rank; this rank's own files' datasets filled.
fn write_datasets(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    args: &Args,
    out: &Output,
    hf: &hdf5::File,
    my_files: Vec<usize>,
) -> Result<()> {
    // ANCHOR: parallel_datasets
    // Collective: attributes and datasets change the file's structure, so every rank creates
    // every one of them, with the same values, in the same order.
    write_attributes(hf, args)?;
    for file_id in 0..args.n_files {
        let dataset = hf
            .new_dataset::<f64>()
            .shape((args.size, args.size))
            .create(out.name(file_id).as_str())?;
        dataset
            .new_attr::<u64>()
            .create("file_id")?
            .write_scalar(&(file_id as u64))?;
    }
    // ANCHOR_END: parallel_datasets
    // ANCHOR: parallel_fill
    // Independent: each rank fills the datasets of its own files, whenever they are ready.
    for file_id in out.progress(my_files) {
        let data = generate_data(xx, yy, args.n_files, file_id);
        hf.dataset(&out.name(file_id))?.write(&data)?;
    }
    Ok(())
    // ANCHOR_END: parallel_fill
}
// ANCHOR_END: write_datasets

fn main() -> ExitCode {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work, on every rank

    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is started once, here");
    let world = universe.world();
    let my_files = my_files(&world, args.n_files);
    let written = write_file(&args, &world, my_files);
    // Every rank says how its part went; rank 0 prints the summary of all of them.
    gridgen_mpi::finish(&world, written)
    // `universe` goes out of scope here: MPI is finalized.
}
