//! A step run as a job that can always be ended: Ctrl-C, a `timeout` or a second signal end
//! every process it started, `mpirun` and its ranks included.
//!
//! The job runs in a session of its own, so that Ctrl-C in the terminal reaches the program
//! that started it (the `launch` program the Makefile calls) and nothing else. That program
//! passes SIGINT, SIGTERM and SIGHUP on to the processes that run the step itself (the ranks,
//! not `mpirun`, which would turn SIGINT into SIGTERM and print a page about it): each removes
//! its unfinished files, says so in one line and exits. Whatever is still running [`GRACE`]
//! later, or at a second signal, is killed. `mpirun` also ends if the program that started it
//! is killed outright (it is sent SIGTERM then, which it passes to its ranks).

use std::collections::BTreeSet;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGKILL, SIGTERM};

/// How long the step's processes have, after a signal is passed on, to end by themselves.
pub const GRACE: Duration = Duration::from_secs(5);

/// Every process below `root` (its children, theirs, …), read from /proc.
pub fn below(root: i32) -> BTreeSet<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some(ppid) = parent_of(pid) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut found = BTreeSet::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(child, _) in parents.iter().filter(|(c, pp)| *pp == p && *c != root) {
            if found.insert(child) {
                frontier.push(child);
            }
        }
    }
    found
}

/// The parent of `pid`, from /proc/PID/stat (the field after the command's parenthesis).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    fields.split_whitespace().nth(1)?.parse().ok()
}

/// The processes below `root` that run the step's own code: those with no children of their
/// own (the ranks under `mpirun` or Hydra's proxies), or `root` itself when it has none.
pub fn workers_of(root: i32) -> BTreeSet<i32> {
    let all = below(root);
    let leaves: BTreeSet<i32> = all
        .iter()
        .copied()
        .filter(|&p| !all.iter().any(|&c| parent_of(c) == Some(p)))
        .collect();
    if leaves.is_empty() {
        BTreeSet::from([root])
    } else {
        leaves
    }
}

fn send(pid: i32, signal: i32) {
    // SAFETY: kill(2) takes plain integers; a process that has gone is an ignored error.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// A started job: its first process (the step itself, or `mpirun`).
#[derive(Debug)]
pub struct Job {
    pid: i32,
}

impl Job {
    /// Starts `command` in a session of its own, reading nothing from the terminal, and asked
    /// to receive SIGTERM if this process dies.
    pub fn start(command: &mut Command) -> io::Result<Job> {
        command.stdin(Stdio::null());
        // SAFETY: setsid and prctl are async-signal-safe and touch only the new process.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                libc::prctl(libc::PR_SET_PDEATHSIG, SIGTERM);
                Ok(())
            });
        }
        let child = command.spawn()?;
        Ok(Job {
            pid: child.id() as i32,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Passes `signal` to the processes that run the step (see [`workers_of`]).
    pub fn signal(&self, signal: i32) {
        for pid in workers_of(self.pid) {
            send(pid, signal);
        }
    }

    /// Kills the job's first process and everything below it.
    pub fn kill(&self) {
        let all = below(self.pid);
        send(self.pid, SIGKILL);
        for pid in all {
            send(pid, SIGKILL);
        }
    }
}

/// How a job ended, as a shell reports it: its exit code, or 128 + the signal that ended it
/// (or that it was asked to stop by).
fn code_of(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// Runs `command` as a [`Job`] in the foreground of this process, and returns its exit code:
/// a signal this process gets is passed on, and the code is then 128 + that signal.
///
/// This process becomes the reaper of the job's orphans (a rank whose `mpirun` died), so that
/// nothing the job started outlives it.
pub fn run_in_foreground(command: &mut Command) -> io::Result<i32> {
    // SAFETY: prctl with plain integers changes only this process's reaper flag.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let job = Job::start(command)?;
    let me = std::process::id() as i32;
    let mut stopped: Option<(i32, Instant)> = None;
    let mut ended: Option<(i32, Instant)> = None;
    loop {
        if let Some(code) = reap(job.pid) {
            ended.get_or_insert((code, Instant::now()));
        }
        for signal in signals.pending() {
            match stopped {
                None => {
                    stopped = Some((signal, Instant::now()));
                    job.signal(signal);
                }
                Some(_) => job.kill(),
            }
        }
        let late = |since: Instant| since.elapsed() >= GRACE;
        if stopped.is_some_and(|(_, since)| late(since)) {
            job.kill();
        }
        if let Some((code, since)) = ended {
            let left = below(me);
            if left.is_empty() {
                return Ok(stopped.map_or(code, |(signal, _)| 128 + signal));
            }
            if since.elapsed() >= Duration::from_secs(1) {
                left.into_iter().for_each(|p| send(p, SIGKILL));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reaps every child that has ended; the exit code of `first` if it was one of them.
fn reap(first: i32) -> Option<i32> {
    let mut found = None;
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status into a variable we own.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return found;
        }
        if pid == first {
            found = Some(code_of(status));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_a_shell_reads_them() {
        assert_eq!(code_of(3 << 8), 3);
        assert_eq!(code_of(SIGINT), 130);
    }

    #[test]
    fn a_process_tree_is_found_from_proc() {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let start = Instant::now();
        while below(pid).len() < 2 && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let found = below(pid);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(workers_of(pid), found);
        Job { pid }.kill();
        let _ = child.wait();
    }
}
