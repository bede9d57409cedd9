//! Step 8 — `write_hdf5`: every array into one HDF5 file instead of one file each.
//!
//! The same arrays as step 3, each stored as a dataset named like the file it replaces
//! (`data00042`) inside one `data.h5`. Opening and closing a thousand files was most of step 3's
//! time; now there is one file, and h5py or any HDF5 tool reads it.

use std::process::ExitCode;

use gridgen::h5::H5File;
use gridgen::{generate_data, Args};
use ndarray::Array2;

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and store it as a dataset.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    hf: &H5File,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    hf.create_dataset(file_id, &data)
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    gridgen::run(gridgen::step!(), |args: &Args, out| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        let hf = out.create_h5(args.n_files, args.size)?;
        for file_id in 0..args.n_files {
            write_data(&xx, &yy, &hf, args.n_files, file_id)?;
        }
        hf.close()
        // ANCHOR_END: main_loop
    })
}
