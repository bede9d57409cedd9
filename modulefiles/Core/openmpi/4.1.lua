-- Open MPI 4.1 from Debian's packages (openmpi-bin, libopenmpi-dev), presented the way an HPC
-- centre's Lmod presents an MPI: its compiler wrappers and launcher first on PATH, MPICC naming
-- the wrapper, and the MPI level of the hierarchy opened, where the HDF5 built for it lives.
-- The project's test stack: `module use modulefiles/Core` then `module load openmpi hdf5`.
whatis("Name: Open MPI")
whatis("Version: 4.1 (Debian 12's packages)")
help([[Open MPI 4.1: mpicc, mpirun and mpiexec; `module load hdf5` then gives its parallel HDF5.]])
family("mpi")

local modulefiles = myFileName():match("^(.*)/Core/")
prepend_path("PATH", pathJoin(modulefiles, "bin/openmpi-4.1"))
setenv("MPICC", "/usr/bin/mpicc.openmpi")
setenv("MPI_HOME", "/usr/lib/x86_64-linux-gnu/openmpi")
prepend_path("MODULEPATH", pathJoin(modulefiles, "MPI/openmpi/4.1"))
