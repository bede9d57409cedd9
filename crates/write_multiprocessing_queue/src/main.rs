//! Step 5 — `write_multiprocessing_queue`: long-lived workers pulling from a queue.
//!
//! Fixes both costs of step 4. Each of the `-w` workers builds the grids once, when it starts
//! (as the Python worker class does in its constructor), and then takes file indices from a
//! shared channel until it is empty. The main thread puts every index on the channel, closes it,
//! and waits for the workers: all of them are busy at once, and nothing is copied per file.
//!
//! Unlike the Python original, the workers stop when the channel is closed and empty, not after
//! a one-second timeout.

use std::process::ExitCode;

use gridgen::{generate_data, workers, Output, WorkerArgs};
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
    out.save_npy(file_id, &data)
}
// ANCHOR_END: write_data

fn main() -> ExitCode {
    gridgen::run(gridgen::step!(), |args: &WorkerArgs, out| {
        // ANCHOR: main_loop
        let (task_sender, task_queue) = crossbeam_channel::unbounded();
        for file_id in 0..args.n_files {
            task_sender.send(file_id).expect("the queue is open");
        }
        drop(task_sender); // closed: a worker stops once the queue is empty
        workers::run(args.workers(), |worker| {
            // Set up once per worker, not once per file.
            let (x, y) = gridgen::axes(args.size);
            let (xx, yy) = gridgen::meshgrid(&x, &y);
            for file_id in task_queue.iter() {
                if !worker.keep_going() {
                    break; // another worker failed: take no more files
                }
                write_data(&xx, &yy, out, args.n_files, file_id)?;
            }
            Ok(())
        })
        // ANCHOR_END: main_loop
    })
}
