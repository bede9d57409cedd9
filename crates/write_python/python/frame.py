"""What the Python step shares with the Rust steps, beside its lesson: a command line whose
complaints are one line, the output folder and the summary line, and one line (never a
traceback) for whatever ends the run."""

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import time


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose complaint is one line and exit code 2, as the Rust steps'."""

    def error(self, message):
        sys.stderr.write("Error: %s\n" % message)
        sys.exit(2)


class Failed(Exception):
    """A failure the run names in its own words."""


class Stopped(Exception):
    """Ctrl-C (SIGINT), scancel or a time limit (SIGTERM), a closed terminal (SIGHUP)."""


def at_least_one(text):
    if not text.lstrip("-").isdigit():
        raise argparse.ArgumentTypeError("expected a whole number of at least 1, got '%s'" % text)
    if int(text) < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %s" % text)
    return int(text)


def prefix(text):
    if not text or text[0] == "." or "/" in text or "~" in text or not text.isprintable():
        raise argparse.ArgumentTypeError("the prefix %r must be a plain file name" % text)
    return text


class Output:
    """The run's folder and file names, how many files are done, and the summary line."""

    def __init__(self, args):
        self.args, self.done = args, 0
        try:
            os.makedirs(args.dir, exist_ok=True)
        except OSError as e:
            raise Failed("cannot create the folder %s: %s" % (args.dir, e.strerror))
        remove_abandoned(args.dir)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.stop)
        self.start = time.perf_counter()

    def path(self, file_id):
        return os.path.join(self.args.dir, "%s%05d.npy" % (self.args.output, file_id))

    def progress(self, files):
        """The file indices, each counted as done when the loop moves on (like tqdm)."""
        for file_id in files:
            yield file_id
            self.done += 1

    def stop(self, signum, _frame):
        # Raised where the script is: between two files (a save finishes or cleans up first).
        name = signal.Signals(signum).name
        raise Stopped(signum, "Stopped by %s: %d of %d files written" % (name, self.done, self.args.n_files))

    def finish(self):
        seconds = time.perf_counter() - self.start
        files = [self.path(t) for t in range(self.args.n_files)]
        size = sum(os.path.getsize(f) for f in files)
        rate = 1 / seconds if seconds > 0 else 0.0
        step = os.path.splitext(os.path.basename(sys.argv[0]))[0]
        summary = dict(step=step, n_files=self.args.n_files, size=self.args.size,
                       bytes=size, seconds=seconds, files_per_second=self.args.n_files * rate,
                       mb_per_second=size / 1e6 * rate)
        if self.args.json:
            print(json.dumps(summary))
        else:
            print("{step}: {n_files} files of {size}×{size}, {0:.2f} MB written in {seconds:.3f} s "
                  "({files_per_second:.0f} files/s, {mb_per_second:.1f} MB/s)".format(size / 1e6, **summary))


def remove_abandoned(folder):
    """Removes the hidden files (.data00042.npy~<pid>~<host>~<random>) that runs on this
    machine left when they were killed outright (SIGKILL) and could not remove them."""
    for name in os.listdir(folder):
        parts = name.rsplit("~", 3)
        if name[0] == "." and len(parts) == 4 and parts[2] == host() and parts[1].isdigit():
            if not alive(int(parts[1])):
                with contextlib.suppress(FileNotFoundError):  # another run may be as quick
                    os.remove(os.path.join(folder, name))


def alive(pid):
    with contextlib.suppress(OSError):  # a zombie has ended: it waits only to be collected
        with open("/proc/%d/stat" % pid) as stat:
            return not stat.read().rsplit(")", 1)[-1].startswith(" Z")
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def host():
    return socket.gethostname().replace("~", "-")


def run(main):
    """Runs main() as the Rust steps run: one line on stderr for whatever ends it early, and the
    exit code 2 for arguments, 1 for a failure, 128 + n for signal n."""
    try:
        main()
    except Stopped as e:
        sys.stderr.write("%s\n" % e.args[1])
        return 128 + e.args[0]
    except KeyboardInterrupt:  # before the run began
        sys.stderr.write("Stopped by SIGINT\n")
        return 128 + signal.SIGINT
    except Failed as e:
        sys.stderr.write("Error: %s\n" % e)
        return 1
    except OSError as e:
        where = " %s" % e.filename if e.filename else ""
        sys.stderr.write("Error: cannot write%s: %s\n" % (where, e.strerror or e))
        return 1
    except Exception as e:  # a bug, the learner's or ours: one line, what and where
        sys.stderr.write("Error: %s: %s\n" % (type(e).__name__, str(e).replace("\n", " ")))
        return 1
    return 0
