//! The failure suite, part two: what a hostile co-user of the output folder, a filling disk, a
//! tight limit or a lost launcher does to a run — each for real, every run under `timeout`.
//! Whatever happens, no final name may hold a wrong file (or someone else's), no run may hang,
//! and a failed run says one line.
//!
//! Like tests/failures.rs these need root (tmpfs mounts, cgroups, another user for the racer);
//! without it they fail unless `HPC_TESTS_WITHOUT_ROOT=skip`.

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    files_under, first, is_root, our_lines, partials, shell_run, start_long_run, stderr_of,
    steps_where, SmallDisk,
};
use tools::{step_binary, Format, Launch, STEPS};

/// `nobody`, the co-user who tampers with the folder.
const NOBODY: libc::uid_t = 65534;

/// Runs `step` with `args` (under `timeout`; MPI steps on `ranks` ranks).
fn bounded(step: &str, ranks: usize, args: &[&str], limit: u64) -> Output {
    let mut command = Command::new("timeout");
    command.args(["-k", "5", &limit.to_string()]);
    if common::step_launch(step) == Launch::Mpi {
        let mpirun = tools::mpirun(ranks, &step_binary(step).unwrap());
        command.arg(mpirun.get_program()).args(mpirun.get_args());
        command.envs(mpirun.get_envs().filter_map(|(k, v)| Some((k, v?))));
    } else {
        let start = common::start(step);
        command.arg(start.get_program()).args(start.get_args());
        command.envs(start.get_envs().filter_map(|(k, v)| Some((k, v?))));
    }
    command.args(args).output().unwrap()
}

/// Every array of a run found in `dir` is the one the contract says (a run may have written
/// only some of its files).
fn every_file_present_is_right(dir: &Path, step: &str, n: usize, s: usize) {
    let format = tools::step_info(step).unwrap().format;
    let expected = tools::reference(n, s);
    for file in files_under(dir).iter().filter(|f| !f.contains(".partial")) {
        let meta = fs::symlink_metadata(file).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{step}: {file} is not a plain file"
        );
    }
    if format.one_file() {
        if dir.join("data.h5").exists() {
            let arrays = tools::load_run(dir, "data", format, n)
                .unwrap_or_else(|e| panic!("{step}: data.h5 is not whole: {e}"));
            tools::compare_runs(&expected, &arrays).unwrap_or_else(|e| panic!("{step}: {e}"));
        }
        return;
    }
    for t in 0..n {
        let path = dir.join(format!("data{t:05}.{format}"));
        if !path.exists() {
            continue;
        }
        let data = match format {
            Format::Txt => tools::read::load_txt(&path),
            _ => tools::read::load_npy(&path),
        }
        .unwrap_or_else(|e| panic!("{step}: {e}"));
        assert!(data == expected[&t], "{step}: {} is wrong", path.display());
    }
}

#[test]
fn a_disk_that_fills_during_a_parallel_write_never_leaves_a_wrong_file() {
    // Two runs into one 100 MB disk, each passing the free-space check before the other has
    // written: at least one meets a full disk inside its (collective or independent) writes.
    for step in steps_where(|s| s.launch == Launch::Mpi && s.format.one_file()) {
        for ranks in [3, 4] {
            let Some(disk) = SmallDisk::mount("a_disk_that_fills_during_a_parallel_write", "100m")
            else {
                return;
            };
            let runs: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|name| {
                    let dir = disk.path().join(name);
                    let step = step.to_owned();
                    std::thread::spawn(move || {
                        let d = dir.to_str().unwrap().to_owned();
                        let out =
                            bounded(&step, ranks, &["-n", "2000", "-s", "60", "--dir", &d], 60);
                        (dir, out)
                    })
                })
                .collect();
            let mut failed = 0;
            for run in runs {
                let (dir, out) = run.join().unwrap();
                let stderr = stderr_of(&out);
                let case = format!("{step} -np {ranks} into {}", dir.display());
                assert_ne!(out.status.code(), Some(124), "{case} hung: {stderr}");
                if out.status.success() {
                    every_file_present_is_right(&dir, step, 2000, 60);
                    assert!(dir.join("data.h5").exists(), "{case} said it succeeded");
                } else {
                    failed += 1;
                    assert_eq!(our_lines(step, &stderr).len(), 1, "{case}: {stderr}");
                    assert!(
                        !dir.join("data.h5").exists(),
                        "{case} failed but left data.h5"
                    );
                }
            }
            assert!(failed >= 1, "{step} -np {ranks}: both runs fit in 100 MB?");
            assert!(
                partials(disk.path()).is_empty(),
                "{:?}",
                partials(disk.path())
            );
        }
    }
}

