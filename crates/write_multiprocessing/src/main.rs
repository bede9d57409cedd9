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

use std::process::ExitCode;
use std::thread::Scope;

use crossbeam_channel::{Receiver, Sender};
use gridgen::field::frac;
use gridgen::{Output, WorkerArgs};
use ndarray::{Array2, Zip};

/// A task for the pool: a closure to run on a worker.
type Task<'a> = Box<dyn FnOnce() -> gridgen::Result<()> + Send + 'a>;
/// How a task travels to the pool: with the channel its reply goes back on.
type Pool<'a> = Sender<(Task<'a>, Sender<gridgen::Result<()>>)>;

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
    xx: Array2<f64>,
    yy: Array2<f64>,
    out: &Output,
    n_files: usize,
    file_id: usize,
) -> gridgen::Result<()> {
    let data = generate_data(&xx, &yy, n_files, file_id);
    save_npy(out, file_id, &data)
}

// ANCHOR: pool
/// `Pool(w)`: `workers` named threads in `scope`, each running the tasks it receives until the
/// pool (the sending end of their channel) is dropped.
fn start_pool<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    workers: usize,
) -> gridgen::Result<Pool<'env>> {
    let (pool, tasks) = crossbeam_channel::unbounded();
    // ANCHOR: spawn_workers
    for worker in 0..workers {
        let tasks: Receiver<(Task, Sender<_>)> = tasks.clone();
        std::thread::Builder::new()
            .name(gridgen::workers::worker_name(worker))
            .spawn_scoped(scope, move || {
                for (task, reply) in tasks {
                    let _ = reply.send(task()); // the caller may have gone
                }
            })
            .map_err(|e| gridgen::workers::cannot_start(worker, e))?;
    }
    // ANCHOR_END: spawn_workers
    Ok(pool)
}
// ANCHOR_END: pool

// ANCHOR: apply
/// `Pool.apply`: hand one task to the pool, then wait for its reply.
fn apply<'a>(pool: &Pool<'a>, task: Task<'a>) -> gridgen::Result<()> {
    let (reply, answer) = crossbeam_channel::bounded(1);
    pool.send((task, reply))
        .map_err(|_| gridgen::workers::gone())?;
    answer.recv().map_err(|_| gridgen::workers::gone())?
}
// ANCHOR_END: apply

// ANCHOR: write_files
/// Every file as a task for a pool of `-w` workers, handed out one at a time.
fn write_files(args: &WorkerArgs, out: &Output) -> gridgen::Result<()> {
    let (x, y) = gridgen::axes(args.size);
    let (xx, yy) = gridgen::meshgrid(&x, &y);
    std::thread::scope(|scope| {
        let pool = start_pool(scope, args.workers())?;
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
