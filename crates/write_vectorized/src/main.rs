//! Step 2 — `write_vectorized`: one array expression instead of nested loops.
//!
//! Build the meshgrid once (`xx`, `yy`: the x and y of every grid point), then compute each
//! file's array with one elementwise expression over them, and save it as text like step 1.
//!
//! In Python this removes a million interpreted calls. In Rust the loops of step 1 were already
//! compiled, so the gain is small: formatting text is what costs, and step 3 deals with it.

use gridgen::field::frac;
use gridgen::{Args, Format, Output, Result};
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
    // Zip walks both grids together, point by point, and collects the results into a new
    // array of their shape: numpy's whole expression, in one pass.
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        frac(x * x * y + y * y * x + t)
    })
}
// ANCHOR_END: generate_data

/// Compute file `file_id`'s array in one expression and save it as text.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    out.save_txt(file_id, &data)
}

fn main() -> Result<()> {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work
    let out = Output::create(&args, Format::Txt)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)
    for file_id in out.progress(0..args.n_files) {
        write_data(&xx, &yy, &out, args.n_files, file_id)?;
    }
    out.finish() // the summary line
}
