//! The hostile set, on `write_production`: what a full or tiny disk, a `ulimit`, a job's memory
//! limit, Ctrl-C, `scancel`, a killed `mpirun`, a co-user who plants or swaps symlinks, and
//! absurd arguments do to a run — each reproduced for real, every run under `timeout`.
//! Whatever happens: no final name holds a wrong file (or someone else's), no run hangs, a
//! failed run says one line (exit 1; 2 for a command no machine could run), a stopped one says
//! what stopped it (exit 128 + the signal), and nothing of it is left behind.
//!
//! The tests that mount a tmpfs, make a cgroup or act as another user need root (CI runs as
//! root). Without it they fail, naming themselves, unless `HPC_TESTS_WITHOUT_ROOT=skip`.

#[path = "production/helpers.rs"]
mod helpers;

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use helpers::*;

// ---------------------------------------------------------------------------------------------
// The file itself

#[test]
fn the_file_is_step_11s_byte_for_byte_and_numpy_reads_it_back_exactly() {
    let root = tempfile::tempdir().unwrap();
    let (n, s) = (37, 19);
    let predecessor = tools::step_info(STEP).unwrap().predecessor.unwrap();
    let theirs = root.path().join(predecessor);
    let program = tools::step_binary(predecessor).unwrap();
    let out = timed_mpirun(2, &program)
        .args(sizes(n, s, &theirs))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    for ranks in [1, 2, 3] {
        let ours = root.path().join(format!("{STEP}-{ranks}"));
        let out = run(ranks, &sizes(n, s, &ours));
        assert!(out.status.success(), "{}", stderr_of(&out));
        let summary = String::from_utf8_lossy(&out.stdout);
        let bytes = fs::metadata(ours.join("data.h5")).unwrap().len();
        assert!(
            summary.contains(&format!("{:.2} MB written", bytes as f64 / 1e6)),
            "the summary counts the file's bytes ({bytes}): {summary}"
        );
        assert_eq!(
            fs::read(ours.join("data.h5")).unwrap(),
            fs::read(theirs.join("data.h5")).unwrap(),
            "{ranks} ranks: not {predecessor}'s bytes"
        );
        assert!(hidden(&ours).is_empty(), "left {:?}", hidden(&ours));
    }
    // h5py and numpy, as a researcher reads it: every plane, bit for bit.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numpy_check.py");
    let check = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(root.path())
        .args([n.to_string(), s.to_string()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{said}{}", stderr_of(&check));
    assert!(
        said.contains(&format!("read {} arrays back exactly", 4 * n)),
        "{said}"
    );
}

// ---------------------------------------------------------------------------------------------
// Refused up front: nothing created

#[test]
fn a_file_size_limit_too_small_for_the_file_is_refused_before_anything_is_created() {
    // MPI itself needs a few MB of files to start (its shared-memory files): the ranks get a
    // 16 MiB limit, and the run's file would take 96 MB.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    for ranks in [0, 2] {
        let out = shell_run("ulimit -f 16384", ranks, &sizes(3, 2000, &out_dir));
        let case = format!("ulimit -f on {ranks} ranks");
        one_line(&case, &out, 1, &["file-size limit (ulimit -f)", "16.0 MiB"]);
        assert!(!out_dir.exists(), "{case}: the refused run made its folder");
    }
}

#[test]
fn a_run_larger_than_its_disk_is_refused_before_it_starts() {
    let Some(disk) = SmallDisk::mount("a_run_larger_than_its_disk_is_refused", "2m") else {
        return;
    };
    for ranks in [0, 4] {
        // 4 MB of planes, or 2.4 MB of planes of one value each.
        for (n, s) in [(50, 100), (300_000, 1)] {
            let out = run(ranks, &sizes(n, s, &disk.path().join("o")));
            let case = format!("-n {n} -s {s} on {ranks} ranks");
            one_line(&case, &out, 1, &["free", "2.0 MiB"]);
            nothing_left(&case, disk.path());
        }
    }
}

#[test]
fn a_grid_past_the_address_space_limit_is_refused_up_front() {
    // Three grids of 6000² f64 (864 MB) under a limit of 390 MiB; MPI itself starts in it.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    for ranks in [0, 2] {
        let out = shell_run("ulimit -v 400000", ranks, &sizes(2, 6000, &out_dir));
        let case = format!("ulimit -v on {ranks} ranks");
        one_line(
            &case,
            &out,
            1,
            &["address-space limit (ulimit -v)", "needs about"],
        );
        assert!(!out_dir.exists(), "{case}: the refused run made its folder");
    }
}

