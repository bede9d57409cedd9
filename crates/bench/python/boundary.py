"""What crossing from Python into the Rust kernel costs, timed inside one Python process:

- the step's own loop, two calls a file (generate_data, then save), against one call that
  writes every file (write_files): the difference is what the calls themselves cost;
- generate_data on numpy's arrays as they are, against generate_data_copying, which copies
  them into Rust's arrays and the result back (what pickling them to another process does,
  without the process): the difference is what the copy avoided costs.

Each is run --rounds times in a shuffled order; prints one JSON object of every run's seconds,
and whether both ways wrote the same bytes. Usage: boundary.py -n N -s S --dir DIR --rounds R
"""

import argparse
import json
import os
import random
import shutil
import time

import numpy as np
import rust_kernel as kernel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, required=True)
    parser.add_argument("-s", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, size = args.n, args.s
    x = np.arange(0 - size / 2, 0 + size / 2, 1)
    y = np.arange(500 - size / 2, 500 + size / 2, 1)
    X, Y = np.meshgrid(x, y)
    folders = {name: os.path.join(args.dir, name) for name in ("loop", "one_call")}

    def path(folder, t):
        return os.path.join(folder, "data%05d.npy" % t)

    def loop():
        for t in range(n):
            kernel.save(path(folders["loop"], t), kernel.generate_data(X, Y, n, t))

    def one_call():
        kernel.write_files(folders["one_call"], "data", n, size)

    def views():
        for t in range(n):
            kernel.generate_data(X, Y, n, t)

    def copies():
        for t in range(n):
            kernel.generate_data_copying(X, Y, n, t)

    runs = {"loop": loop, "one_call": one_call, "views": views, "copies": copies}
    seconds = {name: [] for name in runs}
    for _ in range(args.rounds):
        order = list(runs)
        random.shuffle(order)
        for name in order:
            for folder in folders.values():
                shutil.rmtree(folder, ignore_errors=True)
                os.makedirs(folder)
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
    loop()
    one_call()
    same = all(
        open(path(folders["loop"], t), "rb").read() == open(path(folders["one_call"], t), "rb").read()
        for t in range(n)
    )
    shutil.rmtree(args.dir, ignore_errors=True)
    print(json.dumps({"seconds": seconds, "same_files": same}))


if __name__ == "__main__":
    main()
