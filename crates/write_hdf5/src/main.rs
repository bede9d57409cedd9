//! Step 8 — `write_hdf5`: every array into one HDF5 file instead of one file each.
//!
//! The same arrays as step 3, each stored with the `hdf5` crate as a dataset named like the
//! file it replaces (`data00042`) inside one `data.h5`. Opening and closing a thousand files was
//! most of step 3's time; now there is one file, and h5py or any HDF5 tool reads it.

use std::process::ExitCode;

use gridgen::field::{X_ORIGIN, Y_ORIGIN};
use gridgen::{generate_data, Args, Output};
use ndarray::Array2;

// ANCHOR: attributes
/// The run's parameters on the file's root (h5py: `hf.attrs["n_files"] = n`, …).
fn write_attributes(hf: &hdf5::File, args: &Args) -> gridgen::Result<()> {
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

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and store it as a dataset.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    hf: &hdf5::File,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    // ANCHOR: dataset
    // h5py: hf.create_dataset("data00042", data=Z), then its file_id attribute.
    let dataset = hf
        .new_dataset_builder()
        .with_data(&data)
        .create(out.name(file_id).as_str())?;
    dataset
        .new_attr::<u64>()
        .create("file_id")?
        .write_scalar(&(file_id as u64))?;
    Ok(())
    // ANCHOR_END: dataset
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    gridgen::run(gridgen::step!("h5"), |args: &Args, out| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        // ANCHOR: create
        // h5py.File("output/data.h5", "w"), on the file's hidden temporary name.
        let hf = out.create_h5(|path| hdf5::File::create(path))?;
        // ANCHOR_END: create
        write_attributes(&hf, args)?;
        for file_id in 0..args.n_files {
            write_data(&xx, &yy, &hf, out, args.n_files, file_id)?;
        }
        hf.close() // and only now it is renamed data.h5
                   // ANCHOR_END: main_loop
    })
}
