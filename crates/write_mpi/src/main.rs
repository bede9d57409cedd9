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

use std::io::Write;
use std::process::ExitCode;

use gridgen::mpi::{array_split, ROOT};
use gridgen::{generate_data, Args, Output};
use mpi::traits::*;
use ndarray::Array2;

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and save it as .npy.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    // ANCHOR: npy
    // A new hidden file; it gets its name `data00042.npy` only when complete.
    let mut npy = out.create(file_id, "npy")?;
    // numpy.save's header: the value type ('<f8', little-endian f64), the order (C: rows one
    // after another, as ndarray stores them) and the shape, byte for byte as numpy writes it.
    npy.write_all(&gridgen::npy::header(data.shape()))?;
    // The values follow the header as raw bytes, in one write (not one write per value).
    let values = data
        .as_slice()
        .expect("generate_data returns a standard-layout array");
    npy.write_all(bytemuck::cast_slice(values))?;
    npy.commit()
    // ANCHOR_END: npy
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    // ANCHOR: init
    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is initialised once, here");
    let world = universe.world();
    // ANCHOR_END: init
    gridgen::mpi::run_in(gridgen::step!("npy"), &world, |args: &Args, out, world| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        // ANCHOR: distribute
        let my_files: Vec<usize> = if world.rank() == ROOT {
            let chunks = array_split(args.n_files, world.size() as usize);
            for (rank, chunk) in chunks.iter().enumerate().skip(1) {
                let files: Vec<usize> = chunk.clone().collect();
                world.process_at_rank(rank as i32).send(&files[..]);
            }
            chunks[0].clone().collect()
        } else {
            world.process_at_rank(ROOT).receive_vec().0
        };
        // ANCHOR_END: distribute
        for file_id in my_files {
            write_data(&xx, &yy, out, args.n_files, file_id)?;
        }
        // ANCHOR_END: main_loop
        Ok(())
    })
    // `universe` is dropped on the way out of main: MPI_Finalize.
}
