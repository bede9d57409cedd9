//! The workshop's steps, in one table.
//!
//! Every list of steps in the project is derived from [`STEPS`] or checked against it: the
//! Makefile's step targets and lists (`steps.mk`), the step tables of the README and the book,
//! the command line's `--help`, `make workshop`, the benchmark's plan and targets, the check
//! scripts' crate lists, the Slurm test's jobs and the exercises. Adding a step is its crate
//! (`crates/<name>/`), one row here and its chapter; `make steps` rewrites the derived files and
//! `cargo test -p steps` fails while any of them disagrees with the table.
//!
//! This crate has no dependencies, so it builds in a second on any machine, before anything
//! that needs MPI or HDF5.

use std::fmt;

pub mod derived;
pub mod makefile;
pub mod source;

/// What a step writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// One text file per index, `numpy.savetxt`'s bytes.
    Txt,
    /// One `.npy` file per index, `numpy.save`'s bytes.
    Npy,
    /// One HDF5 file for the whole run.
    H5,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Txt, Format::Npy, Format::H5];

    /// The files' extension, without the dot.
    pub const fn ext(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Npy => "npy",
            Format::H5 => "h5",
        }
    }

    /// True when a run writes one file in all (`<prefix>.h5`), not one per index.
    pub const fn one_file(self) -> bool {
        matches!(self, Format::H5)
    }

    /// The format whose extension is `ext`.
    pub fn from_ext(ext: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.ext() == ext)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ext())
    }
}

/// How a step is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Launch {
    /// One process, one thread.
    Serial,
    /// One process with `-w` worker threads.
    Threads,
    /// Many processes: `mpirun -np NP` (or `srun` under Slurm).
    Mpi,
    /// A Python script (`crates/<step>/python/<step>.py`) that imports the step's Rust
    /// extension module; one process.
    Python,
}

impl Launch {
    pub const ALL: [Launch; 4] = [Launch::Serial, Launch::Threads, Launch::Mpi, Launch::Python];

    /// Its name on command lines (`steps list --launch threads`).
    pub const fn key(self) -> &'static str {
        match self {
            Launch::Serial => "serial",
            Launch::Threads => "threads",
            Launch::Mpi => "mpi",
            Launch::Python => "python",
        }
    }

    /// The name of this kind's list in `steps.mk`.
    pub const fn make_list(self) -> &'static str {
        match self {
            Launch::Serial => "SERIAL_STEPS",
            Launch::Threads => "THREAD_STEPS",
            Launch::Mpi => "MPI_STEPS",
            Launch::Python => "PYTHON_STEPS",
        }
    }
}

/// The system libraries a step needs beside Rust (what `make setup` installs for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Needs {
    /// Nothing but cargo.
    Rust,
    /// HDF5 (a serial build does).
    Hdf5,
    /// An MPI library and its headers (and libclang, for rsmpi's bindings).
    Mpi,
    /// MPI and an HDF5 built with it (parallel HDF5).
    ParallelHdf5,
    /// Python 3 with numpy and `venv` (maturin comes from PyPI into a virtual environment).
    Python,
}

impl Needs {
    pub const ALL: [Needs; 5] = [
        Needs::Rust,
        Needs::Hdf5,
        Needs::Mpi,
        Needs::ParallelHdf5,
        Needs::Python,
    ];

    /// Its name on command lines (`steps list --needs parallel-hdf5`).
    pub const fn key(self) -> &'static str {
        match self {
            Needs::Rust => "rust",
            Needs::Hdf5 => "hdf5",
            Needs::Mpi => "mpi",
            Needs::ParallelHdf5 => "parallel-hdf5",
            Needs::Python => "python",
        }
    }

    /// What to install, in words.
    pub const fn libraries(self) -> &'static str {
        match self {
            Needs::Rust => "nothing but Rust",
            Needs::Hdf5 => "HDF5",
            Needs::Mpi => "MPI",
            Needs::ParallelHdf5 => "MPI and parallel HDF5",
            Needs::Python => "Python 3 with numpy and venv",
        }
    }
}