#[test]
fn tight_address_space_limits_end_every_start_cleanly() {
    // MPI's start and the checks after it, at limits around what a rank needs: never a hang,
    // never Rust's abort; a refusal is one line of ours.
    let dir = tempfile::tempdir().unwrap();
    for (limit, ranks) in [(150_000, 2), (250_000, 3), (400_000, 4), (2_000_000, 2)] {
        let out_dir = dir.path().join(format!("o{limit}"));
        let out = shell_run(
            &format!("ulimit -v {limit}"),
            ranks,
            &sizes(40, 100, &out_dir),
        );
        let stderr = stderr_of(&out);
        let case = format!("{ranks} ranks under ulimit -v {limit}");
        assert_ne!(out.status.code(), Some(124), "{case} hung: {stderr}");
        assert!(!stderr.contains("memory allocation of"), "{case}: {stderr}");
        if out.status.success() {
            file_is_right(&case, &out_dir, 40, 100);
        } else {
            one_line(&case, &out, 1, &["ulimit -v"]);
            assert!(!out_dir.join("data.h5").exists(), "{case}");
        }
        assert!(
            hidden(&out_dir).is_empty(),
            "{case} left {:?}",
            hidden(&out_dir)
        );
    }
}

#[test]
fn a_job_memory_limit_is_seen_and_shared_by_the_ranks_of_a_node() {
    if !need_root("a_job_memory_limit_is_seen", "making a memory cgroup") {
        return;
    }
    let group = MemoryGroup::create(200 << 20).expect("a memory cgroup (v1 or v2) to test in");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    // One process: 3 grids of 3000² f64 (216 MB) do not fit 200 MB.
    let out = group.run(0, &sizes(2, 3000, &out_dir));
    one_line("one process in 200 MB", &out, 1, &["cgroup", "needs about"]);
    // Four ranks of 69 MB each fit 200 MB one by one, not together.
    let out = group.run(4, &sizes(8, 1700, &out_dir));
    one_line(
        "four ranks in 200 MB",
        &out,
        1,
        &["4 ranks on this node together"],
    );
    assert!(!out_dir.exists(), "a refused run made its folder");
}

/// A memory control group of its own (v2 where the machine has it, else v1), removed on drop.
struct MemoryGroup {
    dir: PathBuf,
}

impl MemoryGroup {
    fn create(limit: u64) -> std::io::Result<MemoryGroup> {
        let name = format!("hpc-production-test-{}", std::process::id());
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
        let (dir, file) = if fs::read_to_string(v2).is_ok_and(|c| c.contains("memory")) {
            (Path::new("/sys/fs/cgroup").join(&name), "memory.max")
        } else {
            let v1 = Path::new("/sys/fs/cgroup/memory").join(&name);
            (v1, "memory.limit_in_bytes")
        };
        fs::create_dir(&dir)?;
        fs::write(dir.join(file), limit.to_string())?;
        Ok(MemoryGroup { dir })
    }

    /// The step on `ranks` ranks, each moved into the group first.
    fn run(&self, ranks: usize, args: &[String]) -> Output {
        let join = format!("echo $$ > {}/cgroup.procs", self.dir.display());
        shell_run(&join, ranks, args)
    }
}

impl Drop for MemoryGroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn absurd_arguments_are_refused_up_front_with_the_numbers() {
    let Some(big) = SmallDisk::mount("absurd_arguments_are_refused", "100g") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("o");
    let words = |n: &str, s: &str, dir: &Path| {
        let dir = dir.to_str().unwrap().to_owned();
        ["-n", n, "-s", s, "--dir", &dir]
            .map(str::to_owned)
            .to_vec()
    };
    // Exit 2 for a command wrong on every machine, 1 for what this machine cannot hold; said
    // once, by one rank. The 100 GB tmpfs takes no memory until written: its room lets the
    // second run's memory be what refuses it — 32 GiB of file indices on each rank, under an
    // address-space limit of 8 GB, whatever memory the machine has.
    let cases = [
        (
            words("2147483648", "1", &d),
            2,
            "more than an MPI count can describe",
        ),
        (words("2147483647", "1", big.path()), 1, "needs about"),
        (words("100000", "1000", &big.path().join("x")), 1, "free"),
    ];
    for (args, code, cause) in cases {
        let out = shell_run("ulimit -v 8000000", 2, &args);
        one_line(&format!("{args:?}"), &out, code, &[cause]);
        nothing_left(&format!("{args:?}"), dir.path());
        nothing_left(&format!("{args:?}"), big.path());
    }
    let mut control = sizes(1, 3, &d);
    control.extend(["-o".into(), "a\nb".into()]);
    let out = run(0, &control);
    one_line("a control character", &out, 2, &["control character"]);
}

