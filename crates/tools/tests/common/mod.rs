//! Helpers shared by the end-to-end tests of the plain steps.
#![allow(dead_code)] // each test file uses its own share of them

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ndarray::Array2;
use tools::{step_binary, step_info, Format, Launch, Step, STEPS};

/// Every plain step of the table that `keep` accepts (the hardening step, `write_production`,
/// has tests of its own).
pub fn steps_where(keep: impl Fn(&Step) -> bool) -> Vec<&'static str> {
    STEPS
        .iter()
        .filter(|s| s.plain() && keep(s))
        .map(|s| s.name)
        .collect()
}

/// The first plain step of the table started the way `launch` says that writes `format`: the
/// tests choose the steps they exercise by what they are, never by name.
pub fn first(launch: Launch, format: Format) -> &'static str {
    steps_where(|s| s.launch == launch && s.format == format)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("the table has no {launch:?} step writing {format:?}"))
}

/// The plain steps started the way `launch` says, in the table's order.
pub fn steps_launched(launch: Launch) -> Vec<&'static str> {
    steps_where(|s| s.launch == launch)
}

pub fn step_launch(step: &str) -> Launch {
    step_info(step).unwrap().launch
}

pub fn format_of(step: &str) -> Format {
    step_info(step).unwrap().format
}

/// The command that starts `step` itself (an MPI step as a single process): its binary, or for
/// a Python step its script with the step's module.
pub fn start(step: &str) -> Command {
    if step_launch(step) == Launch::Python {
        return tools::step_command(step, 1).unwrap();
    }
    Command::new(step_binary(step).unwrap())
}

/// The command that starts `step` as a learner does: an MPI step under `mpirun` with `ranks`
/// ranks, any other as [`start`].
pub fn launcher(step: &str, ranks: usize) -> Command {
    if step_launch(step) == Launch::Mpi {
        tools::mpirun(ranks, &step_binary(step).unwrap())
    } else {
        start(step)
    }
}

/// [`launcher`], an MPI step under a time limit (a wrong collective would wait forever).
pub fn launch(step: &str, ranks: usize) -> Command {
    if step_launch(step) == Launch::Mpi {
        timed_mpirun(ranks, &step_binary(step).unwrap())
    } else {
        start(step)
    }
}

/// Runs a built step with `args`.
pub fn run(step: &str, args: &[&str]) -> Output {
    start(step)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {step}: {e}"))
}

/// Runs `step` with `args` under `timeout -k 5 <limit>`: a run that hangs fails the test (exit
/// code 124) instead of holding it for ever.
pub fn run_within(limit: Duration, step: &str, args: &[&str]) -> Output {
    let inner = start(step);
    let out = Command::new("timeout")
        .args(["-k", "5", &limit.as_secs().to_string()])
        .arg(inner.get_program())
        .args(inner.get_args())
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {step}: {e}"));
    assert_ne!(out.status.code(), Some(124), "{step} {args:?} hung");
    out
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
    let out = start(step).args(sizes(n, s, dir)).output().unwrap();
    assert!(
        out.status.success(),
        "{step} -n {n} -s {s} failed: {}",
        stderr_of(&out)
    );
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// The hidden files under `dir`: the unfinished files of runs (`.data00042.npy~<pid>~…`).
pub fn hidden_files(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| {
            Path::new(f)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect()
}

/// The files in `dir` under final names (not hidden), sorted.
pub fn final_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// Our own lines on stderr: an error, a stop, a note. Open MPI adds its banners around a failed
/// job, and its MPI-IO layer lines of its own (`mca_fbtl_posix_pwritev: …`).
pub fn our_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            ["Error: ", "Stopped by ", "Note: "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(str::to_owned)
        .collect()
}

/// Checks a run that must fail: its exit code, one line on stderr, `Error: ` and containing
/// `cause`, and no data file, whole or unfinished, left under `dir`.
pub fn assert_fails(step: &str, args: &[&str], dir: &Path, code: i32, cause: &str) {
    let out = run(step, args);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(code), "{step} {args:?}: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{step} {args:?} must say one line: {stderr}"
    );
    assert!(stderr.starts_with("Error: "), "{step} {args:?}: {stderr}");
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

/// The array of file `file_id` of a run of `n_files` files of `size × size`: the data contract,
/// which the numpy checks tie to numpy's own values.
pub fn expected(n_files: usize, size: usize, file_id: usize) -> Array2<f64> {
    let (x, y) = gridgen_contract::axes(size);
    let (xx, yy) = gridgen_contract::meshgrid(&x, &y);
    gridgen_contract::field::generate_data(&xx, &yy, n_files, file_id)
}

fn same_bits(a: &Array2<f64>, b: &Array2<f64>) -> bool {
    a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Checks that every file standing under a final name in `dir` (prefix `data`) is whole and
/// right, bit for bit, for one of the runs `runs` (`(n_files, size)`), and names what is not.
/// Returns how many files it checked (a folder a test put in a file's way is none).
pub fn assert_whole(dir: &Path, format: Format, runs: &[(usize, usize)]) -> usize {
    let mut checked = 0;
    for path in final_files(dir).into_iter().filter(|p| !p.is_dir()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name
            .strip_prefix("data")
            .and_then(|n| n.strip_suffix(&format!(".{format}")))
        else {
            continue;
        };
        if format.one_file() {
            assert_eq!(stem, "", "{}: an unexpected file", path.display());
            let whole = runs.iter().any(|&(n, s)| {
                tools::load_run(dir, "data", format, n).is_ok_and(|arrays| {
                    arrays
                        .iter()
                        .all(|(t, a)| same_bits(a, &expected(n, s, *t)))
                })
            });
            assert!(whole, "{} is no run's whole file", path.display());
        } else {
            let file_id: usize = stem
                .parse()
                .unwrap_or_else(|_| panic!("{}: an unexpected file", path.display()));
            let data = match format {
                Format::Txt => tools::read::load_txt(&path),
                _ => tools::read::load_npy(&path),
            }
            .unwrap_or_else(|e| panic!("a partial file under a final name: {e}"));
            let whole = runs
                .iter()
                .any(|&(n, s)| file_id < n && same_bits(&data, &expected(n, s, file_id)));
            assert!(whole, "{} holds no run's array", path.display());
        }
        checked += 1;
    }
    checked
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
        stderr_of(&out)
    );
    stdout
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

/// Starts `step` on a run long enough to interrupt (`-n 100000 -s 60` into `out_dir`; an MPI
/// step under `mpirun` with `ranks` ranks), under `timeout --foreground` — so that a signal sent
/// to it reaches the step (or mpirun, which passes it to its ranks) as Ctrl-C or `scancel` would,
/// not every process of the group at once — and returns once the run is well under way (some
/// files done; for an HDF5 step its one file started).
pub fn start_long_run(step: &str, ranks: usize, out_dir: &Path) -> Child {
    let inner = launcher(step, ranks);
    let mut command = Command::new("timeout");
    command
        .args(["--foreground", "-k", "5", "120"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let child = command
        .args(["-n", "100000", "-s", "60", "--dir"])
        .arg(out_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let enough = if format_of(step).one_file() { 1 } else { 3 };
    let start = Instant::now();
    while files_under(out_dir).len() < enough && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
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
