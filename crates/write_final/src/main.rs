//! Step 9 — `write_final`: every rank writes into one shared HDF5 file.
//!
//! The scatter of step 7, and the one file of step 8, together: every rank opens the same
//! `data.h5` through HDF5's MPI-IO driver (parallel HDF5). Creating datasets changes the file's
//! structure, which all ranks must agree on, so every rank creates every dataset, in the same
//! order; then each rank fills only the datasets of its own files.
//!
//! The Python original's final step crashes (a group name missing its f-string prefix makes
//! every rank create the same name); this one works at any rank count.

use std::process::ExitCode;

use gridgen::h5::H5File;
use gridgen::mpi::{array_split, ROOT};
use gridgen::{generate_data, Args};
use mpi::datatype::Partition;
use mpi::traits::*;
use mpi::Count;
use ndarray::Array2;

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and store it in its dataset.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    hf: &H5File,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    hf.write_dataset(file_id, &data)
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    gridgen::mpi::run(gridgen::step!(), |args: &Args, out, world| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
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
        // ANCHOR: parallel_hdf5
        // Collective: every rank opens the file and creates every dataset, in the same order.
        let hf = out.create_h5_parallel(world, args.n_files, args.size)?;
        hf.create_datasets(args.n_files, args.size)?;
        // Independent: each rank fills the datasets of its own files.
        for file_id in my_files {
            write_data(&xx, &yy, &hf, args.n_files, file_id)?;
        }
        hf.close()
        // ANCHOR_END: parallel_hdf5
        // ANCHOR_END: main_loop
    })
}
