//! `gridgen`: everything the workshop's steps share, so that each step's `main.rs` holds only
//! its lesson.
//!
//! - [`field`]: the data contract — the grid, the field, and numpy's rounding rules.
//! - [`text`]: `numpy.savetxt`'s exact text format, fast.
//! - [`output`]: file names, the .txt and .npy writers, all-or-nothing files.
//! - [`args`], [`run`]: the shared command line and the frame around each step.
//! - [`workers`]: named worker threads, a blocking pool, and stopping them all on a failure.
//! - [`profile`], [`trace`]: `--flamegraph` (pprof + inferno) and `--trace` (a Chrome timeline).
//! - [`read`]: loading outputs back, to check that every step wrote the same numbers.
//! - `h5` (feature `hdf5`): the one-file HDF5 output; with feature `mpio`, written by all ranks.
//! - `mpi` (feature `mpi`): the frame around the MPI steps, and `array_split`.

pub mod args;
mod error;
pub mod field;
#[cfg(feature = "hdf5")]
pub mod h5;
pub mod memory;
#[cfg(feature = "mpi")]
pub mod mpi;
mod observe;
pub mod output;
pub mod profile;
pub mod read;
pub mod run;
pub mod text;
pub mod trace;
pub mod workers;

pub use args::{Args, Step, StepArgs, WorkerArgs};
pub use error::{Error, Result};
pub use field::{axes, generate_data, generate_value, meshgrid};
pub use output::Output;
pub use run::{run, Summary};
