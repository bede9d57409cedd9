"""One .npy file per index, as the workshop's Python course writes them: the command line, the
grid, then for each file its array and numpy.save's bytes. Which kernel computes and saves each
array is the one import below: numpy's (write_vectorized_binary.py) or Rust's (write_python.py).
frame.py holds what every step shares: one-line errors, signals, the summary line."""

import sys

import numpy as np

import frame

# ANCHOR: loop
from numpy_kernel import generate_data, save


def write_files(args, out):
    x = np.arange(0 - args.size / 2, 0 + args.size / 2, 1)
    y = np.arange(500 - args.size / 2, 500 + args.size / 2, 1)
    X, Y = np.meshgrid(x, y)
    for file_id in out.progress(range(args.n_files)):
        save(out.path(file_id), generate_data(X, Y, args.n_files, file_id))
# ANCHOR_END: loop


def main():
    parser = frame.ArgumentParser(description="One .npy file per index, as numpy.save writes it.")
    parser.add_argument("-n", "--n-files", type=frame.at_least_one, default=15, help="number of files")
    parser.add_argument("-s", "--size", type=frame.at_least_one, default=100, help="grid size: size x size")
    parser.add_argument("-o", "--output", type=frame.prefix, default="data", help="file-name prefix")
    parser.add_argument("--dir", default="output", help="output folder, created if missing")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    args = parser.parse_args()
    out = frame.Output(args)  # the folder; Ctrl-C or scancel stops the run between two files
    write_files(args, out)
    out.finish()  # the summary line


if __name__ == "__main__":
    sys.exit(frame.run(main))
