//! Step 1 — `write`: the baseline every later step is checked against.
//!
//! Python's `write.py`, line for line: for each file index, fill a size × size array one value
//! at a time with two nested loops, then save it as text, exactly as `numpy.savetxt` does.
//!
//! In Python the loops are what made it slow (a million interpreted calls for 100 files). In
//! Rust they compile to the same machine code as step 2's array expression: the profile shows
//! the time going into formatting text instead.

use gridgen::field::frac;
use gridgen::{Args, Format, Output, Result};
use ndarray::{Array1, Array2};

// ANCHOR: generate_value
/// The field at one point, in numpy's order of operations:
/// `((x/10)² · (y/10) + (y/10)² · (x/10) + t/n) % 1`.
fn generate_value(x: f64, y: f64, n_files: usize, file_id: usize) -> f64 {
    let (x, y) = (x / 10.0, y / 10.0);
    frac(x * x * y + y * y * x + file_id as f64 / n_files as f64)
}
// ANCHOR_END: generate_value

// ANCHOR: write_data
/// Compute file `file_id`'s array element by element and save it as text.
fn write_data(
    x: &Array1<f64>,
    y: &Array1<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> Result<()> {
    let mut data = Array2::zeros((y.len(), x.len()));
    for i in 0..y.len() {
        for j in 0..x.len() {
            // Row i runs over y, column j over x: the same array numpy's meshgrid gives.
            data[[i, j]] = generate_value(x[j], y[i], n_files, file_id);
        }
    }
    out.save_txt(file_id, &data)
}
// ANCHOR_END: write_data

fn main() -> Result<()> {
    let args = Args::parse(); // -n, -s, -o, --dir: argparse's work
    let out = Output::create(&args, Format::Txt)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    for file_id in out.progress(0..args.n_files) {
        write_data(&x, &y, &out, args.n_files, file_id)?;
    }
    out.finish() // the summary line
}
