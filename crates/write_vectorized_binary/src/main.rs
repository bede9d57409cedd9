//! Step 3 — `write_vectorized_binary`: binary .npy files instead of text.
//!
//! The same array as step 2, saved byte for byte as `numpy.save` does: a short header (the
//! value type, `<f8`; the memory order, C; the shape), then the 8 bytes of each value as they
//! sit in memory. No formatting at all, and a third of the bytes of text (8 per value
//! instead of 25).
//!
//! What remains is opening, writing and closing one file per index; step 8 (`write_hdf5`)
//! writes everything into one file instead.

use std::process::ExitCode;

use gridgen::field::frac;
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

// ANCHOR: save_npy
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
// ANCHOR_END: save_npy

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

// The process's allocator: the system's, except that a failed allocation ends the run with one
// line and its unfinished files removed (gridgen's guard), not with Rust's abort.
#[global_allocator]
static ALLOCATOR: gridgen::guard::OneLineOnFailure = gridgen::guard::OneLineOnFailure;

fn main() -> ExitCode {
    gridgen::run(gridgen::step!(), |args: &Args, out| {
        let (x, y) = gridgen::axes(args.size);
        // numpy.meshgrid(x, y): the x and the y of every grid point, rows running over y.
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        for file_id in 0..args.n_files {
            write_data(&xx, &yy, out, args.n_files, file_id)?;
        }
        Ok(())
    })
}
