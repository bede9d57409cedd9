//! Running a program under test: the way its step is started (alone, with `-w`, under
//! `mpirun`, each line tagged with its rank), in a folder of the run's own (its working folder,
//! and MPI's session files and shared-memory segments, all removed with it), always under a
//! time limit — sooner after a panic the other processes do not survive — its output kept
//! within a bound, and every process it started ended when it stops. What it did that its
//! files cannot show is watched as it runs (see [`crate::watch`]); a run that has to be
//! stopped is looked at first (see [`crate::hang`]).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use std::fs;
use steps::Launch;

use crate::hang::{self, Snapshot};
use crate::watch::{Events, Watcher, Writers};
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
    /// The run's own folder: the program's working folder and MPI's temporary files go there.
    pub home: PathBuf,
    /// A folder the program may read but not change (the project), where the system allows.
    pub read_only: Option<PathBuf>,
}

impl Program {
    pub fn new(binary: PathBuf, launch: Launch, label: impl Into<String>, home: &Path) -> Program {
        Program {
            binary,
            launch,
            label: label.into(),
            home: home.to_path_buf(),
            read_only: None,
        }
    }

    /// The program's working folder: empty, and nothing should be written there.
    pub fn cwd(&self) -> PathBuf {
        self.home.join("cwd")
    }

    /// How the program is started: its binary, or for a Python step the step's script with
    /// this program's extension module (one that is not built fails to import, as a missing
    /// binary fails to start).
    fn start(&self) -> Command {
        match tools::python_step() {
            Ok(step) if self.launch == Launch::Python => {
                let _ = tools::link_python_module(&self.binary);
                tools::python_command(&tools::python_script(step), &self.binary)
            }
            _ => Command::new(&self.binary),
        }
    }

    /// The command for `case`, writing into `dir`.
    pub fn command(&self, case: Case, dir: &Path) -> Command {
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
                tools::mpirun_with(case.workers, &options, &self.binary)
            }
            _ => self.start(),
        };
        command.args(["-n", &case.n.to_string(), "-s", &case.s.to_string()]);
        if self.launch == Launch::Threads {
            command.args(["-w", &case.workers.to_string()]);
        }
        command.arg("--dir").arg(dir);
        // Open MPI's session folder and shared-memory segments in the run's folder, not in
        // /tmp and /dev/shm: a stopped run leaves nothing there.
        let tmp = self.home.join("tmp");
        let _ = fs::create_dir_all(&tmp);
        let _ = fs::create_dir_all(self.cwd());
        command
            .current_dir(self.cwd())
            .env("TMPDIR", &tmp)
            .env("OMPI_MCA_orte_tmpdir_base", &tmp)
            .env("OMPI_MCA_btl_vader_backing_directory", &tmp);
        if let Some(folder) = &self.read_only {
            read_only(&mut command, folder, &self.home);
        }
        command
    }

    /// "-n 3 -s 7 -w 2", "mpirun -np 2 … -n 3 -s 7": the case as the learner would type it.
    pub fn describe(&self, case: Case) -> String {
        match self.launch {
            Launch::Serial => format!("-n {} -s {}", case.n, case.s),
            Launch::Python => format!("-n {} -s {} (Python, with your module)", case.n, case.s),
            Launch::Threads => format!("-n {} -s {} -w {}", case.n, case.s, case.workers),
            Launch::Mpi => format!("mpirun -np {} … -n {} -s {}", case.workers, case.n, case.s),
        }
    }
}

/// Runs `command` in a mount namespace of its own where `folder` is read-only but `home` (the
/// run's own folder, which may lie inside it) stays writable, when the system allows it (as
/// root); elsewhere it runs as it is, and changes are found afterwards.
fn read_only(command: &mut Command, folder: &Path, home: &Path) {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes());
    let (Ok(path), Ok(home), Ok(root)) = (c(folder), c(home), CString::new("/")) else {
        return;
    };
    // SAFETY: between fork and exec only system calls run, on C strings made before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Ok(());
            }
            let none = std::ptr::null();
            let bind = |p: &CString| {
                libc::mount(
                    p.as_ptr(),
                    p.as_ptr(),
                    none,
                    libc::MS_BIND | libc::MS_REC,
                    none.cast(),
                )
            };
            // Mounts made here stay in this namespace. The folder is bound onto itself, the run's
            // own folder onto itself inside it, then the folder's mount alone made read-only.
            if libc::mount(
                none,
                root.as_ptr(),
                none,
                libc::MS_REC | libc::MS_PRIVATE,
                none.cast(),
            ) == 0
                && bind(&path) == 0
                && bind(&home) == 0
            {
                let read_only = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY;
                libc::mount(none, path.as_ptr(), none, read_only, none.cast());
            }
            Ok(())
        });
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
/// patience with a failed rank (`gridgen_mpi::PATIENCE`), so that a step's orderly ending is
/// never cut short.
pub const AFTER_PANIC: Duration = Duration::from_secs(15);

