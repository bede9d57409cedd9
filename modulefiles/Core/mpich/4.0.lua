-- MPICH 4.0 from Debian's packages (mpich, libmpich-dev), presented the way an HPC centre's
-- Lmod presents an MPI: its compiler wrappers and launcher first on PATH, MPICC naming the
-- wrapper, and the MPI level of the hierarchy opened, where the HDF5 built for it lives.
-- Loading it swaps out Open MPI (one family, one MPI at a time).
whatis("Name: MPICH")
whatis("Version: 4.0 (Debian 12's packages)")
help([[MPICH 4.0: mpicc, mpirun and mpiexec (Hydra); `module load hdf5` then gives its parallel HDF5.]])
family("mpi")

local modulefiles = myFileName():match("^(.*)/Core/")
prepend_path("PATH", pathJoin(modulefiles, "bin/mpich-4.0"))
setenv("MPICC", "/usr/bin/mpicc.mpich")
setenv("MPI_HOME", "/usr/lib/x86_64-linux-gnu/mpich")
prepend_path("MODULEPATH", pathJoin(modulefiles, "MPI/mpich/4.0"))
