//! `gridgen`: what every step of the workshop shares, so that each step's `main.rs` holds its
//! lesson — the calls of the crates it teaches — and nothing else.
//!
//! - [`field`]: the data contract — the grid, the field, and numpy's rounding rules.
//! - [`text`]: `numpy.savetxt`'s exact text format, fast.
//! - [`output`]: file names and all-or-nothing files ([`Output::create`] … [`PartialFile::commit`]).
//! - [`args`], [`run`]: the shared command line and the frame around each step: checks before
//!   the run, the summary after it, one line on stderr for any failure.
//! - [`signals`]: Ctrl-C, `scancel` and file-size limits end a run cleanly.
//! - [`progress`], [`profile`], [`trace`]: the progress bar, `--flamegraph` and `--trace`.
//! - [`workers`]: what the thread steps share (the worker limit, a panicked worker's message).
//! - [`read`]: loading outputs back, to check that every step wrote the same numbers.
//! - `h5` (feature `hdf5`): the frame around the HDF5 steps' one file.
//! - `mpi` (feature `mpi`): the frame around the MPI steps, and `array_split`.

pub mod args;
mod error;
pub mod field;
#[cfg(feature = "hdf5")]
pub mod h5;
pub mod memory;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod npy;
mod observe;
pub mod output;
pub mod profile;
pub mod progress;
pub mod read;
mod report;
pub mod run;
mod signals;
pub mod space;
pub mod text;
pub mod trace;
pub mod workers;

use ndarray::Array2;

pub use args::{Args, Step, StepArgs, WorkerArgs};
pub use error::{Error, Result};
pub use field::{axes, generate_value, meshgrid};
#[cfg(feature = "hdf5")]
pub use h5::H5Output;
pub use output::{Output, PartialFile};
pub use report::Summary;
pub use run::run;

/// [`field::generate_data`], the field of file `file_id` over a meshgrid, as the steps call it:
/// gridgen notes when each file's computing starts and ends (for `--trace` and the progress
/// bar), so that the contract itself stays free of it.
pub fn generate_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    n_files: usize,
    file_id: usize,
) -> Array2<f64> {
    progress::computing(file_id);
    let data = field::generate_data(xx, yy, n_files, file_id);
    progress::computed(file_id);
    data
}
