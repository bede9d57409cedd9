//! The benchmark's plain data: what a case runs ([`Program`]), the case itself ([`Case`]: a
//! program at a size, with workers or ranks, on the disk or on tmpfs) and what was measured of
//! it ([`Measured`]). Everything else in the crate builds on these; they build on nothing else
//! of it.
//!
//! Programs are saved in the raw results as the short names the report shows (`write_mpi`,
//! `py-write`, `floor-npy`, `launch`, `capacity`), so earlier runs' files still load.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use steps::{Fs, Launch, Step};

use crate::stats::Stats;

/// What the file-writing floor writes: `floor --format <this>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Floor {
    /// The .npy steps' files: the same bytes, `File::create` and one `write_all` each.
    Npy,
    /// The text steps' files.
    Txt,
    /// One file of all the bytes: what one parallel HDF5 file costs at least.
    One,
}

impl Floor {
    pub const ALL: [Floor; 3] = [Floor::Npy, Floor::Txt, Floor::One];

    pub fn format(self) -> &'static str {
        match self {
            Floor::Npy => "npy",
            Floor::Txt => "txt",
            Floor::One => "one",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    /// A workshop step, by its name in the step table.
    Step(&'static str),
    /// The Python original of a serial step (`python/reference.py <step>`).
    Python(&'static str),
    Floor(Floor),
    /// The launch floor: `mpirun` of a program that only starts and stops MPI.
    Launch,
    /// The machine's parallel capacity: fixed CPU work on `-w` threads.
    Capacity,
}

impl Program {
    /// The step called `name`. Panics on a name that is not a step: the benchmark's cases are
    /// written in this crate, and a typo there is a bug to catch in its tests.
    pub fn step(name: &str) -> Program {
        Program::Step(step_name(name).unwrap_or_else(|| panic!("no step named {name}")))
    }

    /// Python's version of the step called `name`.
    pub fn python(name: &str) -> Program {
        Program::Python(step_name(name).unwrap_or_else(|| panic!("no step named {name}")))
    }

    /// A workshop step's name, for a step.
    pub fn step_name(self) -> Option<&'static str> {
        match self {
            Program::Step(name) => Some(name),
            _ => None,
        }
    }

    /// Does the program print the steps' one-line JSON summary (with the bytes written)?
    pub fn summarises(self) -> bool {
        matches!(self, Program::Step(_) | Program::Floor(_))
    }

    pub fn is_floor(self) -> bool {
        matches!(self, Program::Floor(_))
    }
}

fn step_name(name: &str) -> Option<&'static str> {
    steps::find(name).map(|s| s.name)
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Program::Step(name) => f.write_str(name),
            Program::Python(name) => write!(f, "py-{name}"),
            Program::Floor(floor) => write!(f, "floor-{}", floor.format()),
            Program::Launch => f.write_str("launch"),
            Program::Capacity => f.write_str("capacity"),
        }
    }
}

impl FromStr for Program {
    type Err = String;

    fn from_str(s: &str) -> Result<Program, String> {
        let unknown = || format!("no benchmark program named {s:?}");
        match s {
            "launch" => Ok(Program::Launch),
            "capacity" => Ok(Program::Capacity),
            _ => {
                if let Some(format) = s.strip_prefix("floor-") {
                    Floor::ALL
                        .into_iter()
                        .find(|f| f.format() == format)
                        .map(Program::Floor)
                        .ok_or_else(unknown)
                } else if let Some(step) = s.strip_prefix("py-") {
                    step_name(step).map(Program::Python).ok_or_else(unknown)
                } else {
                    step_name(s).map(Program::Step).ok_or_else(unknown)
                }
            }
        }
    }
}

impl Serialize for Program {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Program {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Program, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Which build of a program a case runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(from = "BuildFields", into = "BuildFields")]
pub enum Build {
    /// Today's code: the workspace's release build.
    #[default]
    Today,
    /// Today's code built for this machine's CPU (`-C target-cpu=native`, `make bench NATIVE=1`).
    Native,
    /// Another build of the steps, such as an earlier commit's (`make bench BASELINE=DIR`), by
    /// its label (`before`).
    Baseline(String),
}

/// How a [`Build`] is saved in a case: `"native": true` (as runs before baselines saved it),
/// `"baseline": "<label>"`.
#[derive(Serialize, Deserialize)]
struct BuildFields {
    #[serde(default)]
    native: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    baseline: Option<String>,
}

impl From<BuildFields> for Build {
    fn from(fields: BuildFields) -> Build {
        match (fields.baseline, fields.native) {
            (Some(label), _) => Build::Baseline(label),
            (None, true) => Build::Native,
            (None, false) => Build::Today,
        }
    }
}

impl From<Build> for BuildFields {
    fn from(build: Build) -> BuildFields {
        let native = build == Build::Native;
        let baseline = match build {
            Build::Baseline(label) => Some(label),
            _ => None,
        };
        BuildFields { native, baseline }
    }
}

/// What to run, at which sizes, with how many workers or ranks, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub program: Program,
    pub n_files: usize,
    pub size: usize,
    #[serde(default)]
    pub workers: Option<usize>,
    #[serde(default)]
    pub ranks: Option<usize>,
    /// More ranks than cores.
    #[serde(default)]
    pub oversubscribed: bool,
    /// `mpirun` told to use shared memory only (`tools::SHARED_MEMORY_ONLY`).
    #[serde(default)]
    pub shared_memory: bool,
    /// Written to a RAM-backed folder (tmpfs) instead of the disk: what the code costs, without
    /// what the disk costs.
    #[serde(default)]
    pub ram: bool,
    /// Which build of the program runs: today's, today's built for this CPU, or another build
    /// (saved as the fields `native` and `baseline`, as earlier runs' files have them).
    #[serde(flatten)]
    pub build: Build,
    /// The collective step told how many planes a round writes (`PLANES_PER_ROUND`), instead
    /// of what its memory budget holds: the batch-size curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planes_per_round: Option<usize>,
}

