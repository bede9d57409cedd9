//! Step 5 — `write_multiprocessing_queue`: long-lived workers fed by a queue.
//!
//! The Python original's `Process` workers and `JoinableQueue`: `-w` worker threads, each
//! setting up its own grids once, take file indices from a bounded channel that this thread
//! fills. No task copies the grids, and nobody waits for a reply: every worker is busy as long
//! as there are files left.

use crossbeam_channel::Receiver;
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
/// `-w` long-lived workers taking file indices from a queue that this thread fills.
fn write_files(args: &Args, out: &Output) -> Result<()> {
    std::thread::scope(|scope| {
        // A queue with room for two files a worker: no worker ever waits for this thread.
        let (queue, tasks) = crossbeam_channel::bounded(2 * args.workers);
        let mut workers = Vec::new();
        for _ in 0..args.workers {
            let tasks = tasks.clone();
            workers.push(scope.spawn(move || worker(tasks, args, out)));
        }
        drop(tasks); // the workers alone hold the queue's other end now
        for file_id in 0..args.n_files {
            // A send fails only once every worker has stopped on an error: join says which.
            if queue.send(file_id).is_err() {
                break;
            }
        }
        drop(queue); // no more files: each worker's loop ends once the queue is empty
        for worker in workers {
            worker.join().expect("a worker panicked")?;
        }
        Ok(())
    })
}
// ANCHOR_END: write_files

// ANCHOR: worker
/// One worker: its own grids, set up once, then every file index it takes from the queue.
fn worker(tasks: Receiver<usize>, args: &Args, out: &Output) -> Result<()> {
    let (x, y) = gridgen::axes(args.size);
    let (xx, yy) = gridgen::meshgrid(&x, &y);
    for file_id in out.progress(tasks) {
        write_data(&xx, &yy, out, args.n_files, file_id)?;
    }
    Ok(())
}
// ANCHOR_END: worker

fn main() -> Result<()> {
    let args = Args::parse_with_workers(); // -n, -s, -o, --dir, and -w: the workers
    let out = Output::create(&args, Format::Npy)?; // the output folder
    let _profile = gridgen::profile(&args)?; // --flamegraph: where the time goes
    write_files(&args, &out)?;
    out.finish() // the summary line
}