/// Where a run's CPU time and system calls went, from the kernel's own counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// CPU seconds in the program's own code, and in the kernel on its behalf.
    pub user: f64,
    pub system: f64,
    /// `write` system calls (and their kin) of its processes, at least.
    pub write_calls: Option<u64>,
    /// The bytes those calls wrote.
    pub write_bytes: Option<u64>,
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
    /// What it said on stderr, within a bound (see [`Kept`]).
    pub stderr: String,
    pub seconds: f64,
    pub usage: Usage,
    /// What was running when it was stopped.
    pub snapshot: Option<Snapshot>,
    /// What appeared in its output folder, when it was watched.
    pub events: Option<Events>,
    /// What its threads and processes wrote, when they were sampled.
    pub writers: Writers,
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

/// What else to do around a run.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Watch this folder (the run's output) for what appears in it, and look at what runs if
    /// it must be stopped.
    pub dir: Option<PathBuf>,
    /// Sample the writes of its threads and processes as it runs.
    pub sample: bool,
    /// Limit the size of every file it writes (`ulimit -f`, in bytes): a write past it fails
    /// as on a full disk, with EFBIG.
    pub file_size: Option<u64>,
}

/// The most of a run's stderr kept: its first and last this many bytes.
pub const KEPT: usize = 64 * 1024;
/// The longest line kept whole; a longer one is cut, saying how much was left out.
pub const LONGEST_LINE: usize = 2000;

/// A run's stderr within a bound: the head and the tail, lines cut at [`LONGEST_LINE`].
#[derive(Debug, Default)]
struct Kept {
    head: String,
    tail: std::collections::VecDeque<String>,
    tail_bytes: usize,
    left_out: (usize, usize),
}

impl Kept {
    fn push(&mut self, line: String) {
        if self.head.len() + line.len() <= KEPT {
            self.head.push_str(&line);
            return;
        }
        self.tail_bytes += line.len();
        self.tail.push_back(line);
        while self.tail_bytes > KEPT {
            let Some(old) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= old.len();
            self.left_out = (self.left_out.0 + 1, self.left_out.1 + old.len());
        }
    }

    fn text(self) -> String {
        let mut text = self.head;
        if self.left_out.0 > 0 {
            text.push_str(&format!(
                "[… {} lines, {} bytes of its output left out …]\n",
                self.left_out.0, self.left_out.1
            ));
        }
        text.extend(self.tail);
        text
    }
}

/// Reads the child's stderr as it comes, within a bound, noting the moment of the first
/// panic (milliseconds after `start`, 0 for none).
fn read_stderr(
    mut pipe: std::process::ChildStderr,
    start: Instant,
    panicked: Arc<AtomicU64>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut kept = Kept::default();
        let (mut line, mut cut) = (Vec::new(), 0usize);
        let mut chunk = vec![0u8; 8192];
        let finish = |line: &mut Vec<u8>, cut: &mut usize, kept: &mut Kept| {
            let mut text = String::from_utf8_lossy(line).into_owned();
            if *cut > 0 {
                text.push_str(&format!(" [… {cut} more bytes of this line cut]"));
            }
            if text.contains("panicked") && panicked.load(Ordering::Acquire) == 0 {
                let ms = start.elapsed().as_millis().max(1) as u64;
                panicked.store(ms, Ordering::Release);
            }
            text.push('\n');
            kept.push(text);
            line.clear();
            *cut = 0;
        };
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            for &b in &chunk[..n] {
                if b == b'\n' {
                    finish(&mut line, &mut cut, &mut kept);
                } else if line.len() < LONGEST_LINE {
                    line.push(b);
                } else {
                    cut += 1;
                }
            }
        }
        if !line.is_empty() {
            finish(&mut line, &mut cut, &mut kept);
        }
        kept.text()
    })
}

