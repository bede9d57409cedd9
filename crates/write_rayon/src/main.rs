//! Step 10 — `write_rayon`: the parallel loop of step 5, written with rayon.
//!
//! Not in the Python workshop: it is the question every Rust learner asks after the thread
//! steps. `(0..n).into_par_iter()` turns the loop over file indices into a parallel iterator;
//! rayon splits the range across its worker threads and, when one runs out of work, it steals
//! half of another's (work stealing). No channel, no spawn loop, no error plumbing:
//! `try_for_each_init` builds each worker's grids once and stops at the first error, which
//! comes back as the loop's result.

use std::process::ExitCode;

use gridgen::field::frac;
use gridgen::{Output, WorkerArgs};
use ndarray::{Array2, Zip};
use rayon::prelude::*;

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

// ANCHOR: write_files
/// The loop over file indices as a parallel iterator, on a pool of `-w` named workers.
fn write_files(args: &WorkerArgs, out: &Output) -> gridgen::Result<()> {
    // A pool of its own for this loop (not rayon's global pool, which would take every core of
    // a shared node).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.workers())
        .thread_name(gridgen::workers::worker_name)
        .build()
        .map_err(gridgen::workers::pool_refused)?;
    // ANCHOR: par_iter
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
    // ANCHOR_END: par_iter
}
// ANCHOR_END: write_files

// The process's allocator: the system's, except that a failed allocation ends the run with one
// line and its unfinished files removed (gridgen's guard), not with Rust's abort.
#[global_allocator]
static ALLOCATOR: gridgen::guard::OneLineOnFailure = gridgen::guard::OneLineOnFailure;

fn main() -> ExitCode {
    gridgen::run(gridgen::step!(), |args: &WorkerArgs, out| {
        write_files(args, out)
    })
}
