//! The failures a hostile or careless user meets, each reproduced for real: full and tiny disks
//! (tmpfs mounts), file-size limits (`ulimit -f`), Ctrl-C and `scancel` (signals), a closed
//! stdout, two runs into one folder, symlinks planted at temporary names, absurd arguments.
//! Every one must end with one line naming the cause, a non-zero exit, no hang (every run is
//! under `timeout`) and no temporary file left.
//!
//! The tests that mount a tmpfs need root (CI runs as root). Without it they say so on stderr,
//! naming themselves, and do not pass silently: they fail unless `HPC_TESTS_WITHOUT_ROOT=skip`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{files_under, timed_mpirun};
use tools::{step_binary, Format, Launch, STEPS};

/// A tmpfs of `size` mounted on a fresh folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (after saying why) when this user cannot mount.
    fn mount(test: &str, size: &str) -> Option<SmallDisk> {
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

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Temporary files left anywhere under `dir`.
fn partials(dir: &Path) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.contains(".partial"))
        .collect()
}

/// `bash -c "<shell>; exec <step> <args>"` under a time limit; for an MPI step, every rank runs
/// that under `mpirun` (so a `ulimit` holds for the ranks, not for mpirun's own start-up files).
fn shell_run(prefix: &str, step: &str, ranks: usize, args: &[&str]) -> Output {
    let binary = step_binary(step).unwrap();
    let rank_script = format!("{prefix}; exec {} {}", binary.display(), args.join(" "));
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

fn step_launch(step: &str) -> Launch {
    tools::step_info(step).unwrap().launch
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Our own lines on stderr (Open MPI adds its banners around a failed job, and its MPI-IO layer
/// a line of its own, `<program>: mca_fbtl_…`, naming the system's error).
fn our_lines(step: &str, stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{step}: ")) && !l.contains(": mca_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_file_size_limit_too_small_for_the_run_is_refused_up_front_in_every_step() {
    for step in STEPS.iter().map(|s| s.name) {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        // MPI itself needs a few MB of files to start (its shared-memory segments): the ranks
        // get a 16 MiB limit and files of 32 MB; the others 64 KiB and files of 320 KB.
        let (limit, size) = match step_launch(step) {
            Launch::Mpi => ("ulimit -f 16384", "2000"),
            _ => ("ulimit -f 64", "200"),
        };
        let out = shell_run(
            limit,
            step,
            2,
            &["-n", "3", "-s", size, "--dir", out_dir.to_str().unwrap()],
        );
        let stderr = stderr_of(&out);
        // The machine refuses (a limit of this account), not the arguments: exit 1.
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        let ours = our_lines(step, &stderr);
        assert_eq!(ours.len(), 1, "{step}: {stderr}");
        assert!(
            ours[0].contains("file-size limit (ulimit -f)"),
            "{step}: {stderr}"
        );
        let written: Vec<_> = files_under(&out_dir);
        assert!(written.is_empty(), "{step} wrote {written:?}");
    }
}

/// Starts `step` on a run long enough to interrupt (`-n 100000 -s 60` into `out_dir`), under
/// `timeout --foreground` — so a signal sent to it reaches the step (or mpirun, which passes it to
/// its ranks) as Ctrl-C or `scancel` would, not every process of the group at once — and returns
/// once the run is well underway (some files done; for an HDF5 step its one file started).
fn start_long_run(step: &str, ranks: usize, out_dir: &Path) -> std::process::Child {
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

fn children_of(pid: u32) -> Vec<u32> {
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
fn step_processes(step: &str, launcher: u32) -> Vec<u32> {
    let below_timeout = children_of(launcher);
    if step_launch(step) == Launch::Mpi {
        below_timeout.into_iter().flat_map(children_of).collect()
    } else {
        below_timeout
    }
}

#[test]
fn a_file_size_limit_met_mid_run_is_one_line_naming_the_file() {
    // The limit is lowered while the step runs (prlimit), past the up-front check: the next
    // write fails with EFBIG — not SIGXFSZ, which the steps ignore — and is reported like any
    // failed write. (The collective step is not here: a write failing inside a collective
    // MPI-IO transfer leaves the other ranks waiting in Open MPI; see its chapter.)
    for (step, ranks) in [
        ("write_vectorized_binary", 1),
        ("write_multiprocessing_queue", 1),
        ("write_hdf5", 1),
        ("write_final", 2),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        let child = start_long_run(step, ranks, &out_dir);
        let pids = step_processes(step, child.id());
        assert_eq!(pids.len(), ranks, "{step}: processes {pids:?}");
        for pid in pids {
            let status = Command::new("prlimit")
                .args([&format!("--pid={pid}"), "--fsize=4096"])
                .status()
                .unwrap();
            assert!(status.success(), "prlimit failed");
        }
        let out = child.wait_with_output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        let ours = our_lines(step, &stderr);
        assert_eq!(ours.len(), 1, "{step}: {stderr}");
        assert!(
            ours[0].contains("data"),
            "{step} does not name the file: {stderr}"
        );
        assert!(stderr.contains("File too large"), "{step}: {stderr}");
        assert!(
            partials(&out_dir).is_empty(),
            "{step} left {:?}",
            partials(&out_dir)
        );
    }
}

#[test]
fn a_run_larger_than_its_disk_is_refused_before_it_starts() {
    let Some(disk) = SmallDisk::mount("a_run_larger_than_its_disk_is_refused", "2m") else {
        return;
    };
    for (step, ranks) in [("write_final", 1), ("write_final", 4), ("write_hdf5", 1)] {
        for args in [["-n", "50", "-s", "100"], ["-n", "6000", "-s", "1"]] {
            let mut all = args.to_vec();
            all.extend(["--dir", disk.path().to_str().unwrap()]);
            let out = shell_run("true", step, ranks, &all);
            let stderr = stderr_of(&out);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{step} -np {ranks} {args:?}: {stderr}"
            );
            let ours = our_lines(step, &stderr);
            assert_eq!(ours.len(), 1, "{stderr}");
            assert!(ours[0].contains("free"), "{stderr}");
            assert!(
                files_under(disk.path()).is_empty(),
                "{step} wrote something"
            );
        }
    }
}

#[test]
fn a_disk_that_fills_up_mid_run_leaves_only_complete_files() {
    let Some(disk) = SmallDisk::mount("a_disk_that_fills_up_mid_run", "1m") else {
        return;
    };
    // Another process takes most of the room after the check: the run meets a full disk.
    for step in [
        "write_vectorized_binary",
        "write_multiprocessing_queue",
        "write_hdf5",
    ] {
        let filler = disk.path().join("filler");
        let dir = disk.path().join(step);
        let args = [
            "-n",
            "12",
            "-s",
            "100",
            "--dir",
            dir.to_str().unwrap(),
            "-w",
            "2",
        ];
        let args = if step_launch(step) == Launch::Threads {
            &args[..]
        } else {
            &args[..6]
        };
        let script = format!(
            "dd if=/dev/zero of={} bs=1k count=700 2>/dev/null",
            filler.display()
        );
        // The check passes (1 MiB free), then the filler leaves ~300 KiB.
        let out = shell_run(
            &format!("(sleep 0.02; {script}) & sleep 0.05"),
            step,
            1,
            args,
        );
        let stderr = stderr_of(&out);
        let _ = fs::remove_file(&filler);
        if out.status.success() {
            continue; // the run won the race; nothing to check
        }
        assert_eq!(our_lines(step, &stderr).len(), 1, "{step}: {stderr}");
        assert!(
            partials(disk.path()).is_empty(),
            "{step} left {:?}",
            partials(disk.path())
        );
    }
}

/// What became of an interrupted run.
struct Interrupted {
    exit: Option<i32>,
    stderr: String,
    out_dir: PathBuf,
    /// The step's processes (mpirun's ranks, for an MPI step) as they were when signalled.
    pids: Vec<u32>,
    _dir: tempfile::TempDir,
}

/// Starts `step` writing many files, waits until it has written some, sends `signal` and waits
/// for the run to end.
fn interrupt(step: &str, signal: &str, ranks: usize) -> Interrupted {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(step, ranks, &out_dir);
    let pids = step_processes(step, child.id());
    // `timeout` passes the signal on to the step (or to mpirun, which passes it to the ranks).
    signal_to(child.id(), signal);
    let out = child.wait_with_output().unwrap();
    Interrupted {
        exit: out.status.code(),
        stderr: stderr_of(&out),
        out_dir,
        pids,
        _dir: dir,
    }
}

#[test]
fn ctrl_c_and_scancel_remove_the_temporary_files_and_say_what_was_done() {
    for (step, signal, code) in [
        ("write", "INT", 130),
        ("write_vectorized_binary", "TERM", 143),
        ("write_multiprocessing_queue", "TERM", 143),
        ("write_hdf5", "INT", 130),
    ] {
        let Interrupted {
            exit,
            stderr,
            out_dir,
            ..
        } = interrupt(step, signal, 1);
        assert_eq!(exit, Some(code), "{step} SIG{signal}: {stderr}");
        let ours = our_lines(step, &stderr);
        assert_eq!(ours.len(), 1, "{step}: {stderr}");
        assert!(
            ours[0].contains(&format!("stopped by SIG{signal} after")),
            "{stderr}"
        );
        assert!(
            partials(&out_dir).is_empty(),
            "{step} left {:?}",
            partials(&out_dir)
        );
    }
}

#[test]
fn scancel_under_mpirun_leaves_no_temporary_file() {
    // write_final's one file is removed by whichever rank handles the signal first; the .npy
    // steps' ranks each remove their own before mpirun's teardown kills the slow ones (three
    // ranks on two cores are the slow case).
    for (step, ranks) in [
        ("write_mpi", 2),
        ("write_mpi", 3),
        ("write_mpi_scatter", 3),
        ("write_final", 2),
        ("write_final", 3),
        ("write_final_collective", 2),
    ] {
        let Interrupted {
            exit,
            stderr,
            out_dir,
            pids,
            ..
        } = interrupt(step, "TERM", ranks);
        assert_ne!(exit, Some(0), "{step}: {stderr}");
        assert_ne!(exit, Some(124), "{step} hung: {stderr}");
        assert!(
            all_gone(&pids, Duration::from_secs(5)),
            "{step}: ranks left"
        );
        assert!(
            partials(&out_dir).is_empty(),
            "{step} -np {ranks} left {:?}",
            partials(&out_dir)
        );
    }
}

#[test]
fn ranks_whose_mpirun_is_killed_stop_and_remove_their_files() {
    // mpirun killed (or sent a second signal before it passed the first on, as plain `timeout`
    // does) exits without stopping its ranks; they notice and stop themselves.
    for (step, ranks) in [("write_mpi", 2), ("write_mpi_scatter", 3)] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        let child = start_long_run(step, ranks, &out_dir);
        let pids = step_processes(step, child.id());
        assert_eq!(pids.len(), ranks, "{step}: processes {pids:?}");
        let segments = shared_memory_files(&pids);
        for mpirun in children_of(child.id()) {
            signal_to(mpirun, "KILL");
        }
        let stopped = all_gone(&pids, Duration::from_secs(5));
        let _ = child.wait_with_output();
        // Open MPI's shared-memory files, which the killed mpirun can no longer remove.
        for segment in segments {
            let _ = fs::remove_file(segment);
        }
        assert!(
            stopped,
            "{step}: ranks still running 5 s after mpirun was killed"
        );
        assert!(
            partials(&out_dir).is_empty(),
            "{step} left {:?}",
            partials(&out_dir)
        );
    }
}

/// The files under /dev/shm that processes `pids` have mapped (Open MPI's `vader_segment.*`).
fn shared_memory_files(pids: &[u32]) -> Vec<PathBuf> {
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

fn signal_to(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits up to `limit` for every process in `pids` to end; false if some are still there.
fn all_gone(pids: &[u32], limit: Duration) -> bool {
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

#[test]
fn two_runs_into_one_folder_never_leave_a_wrong_file() {
    for (step, format) in [
        ("write_hdf5", Format::H5),
        ("write_vectorized_binary", Format::Npy),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let first = Command::new("timeout")
            .args(["-k", "5", "120"])
            .arg(step_binary(step).unwrap())
            .args(["-n", "1500", "-s", "40", "--dir", d])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let second = common::run(step, &["-n", "300", "-s", "40", "--dir", d]);
        let first = first.wait_with_output().unwrap();
        assert!(second.status.success(), "{step}: {}", stderr_of(&second));
        assert!(first.status.success(), "{step}: {}", stderr_of(&first));
        assert!(partials(dir.path()).is_empty());
        // Each file is complete and right for one of the two runs: the last to finish it.
        if format == Format::H5 {
            let loaded = [1500, 300].into_iter().find_map(|n| {
                tools::load_run(dir.path(), "data", format, n)
                    .ok()
                    .map(|a| (n, a))
            });
            let (n, arrays) = loaded.unwrap_or_else(|| panic!("{step}: data.h5 is neither run's"));
            tools::compare_runs(&tools::reference(n, 40), &arrays).unwrap();
        } else {
            let arrays = tools::load_run(dir.path(), "data", format, 1500).unwrap();
            let (first, second) = (tools::reference(1500, 40), tools::reference(300, 40));
            for (t, a) in &arrays {
                assert!(
                    *a == first[t] || second.get(t) == Some(a),
                    "{step}: file {t} is wrong"
                );
            }
        }
    }
}

#[test]
fn a_symlink_planted_at_a_temporary_name_is_never_followed() {
    for (step, name) in [
        ("write_vectorized_binary", ".data00000.npy.partial"),
        ("write", ".data00000.txt.partial"),
        ("write_hdf5", ".data.h5.partial"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        fs::create_dir(&out_dir).unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink("../victim.txt", out_dir.join(name)).unwrap();
        let out = common::run(
            step,
            &["-n", "2", "-s", "3", "--dir", out_dir.to_str().unwrap()],
        );
        assert!(out.status.success(), "{step}: {}", stderr_of(&out));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious", "{step}");
        for file in files_under(&out_dir).iter().filter(|f| !f.ends_with(name)) {
            let meta = fs::symlink_metadata(file).unwrap();
            assert!(
                meta.file_type().is_file(),
                "{step}: {file} is not a plain file"
            );
        }
    }
}

#[test]
fn a_closed_stdout_is_not_an_internal_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let binary = step_binary("write").unwrap();
    let piped = Command::new("bash")
        .args([
            "-c",
            &format!(
                "{} -n 20 -s 5 --dir {d} | true; echo ${{PIPESTATUS[0]}}",
                binary.display()
            ),
        ])
        .output()
        .unwrap();
    let stderr = stderr_of(&piped);
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout).trim(),
        "0",
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
    let full = Command::new("bash")
        .args([
            "-c",
            &format!("{} -n 2 -s 5 --dir {d} > /dev/full", binary.display()),
        ])
        .output()
        .unwrap();
    let stderr = stderr_of(&full);
    assert_eq!(full.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot print the summary"), "{stderr}");
}

#[test]
fn absurd_arguments_are_refused_up_front_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("o");
    let d = d.to_str().unwrap();
    // Exit 2 for arguments wrong on every machine, 1 for what this machine cannot hold.
    let cases: [(&str, Vec<&str>, &str, i32); 5] = [
        (
            "write_multiprocessing",
            vec!["-w", "20000", "-n", "15", "-s", "3"],
            "1024",
            2,
        ),
        (
            "write_multiprocessing_queue",
            vec!["-w", "30000", "-n", "200", "-s", "1"],
            "1024",
            2,
        ),
        (
            "write",
            vec!["-o", "a\nb", "-n", "1"],
            "control character",
            2,
        ),
        (
            "write",
            vec!["--flamegraph", "x.folded", "-n", "1"],
            "folded",
            2,
        ),
        ("write", vec!["-n", "100000", "-s", "1000"], "free", 1),
    ];
    for (step, mut args, cause, code) in cases {
        args.extend(["--dir", d]);
        let out = common::run(step, &args);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "{step} {args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{step} {args:?}: {stderr}");
        assert!(stderr.contains(cause), "{step} {args:?}: {stderr}");
        assert!(partials(dir.path()).is_empty());
    }
    // The MPI steps' index lists: more memory than this machine has (exit 1), or more files than
    // an MPI count can describe on any machine (exit 2); said once, by one rank.
    let mpi = common::steps_launched(Launch::Mpi)[1];
    for (n, code, cause) in [
        ("2147483647", 1, "needs about"),
        ("2147483648", 2, "MPI count"),
    ] {
        let out = timed_mpirun(2, &step_binary(mpi).unwrap())
            .args(["-n", n, "-s", "1", "--dir", d])
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        let ours = our_lines(mpi, &stderr);
        assert_eq!(ours.len(), 1, "{stderr}");
        assert!(ours[0].contains(cause), "{stderr}");
    }
}

#[test]
fn unwritable_profile_and_trace_paths_fail_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let blocked = dir.path().join("blocked");
    fs::write(&blocked, "a file, not a folder").unwrap();
    for flag in ["--trace", "--flamegraph"] {
        let target = blocked.join("x.svg");
        let out = common::run(
            "write_vectorized_binary",
            &[
                "-n",
                "5",
                "-s",
                "5",
                "--dir",
                out_dir.to_str().unwrap(),
                flag,
                target.to_str().unwrap(),
            ],
        );
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("x.svg"), "{stderr}");
        let written: Vec<_> = files_under(&out_dir)
            .into_iter()
            .filter(|f| f.ends_with(".npy"))
            .collect();
        assert!(
            written.is_empty(),
            "{flag}: the run went ahead: {written:?}"
        );
    }
    // A missing folder is created, as --dir is.
    let trace = dir.path().join("new/folder/t.json");
    let out = common::run(
        "write_vectorized_binary",
        &[
            "-n",
            "2",
            "-s",
            "5",
            "--dir",
            out_dir.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(trace.exists());
}
