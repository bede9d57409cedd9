//! Step 4 — `write_multiprocessing`: a pool of worker threads, one blocking task per file.
//!
//! The Rust shape of Python's `Pool.apply`: `-w` worker threads wait on a channel for tasks; the
//! main thread hands each file index to the pool as a task that carries its own copy of the
//! grids (what pickling does in Python), and waits for that task's reply before handing out
//! the next.
//!
//! It is no faster than step 3, for two reasons the profile and the timeline show:
//! - every task copies the unchanging grids, and
//! - `apply` blocks: while one worker writes a file, the other workers and the main thread wait,
//!   so only one file is ever in progress. (The Python slides blame the pickling alone; the
//!   blocking round trip is the bigger cost.)
//!
//! Step 5 removes both.

use std::io::Write;
use std::process::ExitCode;

use crossbeam_channel::Sender;
use gridgen::{generate_data, Output, WorkerArgs};
use ndarray::Array2;

/// A task for the pool: a closure to run on a worker.
type Task<'a> = Box<dyn FnOnce() -> gridgen::Result<()> + Send + 'a>;
/// How a task travels to the pool: with the channel its reply goes back on.
type Pool<'a> = Sender<(Task<'a>, Sender<gridgen::Result<()>>)>;

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

// ANCHOR: apply
/// `Pool.apply`: hand one task to the pool, then wait for its reply.
fn apply<'a>(pool: &Pool<'a>, task: Task<'a>) -> gridgen::Result<()> {
    let (reply, answer) = crossbeam_channel::bounded(1);
    pool.send((task, reply))
        .map_err(|_| gridgen::workers::gone())?;
    answer.recv().map_err(|_| gridgen::workers::gone())?
}
// ANCHOR_END: apply

fn main() -> ExitCode {
    gridgen::run(gridgen::step!("npy"), |args: &WorkerArgs, out| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        std::thread::scope(|scope| {
            // ANCHOR: pool
            // The pool: named worker threads, each running the tasks it receives.
            let (pool, tasks) = crossbeam_channel::unbounded();
            for worker in 0..args.workers() {
                let tasks: crossbeam_channel::Receiver<(Task, Sender<_>)> = tasks.clone();
                std::thread::Builder::new()
                    .name(format!("worker-{worker}"))
                    .spawn_scoped(scope, move || {
                        for (task, reply) in tasks {
                            let _ = reply.send(task()); // the caller may have gone
                        }
                    })
                    .map_err(|e| gridgen::workers::cannot_start(worker, e))?;
            }
            // ANCHOR_END: pool
            for file_id in 0..args.n_files {
                // Each task gets its own copy of the grids, as pickling sends one, …
                let (xx, yy, n_files) = (xx.clone(), yy.clone(), args.n_files);
                // … and apply waits for this file to be written before handing out the next.
                apply(
                    &pool,
                    Box::new(move || write_data(xx, yy, out, n_files, file_id)),
                )?;
            }
            Ok(())
            // Leaving the scope drops `pool`: the workers' loops end, and the scope joins them.
        })
        // ANCHOR_END: main_loop
    })
}
