//! Step 4 — `write_multiprocessing`: a pool of worker threads, one blocking task per file.
//!
//! The Rust shape of Python's `Pool.apply`: the main thread hands each file index to a pool of
//! `-w` worker threads as a task that carries its own copy of the grids (what pickling does in
//! Python), and waits for that task's reply before handing out the next.
//!
//! It is no faster than step 3, for two reasons the profile and the timeline show:
//! - every task copies the unchanging grids, and
//! - `apply` blocks: while one worker writes a file, the other workers and the main thread wait,
//!   so only one file is ever in progress. (The Python slides blame the pickling alone; the
//!   blocking round trip is the bigger cost.)
//!
//! Step 5 removes both.

use std::process::ExitCode;

use gridgen::workers::with_pool;
use gridgen::{generate_data, Output, WorkerArgs};
use ndarray::Array2;

// ANCHOR: write_data
/// Compute file `file_id`'s array in one expression and save it as .npy.
fn write_data(
    xx: Array2<f64>,
    yy: Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(&xx, &yy, n_files, file_id);
    out.save_npy(file_id, &data)
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    gridgen::run(gridgen::step!(), |args: &WorkerArgs, out| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        with_pool(args.workers(), |pool| {
            for file_id in 0..args.n_files {
                // Each task gets its own copy of the grids, as pickling sends one, …
                let (xx, yy, n_files) = (xx.clone(), yy.clone(), args.n_files);
                // … and apply waits for this file to be written before handing out the next.
                pool.apply(move || write_data(xx, yy, out, n_files, file_id))?;
            }
            Ok(())
        })
        // ANCHOR_END: main_loop
    })
}
