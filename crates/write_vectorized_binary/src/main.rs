//! Step 3 — `write_vectorized_binary`: binary .npy files instead of text.
//!
//! The same array as step 2, saved byte for byte as `numpy.save` does: a short header (the
//! value type, `<f8`; the memory order, C; the shape), then the 8 bytes of each value as they
//! sit in memory. No formatting at all, and a third of the bytes of text (8 per value instead
//! of 25).
//!
//! What remains is opening, writing and closing one file per index; step 8 (`write_hdf5`)
//! writes everything into one file instead.

use gridgen::field::frac;
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

// ANCHOR: save_npy
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
// ANCHOR_END: save_npy

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

fn main() -> Result<()> {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work
    let out = Output::create(&args, Format::Npy)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)
    for file_id in out.progress(0..args.n_files) {
        write_data(&xx, &yy, &out, args.n_files, file_id)?;
    }
    out.finish() // the summary line
}
