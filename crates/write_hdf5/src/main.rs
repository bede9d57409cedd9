//! Step 8 — `write_hdf5`: every array into one HDF5 file instead of one file each.
//!
//! The same arrays as step 3, each stored with the `hdf5` crate as a dataset named like the
//! file it replaces (`data00042`) inside one `data.h5`. Opening and closing a thousand files was
//! most of step 3's time; now there is one file, and h5py or any HDF5 tool reads it.

use gridgen::field::{frac, X_ORIGIN, Y_ORIGIN};
use gridgen::{Args, Format, Output, Result};
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

// ANCHOR: write_attributes
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
// ANCHOR_END: write_attributes

// ANCHOR: save_dataset
/// h5py: `hf.create_dataset("data00042", data=Z)`, then the dataset's `file_id` attribute.
fn save_dataset(hf: &hdf5::File, out: &Output, file_id: usize, data: &Array2<f64>) -> Result<()> {
    let dataset = hf
        .new_dataset_builder()
        .with_data(data)
        .create(out.name(file_id).as_str())?;
    dataset
        .new_attr::<u64>()
        .create("file_id")?
        .write_scalar(&(file_id as u64))?;
    Ok(())
}
// ANCHOR_END: save_dataset

/// Compute file `file_id`'s array in one expression and store it as a dataset.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    hf: &hdf5::File,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    save_dataset(hf, out, file_id, &data)
}

fn main() -> Result<()> {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work
    let out = Output::create(&args, Format::H5)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)

    // h5py.File("output/data.h5", "w"), under a hidden name until it is complete.
    let h5 = out.create_one_file()?;
    let hf = hdf5::File::create(h5.path())?;
    write_attributes(&hf, &args)?;
    for file_id in out.progress(0..args.n_files) {
        write_data(&xx, &yy, &hf, &out, args.n_files, file_id)?;
    }
    hf.close()?; // every byte is in the file now
    h5.commit()?; // and only now is it named data.h5
    out.finish() // the summary line
}