#[test]
fn prefixes_that_hide_files_or_make_names_too_long_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("o");
    for prefix in [".", "..", ".data"] {
        let mut args = sizes(2, 3, &d);
        args.extend(["-o".into(), prefix.into()]);
        let out = run(0, &args);
        one_line(&format!("-o {prefix}"), &out, 2, &["starts with a dot"]);
    }
    let mut args = sizes(2, 3, &d);
    args.extend(["-o".into(), "x".repeat(240)]);
    one_line("-o of 240 bytes", &run(0, &args), 2, &["255"]);
    nothing_left("refused prefixes", dir.path());
    // The longest prefix allowed: its hidden name still fits the filesystem's 255 bytes.
    let long = "y".repeat(200);
    let mut args = sizes(2, 3, &d);
    args.extend(["-o".into(), long.clone()]);
    let out = run(2, &args);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let arrays = tools::load_run(&d, &long, tools::Format::H5, 2).unwrap();
    tools::compare_runs(&tools::reference(2, 3), &arrays).unwrap();
    assert!(hidden(&d).is_empty(), "left {:?}", hidden(&d));
}

#[test]
fn unwritable_profile_and_trace_paths_fail_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let blocked = dir.path().join("blocked");
    fs::write(&blocked, "a file, not a folder").unwrap();
    for flag in ["--trace", "--flamegraph"] {
        let mut args = sizes(5, 5, &out_dir);
        args.extend([flag.into(), blocked.join("x.svg").display().to_string()]);
        for ranks in [0, 2] {
            let out = run(ranks, &args);
            let case = format!("{flag} on {ranks} ranks");
            one_line(&case, &out, 1, &["cannot write", "blocked"]);
            assert!(
                !out_dir.join("data.h5").exists(),
                "{flag}: the run went ahead"
            );
            assert!(
                hidden(&out_dir).is_empty(),
                "{flag}: {:?}",
                hidden(&out_dir)
            );
        }
    }
}

#[test]
fn a_timeline_that_does_not_fit_is_not_left_truncated_and_refusals_make_no_folder() {
    let Some(disk) = SmallDisk::mount("a_timeline_that_does_not_fit", "512k") else {
        return;
    };
    // Leave a few KiB: too little for the timeline of 3000 files.
    let filler = disk.path().join("filler");
    fs::write(&filler, vec![0u8; 512 * 1024 - 16 * 1024]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let trace = disk.path().join("t.json");
    let mut args = sizes(3000, 2, data.path());
    args.extend(["--trace".into(), trace.display().to_string()]);
    let out = run(2, &args);
    one_line("a timeline on a full disk", &out, 1, &["t.json"]);
    assert!(!trace.exists(), "a truncated timeline under its name");
    let left: Vec<_> = files_under(disk.path())
        .into_iter()
        .filter(|f| !f.ends_with("filler"))
        .collect();
    assert!(left.is_empty(), "left {left:?}");
    // A run refused for its disk space leaves no folder behind.
    let missing = data.path().join("new/sub");
    let out = run(2, &sizes(100_000, 1000, &missing));
    one_line("a refused run", &out, 1, &["free"]);
    assert!(
        !data.path().join("new").exists(),
        "the refused run made its folder"
    );
}

#[test]
fn a_process_limit_too_small_for_mpi_is_refused_and_ctrl_c_is_honoured_just_above_it() {
    if !need_root("a_process_limit_too_small", "running as another user") {
        return;
    }
    // As `nobody`: the step alone starts 9 processes and threads (its own 5, and Open MPI's
    // `orted` with its 4), beside what `nobody` runs already on this machine.
    let others = tasks_of(NOBODY);
    let root = tempfile::tempdir().unwrap();
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dir = root.path().join("o");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let as_nobody = |nproc: u64, n: usize| {
        let mut command = Command::new("timeout");
        command
            .args(["--foreground", "-k", "5", "120", "setpriv"])
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["prlimit", &format!("--nproc={nproc}"), "--"])
            .arg(binary())
            .args(sizes(n, 60, &dir));
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        command
    };
    let few = others + 3;
    let out = as_nobody(few, 10).output().unwrap();
    one_line(
        "too few processes",
        &out,
        1,
        &["ulimit -u", &format!("allows {few}")],
    );
    nothing_left("too few processes", &dir);
    // Enough to start: then Ctrl-C must still end it, its file removed.
    let child = as_nobody(others + 9, 100_000).spawn().unwrap();
    wait_for_hidden(&dir, Duration::from_secs(30), Duration::from_millis(500));
    // timeout → setpriv → prlimit exec each other: the step is timeout's child.
    for pid in children_of(child.id()) {
        signal_to(pid, "INT");
    }
    let out = child.wait_with_output().unwrap();
    one_line(
        "Ctrl-C at the process limit",
        &out,
        130,
        &["Stopped by SIGINT"],
    );
    nothing_left("Ctrl-C at the process limit", &dir);
}

