//! Step 7 — `write_mpi_scatter`: one collective instead of hand-written messages.
//!
//! The same split as step 6, handed out by MPI itself: a scatter gives every rank its count,
//! then a variable-count scatter gives every rank its own slice of the file indices. No loop
//! over ranks, no matching send and receive to get wrong, and the MPI library is free to use
//! the fastest way its network has.

use std::io::Write;
use std::process::ExitCode;

use gridgen::mpi::{array_split, ROOT};
use gridgen::{generate_data, Args, Output};
use mpi::datatype::Partition;
use mpi::traits::*;
use mpi::Count;
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
        let root = world.process_at_rank(ROOT);
        let mut my_count: Count = 0;
        let mut my_files: Vec<usize>;
        if world.rank() == ROOT {
            let chunks = array_split(args.n_files, world.size() as usize);
            let counts: Vec<Count> = chunks.iter().map(|c| c.len() as Count).collect();
            let starts: Vec<Count> = chunks.iter().map(|c| c.start as Count).collect();
            let all_files: Vec<usize> = (0..args.n_files).collect();
            root.scatter_into_root(&counts[..], &mut my_count);
            my_files = vec![0; my_count as usize];
            let partition = Partition::new(&all_files[..], counts, starts);
            root.scatter_varcount_into_root(&partition, &mut my_files[..]);
        } else {
            root.scatter_into(&mut my_count);
            my_files = vec![0; my_count as usize];
            root.scatter_varcount_into(&mut my_files[..]);
        }
        // ANCHOR_END: distribute
        for file_id in my_files {
            write_data(&xx, &yy, out, args.n_files, file_id)?;
        }
        // ANCHOR_END: main_loop
        Ok(())
    })
    // `universe` is dropped on the way out of main: MPI_Finalize.
}
