"""Python versions of the serial steps, written for this project's benchmark so that Rust and
Python are timed in the same run on the same machine. They follow the workshop's Python course
in spirit (numpy, savetxt, save, h5py) and the data contract exactly (every file holds the same
array as the Rust steps; the loop version is not transposed).

Usage: reference.py STEP -n N -s S --dir DIR   with STEP one of
       write, write_vectorized, write_vectorized_binary, write_hdf5
"""
import argparse
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step")
    parser.add_argument("-n", type=int, default=15)
    parser.add_argument("-s", type=int, default=100)
    parser.add_argument("--dir", default="output")
    args = parser.parse_args()

    import numpy as np

    n, size = args.n, args.s
    os.makedirs(args.dir, exist_ok=True)
    x = np.arange(0 - size / 2, 0 + size / 2, 1)
    y = np.arange(500 - size / 2, 500 + size / 2, 1)

    def value(xv, yv, t):
        return ((xv / 10) ** 2 * (yv / 10) + (yv / 10) ** 2 * (xv / 10) + t / n) % 1

    def path(t, ext):
        return os.path.join(args.dir, "data%05d.%s" % (t, ext))

    if args.step == "write":
        for t in range(n):
            data = np.zeros((size, size))
            for i in range(size):
                for j in range(size):
                    data[i, j] = value(x[j], y[i], t)
            np.savetxt(path(t, "txt"), data)
        return
    X, Y = np.meshgrid(x, y)
    if args.step == "write_vectorized":
        for t in range(n):
            np.savetxt(path(t, "txt"), value(X, Y, t))
    elif args.step == "write_vectorized_binary":
        for t in range(n):
            np.save(path(t, "npy"), value(X, Y, t))
    elif args.step == "write_hdf5":
        import h5py

        with h5py.File(os.path.join(args.dir, "data.h5"), "w") as hf:
            for t in range(n):
                hf.create_dataset("data%05d" % t, data=value(X, Y, t))
    else:
        raise SystemExit("unknown step " + args.step)


if __name__ == "__main__":
    main()
