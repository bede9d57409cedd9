"""The frame around the Python step, as gridgen is around the Rust steps: the command line
(-n, -s, -o, --dir, --json), the output folder, the summary line, and one line on stderr for
anything that ends the run. The lesson, the loop and its kernel, is the script's own."""

import argparse
import json
import os
import resource
import signal
import sys
import time


class Stopped(Exception):
    """A signal that ends the run: SIGTERM (scancel), SIGHUP."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class Usage(Exception):
    """Arguments that are wrong on every machine."""


class Output:
    """The run's folder and file names, and how many files are done."""

    def __init__(self, folder, prefix):
        self.dir = folder
        self.prefix = prefix
        self.done = 0

    def path(self, file_id):
        return os.path.join(self.dir, "%s%05d.npy" % (self.prefix, file_id))

    def progress(self, files):
        """The file indices, each counted as done when the loop moves on (like tqdm)."""
        for file_id in files:
            yield file_id
            self.done += 1


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Usage(message)


def at_least_one(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1, got '%s'" % text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %d" % value)
    return value


def file_prefix(text):
    if not text or text.startswith(".") or os.sep in text or any(c < " " for c in text):
        raise argparse.ArgumentTypeError(
            "the prefix %r must be a plain file name: not empty, no leading dot, no separator" % text
        )
    return text


def parse(step):
    parser = Parser(prog=step, description="Step 12 and its Python original: one .npy file per index.")
    parser.add_argument("-n", "--n-files", type=at_least_one, default=15, help="number of files to write")
    parser.add_argument("-s", "--size", type=at_least_one, default=100, help="grid size: size x size")
    parser.add_argument("-o", "--output", type=file_prefix, default="data", help="file-name prefix")
    parser.add_argument("--dir", default="output", help="output folder, created if missing")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    return parser.parse_args()


def summary(step, args, out, seconds):
    size = sum(os.path.getsize(out.path(t)) for t in range(args.n_files))
    rate = (lambda amount: amount / seconds) if seconds > 0 else (lambda amount: 0.0)
    fields = {
        "step": step,
        "n_files": args.n_files,
        "size": args.size,
        "bytes": size,
        "seconds": seconds,
        "files_per_second": rate(args.n_files),
        "mb_per_second": rate(size / 1e6),
    }
    if args.json:
        return json.dumps(fields)
    return "%s: %d files of %d×%d, %.2f MB written in %.3f s (%.0f files/s, %.1f MB/s)" % (
        step, args.n_files, args.size, args.size, size / 1e6, seconds,
        fields["files_per_second"], fields["mb_per_second"],
    )


def human(size):
    """Bytes in a unit a learner reads at a glance, as the Rust steps say them."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if size >= scale:
            return "%.1f %s" % (size / scale, unit)
    return "%.1f KiB" % (size / 1024)


def refusal(args):
    """What this machine refuses before anything is written (one .npy file: 128 bytes of header
    and 8 a value), as the Rust steps check it: the file-size limit, and the free space."""
    largest = 128 + 8 * args.size * args.size
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and largest > limit:
        return "a file of this run takes about %s but the file-size limit (ulimit -f) is %s" % (
            human(largest), human(limit))
    folder = args.dir
    while not os.path.isdir(folder):
        folder = os.path.dirname(os.path.abspath(folder))
    disk = os.statvfs(folder)
    free, needed = disk.f_bavail * disk.f_frsize, largest * args.n_files
    if 0 < free < needed:
        return "the run writes about %s but %s has only %s free" % (human(needed), folder, human(free))
    return None


def say(step, text):
    sys.stderr.write("%s: %s\n" % (step, text))
    sys.stderr.flush()


def on_signal(signum, _frame):
    raise Stopped(signum)


def run(lesson):
    """Runs `lesson(args, out)` as a step: exit 0 with the summary, 2 for arguments wrong on
    every machine, 1 when the machine refuses or the run fails, 128 + n for signal n."""
    step = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    # As the Rust steps do: Ctrl-C, scancel and a closed terminal end the run between files, with
    # one line (a file is always renamed complete or removed inside the kernel's call).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        args = parse(step)
    except Usage as e:
        say(step, "%s (see --help)" % e)
        return 2
    refused = refusal(args)
    if refused:
        say(step, refused)
        return 1
    try:
        os.makedirs(args.dir, exist_ok=True)
    except OSError as e:
        say(step, "cannot create output folder %s: %s" % (args.dir, e.strerror))
        return 1
    out = Output(args.dir, args.output)
    return finish(step, args, out, lesson)


def finish(step, args, out, lesson):
    start = time.perf_counter()
    try:
        lesson(args, out)
        line = summary(step, args, out, time.perf_counter() - start)
    except OSError as e:
        where = e.filename if e.filename is not None else args.dir
        say(step, "cannot write %s: %s" % (where, e.strerror or e))
        return 1
    except MemoryError:
        say(step, "out of memory: the machine's memory, the job's --mem or ulimit -v")
        return 1
    except (KeyboardInterrupt, Stopped) as e:
        signum = signal.SIGINT if isinstance(e, KeyboardInterrupt) else e.signum
        name = signal.Signals(signum).name
        say(step, "stopped by %s after %d of %d files" % (name, out.done, args.n_files))
        return 128 + signum
    except Exception as e:  # a bug, the learner's or ours: one line, where and what
        say(step, "%s: %s" % (type(e).__name__, str(e).replace("\n", " ")))
        return 1
    try:
        print(line, flush=True)
    except BrokenPipeError:
        pass
    return 0
