//! What can be graded: every step that leaves the learner something to write (its row's
//! holes), and the two capstone programs written without gridgen. Each is graded against a
//! step of the table: its reference solution, whose command line and files it must match.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use steps::{Format, Hole, Launch, Step, STEPS};

/// A program written from scratch, on crates.io's crates alone, graded as the step `like`.
/// Its template is its solution with the holes' functions left as `todo!`, like a step's.
#[derive(Debug, PartialEq)]
pub struct Capstone {
    pub name: &'static str,
    pub like: &'static str,
    /// What the learner writes, in one line.
    pub about: &'static str,
    /// Its `Cargo.toml`: the real dependency lines of a project of one's own.
    pub manifest: &'static str,
    /// Its `src/main.rs`, whole, with ANCHORs around the holes (kept from the learner).
    pub solution: &'static str,
    pub holes: &'static [Hole],
}

pub const CAPSTONES: &[Capstone] = &[
    Capstone {
        name: "capstone_threads",
        like: "write_multiprocessing_queue",
        about: "a threaded .npy writer: -w workers fed by a channel, numpy.save's bytes, no gridgen",
        manifest: include_str!("../capstone/threads.toml"),
        solution: include_str!("../capstone/threads.rs"),
        holes: &[
            Hole {
                anchor: "generate_data",
                todo: "the field over the grid, one Zip expression, in numpy's order of operations",
                section: "your-own-crate.md#the-field",
            },
            Hole {
                anchor: "npy_header",
                todo: "numpy.save's header: magic, version 1.0, u16 length, the dict padded to 64 bytes with a newline",
                section: "your-own-crate.md#the-npy-header",
            },
            Hole {
                anchor: "save_npy",
                todo: "header and values into a hidden file, renamed into place when complete; removed on failure",
                section: "your-own-crate.md#write-then-rename",
            },
            Hole {
                anchor: "write_files",
                todo: "-w scoped worker threads fed file indices by a bounded channel; the first error stops the feeding and is returned",
                section: "your-own-crate.md#workers-and-a-channel",
            },
        ],
    },
    Capstone {
        name: "capstone_mpi",
        like: "write_final",
        about: "an MPI + parallel HDF5 writer: every rank's files into one .h5 file, no gridgen",
        manifest: include_str!("../capstone/mpi.toml"),
        solution: include_str!("../capstone/mpi.rs"),
        holes: &[
            Hole {
                anchor: "my_files",
                todo: "numpy.array_split's share of 0..n for this rank",
                section: "your-own-crate.md#array_split",
            },
            Hole {
                anchor: "agree",
                todo: "true on every rank only when ok is true on every rank: one all_reduce_into with the minimum",
                section: "your-own-crate.md#agree-before-every-collective",
            },
            Hole {
                anchor: "write_datasets",
                todo: "the root attributes and every dataset (with its file_id) on every rank, then write this rank's datasets",
                section: "your-own-crate.md#one-parallel-hdf5-file",
            },
            Hole {
                anchor: "write_file",
                todo: "open a hidden file through MPI-IO on every rank, write, agree, close, and let rank 0 rename it; clean up on failure",
                section: "your-own-crate.md#agree-before-every-collective",
            },
        ],
    },
];

/// One exercise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exercise {
    /// A step's own code with its lesson cut out.
    Step(&'static Step),
    Capstone(&'static Capstone),
}

impl Exercise {
    /// Every exercise, in the workshop's order, the capstones last.
    pub fn all() -> Vec<Exercise> {
        let steps = STEPS
            .iter()
            .filter(|s| !s.holes.is_empty())
            .map(Exercise::Step);
        steps
            .chain(CAPSTONES.iter().map(Exercise::Capstone))
            .collect()
    }

    pub fn find(name: &str) -> Option<Exercise> {
        Exercise::all().into_iter().find(|e| e.name() == name)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Exercise::Step(s) => s.name,
            Exercise::Capstone(c) => c.name,
        }
    }

    /// The step whose solution it is timed and compared against.
    pub fn reference(&self) -> &'static Step {
        match self {
            Exercise::Step(s) => s,
            Exercise::Capstone(c) => steps::find(c.like).expect("a capstone is like a step"),
        }
    }

    pub fn launch(&self) -> Launch {
        self.reference().launch
    }

    pub fn format(&self) -> Format {
        self.reference().format
    }

    /// The learner's binary: never the step's own name, so that building an exercise never
    /// replaces the reference beside it in the same target folder. For a Python step, its
    /// module's library: `my_rust_kernel` (the module Python imports keeps its name).
    pub fn binary(&self) -> String {
        match self {
            Exercise::Step(s) if s.launch == Launch::Python => {
                format!("my_{}", steps::PYTHON_MODULE)
            }
            Exercise::Step(s) => format!("my_{}", s.name),
            Exercise::Capstone(c) => c.name.to_string(),
        }
    }

    /// What building it makes in the target folder's `release/`: the binary, or the library
    /// `libmy_rust_kernel.so`.
    pub fn artifact(&self) -> String {
        match self.launch() {
            Launch::Python => format!("lib{}.so", self.binary()),
            _ => self.binary(),
        }
    }

    /// The chapter whose "Write it yourself" section holds its hints.
    pub fn chapter(&self) -> &'static str {
        match self {
            Exercise::Step(s) => s.chapter,
            Exercise::Capstone(_) => "your-own-crate.md",
        }
    }

    /// Every name that can be graded, for messages.
    pub fn names() -> String {
        Exercise::all()
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where things are: the project, the learner's exercises, the shared target folder.
#[derive(Debug, Clone)]
pub struct Layout {
    pub repo: PathBuf,
    pub exercises: PathBuf,
    /// The target folder of the project's build: the references are in its `release/`, and
    /// the exercises build into it too (so their dependencies are compiled once).
    pub target: PathBuf,
}

impl Layout {
    /// The project this grader was built from; exercises in `exercises` if given, else in the
    /// project's `exercises/`.
    pub fn new(exercises: Option<PathBuf>) -> Result<Layout> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let repo = repo
            .canonicalize()
            .with_context(|| format!("the project is gone from {}", repo.display()))?;
        let target = tools::bin_dir()?
            .parent()
            .context("the grader is not in a target folder")?
            .to_path_buf();
        let exercises = exercises.unwrap_or_else(|| repo.join("exercises"));
        Ok(Layout {
            repo,
            exercises,
            target,
        })
    }

    pub fn folder(&self, exercise: Exercise) -> PathBuf {
        self.exercises.join(exercise.name())
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        self.target.join("release").join(name)
    }

    pub fn step_crate(&self, step: &str) -> PathBuf {
        self.repo.join("crates").join(step)
    }
}
