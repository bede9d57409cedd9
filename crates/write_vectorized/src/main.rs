//! Step 2 — `write_vectorized`: one array expression instead of nested loops.
//!
//! Build the meshgrid once (`xx`, `yy`: the x and y of every grid point), then compute each
//! file's array with one elementwise expression over them, and write it as text like step 1.
//!
//! In Python this removes a million interpreted calls. In Rust the loops of step 1 were already
//! compiled, so the gain is small: text formatting is what costs, and step 3 deals with it.

use std::process::ExitCode;

use gridgen::field::frac;
use gridgen::{Args, Output};
use ndarray::{Array2, Zip};

// ANCHOR: generate_data
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
// ANCHOR_END: generate_data

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and save it as text.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    out.save_txt(file_id, &data)
}
// ANCHOR_END: write_data

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
