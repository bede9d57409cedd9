//! The workshop's data contract: what every step writes and reports, bit for bit, whichever
//! way it is written. It is plain arithmetic and formatting — no signal handler, no allocator,
//! no system library — so that the tools that check the steps (`make workshop`, `compare`, the
//! benchmark, the grader) and the steps themselves use the very same definitions.
//!
//! - [`field`]: the grid (`numpy.arange`, `numpy.meshgrid`) and the field of file `t` of `n`,
//!   in numpy's order of operations, with numpy's floor modulo ([`field::frac`]).
//! - [`npy`]: `numpy.save`'s header, byte for byte.
//! - [`text`]: `numpy.savetxt`'s text, every value as C's `%.18e`, exact and fast.
//! - [`split`]: which file indices each MPI rank writes (`numpy.array_split`).
//! - [`summary`]: the line a finished run prints, and its JSON.

pub mod field;
pub mod npy;
pub mod split;
pub mod summary;
pub mod text;

pub use field::{axes, meshgrid};
pub use summary::Summary;