// ---------------------------------------------------------------------------------------------
// Met mid-run

#[test]
fn a_file_size_limit_met_mid_run_is_one_line_naming_the_file() {
    // Lowered on every rank while the run writes (prlimit), past the up-front check: the next
    // write fails with "File too large" (SIGXFSZ is caught), and every rank stops.
    for ranks in [2, 3] {
        limit_mid_run(ranks, None);
    }
}

#[test]
fn a_file_size_limit_lowered_on_one_rank_only_ends_the_job_with_one_line() {
    // Only the last rank's writes fail: the others learn of it when they agree after the round
    // (or, if that rank were held inside HDF5, when it gives up after signals::HELD).
    limit_mid_run(2, Some(1));
    limit_mid_run(3, Some(2));
}

/// Lowers the file-size limit to 4 KiB on every rank of a long run (or on rank `only`), and
/// checks it ends with exit 1, one line naming the file and the limit, and nothing left.
fn limit_mid_run(ranks: usize, only: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(ranks, &out_dir);
    let pids = step_processes(ranks, child.id());
    assert_eq!(pids.len(), ranks, "processes {pids:?}");
    let limited: Vec<u32> = match only {
        None => pids,
        Some(rank) => pids
            .into_iter()
            .filter(|&p| rank_of(p) == Some(rank))
            .collect(),
    };
    assert!(!limited.is_empty(), "no process of rank {only:?}");
    for pid in limited {
        let status = Command::new("prlimit")
            .args([&format!("--pid={pid}"), "--fsize=4096"])
            .status()
            .unwrap();
        assert!(status.success(), "prlimit failed");
    }
    let out = child.wait_with_output().unwrap();
    // mpirun exits with the first failing rank's code.
    let case = format!("{ranks} ranks, the limit on rank {only:?}");
    one_line(&case, &out, 1, &["data.h5", "File too large", "ulimit -f"]);
    nothing_left(&case, &out_dir);
}

#[test]
fn a_write_that_fails_silently_never_gives_the_file_its_name() {
    // Open MPI's `vulcan` way of writing collectively, if the user chooses it, reports success
    // when a write fails: the file-size limit met on rank 0 (SIGXFSZ noted) fails the run
    // at the close or at the commit all the same.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    for ranks in [2, 3] {
        let mut command = command(ranks, &sizes(100_000, 60, &out_dir), true);
        let child = command
            .env("OMPI_MCA_fcoll", "vulcan")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_hidden(
            &out_dir,
            Duration::from_secs(60),
            Duration::from_millis(300),
        );
        let pids = step_processes(ranks, child.id());
        let rank0 = pids
            .iter()
            .copied()
            .find(|&p| rank_of(p) == Some(0))
            .unwrap();
        let status = Command::new("prlimit")
            .args([&format!("--pid={rank0}"), "--fsize=4096"])
            .status()
            .unwrap();
        assert!(status.success(), "prlimit failed");
        let out = child.wait_with_output().unwrap();
        let case = format!("vulcan on {ranks} ranks, the limit on rank 0");
        one_line(&case, &out, 1, &["rank 0", "data.h5"]);
        nothing_left(&case, &out_dir);
    }
}

#[test]
fn a_disk_that_fills_up_mid_run_leaves_no_wrong_file() {
    // Another process takes most of the room while the run starts: the run meets a full disk
    // when it takes the file's space, or has taken it before and writes it whole.
    let mut outcomes = Vec::new();
    for delay in [0.0, 0.05, 0.2, 0.5] {
        let Some(disk) = SmallDisk::mount("a_disk_that_fills_up_mid_run", "4m") else {
            return;
        };
        let out_dir = disk.path().join("o");
        let filler = disk.path().join("filler");
        let fill = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(delay));
            let _ = fs::write(filler, vec![0u8; 2_560_000]);
        });
        let out = run(2, &sizes(40, 100, &out_dir));
        fill.join().unwrap();
        let case = format!("a disk filled after {delay} s");
        if out.status.success() {
            file_is_right(&case, &out_dir, 40, 100);
        } else {
            // Refused up front (the filler came first), or the file's space not to be had.
            let line = one_line(&case, &out, 1, &[]);
            assert!(
                line.contains("free") || line.contains("data.h5"),
                "{case}: {line}"
            );
            assert!(!out_dir.join("data.h5").exists(), "{case}");
        }
        assert!(
            hidden(&out_dir).is_empty(),
            "{case} left {:?}",
            hidden(&out_dir)
        );
        outcomes.push(out.status.success());
    }
    eprintln!("runs that won the race against the filler: {outcomes:?}");
}

