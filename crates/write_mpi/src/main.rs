//! Step 6 — `write_mpi`: MPI ranks, with hand-written messages.
//!
//! The same program runs as several processes, the ranks of an MPI job (`mpirun -np 4`). Rank
//! 0 splits the file indices into one contiguous chunk per rank, as `numpy.array_split` does,
//! keeps the first and sends every other rank its own; each rank writes its files. Unlike
//! threads, ranks share no memory: whatever one needs from another travels as a message, and
//! the ranks may run on different machines of a cluster.

use std::process::ExitCode;

use gridgen::field::frac;
use gridgen::{Args, Format, Output, Result};
use gridgen_mpi::{array_split, ROOT};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
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

/// `numpy.save(path, data)`: the .npy header, then the array's bytes, in a new file.
fn save_npy(out: &Output, file_id: usize, data: &Array2<f64>) -> Result<()> {
    // A new file, hidden until it is complete: then it takes its name, data00042.npy.
    let mut file = out.create_file(file_id)?;
    // numpy.save's header: the value type ('<f8', a little-endian f64), the order (C: rows
    // one after another, as ndarray stores them) and the shape.
    file.write_all(&gridgen::npy::header(data.shape()))?;
    // Then every value's 8 bytes as they sit in memory (numpy's data.tobytes()), in one write.
    file.write_all(gridgen::npy::tobytes(data))?;
    file.commit()
}

/// Compute file `file_id`'s array in one expression and save it as .npy.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    save_npy(out, file_id, &data)
}

// ANCHOR: my_files
/// This rank's file indices: rank 0 splits `0..n_files` into one contiguous chunk per rank
/// (sized like numpy.array_split), keeps the first and sends every other rank its own.
fn my_files(world: &SimpleCommunicator, n_files: usize) -> Vec<usize> {
    if world.rank() == ROOT {
        let chunks = array_split(n_files, world.size() as usize);
        for (rank, chunk) in chunks.iter().enumerate().skip(1) {
            let files: Vec<usize> = chunk.clone().collect();
            world.process_at_rank(rank as i32).send(&files[..]);
        }
        chunks[0].clone().collect()
    } else {
        let (files, _status) = world.process_at_rank(ROOT).receive_vec();
        files
    }
}
// ANCHOR_END: my_files

/// This rank's part of the run: its own files.
fn write_files(args: &Args, my_files: Vec<usize>) -> Result<Output> {
    let out = Output::create(args, Format::Npy)?; // the output folder
    let _profile = gridgen::profile(args)?; // --flamegraph: one per rank
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)
    for file_id in out.progress(my_files) {
        write_data(&xx, &yy, &out, args.n_files, file_id)?;
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work, on every rank

    // ANCHOR: init
    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is started once, here");
    let world = universe.world();
    // ANCHOR_END: init
    let my_files = my_files(&world, args.n_files);
    let written = write_files(&args, my_files);
    // Every rank says how its part went; rank 0 prints the summary of all of them.
    gridgen_mpi::finish(&world, written)
    // `universe` goes out of scope here: MPI is finalized.
}
