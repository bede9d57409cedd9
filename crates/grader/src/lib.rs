//! The workshop's exercises, generated from the steps, and the grader that checks them on the
//! learner's machine. The modules build on each other one way: `source` (reading Rust text),
//! `exercise` (what can be graded, where it lives), `generate` (making an exercise), `files`
//! (the grader's own files, all or nothing), `cause` (what a verdict names, and where the book
//! explains it), `procs` and `interrupt` (leaving no process or folder behind), `said` (reading
//! what a run said on stderr), `watch` and `hang` (what a run did, seen while it ran), `run`
//! (running a program under a time limit), `values`, `npy_header`, `compare` and `h5_compare`
//! (what a wrong output is), `verdict`, `trial` (what the checks share), then the checks
//! `correct`, `contract`, `safe`, `python_probe`, `fast`, and `lock`, `verify`, `hints` that
//! use them.

pub mod cause;
pub mod compare;
pub mod contract;
pub mod correct;
pub mod exercise;
pub mod failure;
pub mod fast;
pub mod files;
pub mod generate;
pub mod h5_compare;
pub mod hang;
pub mod hints;
pub mod interrupt;
pub mod lock;
pub mod mismatch;
pub mod npy_header;
pub mod procs;
pub mod python_probe;
pub mod run;
pub mod safe;
pub mod said;
pub mod source;
pub mod trial;
pub mod values;
pub mod verdict;
pub mod verify;
pub mod watch;
