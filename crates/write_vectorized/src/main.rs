//! Step 2 — `write_vectorized`: one array expression instead of nested loops.
//!
//! Build the meshgrid once (`xx`, `yy`: the x and y of every grid point), then compute each
//! file's array with one elementwise expression over them, and write it as text like step 1.
//!
//! In Python this removes a million interpreted calls. In Rust the loops of step 1 were already
//! compiled, so the gain is small: text formatting is what costs, and step 3 deals with it.

use std::process::ExitCode;

use gridgen::{generate_data, Args, Output};
use ndarray::Array2;

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

fn main() -> ExitCode {
    gridgen::run(gridgen::step!("txt"), |args: &Args, out| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        for file_id in 0..args.n_files {
            write_data(&xx, &yy, out, args.n_files, file_id)?;
        }
        // ANCHOR_END: main_loop
        Ok(())
    })
}
