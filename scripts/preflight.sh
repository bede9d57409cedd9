#!/usr/bin/env bash
# make preflight: is this machine (or cluster account) ready for the workshop? One line per
# item with a verdict, in under a minute; nothing is installed or built. Run it the day before.
set -u
cd "$(dirname "$0")/.." || exit 1
ok=0 missing=0
say() { printf '  %-34s %s\n' "$1" "$2"; }
pass() { say "$1" "ok    $2"; ok=$((ok + 1)); }
miss() { say "$1" "NO    $2"; missing=$((missing + 1)); }

echo "preflight: what the workshop needs, item by item"
if command -v cargo >/dev/null 2>&1; then
  version=$(rustc --version 2>/dev/null | awk '{print $2}')
  if printf '%s\n1.85.1\n' "$version" | sort -V -C 2>/dev/null || [ "$version" = 1.85.1 ]; then
    miss "Rust toolchain" "rustc $version is older than 1.85.1: rustup update"
  else
    pass "Rust toolchain" "rustc $version (steps write … write_rayon need nothing else)"
  fi
else
  miss "Rust toolchain" "no cargo: install with rustup (https://rustup.rs), no root needed"
fi
# Which MPI, which HDF5: what a build here would use, and whether they belong together.
flavour=$(scripts/mpi-stack.sh flavour)
target=${CARGO_TARGET_DIR:-$(scripts/mpi-stack.sh target-dir)}
bin="$target/release"
if [ "$flavour" = none ]; then
  miss "MPI (mpirun)" "no mpirun: apt-get install libopenmpi-dev openmpi-bin, or module load openmpi (or mpich)"
else
  pass "MPI (mpirun)" "$flavour: $(mpirun --version 2>&1 | grep -m1 -iE 'open mpi|version' | sed 's/^ *//'); builds go to ${bin%/release}"
fi
wrapper=${MPICC:-$(command -v mpicc 2>/dev/null || true)}
if [ -n "$wrapper" ] && [ -x "$(command -v "$wrapper" 2>/dev/null || echo "$wrapper")" ]; then
  pass "MPI headers (to build)" "rsmpi will ask ${MPICC:+MPICC=}$wrapper ($(readlink -f "$(command -v "$wrapper" || echo "$wrapper")"))"
else
  miss "MPI headers (to build)" "no mpicc: libopenmpi-dev, or the MPI module; or MPICC=<its compiler wrapper>"
fi
# The MPI library a shared object loads: openmpi, mpich, or nothing.
mpi_of() { ldd "$1" 2>/dev/null | awk '/libmpi\.so|libmpich/ {print ($1 ~ /mpich/) ? "mpich" : "openmpi"; exit}'; }
hdf5_dir=${HDF5_DIR:-/usr/lib/$(gcc -dumpmachine 2>/dev/null)/hdf5/$flavour}
if grep -qs 'H5_HAVE_PARALLEL 1' "$hdf5_dir/include/H5pubconf.h" 2>/dev/null; then
  libs=("$hdf5_dir"/lib/libhdf5.so*)
  hdf5_mpi=$(mpi_of "${libs[0]}")
  if [ -n "$hdf5_mpi" ] && [ "$hdf5_mpi" != "$flavour" ]; then
    miss "parallel HDF5" "$hdf5_dir is built for $hdf5_mpi, but the MPI here is $flavour: load the HDF5 of this MPI (module load hdf5 after the MPI) or set HDF5_DIR"
  else
    pass "parallel HDF5" "$hdf5_dir (${HDF5_DIR:+from HDF5_DIR, }built for ${hdf5_mpi:-this MPI})"
  fi
elif [ -f "$hdf5_dir/include/H5pubconf.h" ]; then
  miss "parallel HDF5" "$hdf5_dir is a serial HDF5: load the parallel one (module load hdf5 after the MPI) or set HDF5_DIR"
else
  miss "parallel HDF5" "none at ${hdf5_dir}: apt-get install libhdf5-openmpi-dev, or module load hdf5, or HDF5_DIR=<its prefix>"
