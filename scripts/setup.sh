#!/usr/bin/env bash
# make setup: make sure this machine has what the workshop needs.
# As root on Debian/Ubuntu it installs whatever is missing with apt; otherwise it lists what to
# install and how (apt, cluster modules, Spack, Homebrew). Quick when everything is there.
set -euo pipefail

# What each package is for:
#   pkg-config libclang-dev            bindgen (rsmpi) and hdf5-metno find their C libraries
#   libopenmpi-dev openmpi-bin         Open MPI: the MPI steps, mpirun
#   libhdf5-openmpi-dev hdf5-tools     parallel HDF5 (serves the serial HDF5 step too), h5dump
#   python3-numpy python3-h5py         the real readers the tests check our files with
#   python3-venv                       the Python step's virtual environment (maturin from PyPI)
PACKAGES=(pkg-config libclang-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
          python3-numpy python3-h5py python3-venv)
# With --slurm, also a Slurm to test the job scripts against (make slurm-test):
#   slurmctld slurmd slurm-client munge
if [ "${1:-}" = "--slurm" ]; then
  PACKAGES=(slurmctld slurmd slurm-client munge)
fi
# With --stacks, a second MPI stack and the module system a cluster selects stacks with
# (make test builds and runs the MPI steps on it, through the modulefiles in modulefiles/):
#   mpich libmpich-dev libhdf5-mpich-dev lmod
# Debian registers MPICH's mpicc/mpirun at a lower priority than Open MPI's, so installing it
# leaves what `mpicc` and `mpirun` mean unchanged (scripts/stack-test.sh checks that).
if [ "${1:-}" = "--stacks" ]; then
  PACKAGES=(mpich libmpich-dev libhdf5-mpich-dev lmod)
fi
# With --slides, what draws the deck: Node.js and npm (Marp comes from npm, pinned, into
# workshop/slides/node_modules). Debian's nodejs and npm, unless a node with npm is there already.
if [ "${1:-}" = "--slides" ]; then
  command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 && exit 0
  PACKAGES=(nodejs npm)
fi
# With --browser, what prints the deck and tests it in a real browser: Chromium, pdfinfo
# (poppler-utils) and the deck's fonts (DejaVu).
if [ "${1:-}" = "--browser" ]; then
  PACKAGES=(chromium poppler-utils fonts-dejavu-core)
fi
# With --python (the Python step): Python 3 with numpy, and venv for its virtual environment.
if [ "${1:-}" = "--python" ]; then
  PACKAGES=(python3-numpy python3-venv)
  if ! command -v dpkg-query >/dev/null 2>&1; then
    /usr/bin/env python3 -c "import numpy, venv" 2>/dev/null && exit 0
    echo "setup: the Python step needs Python 3 with numpy and venv (on a cluster: module load python)" >&2
    exit 1
  fi
fi
# With --rust-only (the text, .npy and thread steps): nothing but cargo is needed.
if [ "${1:-}" = "--rust-only" ]; then
  command -v cargo >/dev/null 2>&1 && exit 0
  echo "setup: cargo is missing. Install Rust with rustup (https://rustup.rs); no root needed." >&2
  exit 1
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing. Install Rust with rustup (https://rustup.rs), then run make setup again." >&2
  exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  cat >&2 <<'MSG'
setup: this is not a Debian/Ubuntu system, so nothing was installed. You need:
  a C compiler, pkg-config, libclang, Open MPI, HDF5 built with MPI (parallel), numpy and h5py.
  cluster:  module load gcc openmpi hdf5-parallel   (names vary; then export HDF5_DIR=$HDF5_ROOT)
  Spack:    spack install openmpi hdf5+mpi py-h5py && spack load openmpi hdf5 py-h5py
  macOS:    brew install pkg-config llvm open-mpi hdf5-mpi numpy && pip3 install h5py
Steps write, write_vectorized and write_vectorized_binary (and the thread steps) need none of it.
MSG
  exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${1:+${1#--} }system packages are installed."
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
  echo "setup: (on a cluster, load the modules instead: see docs/setup.md)" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -o DPkg::Lock::Timeout=900 "$@"; }
# A fresh machine may have no package lists yet; one update is enough.
apt_get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt_get update -q && apt_get install -y -q "${missing[@]}"; }
echo "setup: done."