/// What `make bench` holds a step to (docs/benchmarks.md): every target is a ratio of cases
/// measured in the same rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// At least `times` faster than its Python original, on the disk and on tmpfs.
    FasterThanPython { times: f64 },
    /// Within `times` the file-writing floor of its format (the same bytes, plain writes).
    NearFloor { times: f64, on: Fs },
    /// Reported: the share of its time (tmpfs) spent computing rather than writing.
    ComputeShare,
    /// Two workers or ranks at least `efficiency` as much faster than one as the machine's
    /// own capacity for two threads (tmpfs).
    Scales { efficiency: f64 },
    /// Reported: how many times faster than its predecessor at the benchmark's largest file
    /// count, on tmpfs and on the disk. Not a goal: the floor is the yardstick, and a faster
    /// predecessor would make a goal against it harder for no fault of the step.
    AgainstPredecessor,
    /// Within `times` one plain file of the same bytes plus the launch floor (tmpfs).
    NearOneFile { times: f64 },
    /// Within `times` the launch floor plus the file-writing floor (disk).
    NearLaunchAndFloor { times: f64 },
    /// Reported with `make bench NATIVE=1`: built for this CPU against the portable build, at the
    /// small case (and the large one too if `large`).
    Native { large: bool },
    /// Its script at least `times` faster with its Rust kernel than with numpy's (the same
    /// script, one import apart; tmpfs), reported beside the Rust step it came from; with what a
    /// call across the boundary costs and what the copy it avoids would cost.
    KernelInPython { times: f64 },
}

/// A part of a step's code that its exercise leaves for the learner to write: the body of the
/// one function inside `// ANCHOR: <anchor>` … `// ANCHOR_END: <anchor>` (the same lines its
/// chapter shows) becomes `todo!("<todo>")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hole {
    pub anchor: &'static str,
    /// What goes there, in one line.
    pub todo: &'static str,
    /// Where the chapter explains it: `binary.md#the-npy-format`.
    pub section: &'static str,
}

/// Where a case writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fs {
    /// The output folder on the disk.
    Disk,
    /// A RAM-backed folder: what the code costs without what the disk costs.
    Tmpfs,
}

/// One workshop step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The crate and binary name, `crates/<name>/`.
    pub name: &'static str,
    /// The step its diff is taken against (`make diff`): it changes exactly one idea of it.
    pub predecessor: Option<&'static str>,
    /// Other steps whose idea it also builds on (`write_final`: the HDF5 file of `write_hdf5`).
    pub also: &'static [&'static str],
    pub launch: Launch,
    pub format: Format,
    /// The one idea, in a few words (tables, `make help`).
    pub lesson: &'static str,
    /// The same in one sentence (`--help`).
    pub about: &'static str,
    /// Its chapter, `workshop/src/<chapter>`.
    pub chapter: &'static str,
    /// A step of the original Python workshop (not one of the two beyond it).
    pub original: bool,
    /// What the benchmark holds it to.
    pub targets: &'static [Target],
    /// What its exercise leaves for the learner (none for the baseline: it is where everyone
    /// starts).
    pub holes: &'static [Hole],
}

impl Step {
    /// Its number in the workshop: 1 for the first.
    pub fn number(&self) -> usize {
        STEPS
            .iter()
            .position(|s| s.name == self.name)
            .map_or(0, |i| i + 1)
    }

    /// The system libraries it needs, from how it runs and what it writes.
    pub const fn needs(&self) -> Needs {
        match (self.launch, self.format) {
            (Launch::Python, _) => Needs::Python,
            (Launch::Mpi, Format::H5) => Needs::ParallelHdf5,
            (Launch::Mpi, _) => Needs::Mpi,
            (_, Format::H5) => Needs::Hdf5,
            _ => Needs::Rust,
        }
    }

    /// What `cargo build` makes of its crate, in the target folder's `release/`: the binary
    /// (`write_mpi`), or for a Python step its extension module's library
    /// (`librust_kernel.so`, which Python imports as [`PYTHON_MODULE`]).
    pub fn artifact(&self) -> String {
        match self.launch {
            Launch::Python => format!("lib{PYTHON_MODULE}.so"),
            _ => self.name.to_owned(),
        }
    }

    /// The step it is diffed against, looked up.
    pub fn predecessor_step(&self) -> Option<&'static Step> {
        self.predecessor.and_then(find)
    }

    /// A plain step: a lesson that reads like the Python script it replaces, holding the
    /// promises every step keeps (whole files, one-line errors, signals, concurrent runs).
    /// False for `write_production`, whose lesson is the hardening a shared cluster adds.
    pub fn plain(&self) -> bool {
        self.name != "write_production"
    }
}

