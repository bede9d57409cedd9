//! Step 5 — `write_multiprocessing_queue`: long-lived workers pulling from a queue.
//!
//! Fixes both costs of step 4. Each of the `-w` workers builds the grids once, when it starts
//! (as the Python worker class does in its constructor), and then takes file indices from a
//! shared channel until it is closed and empty. The main thread feeds the channel as the
//! workers drain it: all of them are busy at once, and nothing is copied per file.
//!
//! Unlike the Python original, the workers stop when the channel is closed and empty, not after
//! a one-second timeout; and the queue is short (two indices a worker), so a run of a billion
//! files holds a few indices in memory, not a billion.

use std::process::ExitCode;

use gridgen::field::frac;
use gridgen::{Output, WorkerArgs};
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
/// `-w` long-lived workers, each with grids of its own, taking file indices from a short queue
/// that the main thread keeps filled. The first worker error stops the feeding and is the
/// run's result.
fn write_files(args: &WorkerArgs, out: &Output) -> gridgen::Result<()> {
    // A worker that fails sends its error here, and the main thread stops handing out work.
    let (error_sender, errors) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| -> gridgen::Result<()> {
        // ANCHOR: queue_channel
        let (task_sender, task_queue) = crossbeam_channel::bounded(2 * args.workers());
        // ANCHOR_END: queue_channel
        // ANCHOR: queue_workers
        for worker in 0..args.workers() {
            let (task_queue, error_sender) = (task_queue.clone(), error_sender.clone());
            std::thread::Builder::new()
                .name(gridgen::workers::worker_name(worker))
                .spawn_scoped(scope, move || {
                    // Set up once per worker, not once per file.
                    let (x, y) = gridgen::axes(args.size);
                    let (xx, yy) = gridgen::meshgrid(&x, &y);
                    for file_id in task_queue {
                        if let Err(e) = write_data(&xx, &yy, out, args.n_files, file_id) {
                            let _ = error_sender.send(e);
                            return;
                        }
                    }
                })
                .map_err(|e| gridgen::workers::cannot_start(worker, e))?;
        }
        // ANCHOR_END: queue_workers
        // ANCHOR: queue_feed
        drop(task_queue); // the workers hold the receiving ends now
        for file_id in 0..args.n_files {
            // Stop handing out files once a worker failed (or all have stopped).
            if !errors.is_empty() || task_sender.send(file_id).is_err() {
                break;
            }
        }
        // ANCHOR_END: queue_feed
        Ok(())
        // `task_sender` is dropped here: the queue closes, and each worker stops once it is
        // empty. The scope waits for them.
    })?;
    match errors.try_recv() {
        Ok(first_error) => Err(first_error),
        Err(_) => Ok(()),
    }
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
