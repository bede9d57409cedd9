//! `gridgen`: what every step of the workshop shares, so that each step's `main.rs` holds its
//! lesson — the calls of the crates it teaches — and nothing else. It needs no system library:
//! the MPI frame is `gridgen-mpi`, the HDF5 file `gridgen-h5`, each built once whatever else is.
//!
//! What the steps call:
//! - [`run`] with [`step!`]: the frame around a lesson — checks before the run, the summary
//!   after it, one line on stderr for any failure.
//! - [`Args`], [`WorkerArgs`]: the shared command line.
//! - [`Output`]: file names, and all-or-nothing files ([`Output::create`] …
//!   [`PartialFile::commit`]); [`Output::progress`] for the datasets of one file.
//! - [`field`]: the data contract — the grid, and numpy's rounding rules ([`field::frac`]).
//! - [`npy::header`]: `numpy.save`'s header.
//! - [`workers`]: the thread steps' shared errors and names.
//!
//! What `gridgen-mpi`, `gridgen-h5` and the tools build on: [`frame`].

mod alloc;
pub mod args;
mod dirfd;
mod error;
pub mod field;
pub mod memory;
pub mod npy;
mod observe;
pub mod output;
pub mod profile;
mod progress;
mod report;
mod run;
mod signals;
pub mod space;
pub mod split;
mod team;
pub mod text;
pub mod trace;
pub mod workers;

pub use args::{Args, StepArgs, WorkerArgs, WorkersFrom};
pub use error::{Error, Result};
pub use field::{axes, meshgrid};
pub use output::{Output, PartialFile};
pub use progress::Progressing;
pub use report::Summary;
pub use run::run;
pub use steps::{self, Format, Launch, Step};
pub use team::{Alone, Team, PATIENCE};

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

/// The pieces of the frame that gridgen's sibling crates (`gridgen-mpi`, `gridgen-h5`) and the
/// workshop's tools build on. The steps call none of them.
pub mod frame {
    pub use crate::observe::{title, write_profile, write_trace, Observer, Seen};
    pub use crate::output::{secret_name, LibraryFile, TempName};
    pub use crate::report::{failure, line, mark_told, one_line_panics, summary};
    pub use crate::run::{check, create, lesson, summarize, Folders};
    pub use crate::signals::{
        leave_word, remove_on_abnormal_end, remove_own, watch, Process, HELD,
    };
}
