//! Step 8 — `write_hdf5`: every array into one HDF5 file instead of one file each.
//!
//! The same arrays as step 3, each stored with the `hdf5` crate as a dataset named like the
//! file it replaces (`data00042`) inside one `data.h5`. Opening and closing a thousand files was
//! most of step 3's time; now there is one file, and h5py or any HDF5 tool reads it.

use std::process::ExitCode;

use gridgen::field::{frac, X_ORIGIN, Y_ORIGIN};
use gridgen::{Args, Output};
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

// ANCHOR: attributes
/// The run's parameters on the file's root (h5py: `hf.attrs["n_files"] = n`, …).
fn write_attributes(hf: &hdf5::File, args: &Args) -> gridgen_h5::Result<()> {
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

// ANCHOR: dataset
/// h5py: `hf.create_dataset("data00042", data=Z)`, then the dataset's `file_id` attribute.
fn save_dataset(
    hf: &hdf5::File,
    out: &Output,
    file_id: usize,
    data: &Array2<f64>,
) -> gridgen_h5::Result<()> {
    // ANCHOR: create_dataset
    let dataset = hf
        .new_dataset_builder()
        .with_data(data)
        .create(out.name(file_id).as_str())?;
    dataset
        .new_attr::<u64>()
        .create("file_id")?
        .write_scalar(&(file_id as u64))?;
    // ANCHOR_END: create_dataset
    Ok(())
}
// ANCHOR_END: dataset

/// Compute file `file_id`'s array in one expression and store it as a dataset.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    hf: &hdf5::File,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen_h5::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    save_dataset(hf, out, file_id, &data)
}

// ANCHOR: write_file
/// One HDF5 file for every array of the run.
fn write_file(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    args: &Args,
    out: &Output,
) -> gridgen_h5::Result<()> {
    // h5py.File("output/data.h5", "w"): HDF5 creates the file itself, exclusively, at the
    // hidden temporary path the run hands it.
    let hf = gridgen_h5::create(out, |path| hdf5::File::create_excl(path))?;
    write_attributes(&hf, args)?;
    // out.progress: a dataset has no file of its own to say when it is done (like tqdm).
    for file_id in out.progress(0..args.n_files) {
        write_data(xx, yy, &hf, out, args.n_files, file_id)?;
    }
    hf.close(hdf5::File::close) // and only now is it renamed data.h5
}
// ANCHOR_END: write_file

// The process's allocator: the system's, except that a failed allocation ends the run with one
// line and its unfinished files removed (gridgen's guard), not with Rust's abort.
#[global_allocator]
static ALLOCATOR: gridgen::guard::OneLineOnFailure = gridgen::guard::OneLineOnFailure;

fn main() -> ExitCode {
    gridgen_h5::run(gridgen::step!(), |args: &Args, out| {
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        write_file(&xx, &yy, args, out)
    })
}