impl Case {
    pub fn new(program: Program, n_files: usize, size: usize) -> Case {
        Case {
            program,
            n_files,
            size,
            workers: None,
            ranks: None,
            oversubscribed: false,
            shared_memory: false,
            ram: false,
            build: Build::Today,
            planes_per_round: None,
        }
    }
    /// The step `step` of the table.
    pub fn of(step: &Step, n_files: usize, size: usize) -> Case {
        Case::new(Program::Step(step.name), n_files, size)
    }
    /// The step called `name` (see [`Program::step`]).
    pub fn step(name: &str, n_files: usize, size: usize) -> Case {
        Case::new(Program::step(name), n_files, size)
    }
    /// The same case on the filesystem `fs`.
    pub fn on(self, fs: Fs) -> Case {
        match fs {
            Fs::Disk => self,
            Fs::Tmpfs => self.on_ram(),
        }
    }
    /// The same case, written to the RAM-backed folder.
    pub fn on_ram(mut self) -> Case {
        self.ram = true;
        self
    }
    /// The same case with `mpirun` told to use shared memory only.
    pub fn shared_memory(mut self) -> Case {
        self.shared_memory = true;
        self
    }
    /// The same case with `PLANES_PER_ROUND=planes`.
    pub fn planes_per_round(mut self, planes: usize) -> Case {
        self.planes_per_round = Some(planes);
        self
    }
    /// The same case, built for this machine's CPU.
    pub fn native(self) -> Case {
        self.built(Build::Native)
    }
    /// The same case, run from the build `build`.
    pub fn built(mut self, build: Build) -> Case {
        self.build = build;
        self
    }
    fn mpirun_options(&self) -> &'static [&'static str] {
        if self.shared_memory {
            &tools::SHARED_MEMORY_ONLY
        } else {
            &[]
        }
    }
    pub fn workers(mut self, w: usize) -> Case {
        self.workers = Some(w);
        self
    }
    /// Run under `mpirun -np r` (marked oversubscribed by [`Case::on_cores`]).
    pub fn ranks(mut self, r: usize) -> Case {
        self.ranks = Some(r);
        self
    }
    /// Marks the case oversubscribed when it has more ranks than `cores`: the cores of the
    /// machine the plan was made for, not of the one redrawing a report.
    pub fn on_cores(mut self, cores: usize) -> Case {
        self.oversubscribed = self.ranks.is_some_and(|r| r > cores);
        self
    }

    /// The command line as the report prints it: the real command, with every path shortened
    /// to its file name and without the output options (`--json --dir <folder>`), then where
    /// it wrote (`[tmpfs]`) and which build ran (`[native]`, `[before]`).
    pub fn command_line(&self) -> String {
        let command = self.build(|_, name| Ok(Path::new("/bin").join(name)));
        let mut words: Vec<String> = self
            .planes_per_round
            .map(|p| format!("PLANES_PER_ROUND={p}"))
            .into_iter()
            .collect();
        match command {
            Ok(command) => words.extend(shown(&command)),
            Err(e) => words.push(format!("<{e}>")),
        }
        if self.ram {
            words.push("[tmpfs]".into());
        }
        match &self.build {
            Build::Today => {}
            Build::Native => words.push("[native]".into()),
            Build::Baseline(label) => words.push(format!("[{label}]")),
        }
        words.join(" ")
    }

    /// The command that runs this case, writing into `dir`; `locate` finds a program by name.
    pub fn command(
        &self,
        locate: impl Fn(&Case, &str) -> Result<PathBuf>,
        dir: &Path,
    ) -> Result<Command> {
        let mut command = self.build(locate)?;
        if self.program.summarises() {
            command.arg("--json");
        }
        if !matches!(self.program, Program::Launch | Program::Capacity) {
            command.arg("--dir").arg(dir);
        }
        Ok(command)
    }

    /// The command without its output options; `locate` finds a program by name.
    fn build(&self, locate: impl Fn(&Case, &str) -> Result<PathBuf>) -> Result<Command> {
        let ranks = self.ranks.unwrap_or(1);
        let mpirun = |program: PathBuf| tools::mpirun_with(ranks, self.mpirun_options(), &program);
        let sizes = [
            "-n".to_string(),
            self.n_files.to_string(),
            "-s".into(),
            self.size.to_string(),
        ];
        Ok(match self.program {
            Program::Launch => mpirun(locate(self, "mpi_noop")?),
            Program::Capacity => {
                let mut c = Command::new(locate(self, "capacity")?);
                c.args(["-w", &self.workers.unwrap_or(1).to_string()]);
                c
            }
            Program::Python(step) => {
                let mut c = Command::new(PYTHON);
                match python_twin(step) {
                    Some(script) => c.arg(script),
                    None => c
                        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/reference.py"))
                        .arg(step),
                };
                c.args(&sizes);
                c
            }
            Program::Floor(floor) => {
                let mut c = Command::new(locate(self, "floor")?);
                c.args(["--format", floor.format()]).args(&sizes);
                c
            }
            Program::Step(step) => {
                let info = steps::find(step).with_context(|| format!("no step named {step}"))?;
                let binary = locate(self, &info.artifact())?;
                let mut c = match info.launch {
                    Launch::Mpi => mpirun(binary),
                    Launch::Python => tools::python_command(&tools::python_script(info), &binary),
                    Launch::Serial | Launch::Threads => Command::new(binary),
                };
                c.args(&sizes);
                if let Some(planes) = self.planes_per_round {
                    c.env("PLANES_PER_ROUND", planes.to_string());
                }
                if info.launch == Launch::Threads {
                    c.args(["-w", &self.workers.unwrap_or(1).to_string()]);
                }
                c
            }
        })
    }
}