/// CPU time and write calls of `pid` and everything below it, read while they still run.
fn usage_of_tree(pid: i32) -> Usage {
    // SAFETY: sysconf reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (mut user, mut system) = (0u64, 0u64);
    let mut writers = Writers::default();
    let pids: Vec<i32> = std::iter::once(pid).chain(procs::below(pid)).collect();
    for &p in &pids {
        let stat = fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, f)| f)
            .split_whitespace()
            .collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (user, system) = (user + tick(11), system + tick(12));
    }
    writers.sample(&pids);
    Usage {
        user: user as f64 / hz,
        system: system as f64 / hz,
        write_calls: Some(writers.write_calls()),
        write_bytes: Some(writers.write_bytes()),
    }
}

/// Waits until `pid` has ended without reaping it (its counters in /proc stay readable until
/// then), then reaps it with wait4(2), which also says how much CPU time it (and what it
/// waited for: the ranks of an `mpirun`) used. Returns also its last write counters.
fn wait_with_usage(pid: i32) -> Result<(ExitStatus, Usage, Writers)> {
    use std::os::unix::process::ExitStatusExt;
    // SAFETY: waitid writes into a zeroed siginfo we own; WNOWAIT leaves the child a zombie.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        );
    }
    let mut last = Writers::default();
    last.sample(&[pid]);
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
            write_bytes: None,
        },
        last,
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

/// The program's own processes below `pid`: its ranks (which say so in their environment),
/// else `pid` itself.
fn program_pids(pid: i32) -> Vec<i32> {
    let ranks: Vec<i32> = procs::below(pid)
        .into_iter()
        .filter(|&p| crate::watch::rank_of(p).is_some())
        .collect();
    if ranks.is_empty() {
        vec![pid]
    } else {
        ranks
    }
}

/// What the watchdog brings back: why it stopped the run (if it did), and what it saw.
type Watched = (Option<(Stop, Usage, Option<Snapshot>)>, Writers);

