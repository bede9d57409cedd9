//! The launch floor: an MPI program that starts, initialises MPI, and ends. `mpirun -np NP` of
//! it is the least any MPI step can cost.

fn main() {
    let universe = mpi::initialize();
    drop(universe);
}
