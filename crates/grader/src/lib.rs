//! The workshop's exercises, generated from the steps, and the grader that checks them on the
//! learner's machine. The modules build on each other one way: `source` (reading Rust text),
//! `exercise` (what can be graded, where it lives), `generate` (making an exercise), `procs`
//! (leaving no process behind), `said` (reading what a run said on stderr), `run` (running a
//! program under a time limit), `compare`, `verdict`, then the checks `correct`, `safe`,
//! `fast`, and `verify`, `hints` that use them.

pub mod compare;
pub mod correct;
pub mod exercise;
pub mod fast;
pub mod generate;
pub mod h5_compare;
pub mod hints;
pub mod mismatch;
pub mod npy_header;
pub mod procs;
pub mod run;
pub mod safe;
pub mod said;
pub mod source;
pub mod verdict;
pub mod verify;
