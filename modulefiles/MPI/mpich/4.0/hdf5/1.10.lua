-- HDF5 1.10 built with mpich (Debian's libhdf5-mpich-dev), at the level of the hierarchy
-- that `module load mpich` opens: the same `module load hdf5` gives each MPI its own HDF5.
-- It sets what centres' HDF5 modules set: HDF5_DIR (which hdf5-metno reads, and then only it),
-- HDF5_ROOT, and the library folder on LD_LIBRARY_PATH for running.
whatis("Name: HDF5 (parallel, mpich)")
whatis("Version: 1.10")
family("hdf5")

local prefix = "/usr/lib/x86_64-linux-gnu/hdf5/mpich"
setenv("HDF5_DIR", prefix)
setenv("HDF5_ROOT", prefix)
prepend_path("LD_LIBRARY_PATH", pathJoin(prefix, "lib"))
