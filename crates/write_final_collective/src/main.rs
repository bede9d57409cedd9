//! Step 11 — `write_final_collective`: one dataset, written by every rank together.
//!
//! Not in the Python workshop: what an HPC engineer changes first in `write_final`. There, every
//! rank creates every one of the n datasets — metadata work that grows with the file count on
//! every rank. Here the file holds **one** dataset `/data` of shape (n, size, size): file t is
//! the plane `data[t]` (h5py: `f["data"][t]`). Each rank writes its planes as hyperslabs in
//! **collective** transfers, so MPI-IO can merge every rank's pieces into few large writes.
//! Every rank takes part in every round of writes, the same number of rounds; a rank with fewer
//! files writes an empty selection.
//!
//! The layout is contiguous: the planes are known in size up front and written once, so chunking
//! (for growing or compressed data) would add an index and buy nothing.

use std::process::ExitCode;

use gridgen::field::{X_ORIGIN, Y_ORIGIN};
use gridgen::mpi::{array_split, ROOT};
use gridgen::{generate_data, Args};
use mpi::datatype::Partition;
use mpi::traits::*;
use mpi::Count;

// ANCHOR: attributes
/// The run's parameters on the file's root (h5py: `hf.attrs["n_files"] = n`, …).
fn write_attributes(hf: &hdf5::File, args: &Args) -> gridgen::Result<()> {
    hf.new_attr::<u64>()
        .create("n_files")?
        .write_scalar(&(args.n_files as u64))?;
    hf.new_attr::<u64>()
        .create("size")?
        .write_scalar(&(args.size as u64))?;
    hf.new_attr::<f64>()
        .create("x_origin")?
        .write_scalar(&X_ORIGIN)?;
    hf.new_attr::<f64>()
        .create("y_origin")?
        .write_scalar(&Y_ORIGIN)?;
    Ok(())
}
// ANCHOR_END: attributes

fn main() -> ExitCode {
    // ANCHOR: init
    // Start MPI. Every rank runs this same program; `world` is all of them together.
    let universe = mpi::initialize().expect("MPI is initialised once, here");
    let world = universe.world();
    // ANCHOR_END: init
    gridgen::mpi::run_in(gridgen::step!("h5"), &world, |args: &Args, out, world| {
        // ANCHOR: main_loop
        let (x, y) = gridgen::axes(args.size);
        let (xx, yy) = gridgen::meshgrid(&x, &y);
        // ANCHOR: distribute
        let root = world.process_at_rank(ROOT);
        let mut my_count: Count = 0;
        let mut my_files: Vec<usize>;
        if world.rank() == ROOT {
            let chunks = array_split(args.n_files, world.size() as usize);
            let counts: Vec<Count> = chunks.iter().map(|c| c.len() as Count).collect();
            let starts: Vec<Count> = chunks.iter().map(|c| c.start as Count).collect();
            let all_files: Vec<usize> = (0..args.n_files).collect();
            root.scatter_into_root(&counts[..], &mut my_count);
            my_files = vec![0; my_count as usize];
            let partition = Partition::new(&all_files[..], counts, starts);
            root.scatter_varcount_into_root(&partition, &mut my_files[..]);
        } else {
            root.scatter_into(&mut my_count);
            my_files = vec![0; my_count as usize];
            root.scatter_varcount_into(&mut my_files[..]);
        }
        // ANCHOR_END: distribute
        // ANCHOR: parallel_hdf5
        // Collective: every rank opens the same file, through the MPI-IO driver on `world`.
        let hf = gridgen::mpi::create_h5(out, world, |path| {
            hdf5::File::with_options()
                .with_fapl(|fapl| fapl.mpio(world.as_raw(), None))
                .create(path)
        })?;
        write_attributes(&hf, args)?;
        // ANCHOR: collective_write
        {
            // Collective: one dataset for all files, created by every rank.
            let shape = (args.n_files, args.size, args.size);
            let dataset = hf.new_dataset::<f64>().shape(shape).create(out.prefix())?;
            // Collective: round r writes every rank's r-th file at once. array_split's largest
            // share decides how many rounds there are; a rank with fewer files writes nothing.
            let rounds = args.n_files.div_ceil(world.size() as usize);
            for round in 0..rounds {
                let plane = my_files
                    .get(round)
                    .map(|&file_id| (file_id, generate_data(&xx, &yy, args.n_files, file_id)));
                let plane = plane.as_ref().map(|(file_id, data)| (*file_id, data));
                gridgen::mpi::write_plane_collective(world, &dataset, plane)?;
            }
        } // the dataset is closed here: the file can only be closed after it
          // ANCHOR_END: collective_write
          // Collective: closing writes the metadata of every rank's changes.
        hf.close()
        // ANCHOR_END: parallel_hdf5
        // ANCHOR_END: main_loop
    })
    // `universe` is dropped on the way out of main: MPI_Finalize.
}
