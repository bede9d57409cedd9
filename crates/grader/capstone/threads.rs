//! Capstone 1: a threaded .npy writer, on crates.io's crates alone (no gridgen).
//!
//! The same command line and the same files as the workshop's `write_multiprocessing_queue`:
//! `-n` files of `-s`×`-s` values, named `<prefix><index:05>.npy` in `--dir`, written by `-w`
//! worker threads that take file indices from a channel. `make verify STEP=capstone_threads`
//! grades it against that step: the same bytes, safe on failure, as fast.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use ndarray::{Array1, Array2, Zip};

/// The workshop's command line.
#[derive(Parser)]
struct Args {
    /// Number of files
    #[arg(short = 'n', default_value_t = 15)]
    n_files: usize,
    /// Grid points along each side
    #[arg(short = 's', default_value_t = 100)]
    size: usize,
    /// File-name prefix
    #[arg(short = 'o', default_value = "data")]
    prefix: String,
    /// Output folder
    #[arg(long, default_value = "output")]
    dir: PathBuf,
    /// Worker threads
    #[arg(short = 'w', default_value_t = 2)]
    workers: usize,
}

/// `numpy.arange(origin - size/2, origin + size/2)`: one axis of the grid.
fn axis(origin: f64, size: usize) -> Array1<f64> {
    let start = origin - size as f64 / 2.0;
    Array1::from_iter((0..size).map(|j| start + j as f64))
}

// ANCHOR: generate_data
/// The field of file `file_id` of `n_files` over the grid `numpy.meshgrid(x, y)` gives:
/// `((x/10)**2 * (y/10) + (y/10)**2 * (x/10) + t/n) % 1`, in numpy's order of operations.
fn generate_data(xx: &Array2<f64>, yy: &Array2<f64>, n_files: usize, file_id: usize) -> Array2<f64> {
    let t = file_id as f64 / n_files as f64;
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        let v = x * x * y + y * y * x + t;
        v - v.floor()
    })
}
// ANCHOR_END: generate_data

// ANCHOR: npy_header
/// `numpy.save`'s header for a C-ordered (rows, cols) array of little-endian f64.
fn npy_header(rows: usize, cols: usize) -> Vec<u8> {
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Room for the first axis to grow to 21 digits, then spaces and a newline up to a
    // multiple of 64 bytes in all.
    dict.push_str(&" ".repeat(21usize.saturating_sub(rows.to_string().len())));
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes
}
// ANCHOR_END: npy_header

// ANCHOR: save_npy
/// Writes `data` as `path`, a .npy file: into a hidden file beside it first, renamed to `path`
/// only once complete, so that `path` never holds half a file. A failure removes the hidden one.
fn save_npy(path: &Path, data: &Array2<f64>) -> Result<()> {
    let name = path.file_name().context("a file name")?.to_string_lossy();
    let partial = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = BufWriter::new(File::create_new(&partial)?);
        file.write_all(&npy_header(data.nrows(), data.ncols()))?;
        let values = data.as_slice().expect("a standard-layout array");
        file.write_all(bytemuck::cast_slice(values))?;
        file.into_inner().map_err(|e| e.into_error())?;
        fs::rename(&partial, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&partial);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}
// ANCHOR_END: save_npy

// ANCHOR: write_files
/// `-w` workers, each with its own grids, taking file indices from a bounded channel that this
/// thread fills; the first error stops the feeding and is the result.
fn write_files(args: &Args) -> Result<()> {
    let (tasks, queue) = crossbeam_channel::bounded::<usize>(2 * args.workers);
    let (errors, first_error) = crossbeam_channel::unbounded::<anyhow::Error>();
    std::thread::scope(|scope| {
        for _ in 0..args.workers.max(1) {
            let (queue, errors) = (queue.clone(), errors.clone());
            scope.spawn(move || {
                let (x, y) = (axis(0.0, args.size), axis(500.0, args.size));
                let xx = Array2::from_shape_fn((args.size, args.size), |(_, j)| x[j]);
                let yy = Array2::from_shape_fn((args.size, args.size), |(i, _)| y[i]);
                for file_id in queue {
                    let data = generate_data(&xx, &yy, args.n_files, file_id);
                    let path = args.dir.join(format!("{}{file_id:05}.npy", args.prefix));
                    if let Err(e) = save_npy(&path, &data) {
                        let _ = errors.send(e);
                        return;
                    }
                }
            });
        }
        drop(queue);
        for file_id in 0..args.n_files {
            if !first_error.is_empty() || tasks.send(file_id).is_err() {
                break;
            }
        }
        drop(tasks);
    });
    first_error.try_recv().map_or(Ok(()), Err)
}
// ANCHOR_END: write_files

fn main() -> ExitCode {
    let args = Args::parse();
    let run = fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))
        .and_then(|()| write_files(&args));
    // One line naming the cause, exit 1: what a failure the machine causes deserves.
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("capstone_threads: {e:#}");
            ExitCode::from(1)
        }
    }
}
