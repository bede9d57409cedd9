//! How a step is started: the one place that knows. The Makefile's step targets start a step
//! through the `launch` program, the tools and their tests through [`crate::step_command`], and
//! the grader through [`Launcher`] with its own options; all of them end up in
//! [`Launcher::command`].
//!
//! - a serial step: its binary;
//! - a thread step: its binary with `-w W` (or its own default);
//! - an MPI step: `mpirun -np NP` (quiet, `--oversubscribe` past this machine's cores with
//!   Open MPI) and its binary;
//! - the Python step: its script under a Python that finds the step's Rust module.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{ensure, Context, Result};
use steps::Launch;

/// The MPI whose `mpirun` is first on the PATH: what a loaded module (or the system's
/// alternatives) chose. Their launchers take different options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    OpenMpi,
    /// MPICH and its derivatives, whose launcher is Hydra.
    Mpich,
    /// Another launcher (or none): given only `-np`.
    Other,
}

impl Flavour {
    /// Asks `scripts/mpi-stack.sh flavour` once: the script the Makefile and the job scripts
    /// ask too, so that every part of the project agrees on which MPI this is.
    pub fn detect() -> Flavour {
        static FLAVOUR: std::sync::OnceLock<Flavour> = std::sync::OnceLock::new();
        *FLAVOUR.get_or_init(|| {
            let said = Command::new(crate::repo().join("scripts/mpi-stack.sh"))
                .arg("flavour")
                .output();
            let word = said
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default();
            Flavour::from_word(&word)
        })
    }

    /// The flavour `scripts/mpi-stack.sh flavour` names: `openmpi`, `mpich`, `other`, `none`.
    pub fn from_word(word: &str) -> Flavour {
        match word {
            "openmpi" => Flavour::OpenMpi,
            "mpich" => Flavour::Mpich,
            _ => Flavour::Other,
        }
    }

    /// The options that keep a one-machine run on shared memory, skipping the probe for
    /// cluster networks (Open MPI's takes about 0.2 s; Hydra does not probe).
    pub fn one_machine(self) -> &'static [&'static str] {
        match self {
            Flavour::OpenMpi => &SHARED_MEMORY_ONLY,
            Flavour::Mpich | Flavour::Other => &[],
        }
    }

    /// The options that leave out the launcher's own help pages when a rank fails or is
    /// stopped: the step has said what went wrong in one line. Hydra (MPICH) has no such
    /// option.
    pub fn quiet(self) -> &'static [&'static str] {
        match self {
            Flavour::OpenMpi => &["-q"],
            Flavour::Mpich | Flavour::Other => &[],
        }
    }
}

/// Open MPI options for one machine: shared memory only, no probing for cluster networks
/// (the Makefile's `MPIRUN_FLAGS` suggestion).
pub const SHARED_MEMORY_ONLY: [&str; 6] = ["--mca", "pml", "ob1", "--mca", "btl", "self,vader"];

/// Where the Python step finds its Rust module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Python {
    /// The program given to [`Launcher::command`] is the module's library (the cargo-built
    /// `librust_kernel.so`, or an exercise's): Debian's Python ([`crate::python`]) imports it
    /// through a link in a folder of its own on `PYTHONPATH`.
    Library,
    /// This interpreter's environment has the module installed (`maturin develop` into a
    /// virtual environment, as `make write_python` does).
    Installed(PathBuf),
}

/// How to start a program as a step of one kind starts.
#[derive(Debug, Clone)]
pub struct Launcher {
    launch: Launch,
    ranks: usize,
    workers: Option<usize>,
    python: Python,
    mpirun_options: Vec<OsString>,
    shell: Option<String>,
}

impl Launcher {
    /// A step of kind `launch`: one rank, the step's own default workers, the Python step
    /// importing its module from the library given.
    pub fn new(launch: Launch) -> Launcher {
        Launcher {
            launch,
            ranks: 1,
            workers: None,
            python: Python::Library,
            mpirun_options: Vec::new(),
            shell: None,
        }
    }

    /// The step `name` of the table (a name the table does not hold runs as a serial step).
    pub fn for_step(name: &str) -> Launcher {
        Launcher::new(steps::find(name).map_or(Launch::Serial, |s| s.launch))
    }

    pub fn launch(&self) -> Launch {
        self.launch
    }

    /// MPI ranks (`mpirun -np`); other kinds run one process.
    pub fn ranks(mut self, ranks: usize) -> Launcher {
        self.ranks = ranks;
        self
    }

    /// Worker threads of a thread step (`-w`).
    pub fn workers(mut self, workers: usize) -> Launcher {
        self.workers = Some(workers);
        self
    }

    pub fn python(mut self, python: Python) -> Launcher {
        self.python = python;
        self
    }

    /// More `mpirun` options, before the program (rank tags, the network to use).
    pub fn mpirun_options<S: Into<OsString>>(
        mut self,
        options: impl IntoIterator<Item = S>,
    ) -> Launcher {
        self.mpirun_options
            .extend(options.into_iter().map(Into::into));
        self
    }

    /// Starts every process through `sh -c <script>`, the program and its arguments following
    /// as `"$0" "$@"`: to give one rank a limit of its own, say.
    pub fn through_shell(mut self, script: impl Into<String>) -> Launcher {
        self.shell = Some(script.into());
        self
    }

