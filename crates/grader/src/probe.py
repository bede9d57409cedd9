"""The grader's probe of a learner's rust_kernel at the Python boundary: which exception each
failure raises (what Python code around it catches), and what a full disk leaves behind.

Usage: probe.py RESULT FOLDER. FOLDER/full must exist (the grader watches it). Writes one JSON
object to RESULT: for each probe, the exception raised (or null), and the files left."""

import json
import os
import resource
import signal
import sys

import numpy as np


def outcome(call):
    try:
        call()
    except BaseException as e:  # what the Python code around the call would see
        return {
            "type": type(e).__name__,
            "oserror": isinstance(e, OSError),
            "valueerror": isinstance(e, ValueError),
            "filename": getattr(e, "filename", None),
            "text": str(e)[:300],
        }
    return None


def main(result, folder):
    from rust_kernel import generate_data, save

    out = {}
    X, Y = np.meshgrid(np.arange(4.0), np.arange(4.0))
    missing = os.path.join(folder, "no-such-folder", "data00000.npy")
    out["missing_folder"] = outcome(lambda: save(missing, np.zeros((8, 8))))
    out["wrong_shapes"] = outcome(lambda: generate_data(X, Y[:, :3], 4, 0))
    # A disk that fills mid-file: every write past 4 KiB fails (EFBIG, SIGXFSZ ignored).
    full = os.path.join(folder, "full")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    out["disk_full"] = outcome(lambda: save(os.path.join(full, "data00000.npy"), np.ones((64, 64))))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    out["left"] = {name: os.path.getsize(os.path.join(full, name)) for name in os.listdir(full)}
    with open(result, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
