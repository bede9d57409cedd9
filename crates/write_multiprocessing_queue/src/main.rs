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

use std::io::Write;
use std::process::ExitCode;

use gridgen::{generate_data, Output, WorkerArgs};
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
    gridgen::run(gridgen::step!("npy"), |args: &WorkerArgs, out| {
        // ANCHOR: main_loop
        // A worker that fails sends its error here, and the main thread stops handing out work.
        let (error_sender, errors) = crossbeam_channel::unbounded();
        std::thread::scope(|scope| -> gridgen::Result<()> {
            // ANCHOR: workers
            let (task_sender, task_queue) = crossbeam_channel::bounded(2 * args.workers());
            for worker in 0..args.workers() {
                let (task_queue, error_sender) = (task_queue.clone(), error_sender.clone());
                std::thread::Builder::new()
                    .name(format!("worker-{worker}"))
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
            drop(task_queue); // the workers hold the receiving ends now
                              // ANCHOR_END: workers
                              // ANCHOR: feed
            for file_id in 0..args.n_files {
                // Stop handing out files once a worker failed (or all have stopped).
                if !errors.is_empty() || task_sender.send(file_id).is_err() {
                    break;
                }
            }
            // ANCHOR_END: feed
            Ok(())
            // `task_sender` is dropped here: the queue closes, and each worker stops once it
            // is empty. The scope waits for them.
        })?;
        match errors.try_recv() {
            Ok(first_error) => Err(first_error),
            Err(_) => Ok(()),
        }
        // ANCHOR_END: main_loop
    })
}