#[test]
fn a_disk_that_fills_during_parallel_writes_never_leaves_a_wrong_file() {
    // Two runs into one 100 MB disk, each passing the free-space check before the other has
    // taken its space: one meets the full disk.
    for ranks in [3, 4] {
        let Some(disk) = SmallDisk::mount("a_disk_that_fills_during_parallel_writes", "100m")
        else {
            return;
        };
        let runs: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|name| {
                let dir = disk.path().join(name);
                std::thread::spawn(move || {
                    let out = run(ranks, &sizes(2000, 60, &dir));
                    (dir, out)
                })
            })
            .collect();
        let mut failed = 0;
        for handle in runs {
            let (dir, out) = handle.join().unwrap();
            let case = format!("{ranks} ranks into {}", dir.display());
            if out.status.success() {
                file_is_right(&case, &dir, 2000, 60);
            } else {
                failed += 1;
                // Refused up front (the other run took the room first), or the file's space
                // not to be had when rank 0 took it.
                let line = one_line(&case, &out, 1, &[]);
                assert!(
                    line.contains("free") || line.contains("data.h5"),
                    "{case}: {line}"
                );
                assert!(
                    !dir.join("data.h5").exists(),
                    "{case} failed but left data.h5"
                );
            }
            assert!(hidden(&dir).is_empty(), "{case} left {:?}", hidden(&dir));
        }
        assert!(failed >= 1, "{ranks} ranks: both runs fit in 100 MB?");
    }
}

#[test]
fn memory_that_runs_out_mid_run_ends_it_in_one_line() {
    // The address-space limit lowered to what a rank has mapped, mid-run: its next allocation
    // that needs more fails (the timeline's list grows with every file). One line, its file
    // removed — never Rust's "memory allocation of … failed" and abort.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let mut args = sizes(3_000_000, 2, &out_dir);
    args.extend([
        "--trace".into(),
        dir.path().join("t.json").display().to_string(),
    ]);
    let child = command(2, &args, true)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_hidden(
        &out_dir,
        Duration::from_secs(60),
        Duration::from_millis(300),
    );
    for pid in step_processes(2, child.id()) {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmSize:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let status = Command::new("prlimit")
            .args([&format!("--pid={pid}"), &format!("--as={}", kib * 1024)])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let out = child.wait_with_output().unwrap();
    let stderr = stderr_of(&out);
    assert!(!stderr.contains("memory allocation of"), "{stderr}");
    let line = one_line("memory run out mid-run", &out, 1, &["data.h5", "memory"]);
    assert!(line.contains("unfinished file removed"), "{line}");
    nothing_left("memory run out mid-run", &out_dir);
}

// ---------------------------------------------------------------------------------------------
// Stopped from outside

/// What became of an interrupted run.
struct Interrupted {
    out: Output,
    out_dir: PathBuf,
    /// The step's processes as they were when signalled.
    pids: Vec<u32>,
    _dir: tempfile::TempDir,
}

/// Starts a long run, sends `signal` to the step (or to mpirun, which passes it on) and waits.
fn interrupt(ranks: usize, signal: &str) -> Interrupted {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(ranks, &out_dir);
    let pids = step_processes(ranks, child.id());
    signal_to(child.id(), signal);
    let out = child.wait_with_output().unwrap();
    Interrupted {
        out,
        out_dir,
        pids,
        _dir: dir,
    }
}

#[test]
fn ctrl_c_scancel_and_a_closed_terminal_remove_the_unfinished_file_and_say_so() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let stopped = interrupt(0, signal);
        let case = format!("SIG{signal}");
        let line = one_line(
            &case,
            &stopped.out,
            code,
            &[&format!("Stopped by SIG{signal}")],
        );
        assert!(line.contains("1 unfinished file removed"), "{line}");
        nothing_left(&case, &stopped.out_dir);
    }
}

