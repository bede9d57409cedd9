//! Helpers shared by the end-to-end tests.
#![allow(dead_code)] // each test file uses its own share of them

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tools::{step_binary, step_info, Format, Launch, Step, STEPS};

/// The first step of the table started the way `launch` says that writes `format`: the tests
/// choose the steps they exercise by what they are, never by name.
pub fn first(launch: Launch, format: Format) -> &'static str {
    STEPS
        .iter()
        .find(|s| s.launch == launch && s.format == format)
        .map(|s| s.name)
        .unwrap_or_else(|| panic!("the table has no {launch:?} step writing {format:?}"))
}

/// Every step of the table that `keep` accepts.
pub fn steps_where(keep: impl Fn(&Step) -> bool) -> Vec<&'static str> {
    STEPS.iter().filter(|s| keep(s)).map(|s| s.name).collect()
}

/// The command that starts `step` itself (an MPI step as a single process): its binary, or for
/// a Python step its script with the step's module.
pub fn start(step: &str) -> Command {
    if step_launch(step) == Launch::Python {
        return tools::step_command(step, 1).unwrap();
    }
    Command::new(step_binary(step).unwrap())
}

/// [`start`], as words for a shell line (`env PYTHONPATH=… python3 script` for a Python step).
pub fn start_words(step: &str) -> String {
    let command = start(step);
    let words: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let env: Vec<String> = command
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    if env.is_empty() {
        words.join(" ")
    } else {
        format!("env {} {}", env.join(" "), words.join(" "))
    }
}

/// Runs a built step with `args`.
pub fn run(step: &str, args: &[&str]) -> Output {
    start(step)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {step}: {e}"))
}

/// `-n N -s S --dir DIR`: the arguments of a run of `n` files of `s × s` into `dir`.
pub fn sizes(n: usize, s: usize, dir: &Path) -> Vec<String> {
    [
        "-n",
        &n.to_string(),
        "-s",
        &s.to_string(),
        "--dir",
        dir.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn run_ok(step: &str, dir: &Path, n: usize, s: usize) {
    let args = sizes(n, s, dir);
    let out = run(step, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{step} -n {n} -s {s} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn format_of(step: &str) -> Format {
    step_info(step).unwrap().format
}

/// Every file name under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                names.extend(files_under(&path));
            } else {
                names.push(path.display().to_string());
            }
        }
    }
    names.sort();
    names
}