fn watchdog(
    pid: i32,
    start: Instant,
    limit: Duration,
    watch: Watch,
    panicked: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Watched> {
    std::thread::spawn(move || {
        let mut writers = Writers::default();
        let mut pids = vec![pid];
        // The bytes in the output folder, now and then: a run still writing is slow, not hung.
        let mut written: Vec<(Instant, u64)> = Vec::new();
        let mut k = 0u64;
        loop {
            if done.load(Ordering::Acquire) {
                return (None, writers);
            }
            if watch.sample {
                // The tree is looked up less often than it is sampled: /proc is scanned whole.
                if k % 25 == 0 {
                    pids = std::iter::once(pid).chain(procs::below(pid)).collect();
                }
                writers.sample(&pids);
            }
            if let Some(dir) = watch.dir.as_deref().filter(|_| k % 250 == 0) {
                written.push((Instant::now(), bytes_in(dir)));
            }
            k += 1;
            if let Some(stop) = must_stop(start.elapsed(), limit, panicked.load(Ordering::Acquire))
            {
                let usage = usage_of_tree(pid);
                let snapshot = watch.dir.as_deref().map(|dir| {
                    let mut snapshot =
                        hang::take(&program_pids(pid), dir, Duration::from_millis(500), true);
                    snapshot.growing = growing(&written, bytes_in(dir));
                    snapshot
                });
                procs::end_tree(pid);
                return (Some((stop, usage, snapshot)), writers);
            }
            // Often enough to see every thread of a short run that was asked to be sampled.
            let pause = if watch.sample { 2 } else { 10 };
            std::thread::sleep(Duration::from_millis(pause));
        }
    })
}

/// The bytes of every file in `dir`, hidden ones included.
fn bytes_in(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Whether the folder grew in the last seconds before `now_bytes` was read.
fn growing(written: &[(Instant, u64)], now_bytes: u64) -> Option<u64> {
    let recent = Instant::now() - Duration::from_secs(5);
    let before = written.iter().rev().find(|(at, _)| *at <= recent)?.1;
    (now_bytes > before).then_some(now_bytes - before)
}

/// Runs `command` for at most `limit`, stdout discarded, stderr kept; stopped sooner when one
/// of its processes panicked and the rest do not end. However it ends, no process it started is
/// left running (see [`procs`]).
pub fn bounded(command: &mut Command, limit: Duration) -> Result<Ran> {
    watched(command, limit, Watch::default())
}

/// Every file `command` writes stops growing at `bytes`: a write past it fails with EFBIG, as
/// on a full disk (an ignored SIGXFSZ stays ignored across exec, so it does not kill).
fn limit_file_size(command: &mut Command, bytes: u64) {
    // SAFETY: between fork and exec only system calls run.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}

/// [`bounded`], watching what `watch` says.
pub fn watched(command: &mut Command, limit: Duration, watch: Watch) -> Result<Ran> {
    let watcher = watch.dir.as_deref().and_then(Watcher::new);
    if let Some(bytes) = watch.file_size {
        limit_file_size(command, bytes);
    }
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
    let dog = watchdog(pid, start, limit, watch, panicked, Arc::clone(&done));
    let waited = wait_with_usage(pid);
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Release);
    let (stopped, mut writers) = dog.join().unwrap_or((None, Writers::default()));
    // Whatever a launcher left behind, ranks in groups of their own included.
    procs::end_tree(pid);
    procs::end_everything_below();
    let stderr = reader.join().unwrap_or_default();
    let (status, ended_usage, last) = waited?;
    writers.by_process.extend(last.by_process);
    let mut usage = stopped.as_ref().map_or(ended_usage, |(_, u, _)| *u);
    if stopped.is_none() {
        usage.write_calls = Some(writers.write_calls());
        usage.write_bytes = Some(writers.write_bytes());
    }
    let (stop, snapshot) = match stopped {
        Some((stop, _, snapshot)) => (Some(stop), snapshot),
        None => (None, None),
    };
    Ok(Ran {
        status: stop.is_none().then_some(status),
        stopped: stop,
        stderr,
        seconds,
        usage,
        snapshot,
        events: watcher.map(|w| w.events()),
        writers,
    })
}

/// An empty folder at `dir`.
pub fn fresh(dir: &Path) -> Result<()> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_output_is_kept_within_its_bound_head_and_tail() {
        let _one = crate::procs::ONE_RUN_AT_A_TIME
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "head -c 20000000 /dev/zero | tr '\\0' x; echo; i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done >&2; echo the end >&2",
        ]);
        // The 20 MB line goes to stdout (discarded); the lines to stderr are kept in part.
        let ran = bounded(&mut command, Duration::from_secs(60)).unwrap();
        assert!(ran.succeeded());
        assert!(ran.stderr.len() <= 2 * KEPT + 200, "{}", ran.stderr.len());
        assert!(ran.stderr.starts_with("line 0\n"));
        assert!(ran.stderr.trim_end().ends_with("the end"));
        assert!(
            ran.stderr.contains("lines, "),
            "a note of what was left out"
        );
        let mut long = Command::new("sh");
        long.args(["-c", "head -c 20000000 /dev/zero | tr '\\0' y >&2"]);
        let ran = bounded(&mut long, Duration::from_secs(60)).unwrap();
        assert!(
            ran.stderr.len() < LONGEST_LINE + 100,
            "{}",
            ran.stderr.len()
        );
        assert!(ran.stderr.contains("more bytes of this line cut"));
    }

    #[test]
    fn a_file_size_limit_makes_a_write_past_it_fail_as_on_a_full_disk() {
        let _one = crate::procs::ONE_RUN_AT_A_TIME
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("head -c 100000 /dev/zero > big; echo $? >&2")
            .current_dir(dir.path());
        let watch = Watch {
            file_size: Some(4096),
            ..Watch::default()
        };
        let ran = watched(&mut command, Duration::from_secs(30), watch).unwrap();
        assert_eq!(fs::metadata(dir.path().join("big")).unwrap().len(), 4096);
        assert_ne!(ran.stderr.trim(), "0", "the write failed: {}", ran.stderr);
    }
}