    /// The command that starts `program` (for the Python step with [`Python::Library`], the
    /// module's library) this way; the step's own arguments go after it.
    pub fn command(&self, program: &Path) -> Result<Command> {
        let (exe, mut args, env) = self.process(program)?;
        if let Some(script) = &self.shell {
            args.insert(0, exe);
            args.splice(0..0, [OsString::from("-c"), OsString::from(script)]);
            return Ok(self.started(OsString::from("sh"), args, env));
        }
        Ok(self.started(exe, args, env))
    }

    /// What each process runs: its program, its first arguments, and what it needs in its
    /// environment.
    fn process(&self, program: &Path) -> Result<(OsString, Vec<OsString>, Option<PathBuf>)> {
        if self.launch != Launch::Python {
            ensure!(
                program.is_file() || program.components().count() == 1,
                "{} is not built: run `make build` first",
                program.display()
            );
            let mut args = Vec::new();
            if let (Launch::Threads, Some(workers)) = (self.launch, self.workers) {
                args.extend(["-w".into(), workers.to_string().into()]);
            }
            return Ok((program.into(), args, None));
        }
        let script = crate::python_script(crate::python_step()?);
        match &self.python {
            Python::Library => {
                crate::link_python_module(program)?;
                let folder = crate::module_folder(program);
                Ok((crate::python().into(), vec![script.into()], Some(folder)))
            }
            Python::Installed(python) => Ok((python.into(), vec![script.into()], None)),
        }
    }

    /// `exe args` as it is started: under `mpirun` for an MPI step, with `PYTHONPATH` set to
    /// `python_path` if given.
    pub(crate) fn started(
        &self,
        exe: OsString,
        args: Vec<OsString>,
        python_path: Option<PathBuf>,
    ) -> Command {
        let mut command = if self.launch == Launch::Mpi {
            let flavour = Flavour::detect();
            let mut mpirun = Command::new("mpirun");
            // Open MPI refuses to start as root unless told it may (containers and CI run as
            // root); the variables mean nothing to other users or other MPIs.
            mpirun
                .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
                .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
                .args(["-np", &self.ranks.to_string()])
                .args(flavour.quiet());
            if self.ranks > crate::cores() && flavour == Flavour::OpenMpi {
                mpirun.arg("--oversubscribe");
            }
            mpirun.args(&self.mpirun_options).arg(exe).args(args);
            mpirun
        } else {
            let mut alone = Command::new(exe);
            alone.args(args);
            alone
        };
        if let Some(folder) = python_path {
            command.env("PYTHONPATH", folder);
        }
        command
    }
}

/// The command that starts the step `name` of the table from its built binary (the Python
/// step: its script with the cargo-built module), MPI steps on `ranks` ranks.
pub fn step(name: &str, ranks: usize) -> Result<Command> {
    let binary = crate::step_binary(name)?;
    Launcher::for_step(name)
        .ranks(ranks)
        .command(&binary)
        .with_context(|| format!("cannot start {name}"))
}

/// Extra `mpirun` options from the environment (`MPIRUN_FLAGS`, a list of words), as the
/// Makefile passes them on.
pub fn mpirun_flags_from_env() -> Vec<OsString> {
    std::env::var("MPIRUN_FLAGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(OsString::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(command: &Command) -> Vec<String> {
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|w| w.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn kinds_are_started_their_own_way() {
        let serial = Launcher::new(Launch::Serial)
            .workers(3)
            .command(Path::new("write"))
            .unwrap();
        assert_eq!(words(&serial), ["write"]);
        let threads = Launcher::new(Launch::Threads)
            .workers(3)
            .command(Path::new("w"))
            .unwrap();
        assert_eq!(words(&threads), ["w", "-w", "3"]);
        let mpi = Launcher::new(Launch::Mpi)
            .ranks(2)
            .mpirun_options(["--tag-output"]);
        let mpi = words(&mpi.command(Path::new("m")).unwrap());
        assert_eq!(mpi[..3], ["mpirun", "-np", "2"]);
        assert_eq!(mpi[mpi.len() - 2..], ["--tag-output", "m"]);
    }

    #[test]
    fn a_shell_wraps_each_process() {
        let mpi = Launcher::new(Launch::Mpi)
            .ranks(3)
            .through_shell("ulimit -f 1; exec \"$0\" \"$@\"")
            .command(Path::new("m"))
            .unwrap();
        let w = words(&mpi);
        assert_eq!(
            w[w.len() - 4..],
            ["sh", "-c", "ulimit -f 1; exec \"$0\" \"$@\"", "m"]
        );
        let threads = Launcher::new(Launch::Threads)
            .workers(2)
            .through_shell("exec \"$0\" \"$@\"")
            .command(Path::new("t"))
            .unwrap();
        assert_eq!(
            words(&threads),
            ["sh", "-c", "exec \"$0\" \"$@\"", "t", "-w", "2"]
        );
    }

    #[test]
    fn a_program_that_is_not_built_is_named() {
        let e = Launcher::new(Launch::Serial)
            .command(Path::new("/nonexistent/write"))
            .unwrap_err();
        assert!(
            e.to_string().contains("/nonexistent/write is not built"),
            "{e}"
        );
    }

    #[test]
    fn the_flavour_words_are_the_scripts() {
        assert_eq!(Flavour::from_word("openmpi"), Flavour::OpenMpi);
        assert_eq!(Flavour::from_word("mpich"), Flavour::Mpich);
        assert_eq!(Flavour::from_word("none"), Flavour::Other);
        assert_eq!(Flavour::OpenMpi.quiet(), ["-q"]);
    }
}
