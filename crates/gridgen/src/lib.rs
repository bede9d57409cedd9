//! `gridgen`: what every step of the workshop shares, so that each step's `main.rs` holds its
//! lesson — the calls of the crates it teaches — and nothing else. It is three places:
//!
//! - **The data contract**, [`gridgen_contract`] (re-exported here: [`field`], [`npy`], [`text`],
//!   [`Summary`]): the grid, numpy's rounding rules, the `.npy` header and the text format —
//!   what makes every step's files the same numbers, bit for bit. No process state at all.
//! - **The driver**, [`driver`]: the run around a lesson, written once ([`run`] for one
//!   process, [`run_with`] for a team such as an MPI world): arguments, checks, the output
//!   folder, all-or-nothing files, the summary line, one line on stderr for any failure.
//! - **The guard**, [`guard`]: what keeps a wrong file from ever having a final name, whatever
//!   ends the run (Ctrl-C, `scancel`, a full disk, a limit), and what refuses a run that cannot
//!   fit before anything is created. The driver starts it with one call, `guard::start`; each
//!   step's binary declares the guard's allocator itself.
//!
//! It needs no system library: the MPI world is `gridgen-mpi`'s, the HDF5 file `gridgen-h5`'s.
//!
//! What the steps call: [`run`] with [`step!`]; [`Args`] or [`WorkerArgs`]; [`Output`] and its
//! [`PartialFile`]s; [`field`], [`npy::header`], [`axes`], [`meshgrid`]; [`workers`].

pub mod driver;
mod error;
pub mod guard;

pub use driver::args::{Args, StepArgs, WorkerArgs};
pub use driver::output::{Output, PartialFile};
pub use driver::progress::Progressing;
pub use driver::team::{Alone, Team};
pub use driver::workers;
pub use driver::{run, run_with};
pub use error::{Error, Profiler, Result, Usage, Workers};
pub use gridgen_contract::summary::WorkersFrom;
pub use gridgen_contract::{axes, field, meshgrid, npy, split, summary, text, Summary};
pub use guard::PATIENCE;
pub use steps::{self, Format, Launch, Step};

/// The calling crate's row of the step table ([`steps::STEPS`]), found by its package name
/// when it compiles: a step crate missing from the table does not build.
#[macro_export]
macro_rules! step {
    () => {
        $crate::step!(env!("CARGO_PKG_NAME"))
    };
    ($name:expr) => {{
        const STEP: &'static $crate::Step = match $crate::steps::find($name) {
            Some(step) => step,
            None => panic!("this crate is not in the step table (crates/steps/src/lib.rs)"),
        };
        STEP
    }};
}
