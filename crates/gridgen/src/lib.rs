//! `gridgen`: what the workshop's steps share, so that each step's `main.rs` reads like the
//! Python script it replaces — arguments, the loop, the save — with the frame as a few calls:
//!
//! ```text
//! let args = Args::parse();                       // argparse: -n, -s, -o, --dir, …
//! let out = Output::create(&args, Format::Npy)?;  // the output folder
//! let _profile = gridgen::profile(&args)?;        // --flamegraph: where the time goes
//! for file_id in out.progress(0..args.n_files) {  // a progress bar, and --trace's timeline
//!     …                                           // the lesson: compute, then save
//! }
//! out.finish()                                    // the summary line
//! ```
//!
//! - [`Args`]: the shared command line; a wrong argument is one line and exit code 2.
//! - [`Output`]: the folder and its files, each written under a hidden name and renamed when
//!   complete, so a final name never holds half a file; Ctrl-C or `scancel` removes the
//!   unfinished ones.
//! - [`profile()`]: `--flamegraph`, a value held for the run.
//! - The data contract, from `gridgen-contract`: [`field`] (the grid, numpy's `% 1`), [`npy`]
//!   (numpy.save's header), [`text`] (numpy.savetxt's text), [`split`] and [`Summary`].
//!
//! What production runs on a shared cluster add — limits checked up front, symlink races, ranks
//! agreeing on every failure, a lost launcher — is the lesson of the step `write_production`.

/// An [`Error`] of a formatted message: `fail!("cannot write {}", path.display())`.
macro_rules! fail {
    ($($message:tt)*) => {
        $crate::Error::msg(format!($($message)*))
    };
}

mod args;
mod error;
mod output;
mod profile;
mod trace;
mod unfinished;

pub use args::{launcher_rank, Args};
pub use error::Error;
pub use gridgen_contract::{axes, field, meshgrid, npy, split, summary, text, Summary};
pub use output::{Format, NewFile, OneFile, Output, Progress, Tracked};
pub use profile::{profile, Profile};
pub use trace::Slice;

/// What the steps' functions return: a value, or an [`Error`] that says what failed.
pub type Result<T, E = Error> = std::result::Result<T, E>;
