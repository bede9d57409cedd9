"""One .npy file per index, as the workshop's Python course writes them: the grid, then for
each file its array and numpy.save's bytes. Which kernel computes and saves each array is the
one import below: numpy's (write_vectorized_binary.py) or Rust's (write_python.py)."""

import sys

import numpy as np

# ANCHOR: loop
from frame import run
from rust_kernel import generate_data, save


def write_files(args, out):
    x = np.arange(0 - args.size / 2, 0 + args.size / 2, 1)
    y = np.arange(500 - args.size / 2, 500 + args.size / 2, 1)
    X, Y = np.meshgrid(x, y)
    for file_id in out.progress(range(args.n_files)):
        save(out.path(file_id), generate_data(X, Y, args.n_files, file_id))
# ANCHOR_END: loop


if __name__ == "__main__":
    sys.exit(run(write_files))
