"""numpy's kernel: the field of one file, and numpy.save into a hidden file that gets its name
once complete (so that an interrupted run never leaves a half-written file behind)."""

import os

import numpy as np


def generate_data(X, Y, n_files, file_id):
    return ((X / 10) ** 2 * (Y / 10) + (Y / 10) ** 2 * (X / 10) + file_id / n_files) % 1


def save(path, data):
    folder, name = os.path.split(path)
    temp = os.path.join(folder, ".%s.%d.partial" % (name, os.getpid()))
    with open(temp, "xb") as f:
        try:
            np.save(f, data)
        except BaseException:
            os.remove(temp)
            raise
    try:
        os.replace(temp, path)
    except BaseException:
        os.remove(temp)
        raise