fi
libclang=""
for dir in ${LIBCLANG_PATH:-} $(llvm-config --libdir 2>/dev/null) /usr/lib/llvm-*/lib /usr/lib64 /usr/lib/$(gcc -dumpmachine 2>/dev/null); do
  ls "$dir"/libclang*.so* >/dev/null 2>&1 && { libclang=$dir; break; }
done
if [ -n "$libclang" ]; then
  pass "libclang (bindgen for MPI)" "in $libclang${LIBCLANG_PATH:+ (LIBCLANG_PATH)}"
else
  miss "libclang (bindgen for MPI)" "none found: apt-get install libclang-dev, or module load llvm (clang), or LIBCLANG_PATH=<folder of libclang.so>"
fi
# Binaries built for another MPI than the one loaded now fail in confusing ways: say so.
if [ -x "$bin/write_mpi_scatter" ]; then
  built=$(mpi_of "$bin/write_mpi_scatter")
  if [ "$built" = "$flavour" ]; then
    pass "binaries match the MPI" "$bin/write_mpi_scatter loads $built"
  else
    miss "binaries match the MPI" "$bin/write_mpi_scatter loads ${built:-no MPI}, the MPI here is $flavour: make build (with the same modules loaded)"
  fi
fi
python=""
for candidate in /usr/bin/python3 python3; do
  if "$candidate" -c 'import numpy, h5py' 2>/dev/null; then python=$candidate; break; fi
done
if [ -n "$python" ]; then
  pass "numpy and h5py (readers)" "$("$python" -c 'import numpy, h5py; print("numpy", numpy.__version__, "h5py", h5py.__version__)') ($python)"
else
  miss "numpy and h5py (readers)" "optional: pip install --user numpy h5py (to read the files back)"
fi
if [ "$flavour" != none ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  out=$(timeout 30 mpirun -np 2 sh -c 'echo rank' 2>&1)
  if [ "$(grep -c '^rank$' <<<"$out")" -eq 2 ]; then
    pass "a 2-rank MPI run" "mpirun -np 2 started two processes"
  else
    miss "a 2-rank MPI run" "mpirun -np 2 failed: $(head -n 1 <<<"$out")"
  fi
  if [ -x "$bin/write_mpi_scatter" ]; then
    out=$(timeout 30 mpirun -np 2 "$bin/write_mpi_scatter" -n 4 -s 10 --dir "$(mktemp -d)" 2>&1)
    if grep -q "by 2 ranks" <<<"$out"; then
      pass "write_mpi_scatter on 2 ranks" "built and working"
    else
      miss "write_mpi_scatter on 2 ranks" "$(head -n 1 <<<"$out")"
    fi
  fi
fi
# What `make build` covers here (scripts/build-set.sh), and whether `make prepare` has been run:
# then nothing compiles and nothing is downloaded during the session.
set_args=$(scripts/build-set.sh 2>/dev/null || true)
if [ "$set_args" = --workspace ]; then
  pass "what make builds here" "every crate of the workspace"
else
  left=$(sed -E 's/--workspace ?//; s/--exclude //g; s/--no-default-features/(and no HDF5 reader)/' <<<"$set_args")
  say "what make builds here" "-     the workspace but: $left"
fi
if [ -x "$bin/launch" ] && [ -x "$bin/exercise" ] \
   && { ! scripts/build-set.sh has python || [ -x "$target/python-venv/bin/maturin" ]; }; then
  pass "prepared for the room" "$target holds the build, the tools and the Python step's environment"
else
  say "prepared for the room" "-     not yet: run 'make prepare' the day before, with the network"
fi
if command -v sbatch >/dev/null 2>&1 && partitions=$(timeout 10 sinfo -h -o %P 2>/dev/null) && [ -n "$partitions" ]; then
  pass "Slurm (sbatch)" "$(sinfo --version 2>/dev/null); partitions: $(tr '\n' ' ' <<<"$partitions")"
elif command -v sbatch >/dev/null 2>&1; then
  say "Slurm (sbatch)" "-     installed, but no cluster answers here (fine on a laptop)"
else
  say "Slurm (sbatch)" "-     not here: fine on a laptop; the cluster chapter needs a cluster account"
fi
echo "preflight: $ok ok, $missing missing"
[ "$missing" -eq 0 ]