#[test]
fn scancel_under_mpirun_stops_every_rank_with_one_line() {
    for ranks in [2, 3] {
        let stopped = interrupt(ranks, "TERM");
        let case = format!("SIGTERM to mpirun -np {ranks}");
        let stderr = stderr_of(&stopped.out);
        assert_ne!(stopped.out.status.code(), Some(0), "{case}: {stderr}");
        assert_ne!(
            stopped.out.status.code(),
            Some(124),
            "{case} hung: {stderr}"
        );
        assert!(
            all_gone(&stopped.pids, Duration::from_secs(5)),
            "{case}: ranks left"
        );
        let ours = our_lines(&stderr);
        assert_eq!(ours.len(), 1, "{case}: {stderr}");
        assert!(
            ours[0].starts_with("Stopped by SIGTERM"),
            "{case}: {stderr}"
        );
        nothing_left(&case, &stopped.out_dir);
    }
}

#[test]
fn ranks_whose_mpirun_is_killed_stop_and_remove_their_files() {
    // mpirun killed outright cannot stop its ranks: they notice it is gone, stop themselves,
    // remove their file and their shared memory, and rank 0 says so where mpirun's stderr went.
    for ranks in [2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        let child = start_long_run(ranks, &out_dir);
        let pids = step_processes(ranks, child.id());
        assert_eq!(pids.len(), ranks, "processes {pids:?}");
        let segments = shared_memory_files(&pids);
        for mpirun in children_of(child.id()) {
            signal_to(mpirun, "KILL");
        }
        let stopped = all_gone(&pids, Duration::from_secs(5));
        let out = child.wait_with_output().unwrap();
        let stderr = stderr_of(&out);
        let left: Vec<_> = segments.iter().filter(|s| s.exists()).collect();
        for segment in &left {
            let _ = fs::remove_file(segment);
        }
        let case = format!("mpirun -np {ranks} killed");
        assert!(stopped, "{case}: ranks still running 5 s after");
        nothing_left(&case, &out_dir);
        assert!(!segments.is_empty(), "{case}: no shared memory seen");
        assert!(left.is_empty(), "{case}: shared memory left: {left:?}");
        let ours = our_lines(&stderr);
        assert_eq!(ours.len(), 1, "{case}: {stderr}");
        assert!(
            ours[0].contains("the launcher (mpirun or srun) is gone"),
            "{stderr}"
        );
    }
}

#[test]
fn a_rank_that_cannot_get_its_launcher_back_stops_with_its_files_removed() {
    // Plain `timeout N mpirun …` signals mpirun, then its whole group: mpirun, signalled twice,
    // exits at once and leaves its ranks; they stop themselves and leave nothing.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(2, &out_dir);
    let ranks = step_processes(2, child.id());
    for mpirun in children_of(child.id()) {
        signal_to(mpirun, "TERM");
        signal_to(mpirun, "TERM");
    }
    let gone = all_gone(&ranks, Duration::from_secs(10));
    let _ = child.wait_with_output();
    assert!(gone, "ranks still running");
    nothing_left("mpirun signalled twice", &out_dir);
}

#[test]
fn ctrl_c_under_the_makefiles_launcher_says_sigint_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let launch = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/launch.sh");
    let child = Command::new("timeout")
        .args(["--foreground", "-k", "5", "120"])
        .arg(&launch)
        .arg("2")
        .arg(binary())
        .args(sizes(100_000, 60, &out_dir))
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_hidden(
        &out_dir,
        Duration::from_secs(60),
        Duration::from_millis(500),
    );
    for pid in children_of(child.id()) {
        signal_to(pid, "INT"); // the launcher: what Ctrl-C in a terminal reaches
    }
    let out = child.wait_with_output().unwrap();
    one_line("Ctrl-C under launch.sh", &out, 130, &["Stopped by SIGINT"]);
    nothing_left("Ctrl-C under launch.sh", &out_dir);
}

#[test]
fn a_run_killed_outright_leaves_only_a_hidden_folder_that_the_next_run_clears() {
    // SIGKILL cannot be caught: what it leaves is hidden, and its name says whose it was.
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(2, &out_dir);
    let pids = step_processes(2, child.id());
    for pid in &pids {
        signal_to(*pid, "KILL");
    }
    let _ = child.wait_with_output();
    assert!(all_gone(&pids, Duration::from_secs(10)));
    assert!(
        !out_dir.join("data.h5").exists(),
        "a killed run's file under its name"
    );
    assert_eq!(hidden(&out_dir).len(), 1, "{:?}", files_under(&out_dir));
    // The next run into the folder removes it: its process is gone.
    let out = run(2, &sizes(3, 4, &out_dir));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(hidden(&out_dir).is_empty(), "left {:?}", hidden(&out_dir));
    file_is_right("the next run", &out_dir, 3, 4);
}

