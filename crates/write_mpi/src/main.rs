//! Step 6 — `write_mpi`: many processes, possibly on many machines, with MPI.
//!
//! Start it with `mpirun -np 4 write_mpi …` (or `srun` under Slurm): every rank runs this same
//! program. `mpi::initialize()` connects the ranks; `world.rank()` says which one this is and
//! `world.size()` how many there are. Rank 0 splits the file indices into one contiguous chunk
//! per rank, sized like `numpy.array_split`, keeps the first and sends every other rank its own
//! with a point-to-point message. Each rank then writes its chunk's .npy files exactly as step 3
//! does.
//!
//! Unlike the Python original, any number of files works with any number of ranks, including
//! more ranks than files (a rank with nothing to do says so).

use std::process::ExitCode;

use gridgen::field::frac;
use gridgen::{Args, Output};
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
    // Zip walks both grids together, point by point, and collects the results into a new array
    // of their shape: what numpy does for the whole expression (in one pass, not one per
    // operator).
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        frac(x * x * y + y * y * x + t)
    })
}

/// `numpy.save(path, data)`: the .npy header, then the array's bytes, in a new file.
fn save_npy(out: &Output, file_id: usize, data: &Array2<f64>) -> gridgen::Result<()> {
    // A new hidden file; it gets its name `data00042.npy` only when complete.
    let mut npy = out.create(file_id)?;
    // numpy.save's header: the value type ('<f8', little-endian f64), the order (C: rows one
    // after another, as ndarray stores them) and the shape, byte for byte as numpy writes it.
    npy.write_all(&gridgen::npy::header(data.shape()))?;
    // The values follow the header as raw bytes, in one write (not one write per value).
    let values = data
        .as_slice()
        .expect("generate_data returns a standard-layout array");
    npy.write_all(bytemuck::cast_slice(values))?;
    npy.commit()
}

/// Compute file `file_id`'s array in one expression and save it as .npy.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    save_npy(out, file_id, &data)
}

// ANCHOR: distribute
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
        world.process_at_rank(ROOT).receive_vec().0
    }
}
// ANCHOR_END: distribute

// The process's allocator: the system's, except that a failed allocation ends the run with one
// line and its unfinished files removed (gridgen's guard), not with Rust's abort.
#[global_allocator]
static ALLOCATOR: gridgen::guard::OneLineOnFailure = gridgen::guard::OneLineOnFailure;

fn main() -> ExitCode {
    // ANCHOR: init
    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is initialised once, here");
    let world = universe.world();
    // ANCHOR_END: init
    gridgen_mpi::run_in(
        gridgen::step!(),
        &world,
        |args: &Args, out, world| -> gridgen::Result<()> {
            let (x, y) = gridgen::axes(args.size);
            let (xx, yy) = gridgen::meshgrid(&x, &y);
            for file_id in my_files(world, args.n_files) {
                write_data(&xx, &yy, out, args.n_files, file_id)?;
            }
            Ok(())
        },
    )
    // `universe` is dropped on the way out of main: MPI_Finalize.
}
