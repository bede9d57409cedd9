-- HDF5 1.10 built with openmpi (Debian's libhdf5-openmpi-dev), at the level of the hierarchy
-- that `module load openmpi` opens: the same `module load hdf5` gives each MPI its own HDF5.
-- It sets what centres' HDF5 modules set: HDF5_DIR (which hdf5-metno reads, and then only it),
-- HDF5_ROOT, and the library folder on LD_LIBRARY_PATH for running.
whatis("Name: HDF5 (parallel, openmpi)")
whatis("Version: 1.10")
family("hdf5")

local prefix = "/usr/lib/x86_64-linux-gnu/hdf5/openmpi"
setenv("HDF5_DIR", prefix)
setenv("HDF5_ROOT", prefix)
prepend_path("LD_LIBRARY_PATH", pathJoin(prefix, "lib"))
