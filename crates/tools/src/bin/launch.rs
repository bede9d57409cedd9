//! `launch`: start one step the way its kind is started, and end all of it when asked. The
//! Makefile's step targets, `make flamegraph` and `make timeline` run every step through it.
//!
//!     launch [--ranks NP] [--workers W] [--python PYTHON] STEP [ARGS…]
//!     launch --ranks NP PROGRAM [ARGS…]        (a program given by its path: MPI if --ranks)
//!
//! STEP is a step of the table, started from the binary built beside this program: a thread
//! step with `-w W`, an MPI step under `mpirun -np NP`, the Python step as its script (under
//! PYTHON, whose environment has its module installed; else Debian's Python importing the
//! cargo-built module). `MPIRUN_FLAGS` in the environment adds `mpirun` options.
//!
//! Ctrl-C (SIGINT), SIGTERM and SIGHUP are passed on to the step's own processes (the ranks,
//! not `mpirun`), which remove their unfinished files and say so in one line; whatever still
//! runs 5 seconds later, or at a second Ctrl-C, is killed. The exit code is the step's, or
//! 128 + the signal that stopped it, as a shell reports a program stopped by it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;
use tools::{job, launch, Launch, Launcher, Python};

#[derive(Parser)]
#[command(about = "Start one workshop step as its kind is started; Ctrl-C ends all of it")]
struct Cli {
    /// MPI ranks (mpirun -np)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    ranks: Option<u32>,
    /// Worker threads of a thread step (-w)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    workers: Option<u32>,
    /// The Python that runs the Python step, with its module installed (a virtual environment's)
    #[arg(long)]
    python: Option<PathBuf>,
    /// A step of the table, or a program's path
    step: String,
    /// The step's own arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// The launcher and the program it starts.
fn plan(cli: &Cli) -> Result<(Launcher, PathBuf)> {
    let (mut launcher, program) = if cli.step.contains('/') {
        let kind = if cli.ranks.is_some() {
            Launch::Mpi
        } else {
            Launch::Serial
        };
        (Launcher::new(kind), PathBuf::from(&cli.step))
    } else {
        let Some(step) = steps::find(&cli.step) else {
            let names: Vec<&str> = tools::STEPS.iter().map(|s| s.name).collect();
            bail!("'{}' is not a step; one of: {}", cli.step, names.join(" "));
        };
        let binary = tools::bin_dir()?.join(step.artifact());
        (Launcher::new(step.launch), binary)
    };
    launcher = launcher
        .ranks(cli.ranks.unwrap_or(1) as usize)
        .mpirun_options(launch::mpirun_flags_from_env());
    if let Some(workers) = cli.workers {
        launcher = launcher.workers(workers as usize);
    }
    if let Some(python) = &cli.python {
        launcher = launcher.python(Python::Installed(python.clone()));
    }
    Ok((launcher, program))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            eprintln!("launch: {}", text.lines().next().unwrap_or("bad arguments"));
            return ExitCode::from(2);
        }
    };
    let started = plan(&cli).and_then(|(launcher, program)| {
        let mut command = launcher.command(&program)?;
        command.args(&cli.args);
        Ok(job::run_in_foreground(&mut command)?)
    });
    match started {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("launch: {e:#}");
            ExitCode::FAILURE
        }
    }
}
