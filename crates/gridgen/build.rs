//! Nothing to build. This script exists for its build-dependency (see Cargo.toml): with it, every
//! build that includes gridgen compiles the crates that generate code (syn and the proc macros
//! on it) with the same features, so that a step needing MPI (whose bindings generator asks for
//! more of syn) does not recompile gridgen after a step that did not.

fn main() {}
