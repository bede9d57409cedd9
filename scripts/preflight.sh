#!/usr/bin/env bash
# make preflight: is this machine (or cluster account) ready for the workshop? One line per
# item with a verdict, in under a minute; nothing is installed or built. Run it the day before.
set -u
cd "$(dirname "$0")/.."
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
if command -v mpirun >/dev/null 2>&1; then
  pass "MPI (mpirun)" "$(mpirun --version 2>/dev/null | head -n 1)"
else
  miss "MPI (mpirun)" "no mpirun: apt-get install libopenmpi-dev openmpi-bin, or module load openmpi"
fi
if command -v mpicc >/dev/null 2>&1; then
  pass "MPI headers (to build)" "mpicc found"
else
  miss "MPI headers (to build)" "no mpicc: libopenmpi-dev, or the openmpi module"
fi
hdf5_dir=${HDF5_DIR:-/usr/lib/$(gcc -dumpmachine 2>/dev/null)/hdf5/openmpi}
if grep -qs 'H5_HAVE_PARALLEL 1' "$hdf5_dir/include/H5pubconf.h" 2>/dev/null; then
  pass "parallel HDF5" "$hdf5_dir"
elif pkg-config --exists hdf5 2>/dev/null; then
  miss "parallel HDF5" "only a serial HDF5: libhdf5-openmpi-dev, or module load hdf5/parallel and HDF5_DIR"
else
  miss "parallel HDF5" "none found: libhdf5-openmpi-dev, or module load hdf5/parallel and HDF5_DIR"
fi
if command -v pkg-config >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 \
   || [ -n "${LIBCLANG_PATH:-}" ]; then
  pass "libclang (bindgen for MPI)" "found"
else
  miss "libclang (bindgen for MPI)" "apt-get install libclang-dev pkg-config, or module load llvm"
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
if command -v mpirun >/dev/null 2>&1; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  out=$(timeout 30 mpirun -np 2 --oversubscribe sh -c 'echo rank' 2>&1)
  if [ "$(grep -c '^rank$' <<<"$out")" -eq 2 ]; then
    pass "a 2-rank MPI run" "mpirun -np 2 started two processes"
  else
    miss "a 2-rank MPI run" "mpirun -np 2 failed: $(head -n 1 <<<"$out")"
  fi
  if [ -x target/release/write_mpi_scatter ]; then
    out=$(timeout 30 mpirun -np 2 --oversubscribe target/release/write_mpi_scatter -n 4 -s 10 --dir "$(mktemp -d)" 2>&1)
    if grep -q "by 2 ranks" <<<"$out"; then
      pass "write_mpi_scatter on 2 ranks" "built and working"
    else
      miss "write_mpi_scatter on 2 ranks" "$(head -n 1 <<<"$out")"
    fi
  fi
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
