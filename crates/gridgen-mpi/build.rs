//! Nothing to build. This script exists for its build-dependency (see Cargo.toml): with it, rsmpi's
//! bindings generator is compiled with the same features of `regex` in a build of one MPI step as
//! in a build of the whole workspace, so that `make write_mpi` after `make build` reuses it.

fn main() {}