#[test]
fn a_closed_stdout_ends_the_run_in_one_line_with_its_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let args = sizes(20, 5, dir.path()).join(" ");
    for (redirect, cause) in [("| true", "Broken pipe"), ("> /dev/full", "No space left")] {
        let program = shell_word(&binary().display().to_string());
        let line = format!("{program} {args} {redirect}; exit ${{PIPESTATUS[0]}}");
        let out = Command::new("timeout")
            .args(["-k", "5", "120", "bash", "-c", &line])
            .output()
            .unwrap();
        let stderr = stderr_of(&out);
        assert!(!stderr.contains("panicked"), "{stderr}");
        one_line(redirect, &out, 1, &["cannot print the summary", cause]);
        file_is_right(redirect, dir.path(), 20, 5);
    }
}

// ---------------------------------------------------------------------------------------------
// Co-users of the folder

#[test]
fn four_runs_into_one_folder_leave_one_of_them_whole() {
    // The last to finish wins the name, with its whole file; no run fails, none leaves anything.
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<_> = [(0, 300), (2, 400), (0, 500), (2, 600)]
        .into_iter()
        .map(|(ranks, n)| {
            let args = sizes(n, 40, dir.path());
            std::thread::spawn(move || (n, run(ranks, &args)))
        })
        .collect();
    for handle in runs {
        let (n, out) = handle.join().unwrap();
        assert!(out.status.success(), "-n {n}: {}", stderr_of(&out));
    }
    assert!(
        hidden(dir.path()).is_empty(),
        "left {:?}",
        hidden(dir.path())
    );
    let whole = [300, 400, 500, 600].into_iter().find(|&n| {
        tools::load_run(dir.path(), "data", tools::Format::H5, n)
            .is_ok_and(|a| tools::compare_runs(&tools::reference(n, 40), &a).is_ok())
    });
    assert!(
        whole.is_some(),
        "data.h5 is none of the four runs' whole file"
    );
}

#[test]
fn symlinks_planted_in_the_folder_are_replaced_or_skipped_never_followed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("o");
    fs::create_dir(&dir).unwrap();
    let victim = root.path().join("thesis.tex");
    fs::write(&victim, "precious").unwrap();
    let vault = root.path().join("vault");
    fs::create_dir(&vault).unwrap();
    fs::write(vault.join("notes.txt"), "precious").unwrap();
    fs::set_permissions(&vault, fs::Permissions::from_mode(0o700)).unwrap();
    // At the final name; and at hidden names of a process that is gone (pid beyond the
    // kernel's largest) on this machine, which the next run clears: a symlink to a file, one to
    // a folder, and a real folder of ours that is not private (mode 755).
    let host = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let dead = |n: u32| format!(".data.h5~{}~{}~abcde{n}", i32::MAX, host.trim());
    std::os::unix::fs::symlink(&victim, dir.join("data.h5")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join(dead(1))).unwrap();
    std::os::unix::fs::symlink(&vault, dir.join(dead(2))).unwrap();
    fs::create_dir(dir.join(dead(3))).unwrap();
    fs::write(dir.join(dead(3)).join("kept.txt"), "not ours to remove").unwrap();
    // And a private folder a killed run of ours left: removed.
    fs::create_dir(dir.join(dead(4))).unwrap();
    fs::write(dir.join(dead(4)).join("data.h5"), "half a file").unwrap();
    fs::set_permissions(dir.join(dead(4)), fs::Permissions::from_mode(0o700)).unwrap();
    let out = run(2, &sizes(3, 5, &dir));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(
        fs::read_to_string(vault.join("notes.txt")).unwrap(),
        "precious"
    );
    let meta = fs::symlink_metadata(dir.join("data.h5")).unwrap();
    assert!(meta.file_type().is_file(), "data.h5 is still a symlink");
    file_is_right("over a symlink", &dir, 3, 5);
    // The symlinks themselves may go (the plain steps clear a dead run's hidden names, never
    // what they point to); a folder that is not a private one of ours stays, and what is in it.
    assert!(dir.join(dead(3)).join("kept.txt").exists());
    assert!(
        !dir.join(dead(4)).exists(),
        "the killed run's private folder is still there"
    );
}

