//! Capstone 2: MPI ranks writing one parallel HDF5 file, on crates.io's crates alone (no
//! gridgen).
//!
//! The same command line and the same file as the workshop's `write_final`: `-n` datasets of
//! `-s`×`-s` values in `<dir>/<prefix>.h5`, each rank computing and writing its own share of
//! the file indices. `make verify STEP=capstone_mpi` grades it against that step.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use ndarray::{Array1, Array2, Zip};

/// The workshop's command line.
#[derive(Parser)]
struct Args {
    /// Number of files (datasets)
    #[arg(short = 'n', default_value_t = 15)]
    n_files: usize,
    /// Grid points along each side
    #[arg(short = 's', default_value_t = 100)]
    size: usize,
    /// File-name prefix
    #[arg(short = 'o', default_value = "data")]
    prefix: String,
    /// Output folder
    #[arg(long, default_value = "output")]
    dir: PathBuf,
}

/// `numpy.arange(origin - size/2, origin + size/2)`: one axis of the grid.
fn axis(origin: f64, size: usize) -> Array1<f64> {
    let start = origin - size as f64 / 2.0;
    Array1::from_iter((0..size).map(|j| start + j as f64))
}

/// The field of file `file_id` over the grid, in numpy's order of operations.
fn generate_data(xx: &Array2<f64>, yy: &Array2<f64>, n_files: usize, file_id: usize) -> Array2<f64> {
    let t = file_id as f64 / n_files as f64;
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        let v = x * x * y + y * y * x + t;
        v - v.floor()
    })
}

// ANCHOR: my_files
/// `numpy.array_split(range(n), ranks)[rank]`: the first `n % ranks` ranks get one more.
fn my_files(n: usize, ranks: usize, rank: usize) -> std::ops::Range<usize> {
    let (base, extra) = (n / ranks, n % ranks);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}
// ANCHOR_END: my_files

// ANCHOR: agree
/// True on every rank when `ok` is true on every rank: one all-reduce. Called before each
/// collective step, so that a rank that failed never leaves the others waiting in it.
fn all_agree(world: &SimpleCommunicator, ok: bool) -> bool {
    let mut all = 0i32;
    world.all_reduce_into(&i32::from(ok), &mut all, SystemOperation::min());
    all == 1
}
// ANCHOR_END: agree

// ANCHOR: write_datasets
/// Every rank creates every dataset (a change to the file's structure is collective), then
/// fills its own files' datasets (independent writes).
fn write_datasets(file: &hdf5::File, args: &Args, mine: std::ops::Range<usize>) -> hdf5::Result<()> {
    for (name, value) in [("n_files", args.n_files as u64), ("size", args.size as u64)] {
        file.new_attr::<u64>().create(name)?.write_scalar(&value)?;
    }
    for (name, value) in [("x_origin", 0.0f64), ("y_origin", 500.0)] {
        file.new_attr::<f64>().create(name)?.write_scalar(&value)?;
    }
    for file_id in 0..args.n_files {
        let name = format!("{}{file_id:05}", args.prefix);
        let dataset = file.new_dataset::<f64>().shape((args.size, args.size)).create(name.as_str())?;
        dataset.new_attr::<u64>().create("file_id")?.write_scalar(&(file_id as u64))?;
    }
    let (x, y) = (axis(0.0, args.size), axis(500.0, args.size));
    let xx = Array2::from_shape_fn((args.size, args.size), |(_, j)| x[j]);
    let yy = Array2::from_shape_fn((args.size, args.size), |(i, _)| y[i]);
    for file_id in mine {
        let data = generate_data(&xx, &yy, args.n_files, file_id);
        file.dataset(&format!("{}{file_id:05}", args.prefix))?.write(&data)?;
    }
    Ok(())
}
// ANCHOR_END: write_datasets

// ANCHOR: write_file
/// The whole file, through MPI-IO, under a hidden name that rank 0 renames once every rank
/// succeeded and the file is closed. Whatever fails on one rank, every rank gets past every
/// collective call, so none hangs; the hidden file is removed.
fn write_file(world: &SimpleCommunicator, args: &Args) -> Result<()> {
    let rank = world.rank() as usize;
    let path = args.dir.join(format!("{}.h5", args.prefix));
    // One hidden name for all ranks: rank 0's process id, broadcast.
    let mut id = std::process::id();
    world.process_at_rank(0).broadcast_into(&mut id);
    let partial = args.dir.join(format!(".{}.h5.{id}.partial", args.prefix));
    let made = fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()));
    if !all_agree(world, made.is_ok()) {
        return made.and(Err(Quiet.into()));
    }
    let file = hdf5::File::with_options()
        .with_fapl(|fapl| fapl.mpio(world.as_raw(), None))
        .create_excl(&partial);
    let file = match (all_agree(world, file.is_ok()), file) {
        (true, Ok(file)) => file,
        (_, file) => return cleanup(rank, &partial, file.err().map(|e| anyhow::Error::from(e).context(format!("cannot create {}", path.display())))),
    };
    let mine = my_files(args.n_files, world.size() as usize, rank);
    let written = write_datasets(&file, args, mine).with_context(|| format!("cannot write {}", path.display()));
    let all_written = all_agree(world, written.is_ok());
    let closed = file.close().with_context(|| format!("cannot write {}", path.display()));
    if !all_agree(world, all_written && closed.is_ok()) {
        return cleanup(rank, &partial, written.and(closed).err());
    }
    if rank == 0 {
        fs::rename(&partial, &path).map_err(|e| {
            let _ = fs::remove_file(&partial);
            anyhow::Error::from(e).context(format!("cannot write {}", path.display()))
        })?;
    }
    Ok(())
}

// ANCHOR_END: write_file

/// After a failure: rank 0 removes the hidden file; the rank that failed reports its error,
/// the others end quietly with exit 1.
fn cleanup(rank: usize, partial: &Path, error: Option<anyhow::Error>) -> Result<()> {
    if rank == 0 {
        let _ = fs::remove_file(partial);
    }
    match error {
        Some(e) => Err(e),
        None => bail!(Quiet),
    }
}

/// The error of a rank that did not fail itself: it exits 1 without a line of its own.
#[derive(Debug)]
struct Quiet;

impl std::fmt::Display for Quiet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("another rank failed")
    }
}

impl std::error::Error for Quiet {}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(universe) = mpi::initialize() else {
        eprintln!("capstone_mpi: MPI did not start");
        return ExitCode::from(1);
    };
    let world = universe.world();
    match write_file(&world, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Quiet>() => ExitCode::from(1),
        Err(e) => {
            eprintln!("capstone_mpi: rank {}: {e:#}", world.rank());
            ExitCode::from(1)
        }
    }
}