/// The module a Python step's crate builds (its `[lib] name`), which its script imports:
/// `from rust_kernel import generate_data, save` (numpy's twin is `numpy_kernel`).
pub const PYTHON_MODULE: &str = "rust_kernel";

/// Every step, in the workshop's order.
#[rustfmt::skip]
pub const STEPS: &[Step] = &[
    Step {
        name: "write", predecessor: None, also: &[],
        launch: Launch::Serial, format: Format::Txt,
        lesson: "nested loops, text files",
        about: "Step 1: the baseline. Fill the grid one value at a time in nested loops and write it as text, as numpy.savetxt does.",
        chapter: "vectorizing.md",
        original: true,
        targets: &[Target::FasterThanPython { times: 10.0 }],
        holes: &[],
    },
    Step {
        name: "write_vectorized", predecessor: Some("write"), also: &[],
        launch: Launch::Serial, format: Format::Txt,
        lesson: "one array expression",
        about: "Step 2: compute the whole grid with one array expression over a meshgrid instead of nested loops.",
        chapter: "vectorizing.md",
        original: true,
        targets: &[
            Target::FasterThanPython { times: 10.0 },
            Target::NearFloor { times: 2.0, on: Fs::Tmpfs },
            Target::Native { large: false },
        ],
        holes: &[Hole {
            anchor: "generate_data",
            todo: "the field of file_id over the whole grid: one expression over xx and yy (ndarray's Zip), in numpy's order of operations",
            section: "vectorizing.md#one-array-expression",
        }],
    },
    Step {
        name: "write_vectorized_binary", predecessor: Some("write_vectorized"), also: &[],
        launch: Launch::Serial, format: Format::Npy,
        lesson: "binary .npy files",
        about: "Step 3: write binary .npy files, byte for byte as numpy.save does, instead of text.",
        chapter: "binary.md",
        original: true,
        targets: &[
            Target::NearFloor { times: 1.2, on: Fs::Disk },
            Target::ComputeShare,
            Target::Native { large: true },
        ],
        holes: &[Hole {
            anchor: "save_npy",
            todo: "numpy.save: the .npy header, then the array's bytes (npy::tobytes), into out.create_file(file_id); then commit it",
            section: "binary.md#the-npy-format",
        }],
    },
    Step {
        name: "write_multiprocessing", predecessor: Some("write_vectorized_binary"), also: &[],
        launch: Launch::Threads, format: Format::Npy,
        lesson: "a pool, one blocking task a file",
        about: "Step 4: spread the files over a pool of worker threads, one blocking task per file, like Python's Pool.apply.",
        chapter: "single-node.md",
        original: true,
        targets: &[],
        holes: &[
            Hole {
                anchor: "write_files",
                todo: "start -w workers in a thread scope, then Pool.apply for every file: send its index on the pool's channel, wait for its answer",
                section: "single-node.md#a-pool-with-a-blocking-apply",
            },
            Hole {
                anchor: "worker",
                todo: "for every file index received: copy the grids (the task's own copy), write the file, send the result back",
                section: "single-node.md#a-pool-with-a-blocking-apply",
            },
        ],
    },
    Step {
        name: "write_multiprocessing_queue", predecessor: Some("write_multiprocessing"), also: &[],
        launch: Launch::Threads, format: Format::Npy,
        lesson: "workers fed by a channel",
        about: "Step 5: long-lived workers, each set up once, pulling file indices from a channel.",
        chapter: "single-node.md",
        original: true,
        targets: &[Target::Scales { efficiency: 0.8 }],
        holes: &[
            Hole {
                anchor: "write_files",
                todo: "-w long-lived workers taking file indices from a bounded channel that this thread fills, then closes; join them, the first error is the result",
                section: "single-node.md#long-lived-workers-and-a-queue",
            },
            Hole {
                anchor: "worker",
                todo: "this worker's own grids, set up once, then every file index taken from the queue",
                section: "single-node.md#long-lived-workers-and-a-queue",
            },
        ],
    },
    Step {
        name: "write_mpi", predecessor: Some("write_vectorized_binary"), also: &[],
        launch: Launch::Mpi, format: Format::Npy,
        lesson: "MPI ranks, point-to-point sends",
        about: "Step 6: MPI ranks; rank 0 splits the file indices and sends each rank its chunk.",
        chapter: "mpi.md",
        original: true,
        targets: &[],
        holes: &[Hole {
            anchor: "my_files",
            todo: "rank 0 splits 0..n_files with array_split, keeps the first chunk and sends every other rank its own; the others receive theirs",
            section: "mpi.md#point-to-point",
        }],
    },
    Step {
        name: "write_mpi_scatter", predecessor: Some("write_mpi"), also: &[],
        launch: Launch::Mpi, format: Format::Npy,
        lesson: "collective scatters, not sends",
        about: "Step 7: the same split handed out by MPI: a scatter of the counts, then a scatter of the file indices, instead of hand-written sends.",
        chapter: "mpi.md",
        original: true,
        targets: &[
            Target::Scales { efficiency: 0.8 },
            Target::NearLaunchAndFloor { times: 1.5 },
        ],
        holes: &[Hole {
            anchor: "my_files",
            todo: "one scatter of the counts, then one variable-count scatter of the file indices (chunks from array_split)",
            section: "mpi.md#a-collective",
        }],
    },
    Step {
        name: "write_hdf5", predecessor: Some("write_vectorized_binary"), also: &[],
        launch: Launch::Serial, format: Format::H5,
        lesson: "one HDF5 file",
        about: "Step 8: write every array into one HDF5 file instead of one file each.",
        chapter: "hdf5.md",
        original: true,
        targets: &[Target::FasterThanPython { times: 5.0 }],
        holes: &[
            Hole {
                anchor: "save_dataset",
                todo: "h5py's create_dataset(name, data=Z), then the dataset's file_id attribute",
                section: "hdf5.md#one-file-many-datasets",
            },
            Hole {
                anchor: "write_attributes",
                todo: "the run's parameters as attributes of the file's root: n_files and size (u64), x_origin and y_origin (f64)",
                section: "hdf5.md#one-file-many-datasets",
            },
        ],
    },
    Step {
        name: "write_final", predecessor: Some("write_mpi_scatter"), also: &["write_hdf5"],
        launch: Launch::Mpi, format: Format::H5,
        lesson: "MPI ranks, one parallel HDF5 file",
        about: "Step 9: every MPI rank writes into one shared HDF5 file through MPI-IO (parallel HDF5).",
        chapter: "parallel-hdf5.md",
        original: true,
        targets: &[],
        holes: &[
            Hole {
                anchor: "write_file",
                todo: "open the file on every rank through the MPI-IO driver, write the datasets, then close it on every rank together (gridgen_mpi::close) and commit it",
                section: "parallel-hdf5.md#one-file-every-rank",
            },
            Hole {
                anchor: "write_datasets",
                todo: "create the attributes and every dataset on every rank, in the same order, then fill your own files' datasets",
                section: "parallel-hdf5.md#one-file-every-rank",
            },
        ],
    },
    Step {
        name: "write_rayon", predecessor: Some("write_multiprocessing_queue"), also: &[],
        launch: Launch::Threads, format: Format::Npy,
        lesson: "rayon: a parallel iterator",
        about: "Step 10: the parallel loop written with rayon: a parallel iterator over the file indices, work stealing.",
        chapter: "rayon.md",
        original: false,
        targets: &[Target::Scales { efficiency: 0.8 }],
        holes: &[Hole {
            anchor: "write_files",
            todo: "a rayon pool of -w named workers, and the loop as into_par_iter().try_for_each_init(..)",
            section: "rayon.md#a-parallel-iterator",
        }],
    },
    Step {
        name: "write_final_collective", predecessor: Some("write_final"), also: &[],
        launch: Launch::Mpi, format: Format::H5,
        lesson: "one dataset, collective writes",
        about: "Step 11: one dataset for every file; each rank writes its planes as hyperslabs in collective MPI-IO transfers.",
        chapter: "collective-hdf5.md",
        original: false,
        targets: &[
            Target::AgainstPredecessor,
            Target::NearOneFile { times: 1.5 },
        ],
        holes: &[Hole {
            anchor: "write_planes",
            todo: "create the (n, size, size) dataset, then write your planes in collective rounds of planes_per_round planes, as many rounds on every rank, agreeing after each",
            section: "collective-hdf5.md#few-large-collective-writes",
        }],
    },
    Step {
        name: "write_python", predecessor: Some("write_vectorized_binary"), also: &[],
        launch: Launch::Python, format: Format::Npy,
        lesson: "the Rust kernel inside Python",
        about: "Step 12: back to Python: the Python program imports a Rust extension module (PyO3, rust-numpy, built with maturin) for its field and its .npy files.",
        chapter: "python.md",
        original: false,
        targets: &[Target::KernelInPython { times: 3.0 }],
        holes: &[
            Hole {
                anchor: "generate_data",
                todo: "a #[pyfunction]: numpy's arrays as views, the field computed with Python's lock let go, the result handed to numpy without a copy",
                section: "python.md#a-python-module-in-rust",
            },
            Hole {
                anchor: "save",
                todo: "a #[pyfunction]: numpy.save's bytes into a hidden file renamed when complete, Python's lock let go; an I/O error becomes an OSError naming the file",
                section: "python.md#a-python-module-in-rust",
            },
        ],
    },
    Step {
        name: "write_production", predecessor: Some("write_final_collective"), also: &[],
        launch: Launch::Mpi, format: Format::H5,
        lesson: "production-safe on a shared cluster",
        about: "Step 13: step 11 made production-safe: limits refused up front, signals and a lost launcher handled, output safe against symlink races, every rank agreeing on every failure.",
        chapter: "production.md",
        original: false,
        targets: &[Target::AgainstPredecessor],
        holes: &[
            Hole {
                anchor: "check",
                todo: "every limit against the run's needs before anything is created: the hidden name, the file against ulimit -f and the free space, this rank's memory against its own limits; then the node's sum, on every rank whatever it found",
                section: "production.md#refused-up-front",
            },
            Hole {
                anchor: "agree",
                todo: "one all-reduce (max, waiting at most PATIENCE after a failure) of [this rank failed, size - rank for a new failure]; if any failed, the lowest new failure's rank holds the line, an agreed failure passes as it is",
                section: "production.md#every-rank-agrees-on-every-failure",
            },
        ],
    },
];