/// Checks a run that must fail: its exit code, one line on stderr containing `cause`, and no
/// output file left behind under `dir`.
pub fn assert_fails(step: &str, args: &[&str], dir: &Path, code: i32, cause: &str) {
    let out = run(step, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{step} {args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{step} {args:?} must say one line: {stderr}"
    );
    assert!(stderr.starts_with(&format!("{step}: ")), "{stderr}");
    assert!(
        stderr.contains(cause),
        "{step} {args:?}: expected '{cause}' in: {stderr}"
    );
    let leftovers: Vec<_> = files_under(dir)
        .into_iter()
        .filter(|f| f.contains("data"))
        .collect();
    assert!(leftovers.is_empty(), "{step} {args:?} left {leftovers:?}");
}

/// `timeout -k 5 120 mpirun -np <ranks> … <program>`: an MPI job that cannot hang the tests (a
/// wrong collective would wait forever).
pub fn timed_mpirun(ranks: usize, program: &Path) -> Command {
    let launcher = tools::mpirun(ranks, program);
    let mut command = Command::new("timeout");
    command
        .args(["-k", "5", "120"])
        .arg(launcher.get_program())
        .args(launcher.get_args());
    for (key, value) in launcher.get_envs() {
        command.env(key, value.expect("mpirun's variables are set, not removed"));
    }
    command
}

/// Runs tests/numpy_check.py over `root` (one folder per step) with Debian's numpy and h5py,
/// asserts it succeeded, and returns what it printed.
pub fn numpy_check(root: &Path, n: usize, s: usize) -> String {
    let python = Path::new("/usr/bin/python3");
    assert!(
        python.exists(),
        "Debian's python3 with numpy and h5py is needed: run `make setup`"
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numpy_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(root)
        .args([n.to_string(), s.to_string()])
        .output()
        .expect("cannot start python3");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "numpy check failed for n={n} s={s}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The steps started the way `launch` says, from the one step list (tools::STEPS).
pub fn steps_launched(launch: tools::Launch) -> Vec<&'static str> {
    tools::STEPS
        .iter()
        .filter(|s| s.launch == launch)
        .map(|s| s.name)
        .collect()
}

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (after saying why) when this user cannot mount.
    pub fn mount(test: &str, size: &str) -> Option<SmallDisk> {
        if !is_root() {
            let why = format!("{test}: not run: mounting a {size} tmpfs needs root");
            if std::env::var("HPC_TESTS_WITHOUT_ROOT").as_deref() == Ok("skip") {
                eprintln!("SKIPPED {why}");
                return None;
            }
            panic!("{why} (set HPC_TESTS_WITHOUT_ROOT=skip to skip it knowingly)");
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

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Temporary files left anywhere under `dir`.
pub fn partials(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.contains(".partial"))
        .collect()
}

/// `bash -c "<shell>; exec <step> <args>"` under a time limit; for an MPI step, every rank runs
/// that under `mpirun` (so a `ulimit` holds for the ranks, not for mpirun's own start-up files).
pub fn shell_run(prefix: &str, step: &str, ranks: usize, args: &[&str]) -> Output {
    let rank_script = format!("{prefix}; exec {} {}", start_words(step), args.join(" "));
    let script = if step_launch(step) == Launch::Mpi {
        let mpirun = tools::mpirun(ranks, Path::new("bash"));
        let mut words = vec![mpirun.get_program().to_string_lossy().into_owned()];
        words.extend(mpirun.get_args().map(|a| a.to_string_lossy().into_owned()));
        format!("{} -c '{rank_script}'", words.join(" "))
    } else {
        rank_script
    };
    Command::new("timeout")
        .args(["-k", "5", "120", "bash", "-c", &script])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .unwrap()
}

pub fn step_launch(step: &str) -> Launch {
    tools::step_info(step).unwrap().launch
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Our own lines on stderr (Open MPI adds its banners around a failed job, and its MPI-IO layer
/// a line of its own, `<program>: mca_fbtl_…`, naming the system's error).
pub fn our_lines(step: &str, stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{step}: ")) && !l.contains(": mca_"))
        .map(str::to_owned)
        .collect()
}

/// Starts `step` on a run long enough to interrupt (`-n 100000 -s 60` into `out_dir`), under
/// `timeout --foreground` — so a signal sent to it reaches the step (or mpirun, which passes it to
/// its ranks) as Ctrl-C or `scancel` would, not every process of the group at once — and returns
/// once the run is well underway (some files done; for an HDF5 step its one file started).
pub fn start_long_run(step: &str, ranks: usize, out_dir: &Path) -> std::process::Child {
    let mut command = Command::new("timeout");
    command.args(["--foreground", "-k", "5", "120"]);
    if step_launch(step) == Launch::Mpi {
        let mpirun = tools::mpirun(ranks, &step_binary(step).unwrap());
        command.arg(mpirun.get_program()).args(mpirun.get_args());
        command.env("OMPI_ALLOW_RUN_AS_ROOT", "1");
        command.env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    } else {
        command.arg(step_binary(step).unwrap());
    }
    let child = command
        .args(["-n", "100000", "-s", "60", "--dir"])
        .arg(out_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let enough = if tools::step_info(step).unwrap().format == Format::H5 {
        1
    } else {
        3
    };
    let start = Instant::now();
    while files_under(out_dir).len() < enough && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child
}

pub fn children_of(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The processes of a running step started under `timeout` (pid `launcher`): the step itself,
/// or, under `timeout mpirun`, mpirun's ranks.
pub fn step_processes(step: &str, launcher: u32) -> Vec<u32> {
    let below_timeout = children_of(launcher);
    if step_launch(step) == Launch::Mpi {
        below_timeout.into_iter().flat_map(children_of).collect()
    } else {
        below_timeout
    }
}

/// The MPI rank of process `pid`, from what its launcher gave it (Open MPI's or MPICH's name).
pub fn rank_of(pid: u32) -> Option<usize> {
    let environ = fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        ["OMPI_COMM_WORLD_RANK=", "PMI_RANK="]
            .iter()
            .find_map(|v| entry.strip_prefix(v))?
            .parse()
            .ok()
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
    assert!(status.success());
}

/// Waits up to `limit` for every process in `pids` to end; false if some are still there.
pub fn all_gone(pids: &[u32], limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        // A zombie is gone too: it has ended and only waits for its parent to notice.
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
