//! A benchmark run's results, saved raw as JSON and looked up by case.

use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::metric::Goal;
use crate::model::{Build, Case, Measured, Program};
use crate::stats::Stats;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub quick: bool,
    pub warmup: usize,
    pub repeat: usize,
    pub small: (usize, usize),
    pub large: (usize, usize),
    pub measured: Vec<Measured>,
    /// With `--native`: did the build for this CPU write the same bytes as the portable one?
    #[serde(default)]
    pub native: Option<NativeCheck>,
    /// With `--baseline`: each other build timed beside today's, and whether its steps wrote the
    /// same bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baselines: Vec<BaselineCheck>,
    /// Where the text step's CPU time goes on tmpfs: its profile, taken after the rounds.
    #[serde(default)]
    pub text_profile: Option<TextProfile>,
    /// What a call from Python into the Python step's Rust kernel costs, and the copy it avoids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<Boundary>,
    /// The goals the run was judged under (runs from before they were recorded are judged
    /// under the goals of their plan as the table states them now).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<Goal>,
}

/// The share of a `--flamegraph` run's samples in the formatter and in the field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextProfile {
    pub command: String,
    /// The flamegraph, as a file name in the plots folder.
    pub flamegraph: String,
    pub samples: u64,
    /// Samples in `gridgen::text` (the exact `%.18e` formatter), as a fraction.
    pub formatter: f64,
    /// Samples in the step's `generate_data` and `gridgen::field` (the field and the grid), as
    /// a fraction.
    pub field: f64,
}

/// The Python step's kernel timed inside one Python process (`python/boundary.py`): its loop
/// of two calls a file against one call for every file, and its field on numpy's arrays as
/// they are against a copying twin. Seconds for all `n_files` files or calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Boundary {
    pub command: String,
    pub n_files: usize,
    pub size: usize,
    pub rounds: usize,
    /// `generate_data` then `save`, called from Python for every file.
    pub loop_in_python: Stats,
    /// `write_files`: one call that writes every file.
    pub one_call: Stats,
    /// `generate_data` alone, on numpy's arrays as they are.
    pub views: Stats,
    /// `generate_data_copying`: the arrays copied in and the result copied out.
    pub copies: Stats,
    /// Both ways wrote the same bytes.
    pub same_files: bool,
}

/// The files of one command run by two builds, compared name by name and byte by byte.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SameFiles {
    /// The commands compared, each run by both builds.
    pub commands: Vec<String>,
    pub files_compared: usize,
    /// Files whose bytes differ, or that only one build wrote.
    pub files_differing: usize,
    /// The first of them, and the command that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<String>,
}

/// The native build's outputs compared with the portable build's, file by file, byte by byte.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NativeCheck {
    /// The flags the native build used.
    pub rustflags: String,
    /// Its files against the portable build's (none differ, if floating point does what the
    /// report says).
    #[serde(flatten)]
    pub files: SameFiles,
}

/// Another build of the steps (`--baseline`), timed beside today's in the same rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaselineCheck {
    /// How the report names it (`before`).
    pub label: String,
    /// Its folder, as given.
    pub dir: String,
    /// The steps compared: those whose program the folder has.
    pub steps: Vec<String>,
    /// The steps of today's table it has not.
    pub missing: Vec<String>,
    /// Its files against today's, for every case timed.
    #[serde(flatten)]
    pub files: SameFiles,
}

impl Results {
    /// The measurement of exactly this case.
    pub fn find_case(&self, case: &Case) -> Option<&Measured> {
        self.measured.iter().find(|m| &m.case == case)
    }

    /// The measurement of today's `program` at `(n, s)` on the disk, with `workers` / `ranks` if given.
    pub fn find(
        &self,
        program: Program,
        (n, s): (usize, usize),
        workers: Option<usize>,
        ranks: Option<usize>,
    ) -> Option<&Measured> {
        self.measured.iter().find(|m| {
            let c = &m.case;
            c.program == program
                && !c.shared_memory
                && !c.ram
                && c.build == Build::Today
                && (program == Program::Launch || (c.n_files == n && c.size == s))
                && c.workers == workers
                && c.ranks == ranks
        })
    }

    /// Median wall seconds of a case, if it was measured.
    pub fn median(
        &self,
        program: Program,
        at: (usize, usize),
        workers: Option<usize>,
        ranks: Option<usize>,
    ) -> Option<f64> {
        self.find(program, at, workers, ranks)
            .map(|m| m.wall.median)
    }

    /// Every measurement of `program` at `at` over workers or ranks, sorted by that count.
    pub fn sweep(&self, program: Program, at: (usize, usize)) -> Vec<(usize, &Measured)> {
        let mut points: Vec<_> = self
            .measured
            .iter()
            .filter(|m| {
                m.case.program == program
                    && !m.case.shared_memory
                    && !m.case.ram
                    && m.case.build == Build::Today
                    && (m.case.n_files, m.case.size) == at
            })
            .filter_map(|m| m.case.workers.or(m.case.ranks).map(|k| (k, m)))
            .collect();
        points.sort_by_key(|(k, _)| *k);
        points
    }
}