/// A co-user (`nobody`) watching `dir` with inotify, who replaces every temporary file that
/// appears with a symlink to `victim`, and every temporary folder with a symlink to a folder of
/// their own. Returns how many it swapped once `stop` is set.
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
                if !name.contains(".partial") {
                    continue;
                }
                let path = dir.join(&name);
                let decoy = dir.join(format!("decoy-{n}"));
                n += 1;
                let is_dir = path.is_dir();
                let target = if is_dir { evil.clone() } else { victim.clone() };
                if std::os::unix::fs::symlink(&target, &decoy).is_err() {
                    continue;
                }
                if is_dir {
                    // A folder cannot be replaced by a rename: move it away, then take its name.
                    let _ = fs::rename(&path, dir.join(format!("moved-{n}")));
                }
                if fs::rename(&decoy, &path).is_ok() {
                    swapped += 1;
                } else {
                    let _ = fs::remove_file(&decoy);
                }
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

#[test]
fn a_co_user_who_swaps_temporary_files_for_symlinks_gets_nothing() {
    if !is_root() {
        assert_eq!(
            std::env::var("HPC_TESTS_WITHOUT_ROOT").as_deref(),
            Ok("skip"),
            "the racer runs as another user: needs root"
        );
        return;
    }
    for step in STEPS.iter().map(|s| s.name) {
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
        let d = dir.to_str().unwrap().to_owned();
        let mut args = vec!["-n", "40", "-s", "60", "--dir", &d];
        if common::step_launch(step) == Launch::Threads {
            args.extend(["-w", "2"]);
        }
        let out = bounded(step, 2, &args, 60);
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::SeqCst);
        let swapped = racer.join().unwrap();
        let stderr = stderr_of(&out);
        assert_ne!(out.status.code(), Some(124), "{step} hung: {stderr}");
        assert_eq!(
            fs::read_to_string(&victim).unwrap(),
            "precious",
            "{step} overwrote the victim"
        );
        assert!(swapped > 0, "{step}: the racer never got a temporary file");
        if !out.status.success() {
            assert_eq!(our_lines(step, &stderr).len(), 1, "{step}: {stderr}");
        }
        // The racer's own names (decoys, moved folders) aside, every final name is ours and right.
        let ours =
            |f: &String| !f.contains("decoy") && !f.contains("moved-") && !f.contains("evil");
        for file in files_under(&dir).into_iter().filter(ours) {
            if !file.contains(".partial") {
                let meta = fs::symlink_metadata(&file).unwrap();
                assert!(
                    meta.file_type().is_file(),
                    "{step}: {file} is not a plain file"
                );
            }
        }
        every_file_present_is_right(&dir, step, 40, 60);
    }
}

