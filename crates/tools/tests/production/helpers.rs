//! How the hostile tests of `write_production` start it, watch it, interrupt it, and look at
//! what it left: the step alone (one process, MPI's "singleton"), under `mpirun`, or with a
//! shell line run first on every rank (a `ulimit`, a cgroup). Every run is under `timeout`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The step under test: the production-safe one.
pub const STEP: &str = "write_production";

/// The longest any run may take before `timeout` ends it (exit 124: a hang).
pub const LIMIT: Duration = Duration::from_secs(120);

/// `nobody`, the co-user of the tests that need another user.
pub const NOBODY: u32 = 65534;

pub fn binary() -> PathBuf {
    tools::step_binary(STEP).unwrap_or_else(|e| panic!("{STEP} is not built: {e}"))
}

/// `-n N -s S --dir DIR`.
pub fn sizes(n: usize, s: usize, dir: &Path) -> Vec<String> {
    let n = n.to_string();
    let s = s.to_string();
    let dir = dir.to_str().unwrap();
    ["-n", &n, "-s", &s, "--dir", dir]
        .map(str::to_owned)
        .to_vec()
}

/// `timeout [--foreground] -k 5 120 [mpirun -np RANKS] write_production ARGS`: `ranks` 0 starts
/// the step alone, without a launcher. With `foreground`, a signal sent to `timeout` reaches the
/// step (or mpirun) alone, as Ctrl-C or `scancel` would.
pub fn command(ranks: usize, args: &[String], foreground: bool) -> Command {
    let mut command = Command::new("timeout");
    if foreground {
        command.arg("--foreground");
    }
    command.args(["-k", "5", &LIMIT.as_secs().to_string()]);
    if ranks == 0 {
        command.arg(binary());
    } else {
        let mpirun = tools::mpirun(ranks, &binary());
        command.arg(mpirun.get_program()).args(mpirun.get_args());
        command.envs(mpirun.get_envs().filter_map(|(k, v)| Some((k, v?))));
    }
    command.args(args);
    command
}

/// Runs the step to its end (see [`command`]).
pub fn run(ranks: usize, args: &[String]) -> Output {
    command(ranks, args, false).output().unwrap()
}

/// `bash -c "<prefix>; exec write_production <args>"` on every rank (or alone, `ranks` 0), so
/// that a `ulimit` or a cgroup holds for the ranks, not for mpirun.
pub fn shell_run(prefix: &str, ranks: usize, args: &[String]) -> Output {
    let words: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
    let program = shell_word(&binary().display().to_string());
    let line = format!("{prefix}; exec {program} {}", words.join(" "));
    let mut command = Command::new("timeout");
    command.args(["-k", "5", &LIMIT.as_secs().to_string()]);
    if ranks == 0 {
        command.arg("bash");
    } else {
        let mpirun = tools::mpirun(ranks, Path::new("bash"));
        command.arg(mpirun.get_program()).args(mpirun.get_args());
        command.envs(mpirun.get_envs().filter_map(|(k, v)| Some((k, v?))));
    }
    command.args(["-c", &line]).output().unwrap()
}

/// `word` quoted for a shell line: the checkout's path may hold a space.
pub fn shell_word(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Waits until a hidden (unfinished) file appears in `dir`, at most `limit`, then `settle`
/// longer, so that the run is well under way.
pub fn wait_for_hidden(dir: &Path, limit: Duration, settle: Duration) {
    let start = Instant::now();
    while hidden(dir).is_empty() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(settle);
}

/// `timeout -k 5 120 mpirun -np RANKS <program>`.
pub fn timed_mpirun(ranks: usize, program: &Path) -> Command {
    let mpirun = tools::mpirun(ranks, program);
    let mut command = Command::new("timeout");
    command.args(["-k", "5", &LIMIT.as_secs().to_string()]);
    command.arg(mpirun.get_program()).args(mpirun.get_args());
    command.envs(mpirun.get_envs().filter_map(|(k, v)| Some((k, v?))));
    command
}

/// Starts a run long enough to interrupt (`-n 100000 -s 60`, 2.9 GB) into `out_dir`, under
/// `timeout --foreground`, and returns once its file has begun.
pub fn start_long_run(ranks: usize, out_dir: &Path) -> Child {
    let child = command(ranks, &sizes(100_000, 60, out_dir), true)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !file_begun(out_dir) && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(file_begun(out_dir), "the run never began its file");
    std::thread::sleep(Duration::from_millis(300));
    child
}

/// The run's file exists in its private folder.
fn file_begun(out_dir: &Path) -> bool {
    hidden(out_dir)
        .iter()
        .any(|h| Path::new(h).is_dir() && files_under(Path::new(h)).len() == 1)
}

/// The processes and threads whose real user is `uid` (what `ulimit -u` counts).
pub fn tasks_of(uid: u32) -> u64 {
    let field = |status: &str, key: &str| -> Option<u64> {
        let line = status.lines().find_map(|l| l.strip_prefix(key))?;
        line.split_whitespace().next()?.parse().ok()
    };
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| fs::read_to_string(e.path().join("status")).ok())
        .filter(|status| field(status, "Uid:") == Some(u64::from(uid)))
        .filter_map(|status| field(&status, "Threads:"))
        .sum()
}

