//! Running a program under test: the way its step is started (alone, with `-w`, under
//! `mpirun`), always under a time limit, the whole process group killed when it is reached.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use std::fs;
use steps::Launch;

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
            Launch::Mpi => tools::mpirun_with(
                case.workers,
                tools::Flavour::detect().one_machine(),
                program,
            ),
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
            Launch::Threads => format!("-n {} -s {} -w {}", case.n, case.s, case.workers),
            Launch::Mpi => format!("mpirun -np {} … -n {} -s {}", case.workers, case.n, case.s),
        }
    }
}

/// What a bounded run did.
#[derive(Debug)]
pub struct Ran {
    /// `None` when it was still running at its time limit (and was killed).
    pub status: Option<ExitStatus>,
    pub stderr: String,
    pub seconds: f64,
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

/// Runs `command` for at most `limit`, stdout discarded, stderr kept. The command gets a
/// process group of its own, so that a hang is ended with every process it started.
pub fn bounded(command: &mut Command, limit: Duration) -> Result<Ran> {
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let mut stderr_pipe = child.stderr.take().context("no stderr pipe")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    // A watchdog ends the group at the limit; this thread waits, so the time is exact.
    let (pid, done) = (child.id() as i32, Arc::new(AtomicBool::new(false)));
    let watchdog = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            while start.elapsed() < limit {
                if done.load(Ordering::Acquire) {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            kill_group(pid);
            true
        })
    };
    let status = child.wait()?;
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    let hung = watchdog.join().unwrap_or(false);
    // A rank that a launcher left behind still holds the pipe: end the group in any case.
    kill_group(pid);
    let stderr = reader.join().unwrap_or_default();
    Ok(Ran {
        status: (!hung).then_some(status),
        stderr,
        seconds,
    })
}

fn kill_group(pid: i32) {
    // SAFETY: kill(2) with a negative pid signals the group the child leads; no memory is
    // touched.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// An empty folder at `dir`.
pub fn fresh(dir: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    Ok(())
}

/// The program's own lines on stderr: without the banners MPI launchers print around them
/// (Open MPI's between lines of dashes, MPICH's between lines of `=`), nor blank lines.
pub fn program_lines(stderr: &str) -> Vec<String> {
    let rule =
        |l: &str| l.len() >= 10 && (l.chars().all(|c| c == '-') || l.chars().all(|c| c == '='));
    let mut in_banner = false;
    let mut lines = Vec::new();
    for line in stderr.lines().map(str::trim_end) {
        if rule(line) {
            in_banner = !in_banner;
            continue;
        }
        if !in_banner && !line.trim().is_empty() {
            lines.push(line.to_string());
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_banners_are_not_the_programs_lines() {
        let stderr = "step: cannot write x: Is a directory\n-----------\nPrimary job terminated\n-----------\n\n===================\nBAD TERMINATION\n===================\n";
        assert_eq!(
            program_lines(stderr),
            vec!["step: cannot write x: Is a directory"]
        );
    }
}
