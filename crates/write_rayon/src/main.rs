//! Step 10 — `write_rayon`: the parallel loop written with rayon.
//!
//! Step 5's workers and queue, in one expression: `into_par_iter()` over the file indices runs
//! the loop's body on a pool of `-w` threads, and rayon hands out the indices itself (an idle
//! thread steals work from a busy one). `try_for_each_init` gives each thread its own grids,
//! set up once, and stops at the first error.

use gridgen::field::frac;
use gridgen::{Args, Format, Output, Result};
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
    // Zip walks both grids together, point by point, and collects the results into a new
    // array of their shape: numpy's whole expression, in one pass.
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        frac(x * x * y + y * y * x + t)
    })
}

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

// ANCHOR: write_files
/// Every file index on a rayon pool of `-w` threads, each with its own grids.
fn write_files(args: &Args, out: &Output) -> Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.workers)
        .build()?;
    pool.install(|| {
        (0..args.n_files).into_par_iter().try_for_each_init(
            // Once per thread: its own grids.
            || {
                let (x, y) = gridgen::axes(args.size);
                gridgen::meshgrid(&x, &y)
            },
            // For every file index, on whichever thread is free.
            |(xx, yy), file_id| {
                let _done = out.track(file_id); // the bar and the timeline, like out.progress
                write_data(xx, yy, out, args.n_files, file_id)
            },
        )
    })
}
// ANCHOR_END: write_files

fn main() -> Result<()> {
    let args = Args::parse_with_workers(); // -n, -s, -o, --dir, and -w: the workers
    let out = Output::create(&args, Format::Npy)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    write_files(&args, &out)?;
    out.finish() // the summary line
}