#[test]
fn tight_address_space_limits_end_every_start_cleanly() {
    // MPI's start and the checks after it, at limits around what a rank needs: never a hang,
    // never Rust's abort; a refusal is one line of ours.
    let mpi = [
        first(Launch::Mpi, Format::Npy),
        first(Launch::Mpi, Format::H5),
    ];
    let collective = steps_where(|s| s.launch == Launch::Mpi && s.format.one_file());
    for step in mpi.into_iter().chain(collective.last().copied()) {
        for (limit, ranks) in [(150_000, 2), (250_000, 3), (400_000, 4), (2_000_000, 2)] {
            let started = Instant::now();
            let out = shell_run(
                &format!("ulimit -v {limit}"),
                step,
                ranks,
                &[
                    "-n",
                    "40",
                    "-s",
                    "100",
                    "--dir",
                    &format!("/tmp/hpc-ulimit-{limit}"),
                ],
            );
            let stderr = stderr_of(&out);
            let case = format!("{step} -np {ranks} under ulimit -v {limit}");
            assert_ne!(out.status.code(), Some(124), "{case} hung: {stderr}");
            assert!(started.elapsed() < Duration::from_secs(60), "{case}");
            assert!(!stderr.contains("memory allocation of"), "{case}: {stderr}");
            if !out.status.success() {
                assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
                let ours = our_lines(step, &stderr);
                assert_eq!(ours.len(), 1, "{case}: {stderr}");
                assert!(ours[0].contains("ulimit -v"), "{case}: {stderr}");
            }
            let _ = fs::remove_dir_all(format!("/tmp/hpc-ulimit-{limit}"));
        }
    }
    // One process whose grid does not fit its address space: refused up front, one line.
    let step = first(Launch::Serial, Format::Npy);
    let out = shell_run(
        "ulimit -v 400000",
        step,
        1,
        &["-n", "2", "-s", "6000", "--dir", "/tmp/hpc-ulimit"],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("address-space limit (ulimit -v)"),
        "{stderr}"
    );
    assert!(
        !Path::new("/tmp/hpc-ulimit").exists(),
        "a refused run made its folder"
    );
}

