//! Step 10 — `write_rayon`: the parallel loop of step 5, written with rayon.
//!
//! Not in the Python workshop: it is the question every Rust learner asks after the thread
//! steps. `(0..n).into_par_iter()` turns the loop over file indices into a parallel iterator;
//! rayon splits the range across its worker threads and, when one runs out of work, it steals
//! half of another's (work stealing). No channel, no spawn loop, no error plumbing:
//! `try_for_each_init` builds each worker's grids once and stops at the first error, which
//! comes back as the loop's result.

use std::io::Write;
use std::process::ExitCode;

use gridgen::{generate_data, Output, WorkerArgs};
use ndarray::Array2;
use rayon::prelude::*;

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
    gridgen::run(gridgen::step!("npy"), |args: &WorkerArgs, out| {
        // ANCHOR: main_loop
        // A pool of `-w` named workers for this loop (not rayon's global pool, which would take
        // every core of a shared node).
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(args.workers())
            .thread_name(|worker| format!("worker-{worker}"))
            .build()
            .map_err(|e| gridgen::Error::Threads(format!("cannot start the workers: {e}")))?;
        pool.install(|| {
            (0..args.n_files).into_par_iter().try_for_each_init(
                // Set up once per piece of work a worker takes on, not once per file.
                || {
                    let (x, y) = gridgen::axes(args.size);
                    gridgen::meshgrid(&x, &y)
                },
                |(xx, yy), file_id| write_data(xx, yy, out, args.n_files, file_id),
            )
        })
        // ANCHOR_END: main_loop
    })
}