/// Every file under `dir`, recursively, sorted (symlinks listed, not followed).
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path);
            if meta.is_ok_and(|m| m.is_dir()) {
                names.extend(files_under(&path));
            } else {
                names.push(path.display().to_string());
            }
        }
    }
    names.sort();
    names
}

/// The hidden names in `dir` that a run makes while it writes (`.data.h5~<pid>~<host>~<random>`:
/// its private folder), whatever is in them.
pub fn hidden(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with('.') && name.contains('~')
                })
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The step's own lines on stderr: `Error: …` or `Stopped…` (Open MPI adds its banners around a
/// failed job, and its MPI-IO layer lines of its own naming the system's error).
pub fn our_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("Error: ") || l.starts_with("Stopped"))
        .map(str::to_owned)
        .collect()
}

/// Checks a run that must fail: exit `code`, exactly one line of ours containing every one of
/// `causes`; returns that line.
pub fn one_line(case: &str, out: &Output, code: i32, causes: &[&str]) -> String {
    let stderr = stderr_of(out);
    assert_ne!(out.status.code(), Some(124), "{case} hung: {stderr}");
    assert_eq!(out.status.code(), Some(code), "{case}: {stderr}");
    let ours = our_lines(&stderr);
    assert_eq!(ours.len(), 1, "{case} must say one line: {stderr}");
    for cause in causes {
        assert!(ours[0].contains(cause), "{case}: no '{cause}' in: {stderr}");
    }
    ours[0].clone()
}

/// Nothing of the run is left under `dir`: no hidden folder, no file.
pub fn nothing_left(case: &str, dir: &Path) {
    let left = files_under(dir);
    assert!(left.is_empty(), "{case} left {left:?}");
    assert!(hidden(dir).is_empty(), "{case} left {:?}", hidden(dir));
}

/// The file `dir/data.h5` holds exactly the run of `n` files of `s × s`.
pub fn file_is_right(case: &str, dir: &Path, n: usize, s: usize) {
    let arrays = tools::load_run(dir, "data", tools::Format::H5, n)
        .unwrap_or_else(|e| panic!("{case}: data.h5 is not whole: {e}"));
    tools::compare_runs(&tools::reference(n, s), &arrays).unwrap_or_else(|e| panic!("{case}: {e}"));
}

/// The processes of a run started with [`command`] (pid `timeout`): the step itself, or under
/// mpirun its ranks.
pub fn step_processes(ranks: usize, timeout: u32) -> Vec<u32> {
    let below = children_of(timeout);
    if ranks == 0 {
        below
    } else {
        below.into_iter().flat_map(children_of).collect()
    }
}

pub fn children_of(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|&p| comm_of(p).is_some_and(|c| c != "orted"))
        .collect()
}

fn comm_of(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_owned())
}

/// The MPI rank of process `pid`, from what its launcher gave it.
pub fn rank_of(pid: u32) -> Option<usize> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        entry.strip_prefix("OMPI_COMM_WORLD_RANK=")?.parse().ok()
    })
}

/// The files under /dev/shm that processes `pids` have mapped (Open MPI's `vader_segment.*`).
pub fn shared_memory_files(pids: &[u32]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = pids
        .iter()
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/maps")).ok())
        .flat_map(|maps| {
            maps.lines()
                .filter_map(|l| l.split_whitespace().nth(5).map(str::to_owned))
                .filter(|f| f.starts_with("/dev/shm/"))
                .collect::<Vec<_>>()
        })
        .map(PathBuf::from)
        .collect();
    files.sort();
    files.dedup();
    files
}

pub fn signal_to(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits up to `limit` for every process in `pids` to end; false if some still run.
pub fn all_gone(pids: &[u32], limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        // A zombie has ended: it only waits for its parent to notice.
        let running = pids.iter().any(|pid| {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").starts_with(" Z"))
        });
        if !running {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// Root, or a test that says it cannot run (and fails, unless skipping was asked for by name).
pub fn need_root(test: &str, why: &str) -> bool {
    if is_root() {
        return true;
    }
    let message = format!("{test}: not run: {why} needs root");
    if std::env::var("HPC_TESTS_WITHOUT_ROOT").as_deref() == Ok("skip") {
        eprintln!("SKIPPED {message}");
        return false;
    }
    panic!("{message} (set HPC_TESTS_WITHOUT_ROOT=skip to skip it knowingly)");
}

/// A tmpfs of `size` on a fresh folder, unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (after saying why) when this user cannot mount.
    pub fn mount(test: &str, size: &str) -> Option<SmallDisk> {
        if !need_root(test, &format!("mounting a {size} tmpfs")) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "cannot mount a tmpfs on {:?}", dir.path());
        Some(SmallDisk { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
