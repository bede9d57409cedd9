//! Running a program under test: the way its step is started (alone, with `-w`, under
//! `mpirun`, each line tagged with its rank), always under a time limit — sooner after a panic
//! the other processes do not survive — and every process it started ended when it stops.

use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use std::fs;
use steps::Launch;

use crate::{procs, said};

/// One set of arguments: the files, the grid, and the workers or ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    pub n: usize,
    pub s: usize,
    /// `-w` for a thread program, `-np` for an MPI one, ignored for a serial one.
    pub workers: usize,
}

/// A program to run as a step of kind `launch` runs.
#[derive(Debug, Clone)]
pub struct Program {
    pub binary: PathBuf,
    pub launch: Launch,
    /// How the report names it: "your write_mpi", "the reference write_mpi".
    pub label: String,
}

impl Program {
    pub fn new(binary: PathBuf, launch: Launch, label: impl Into<String>) -> Program {
        Program {
            binary,
            launch,
            label: label.into(),
        }
    }

    /// The command for `case`, writing into `dir`.
    pub fn command(&self, case: Case, dir: &Path) -> Command {
        self.command_via(case, dir, None)
    }

    /// How the program is started: its binary, or for a Python step the step's script with
    /// this program's extension module (one that is not built fails to import, as a missing
    /// binary fails to start).
    fn start(&self, program: &Path) -> Command {
        match tools::python_step() {
            Ok(step) if self.launch == Launch::Python => {
                let _ = tools::link_python_module(&self.binary);
                tools::python_command(&tools::python_script(step), &self.binary)
            }
            _ => Command::new(program),
        }
    }

    /// The command for `case`, each process started through `sh -c <shell>` (the program and
    /// its arguments follow as `"$0" "$@"`): to give one rank a limit of its own.
    pub fn command_via(&self, case: Case, dir: &Path, shell: Option<&str>) -> Command {
        let program: &Path = if shell.is_some() {
            Path::new("sh")
        } else {
            &self.binary
        };
        let mut command = match self.launch {
            // The grader runs on one machine: no time lost probing for networks.
            Launch::Mpi => {
                let flavour = tools::Flavour::detect();
                let options: Vec<&str> = flavour
                    .one_machine()
                    .iter()
                    .chain(said::tag_ranks(flavour))
                    .copied()
                    .collect();
                tools::mpirun_with(case.workers, &options, program)
            }
            Launch::Python if shell.is_none() => self.start(program),
            _ => Command::new(program),
        };
        if let Some(shell) = shell {
            command.arg("-c").arg(shell).arg(&self.binary);
        }
        command.args(["-n", &case.n.to_string(), "-s", &case.s.to_string()]);
        if self.launch == Launch::Threads {
            command.args(["-w", &case.workers.to_string()]);
        }
        command.arg("--dir").arg(dir);
        command
    }

    /// "-n 3 -s 7 -w 2", "-np 2 … -n 3 -s 7": the case as the learner would type it.
    pub fn describe(&self, case: Case) -> String {
        match self.launch {
            Launch::Serial => format!("-n {} -s {}", case.n, case.s),
            Launch::Python => format!("-n {} -s {} (Python, with your module)", case.n, case.s),
            Launch::Threads => format!("-n {} -s {} -w {}", case.n, case.s, case.workers),
            Launch::Mpi => format!("mpirun -np {} … -n {} -s {}", case.workers, case.n, case.s),
        }
    }
}

/// Why a run was stopped before it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// It was still running at its time limit.
    Limit,
    /// One of its processes panicked, and the others had not ended [`AFTER_PANIC`] later: they
    /// were waiting for it.
    AfterPanic,
}

/// After a panic, how long the other processes may take to end. Longer than gridgen's own
/// patience with a failed rank (`gridgen::PATIENCE`), so that a step's orderly ending is never
/// cut short.
pub const AFTER_PANIC: Duration = Duration::from_secs(15);

/// Where a run's CPU time and system calls went, from the kernel's own counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// CPU seconds in the program's own code, and in the kernel on its behalf.
    pub user: f64,
    pub system: f64,
    /// `write` system calls (and their kin), counted up to the moment it was stopped; `None`
    /// for a run that ended by itself (its counters went with it).
    pub write_calls: Option<u64>,
}

impl Usage {
    /// The share of its CPU time spent in the kernel.
    pub fn system_share(&self) -> f64 {
        self.system / (self.user + self.system).max(1e-9)
    }
}

/// What a bounded run did.
#[derive(Debug)]
pub struct Ran {
    /// `None` when it was stopped (and killed) before it ended.
    pub status: Option<ExitStatus>,
    pub stopped: Option<Stop>,
    pub stderr: String,
    pub seconds: f64,
    pub usage: Usage,
}

