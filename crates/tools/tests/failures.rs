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
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    all_gone, children_of, files_under, first, our_lines, partials, rank_of, shared_memory_files,
    shell_run, signal_to, start_long_run, stderr_of, step_launch, step_processes, steps_where,
    timed_mpirun, SmallDisk,
};
use tools::{step_binary, Format, Launch, STEPS};

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

#[test]
fn a_file_size_limit_met_mid_run_is_one_line_naming_the_file() {
    // The limit is lowered while the step runs (prlimit), past the up-front check: the next
    // write fails with EFBIG — SIGXFSZ ends nothing — and is reported like any failed write. The
    // MPI steps meet it while creating datasets (HDF5's collective metadata writes, where the
    // rank that failed can leave the others inside HDF5; it reports and ends the job after
    // gridgen_mpi::PATIENCE, and rank 0, ended by the launcher, adds no line) or while writing
    // them (independent or collective).
    let mut cases = vec![
        (first(Launch::Serial, Format::Npy), 1),
        (first(Launch::Threads, Format::Npy), 1),
        (first(Launch::Serial, Format::H5), 1),
    ];
    for step in steps_where(|s| s.launch == Launch::Mpi && s.format == Format::H5) {
        cases.extend([(step, 2), (step, 3)]);
    }
    for (step, ranks) in cases {
        limit_mid_run(step, ranks, None);
    }
}

#[test]
fn a_file_size_limit_lowered_on_one_rank_only_ends_the_job_with_one_line() {
    // The limited rank's write fails inside one of HDF5's collective metadata steps, and HDF5 can
    // then hold every rank in a different MPI call: no error returns to the step. The limited
    // rank notes the limit (SIGXFSZ) and, if still held after gridgen::guard::HELD, reports and
    // ends; the launcher ends the rest, and rank 0 adds no line of its own.
    for step in steps_where(|s| s.launch == Launch::Mpi && s.format == Format::H5) {
        limit_mid_run(step, 2, Some(1));
        limit_mid_run(step, 3, Some(2));
    }
}

/// Lowers the file-size limit to 4 KiB on every process of a long run of `step` (or only on
/// rank `only`) and checks that it ends with exit 1, one line naming the file and the limit's
/// error, and no temporary file.
fn limit_mid_run(step: &str, ranks: usize, only: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(step, ranks, &out_dir);
    let pids = step_processes(step, child.id());
    assert_eq!(pids.len(), ranks, "{step}: processes {pids:?}");
    let limited: Vec<u32> = match only {
        None => pids,
        Some(rank) => pids
            .into_iter()
            .filter(|&p| rank_of(p) == Some(rank))
            .collect(),
    };
    assert!(!limited.is_empty(), "{step}: no process of rank {only:?}");
    for pid in limited {
        let status = Command::new("prlimit")
            .args([&format!("--pid={pid}"), "--fsize=4096"])
            .status()
            .unwrap();
        assert!(status.success(), "prlimit failed");
    }
    let out = child.wait_with_output().unwrap();
    let stderr = stderr_of(&out);
    let case = format!("{step} on {ranks} (limit on rank {only:?})");
    // 124: the run was still held when `timeout` ended it.
    assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
    let ours = our_lines(step, &stderr);
    assert_eq!(ours.len(), 1, "{case}: {stderr}");
    assert!(
        ours[0].contains("data"),
        "{case} does not name the file: {stderr}"
    );
    assert!(stderr.contains("File too large"), "{case}: {stderr}");
    let left = partials(&out_dir);
    assert!(left.is_empty(), "{case} left {left:?}");
}