#[test]
fn a_job_memory_limit_is_seen_and_shared_by_the_ranks_of_a_node() {
    if !is_root() {
        return;
    }
    let Ok(group) = MemoryGroup::create(200 << 20) else {
        panic!("cannot make a memory cgroup (cgroup v1 or v2) to test in");
    };
    // One process: 3 grids of 3000² f64 (216 MB) do not fit 200 MB.
    let step = first(Launch::Serial, Format::Npy);
    let out = group.run(step, 1, &["-n", "2", "-s", "3000", "--dir", "/tmp/hpc-cg"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cgroup"), "{stderr}");
    // Four ranks of 66 MB each fit 200 MB one by one, not together.
    let step = first(Launch::Mpi, Format::Npy);
    let out = group.run(step, 4, &["-n", "8", "-s", "1700", "--dir", "/tmp/hpc-cg"]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let ours = our_lines(step, &stderr);
    assert_eq!(ours.len(), 1, "{stderr}");
    assert!(
        ours[0].contains("4 ranks on this node together"),
        "{stderr}"
    );
    assert!(!Path::new("/tmp/hpc-cg").exists());
}

/// A memory control group of its own (v2 where the machine has it, else v1), removed on drop.
struct MemoryGroup {
    dir: PathBuf,
}

impl MemoryGroup {
    fn create(limit: u64) -> std::io::Result<MemoryGroup> {
        let name = format!("hpc-test-{}", std::process::id());
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
        let (dir, file) = if fs::read_to_string(v2).is_ok_and(|c| c.contains("memory")) {
            (Path::new("/sys/fs/cgroup").join(&name), "memory.max")
        } else {
            (
                Path::new("/sys/fs/cgroup/memory").join(&name),
                "memory.limit_in_bytes",
            )
        };
        fs::create_dir(&dir)?;
        fs::write(dir.join(file), limit.to_string())?;
        Ok(MemoryGroup { dir })
    }

    fn run(&self, step: &str, ranks: usize, args: &[&str]) -> Output {
        let join = format!("echo $$ > {}/cgroup.procs", self.dir.display());
        shell_run(&join, step, ranks, args)
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
fn ctrl_c_is_honoured_at_the_process_limit() {
    if !is_root() {
        return;
    }
    // As `nobody`, allowed one process: the step itself. Not a thread more can start — and
    // Ctrl-C must still end it, with its temporary file removed.
    let step = first(Launch::Serial, Format::Txt);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("o");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let child = Command::new("timeout")
        .args([
            "-k",
            "5",
            "60",
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args(["prlimit", "--nproc=1", "--"])
        .arg(step_binary(step).unwrap())
        .args(["-n", "100000", "-s", "60", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while files_under(&dir).len() < 3 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The step is the last of the chain timeout → setpriv → prlimit, which exec each other.
    for pid in common::children_of(child.id()) {
        common::signal_to(pid, "INT");
    }
    let out = child.wait_with_output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT"), "{stderr}");
    assert!(partials(&dir).is_empty(), "left {:?}", partials(&dir));
}

#[test]
fn ctrl_c_under_the_makefiles_launcher_says_sigint_and_exits_130() {
    let step = first(Launch::Mpi, Format::Npy);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let launch = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/launch.sh");
    let child = Command::new("timeout")
        .args(["--foreground", "-k", "5", "60"])
        .arg(&launch)
        .arg("2")
        .arg(step_binary(step).unwrap())
        .args(["-n", "100000", "-s", "60", "--dir"])
        .arg(&out_dir)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while files_under(&out_dir).len() < 3 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in common::children_of(child.id()) {
        common::signal_to(pid, "INT"); // the launcher: what Ctrl-C in a terminal reaches
    }
    let out = child.wait_with_output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let ours = our_lines(step, &stderr);
    assert_eq!(ours.len(), 1, "{stderr}");
    assert!(ours[0].contains("stopped by SIGINT"), "{stderr}");
    assert!(
        partials(&out_dir).is_empty(),
        "left {:?}",
        partials(&out_dir)
    );
}

#[test]
fn profiles_and_timelines_are_all_or_nothing_and_refusals_make_no_folder() {
    let Some(disk) = SmallDisk::mount("profiles_and_timelines_are_all_or_nothing", "512k") else {
        return;
    };
    // Leave a few KiB: too little for the timeline of 3000 files.
    let filler = disk.path().join("filler");
    let keep = 16 * 1024;
    let free = gridgen::guard::space::free_bytes(disk.path()).unwrap();
    fs::write(&filler, vec![0u8; (free - keep) as usize]).unwrap();
    let step = first(Launch::Serial, Format::Npy);
    let data = tempfile::tempdir().unwrap();
    let trace = disk.path().join("t.json");
    let out = common::run(
        step,
        &[
            "-n",
            "3000",
            "-s",
            "2",
            "--dir",
            data.path().to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("t.json"), "{stderr}");
    assert!(!trace.exists(), "a truncated timeline under its name");
    assert!(
        partials(disk.path()).is_empty(),
        "{:?}",
        partials(disk.path())
    );
    // A run refused for its disk space leaves no folder behind.
    let missing = data.path().join("new/sub");
    let out = common::run(
        step,
        &[
            "-n",
            "100000",
            "-s",
            "1000",
            "--dir",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        !data.path().join("new").exists(),
        "the refused run made its folder"
    );
}

#[test]
fn prefixes_that_hide_files_or_make_names_too_long_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("o");
    let d = d.to_str().unwrap();
    for step in [
        first(Launch::Serial, Format::Npy),
        first(Launch::Serial, Format::H5),
    ] {
        for prefix in [".", "..", ".data"] {
            let out = common::run(step, &["-o", prefix, "-n", "2", "--dir", d]);
            let stderr = stderr_of(&out);
            assert_eq!(out.status.code(), Some(2), "{step} -o {prefix}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains("starts with a dot"), "{stderr}");
        }
        // The final name fits (240 + 9 of 255 bytes), its temporary name does not.
        let long = "x".repeat(240);
        let out = common::run(step, &["-o", &long, "-n", "2", "--dir", d]);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("allows for a name"), "{stderr}");
        assert!(
            files_under(dir.path()).is_empty(),
            "{step} wrote {:?}",
            files_under(dir.path())
        );
    }
}

#[test]
fn a_rank_that_cannot_get_its_launcher_back_stops_with_its_files_removed() {
    // plain `timeout N mpirun …` signals mpirun twice: it exits at once, the ranks are left
    // alone; they stop themselves, say so, and leave nothing.
    let step = first(Launch::Mpi, Format::H5);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("o");
    let child = start_long_run(step, 2, &out_dir);
    let ranks = common::step_processes(step, child.id());
    // What `timeout` without --foreground sends: the child, then its whole process group.
    for mpirun in common::children_of(child.id()) {
        common::signal_to(mpirun, "TERM");
        common::signal_to(mpirun, "TERM");
    }
    let gone = common::all_gone(&ranks, Duration::from_secs(10));
    let _ = child.wait_with_output();
    assert!(gone, "ranks still running");
    assert!(
        partials(&out_dir).is_empty(),
        "left {:?}",
        partials(&out_dir)
    );
    assert!(!out_dir.join("data.h5").exists());
}