/// A co-user (`nobody`) watching `dir` with inotify, who replaces every hidden name that
/// appears: a file with a symlink to `victim`, a folder (moved away first) with a symlink to a
/// folder of their own. Returns how many it swapped once `stop` is set.
fn racer(dir: PathBuf, victim: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let ready = Arc::new(AtomicUsize::new(0));
    let started = Arc::clone(&ready);
    let handle = std::thread::spawn(move || {
        // SAFETY: plain system calls; setresuid through `syscall` changes this thread only.
        unsafe {
            libc::syscall(libc::SYS_setresgid, NOBODY, NOBODY, NOBODY);
            libc::syscall(libc::SYS_setresuid, NOBODY, NOBODY, NOBODY);
        }
        let evil = dir.join("evil");
        let _ = fs::create_dir(&evil);
        let c_dir = CString::new(dir.to_str().unwrap()).unwrap();
        // SAFETY: inotify calls on a descriptor this thread owns.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK) };
        assert!(fd >= 0, "inotify_init1 failed");
        // SAFETY: as above.
        let wd = unsafe { libc::inotify_add_watch(fd, c_dir.as_ptr(), libc::IN_CREATE) };
        assert!(wd >= 0, "inotify_add_watch failed");
        started.store(1, Ordering::SeqCst);
        let mut swapped = 0;
        let mut buf = [0u8; 8192];
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            // SAFETY: reading into a buffer of its length.
            let got = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if got <= 0 {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
            let mut at = 0;
            while at + 16 <= got as usize {
                let len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                let raw = &buf[at + 16..at + 16 + len];
                let name = String::from_utf8_lossy(raw)
                    .trim_end_matches('\0')
                    .to_owned();
                at += 16 + len;
                if !(name.starts_with('.') && name.contains('~')) {
                    continue;
                }
                n += 1;
                swapped += usize::from(swap(&dir, &name, &victim, &evil, n));
            }
        }
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
        swapped
    });
    while ready.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    handle
}

/// Puts a symlink where `name` is: to `victim` for a file, to `evil` for a folder (moved away
/// first, as a folder cannot be renamed over). True if the swap took.
fn swap(dir: &Path, name: &str, victim: &Path, evil: &Path, n: usize) -> bool {
    let path = dir.join(name);
    let decoy = dir.join(format!("decoy-{n}"));
    let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
    let target = if is_dir { evil } else { victim };
    if std::os::unix::fs::symlink(target, &decoy).is_err() {
        return false;
    }
    if is_dir {
        let _ = fs::rename(&path, dir.join(format!("moved-{n}")));
    }
    let swapped = fs::rename(&decoy, &path).is_ok();
    if !swapped {
        let _ = fs::remove_file(&decoy);
    }
    swapped
}

#[test]
fn a_co_user_who_swaps_hidden_names_for_symlinks_gets_nothing() {
    if !need_root("a_co_user_who_swaps", "the racer runs as another user: it") {
        return;
    }
    let mut swaps = 0;
    for ranks in [0, 2, 3] {
        let root = tempfile::tempdir().unwrap();
        // The co-user may pass through to the shared folder, and read the vault, not write it.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let vault = root.path().join("vault");
        fs::create_dir(&vault).unwrap();
        let victim = vault.join("thesis.tex");
        fs::write(&victim, "precious").unwrap();
        // A folder anyone may write, as a shared project folder sometimes is.
        let dir = root.path().join("shared");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let racer = racer(dir.clone(), victim.clone(), Arc::clone(&stop));
        let out = run(ranks, &sizes(40, 60, &dir));
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::SeqCst);
        swaps += racer.join().unwrap();
        let case = format!("{ranks} ranks against the racer");
        assert_ne!(
            out.status.code(),
            Some(124),
            "{case} hung: {}",
            stderr_of(&out)
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious", "{case}");
        if out.status.success() {
            file_is_right(&case, &dir, 40, 60);
        } else {
            one_line(&case, &out, 1, &["data.h5"]);
        }
        // The racer's own names aside (decoys, moved folders, its folder, its symlinks at the
        // run's hidden names), the final name is ours and plain, or absent.
        if let Ok(meta) = fs::symlink_metadata(dir.join("data.h5")) {
            assert!(
                meta.file_type().is_file(),
                "{case}: data.h5 is not a plain file"
            );
        }
        let evil = files_under(&dir.join("evil"));
        assert!(
            evil.is_empty(),
            "{case}: the run wrote into the co-user's folder: {evil:?}"
        );
    }
    assert!(swaps > 0, "the racer never swapped a name");
}