#[test]
fn a_run_larger_than_its_disk_is_refused_before_it_starts() {
    let Some(disk) = SmallDisk::mount("a_run_larger_than_its_disk_is_refused", "2m") else {
        return;
    };
    let parallel_h5 = first(Launch::Mpi, Format::H5);
    for (step, ranks) in [
        (parallel_h5, 1),
        (parallel_h5, 4),
        (first(Launch::Serial, Format::H5), 1),
    ] {
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
        first(Launch::Serial, Format::Npy),
        first(Launch::Threads, Format::Npy),
        first(Launch::Serial, Format::H5),
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
        (first(Launch::Serial, Format::Txt), "INT", 130),
        (first(Launch::Serial, Format::Npy), "TERM", 143),
        (first(Launch::Threads, Format::Npy), "TERM", 143),
        (first(Launch::Serial, Format::H5), "INT", 130),
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
    // An HDF5 step's one file is removed by whichever rank handles the signal first; the .npy
    // steps' ranks each remove their own before mpirun's teardown kills the slow ones (three
    // ranks on two cores are the slow case).
    let mpi = steps_where(|s| s.launch == Launch::Mpi);
    for (step, ranks) in mpi.iter().flat_map(|s| [(*s, 2), (*s, 3)]) {
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
        // One line from rank 0, saying what stopped it.
        let ours = our_lines(step, &stderr);
        assert!(
            ours.iter().any(|l| l.contains("stopped by SIGTERM")),
            "{step} -np {ranks}: {stderr}"
        );
    }
}

#[test]
fn ranks_whose_mpirun_is_killed_stop_and_remove_their_files() {
    // mpirun killed (or sent a second signal before it passed the first on, as plain `timeout`
    // does) exits without stopping its ranks; they notice and stop themselves, remove their
    // files and their shared memory, and rank 0 says so where mpirun's stderr went.
    let npy = steps_where(|s| s.launch == Launch::Mpi && s.format == Format::Npy);
    for (step, ranks) in npy.iter().zip([2, 3]) {
        let step = *step;
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
        let out = child.wait_with_output().unwrap();
        let stderr = stderr_of(&out);
        // Open MPI's shared-memory files, which the killed mpirun can no longer remove: each
        // rank removed its own.
        let left: Vec<_> = segments.iter().filter(|s| s.exists()).collect();
        for segment in &left {
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
        assert!(!segments.is_empty(), "{step}: no shared memory seen");
        assert!(left.is_empty(), "{step}: shared memory left: {left:?}");
        assert!(
            our_lines(step, &stderr)
                .iter()
                .any(|l| l.contains("stopped by SIGTERM")),
            "{step}: the ranks said nothing: {stderr}"
        );
    }
}

#[test]
fn two_runs_into_one_folder_never_leave_a_wrong_file() {
    for (step, format) in [
        (first(Launch::Serial, Format::H5), Format::H5),
        (first(Launch::Serial, Format::Npy), Format::Npy),
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
fn symlinks_planted_at_the_next_temporary_names_are_skipped_never_followed() {
    // `bash -c '…; exec step'` keeps bash's process id, so the symlinks sit at the very names the
    // step tries first (`.<name>.<pid>-0.partial`, -1, …): each is taken, so the step tries the
    // next, and never writes through one.
    for step in [
        first(Launch::Serial, Format::Npy),
        first(Launch::Serial, Format::Txt),
        first(Launch::Serial, Format::H5),
    ] {
        let format = tools::step_info(step).unwrap().format;
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        fs::create_dir(&out_dir).unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "precious").unwrap();
        let target = if format.one_file() {
            format!("data.{format}")
        } else {
            format!("data00000.{format}")
        };
        let plant = (0..3)
            .map(|n| {
                format!(
                    "ln -s ../victim.txt {}/.{target}.$$-{n}.partial",
                    out_dir.display()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let args = ["-n", "2", "-s", "3", "--dir", out_dir.to_str().unwrap()];
        let out = shell_run(&plant, step, 1, &args);
        assert!(out.status.success(), "{step}: {}", stderr_of(&out));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious", "{step}");
        let arrays = tools::load_run(&out_dir, "data", format, 2).unwrap();
        tools::compare_runs(&tools::reference(2, 3), &arrays).unwrap();
        for file in files_under(&out_dir)
            .iter()
            .filter(|f| !f.ends_with(".partial"))
        {
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
    let binary = step_binary(first(Launch::Serial, Format::Txt)).unwrap();
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
    assert!(!stderr.contains("panicked"), "{stderr}");
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
    let threads = steps_where(|s| s.launch == Launch::Threads);
    let text = first(Launch::Serial, Format::Txt);
    let cases: [(&str, Vec<&str>, &str, i32); 5] = [
        (
            threads[0],
            vec!["-w", "20000", "-n", "15", "-s", "3"],
            "1024",
            2,
        ),
        (
            threads[1],
            vec!["-w", "30000", "-n", "200", "-s", "1"],
            "1024",
            2,
        ),
        (text, vec!["-o", "a\nb", "-n", "1"], "control character", 2),
        (
            text,
            vec!["--flamegraph", "x.png", "-n", "1"],
            "name an .svg",
            2,
        ),
        (text, vec!["-n", "100000", "-s", "1000"], "free", 1),
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
            first(Launch::Serial, Format::Npy),
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
        first(Launch::Serial, Format::Npy),
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
