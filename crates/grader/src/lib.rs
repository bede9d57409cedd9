//! The workshop's exercises, generated from the steps, and the grader that checks them on the
//! learner's machine. The modules build on each other one way: `source` (reading Rust text),
//! `exercise` (what can be graded, where it lives), `generate` (making an exercise), `run`
//! (running a program under a time limit), `compare`, `verdict`, then the checks `correct`,
//! `safe`, `fast`, and `verify`, `hints` that use them.

pub mod compare;
pub mod correct;
pub mod exercise;
pub mod fast;
pub mod generate;
pub mod hints;
pub mod run;
pub mod safe;
pub mod source;
pub mod verdict;
pub mod verify;
