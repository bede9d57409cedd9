"""Reads the outputs of the workshop's steps back with numpy and h5py, the way a learner would,
and checks them against the field numpy computes itself from the formula.

Usage: numpy_check.py DIR N_FILES SIZE
DIR holds one folder per step, each written with the default prefix 'data'.
Prints one line per check; exits 1 on the first mismatch, or on a hidden (unfinished) file left.
"""
import io
import os
import sys

import numpy as np


def expected(n_files, size, t):
    # The Python original's vectorized field, written out in full.
    x = np.arange(0 - size / 2, 0 + size / 2, 1)
    y = np.arange(500 - size / 2, 500 + size / 2, 1)
    X, Y = np.meshgrid(x, y)
    return ((X / 10) ** 2 * (Y / 10) + (Y / 10) ** 2 * (X / 10) + t / n_files) % 1


def same_bits(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def fail(message):
    print("MISMATCH:", message)
    sys.exit(1)


def main():
    root, n_files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    steps = sorted(os.listdir(root))
    for step in steps:
        hidden = [name for name in os.listdir(os.path.join(root, step)) if name.startswith(".")]
        if hidden:
            fail("%s holds unfinished (hidden) files after its run: %s" % (step, ", ".join(hidden)))
    checked = 0
    for t in range(n_files):
        Z = expected(n_files, size, t)
        buffer = io.BytesIO()
        np.savetxt(buffer, Z)
        savetxt_bytes = buffer.getvalue()
        buffer = io.BytesIO()
        np.save(buffer, Z)
        save_bytes = buffer.getvalue()
        for step in steps:
            folder = os.path.join(root, step)
            txt = os.path.join(folder, "data%05d.txt" % t)
            npy = os.path.join(folder, "data%05d.npy" % t)
            if os.path.exists(txt):
                with open(txt, "rb") as f:
                    if f.read() != savetxt_bytes:
                        fail("%s is not what numpy.savetxt writes" % txt)
                loaded = np.loadtxt(txt, ndmin=2)
                if not same_bits(loaded, Z):
                    fail("numpy.loadtxt(%s) differs from numpy's field" % txt)
                checked += 1
            if os.path.exists(npy):
                with open(npy, "rb") as f:
                    if f.read() != save_bytes:
                        fail("%s is not what numpy.save writes" % npy)
                loaded = np.load(npy)
                if loaded.dtype != np.dtype("<f8") or not loaded.flags.c_contiguous:
                    fail("%s has dtype %s" % (npy, loaded.dtype))
                if not same_bits(loaded, Z):
                    fail("numpy.load(%s) differs from numpy's field" % npy)
                checked += 1
    for step in steps:
        h5 = os.path.join(root, step, "data.h5")
        if not os.path.exists(h5):
            continue
        import h5py

        with h5py.File(h5, "r") as hf:
            attrs = dict(hf.attrs)
            want = {"n_files": n_files, "size": size, "x_origin": 0.0, "y_origin": 500.0}
            if attrs != want:
                fail("%s root attributes %r, expected %r" % (h5, attrs, want))
            names = sorted(hf.keys())
            if names == ["data"]:
                # write_final_collective: one (n, size, size) dataset, file t is plane t.
                stack = hf["data"]
                if stack.shape != (n_files, size, size) or stack.dtype != "<f8":
                    fail("%s/data has shape %r, dtype %s" % (h5, stack.shape, stack.dtype))
                for t in range(n_files):
                    if not same_bits(stack[t], expected(n_files, size, t)):
                        fail("%s/data[%d] differs from numpy's field" % (h5, t))
                    checked += 1
                continue
            if names != ["data%05d" % t for t in range(n_files)]:
                fail("%s datasets %r" % (h5, names))
            for t in range(n_files):
                dataset = hf["data%05d" % t]
                if int(dataset.attrs["file_id"]) != t:
                    fail("%s/data%05d has file_id %r" % (h5, t, dataset.attrs["file_id"]))
                if not same_bits(dataset[()], expected(n_files, size, t)):
                    fail("%s/data%05d differs from numpy's field" % (h5, t))
                checked += 1
    if checked == 0:
        fail("no output found under %s" % root)
    print("numpy and h5py read %d arrays back exactly" % checked)


if __name__ == "__main__":
    main()