/// The step called `name`.
pub const fn find(name: &str) -> Option<&'static Step> {
    let mut i = 0;
    while i < STEPS.len() {
        if same(STEPS[i].name.as_bytes(), name.as_bytes()) {
            return Some(&STEPS[i]);
        }
        i += 1;
    }
    None
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The steps started the way `launch` says, in order.
pub fn launched(launch: Launch) -> impl Iterator<Item = &'static Step> {
    STEPS.iter().filter(move |s| s.launch == launch)
}

/// The steps that need exactly `needs`, in order.
pub fn needing(needs: Needs) -> impl Iterator<Item = &'static Step> {
    STEPS.iter().filter(move |s| s.needs() == needs)
}

/// Worker threads are named `worker-0`, `worker-1`, …: profiles and timelines show them by
/// name, and a worker's panic is reported naming it.
pub const WORKER_PREFIX: &str = "worker-";

/// The name of worker thread `n`.
pub fn worker_name(n: usize) -> String {
    format!("{WORKER_PREFIX}{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_predecessors_come_first() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(find(step.name), Some(step));
            assert_eq!(step.number(), i + 1);
            for earlier in step.predecessor.iter().chain(step.also) {
                let at = STEPS.iter().position(|s| s.name == *earlier);
                assert!(
                    at.is_some_and(|at| at < i),
                    "{}: {earlier} must be an earlier step",
                    step.name
                );
            }
        }
        assert!(find("write_fast").is_none());
        assert_eq!(STEPS[0].predecessor, None);
        assert!(STEPS[1..].iter().all(|s| s.predecessor.is_some()));
    }

    #[test]
    fn needs_follow_launch_and_format() {
        let needs = |name| find(name).unwrap().needs();
        assert_eq!(needs("write_rayon"), Needs::Rust);
        assert_eq!(needs("write_hdf5"), Needs::Hdf5);
        assert_eq!(needs("write_mpi"), Needs::Mpi);
        assert_eq!(needs("write_final"), Needs::ParallelHdf5);
        assert_eq!(Format::from_ext("npy"), Some(Format::Npy));
        assert_eq!(Format::from_ext("csv"), None);
        assert_eq!(worker_name(3), "worker-3");
    }
}