impl Ran {
    pub fn hung(&self) -> bool {
        self.status.is_none()
    }

    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Its exit code; for a process killed by a signal, 128 + the signal, as a shell says.
    pub fn code(&self) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        self.status
            .map(|s| s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)))
    }
}

/// Clock ticks of a process's CPU time (user, system) and its write calls, from /proc.
fn counters(pid: i32) -> (u64, u64, u64) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, f)| f)
        .split_whitespace()
        .collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
    let io = fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let writes = io
        .lines()
        .find_map(|l| l.strip_prefix("syscw:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (tick(11), tick(12), writes)
}

/// The usage of `pid` and everything below it, read while they still run.
fn usage_of_tree(pid: i32) -> Usage {
    // SAFETY: sysconf reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (mut user, mut system, mut writes) = (0, 0, 0);
    for p in std::iter::once(pid).chain(procs::below(pid)) {
        let (u, s, w) = counters(p);
        (user, system, writes) = (user + u, system + s, writes + w);
    }
    Usage {
        user: user as f64 / hz,
        system: system as f64 / hz,
        write_calls: Some(writes),
    }
}

/// Reads the child's stderr as it comes, noting the moment of the first panic (milliseconds
/// after `start`, 0 for none).
fn read_stderr(
    pipe: std::process::ChildStderr,
    start: Instant,
    panicked: Arc<AtomicU64>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let mut reader = std::io::BufReader::new(pipe);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            if line.contains("panicked") && panicked.load(Ordering::Acquire) == 0 {
                let ms = start.elapsed().as_millis().max(1) as u64;
                panicked.store(ms, Ordering::Release);
            }
            text.push_str(&line);
            line.clear();
        }
        text
    })
}

/// Waits for `pid` with wait4(2), which also says how much CPU time it (and what it waited
/// for: the ranks of an `mpirun`) used.
fn wait_with_usage(pid: i32) -> Result<(ExitStatus, Usage)> {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    // SAFETY: wait4 writes the status and the usage into variables we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        anyhow::bail!(
            "cannot wait for the program: {}",
            std::io::Error::last_os_error()
        );
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((
        ExitStatus::from_raw(status),
        Usage {
            user: seconds(usage.ru_utime),
            system: seconds(usage.ru_stime),
            write_calls: None,
        },
    ))
}

/// The watchdog's verdict at `elapsed`: the limit reached, or a panic its fellows did not
/// survive.
fn must_stop(elapsed: Duration, limit: Duration, panic_ms: u64) -> Option<Stop> {
    if elapsed >= limit {
        Some(Stop::Limit)
    } else if panic_ms > 0 && elapsed >= Duration::from_millis(panic_ms) + AFTER_PANIC {
        Some(Stop::AfterPanic)
    } else {
        None
    }
}

/// Runs `command` for at most `limit`, stdout discarded, stderr kept; stopped sooner when one
/// of its processes panicked and the rest do not end. However it ends, no process it started is
/// left running (see [`procs`]).
pub fn bounded(command: &mut Command, limit: Duration) -> Result<Ran> {
    let start = Instant::now();
    let mut child = command
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let panicked = Arc::new(AtomicU64::new(0));
    let reader = read_stderr(
        child.stderr.take().context("no stderr pipe")?,
        start,
        Arc::clone(&panicked),
    );
    let (pid, done) = (child.id() as i32, Arc::new(AtomicBool::new(false)));
    // A watchdog ends the run when it must; this thread waits, so the time is exact.
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || loop {
            if done.load(Ordering::Acquire) {
                return None;
            }
            if let Some(stop) = must_stop(start.elapsed(), limit, panicked.load(Ordering::Acquire))
            {
                let usage = usage_of_tree(pid);
                procs::end_tree(pid);
                return Some((stop, usage));
            }
            std::thread::sleep(Duration::from_millis(10));
        })
    };
    let (status, ended_usage) = wait_with_usage(pid)?;
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    let stopped = watchdog.join().unwrap_or(None);
    // Whatever a launcher left behind, ranks in groups of their own included.
    procs::end_tree(pid);
    procs::end_everything_below();
    let stderr = reader.join().unwrap_or_default();
    Ok(Ran {
        status: stopped.is_none().then_some(status),
        stopped: stopped.map(|(s, _)| s),
        stderr,
        seconds,
        usage: stopped.map_or(ended_usage, |(_, u)| u),
    })
}

/// An empty folder at `dir`.
pub fn fresh(dir: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    Ok(())
}
