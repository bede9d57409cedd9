//! Step 3 — `write_vectorized_binary`: binary .npy files instead of text.
//!
//! The same array as step 2, saved byte for byte as `numpy.save` does: a short header (the
//! value type, `<f8`; the memory order, C; the shape), then the 8 bytes of each value as they
//! sit in memory. No formatting at all, and a third of the bytes of text (8 per value
//! instead of 25).
//!
//! What remains is opening, writing and closing one file per index; step 8 (`write_hdf5`)
//! writes everything into one file instead.

use std::io::Write;
use std::process::ExitCode;

use gridgen::{generate_data, Args, Output};
use ndarray::Array2;

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and save it as .npy.
fn write_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(xx, yy, n_files, file_id);
    // ANCHOR: npy
    // A new hidden file; it gets its name `data00042.npy` only when complete.
    let mut npy = out.create(file_id, "npy")?;
    // numpy.save's header: the value type ('<f8', little-endian f64), the order (C: rows one
    // after another, as ndarray stores them) and the shape, byte for byte as numpy writes it.
    npy.write_all(&gridgen::npy::header(data.shape()))?;
    // The values follow the header as raw bytes, in one write (not one write per value).
    let values = data
        .as_slice()
        .expect("generate_data returns a standard-layout array");
    npy.write_all(bytemuck::cast_slice(values))?;
    npy.commit()
    // ANCHOR_END: npy
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    gridgen::run(gridgen::step!("npy"), |args: &Args, out| {
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