/// The Python original of a Python step: its own script with numpy's kernel, the one import
/// apart (`crates/<step>/python/<predecessor>.py`). `None` for the other steps, whose
/// originals are in `python/reference.py`.
fn python_twin(step: &str) -> Option<PathBuf> {
    let info = steps::find(step)?;
    let original = info.predecessor.filter(|_| info.launch == Launch::Python)?;
    let script = tools::python_script(info);
    Some(script.with_file_name(format!("{original}.py")))
}

/// A command's words, each path (a word with a `/`) shortened to its file name, without
/// `mpirun`'s quiet flag (`-q`): it changes what mpirun prints, not what runs, and the report's
/// command lines, earlier runs' too, leave it out.
fn shown(command: &Command) -> Vec<String> {
    let short = |word: &std::ffi::OsStr| {
        let word = word.to_string_lossy();
        match word.rsplit_once('/') {
            Some((_, name)) => name.to_owned(),
            None => word.into_owned(),
        }
    };
    let mpirun = command.get_program() == "mpirun";
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(short)
        .filter(|word| !(mpirun && word == "-q"))
        .collect()
}

/// Debian's Python, which has numpy and h5py (`make setup`).
pub const PYTHON: &str = "/usr/bin/python3";

/// One case's measurements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    pub case: Case,
    pub command: String,
    /// Wall seconds of the whole process, from outside.
    pub wall: Stats,
    /// Largest resident set of any one process of the run, in MiB (for MPI: the largest rank).
    pub peak_mib: f64,
    /// Bytes the run reported writing.
    pub bytes: u64,
    /// Every measured run: (round, wall seconds). Ratios pair two cases round by round.
    #[serde(default)]
    pub samples: Vec<(usize, f64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_reads_back_from_its_name() {
        let mut all = vec![Program::Launch, Program::Capacity];
        all.extend(Floor::ALL.map(Program::Floor));
        for step in tools::STEPS {
            all.push(Program::step(step.name));
            all.push(Program::python(step.name));
        }
        for p in all {
            assert_eq!(p.to_string().parse::<Program>(), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Program>(&json).unwrap(), p);
        }
        assert_eq!(Program::Floor(Floor::Npy).to_string(), "floor-npy");
        assert_eq!(Program::python("write").to_string(), "py-write");
    }

    #[test]
    fn a_build_is_saved_as_earlier_runs_saved_it() {
        let case = Case::step("write", 100, 100).on_ram();
        let json = |c: &Case| serde_json::to_value(c).unwrap();
        assert_eq!(json(&case)["native"], false);
        assert!(json(&case).get("baseline").is_none(), "a field for nothing");
        assert_eq!(json(&case.clone().native())["native"], true);
        let before = case.clone().built(Build::Baseline("before".into()));
        assert_eq!(json(&before)["baseline"], "before");
        for c in [case.clone(), case.clone().native(), before] {
            let back: Case = serde_json::from_value(json(&c)).unwrap();
            assert_eq!(back, c);
        }
        // A case from a run before builds had labels.
        let old = r#"{"program":"write","n_files":100,"size":100,"ram":true,"native":true}"#;
        let old: Case = serde_json::from_str(old).unwrap();
        assert_eq!(old, case.native());
    }

    #[test]
    fn unknown_names_are_refused() {
        for name in [
            "",
            "py-",
            "floor-",
            "floor-csv",
            "py-nothing",
            "write_fast",
            "launch2",
        ] {
            assert!(name.parse::<Program>().is_err(), "{name:?} was accepted");
        }
    }
}
