//! Step 4 — `write_multiprocessing`: a pool of worker threads, one blocking task per file.
//!
//! The Rust shape of Python's `Pool.apply`: `-w` worker threads wait for tasks on a channel;
//! this thread hands out one file index at a time and waits for that file to be written before
//! handing out the next. Each task makes its own copy of the grids, as pickling them for every
//! task does in Python.
//!
//! It is no faster than step 3, for two reasons the profile and the timeline show:
//! - every task copies the unchanging grids, and
//! - `apply` blocks: while one worker writes a file, the other workers and this thread wait,
//!   so only one file is ever in progress. (The Python slides blame the pickling alone; the
//!   blocking round trip is the bigger cost.)
//!
//! Step 5 removes both.

use crossbeam_channel::{Receiver, Sender};
use gridgen::field::frac;
use gridgen::{Args, Format, Output, Result};
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
/// `Pool(w)`, then `pool.apply(write_data, …)` for every file: `-w` workers, each file handed
/// to them on a channel, its answer awaited on another before the next file is handed out.
fn write_files(xx: &Array2<f64>, yy: &Array2<f64>, args: &Args, out: &Output) -> Result<()> {
    std::thread::scope(|scope| {
        let (pool, tasks) = crossbeam_channel::unbounded();
        let (to_main, answers) = crossbeam_channel::unbounded();
        for _ in 0..args.workers {
            let (tasks, to_main) = (tasks.clone(), to_main.clone());
            scope.spawn(move || worker(tasks, to_main, xx, yy, args, out));
        }
        drop(to_main); // this thread only listens: if every worker stops, recv says so
        for file_id in 0..args.n_files {
            // pool.apply: hand the pool one file, then wait until it is written.
            pool.send(file_id)?;
            let written = answers.recv()?;
            written?;
        }
        Ok(())
        // Leaving drops `pool`: each worker's loop ends, and the scope waits for them.
    })
}
// ANCHOR_END: write_files

// ANCHOR: worker
/// One worker of the pool: every file index it is handed, each task with its own copy of the
/// grids, its answer sent back to the thread that waits for it.
fn worker(
    tasks: Receiver<usize>,
    to_main: Sender<Result<()>>,
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    args: &Args,
    out: &Output,
) {
    for file_id in out.progress(tasks) {
        // The task's own copy of the grids, as pickling them for every task makes one.
        let (xx, yy) = (xx.clone(), yy.clone());
        let written = write_data(&xx, &yy, out, args.n_files, file_id);
        if to_main.send(written).is_err() {
            return; // the main thread has stopped waiting
        }
    }
}
// ANCHOR_END: worker

fn main() -> Result<()> {
    let args = Args::parse_with_workers(); // -n, -s, -o, --dir, and -w: the workers
    let out = Output::create(&args, Format::Npy)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    let (x, y) = gridgen::axes(args.size); // numpy.arange around the grid's centre
    let (xx, yy) = gridgen::meshgrid(&x, &y); // numpy.meshgrid(x, y)
    write_files(&xx, &yy, &args, &out)?;
    out.finish() // the summary line
}
