//! The Python step end to end: its script with its Rust module writes the Rust step's bytes, and
//! so does the same script with numpy's kernel (numpy's own `np.load` reads them back exactly);
//! it fails as the Rust steps do — one line naming the cause, exit 2 only for arguments, no
//! temporary file left — on a full disk, a blocked folder and Ctrl-C or `scancel`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_fails, files_under, partials, run, sizes, stderr_of, SmallDisk};
use tools::{compare_runs, load_run, reference, Format};

fn python_step() -> &'static tools::Step {
    tools::python_step().unwrap()
}

/// Every file of `a` has the same bytes in `b`, and no other file is there.
fn same_bytes(a: &Path, b: &Path) {
    let names = |d: &Path| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(a), names(b), "{} and {}", a.display(), b.display());
    for name in names(a) {
        let (x, y) = (
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
        );
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn the_python_step_writes_the_rust_steps_bytes_and_so_does_its_numpy_twin() {
    let step = python_step();
    let rust = step.predecessor_step().unwrap();
    let script = tools::python_script(step);
    let twin = script.with_file_name(format!("{}.py", rust.name));
    for (n, s) in [(1, 1), (3, 7), (12, 50)] {
        let root = tempfile::tempdir().unwrap();
        let [ours, theirs, numpy] = ["python", "rust", "numpy"].map(|d| root.path().join(d));
        let out = run(
            step.name,
            &sizes(n, s, &ours)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(out.status.success(), "{}: {}", step.name, stderr_of(&out));
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(
            line.starts_with(&format!("{}: {n} files of {s}×{s}, ", step.name)),
            "{line}"
        );
        common::run_ok(rust.name, &theirs, n, s);
        let out = Command::new(tools::python())
            .arg(&twin)
            .args(sizes(n, s, &numpy))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            twin.display(),
            stderr_of(&out)
        );
        same_bytes(&ours, &theirs);
        same_bytes(&numpy, &theirs);
        let arrays = load_run(&ours, "data", Format::Npy, n).unwrap();
        compare_runs(&reference(n, s), &arrays).unwrap();
    }
    // numpy reads them back exactly.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(step.name);
    let out = run(
        step.name,
        &sizes(4, 9, &dir)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let said = common::numpy_check(root.path(), 4, 9);
    assert!(said.contains("read 4 arrays back exactly"), "{said}");
}

#[test]
fn its_summary_is_the_rust_steps_json() {
    let step = python_step();
    let dir = tempfile::tempdir().unwrap();
    let summary = tools::run_step(step.name, &sizes(5, 8, dir.path())).unwrap();
    assert_eq!(
        (summary.step.as_str(), summary.n_files, summary.size),
        (step.name, 5, 8)
    );
    assert_eq!(summary.bytes, 5 * (128 + 8 * 64));
}

#[test]
fn bad_arguments_and_a_blocked_folder_are_one_line() {
    let step = python_step().name;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("o");
    let d = d.to_str().unwrap();
    assert_fails(step, &["-n", "0", "--dir", d], dir.path(), 2, "at least 1");
    assert_fails(step, &["-n", "many", "--dir", d], dir.path(), 2, "'many'");
    assert_fails(
        step,
        &["-o", "a/b", "--dir", d],
        dir.path(),
        2,
        "plain file name",
    );
    assert_fails(
        step,
        &["--flamegraph", "x.svg", "--dir", d],
        dir.path(),
        2,
        "--flamegraph",
    );
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "a file").unwrap();
    let under = blocker.join("o");
    assert_fails(
        step,
        &["-n", "2", "--dir", under.to_str().unwrap()],
        dir.path(),
        1,
        "cannot create output folder",
    );
    // A folder where a file must go: the kernel's OSError names it.
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("data00001.npy")).unwrap();
    let result = run(
        step,
        &["-n", "3", "-s", "4", "--dir", out.to_str().unwrap()],
    );
    let stderr = stderr_of(&result);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("data00001.npy"), "{stderr}");
    assert!(partials(&out).is_empty(), "{:?}", partials(&out));
}

#[test]
fn a_disk_too_small_is_refused_and_a_full_one_is_an_oserror_naming_the_file() {
    let step = python_step().name;
    let Some(disk) = SmallDisk::mount("python_step_full_disk", "1m") else {
        return;
    };
    // Up front, as the Rust steps: 20 files of 80 kB do not fit in what is free.
    std::fs::write(disk.path().join("filler"), vec![0u8; 800_000]).unwrap();
    let dir = disk.path().join("o");
    let args = sizes(20, 100, &dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_fails(step, &args, disk.path(), 1, "has only");
    // Mid-run, as the kernel meets it: a disk with no room left at all.
    let full = disk.path().join("full");
    std::fs::write(&full, vec![0u8; 4096]).unwrap();
    let mut k = 0;
    while std::fs::write(disk.path().join(format!("more{k}")), vec![0u8; 65536]).is_ok() {
        k += 1;
    }
    let library = tools::step_binary(step).unwrap();
    tools::link_python_module(&library).unwrap();
    let target = disk.path().join("data00000.npy");
    let code = format!(
        "import numpy as np, rust_kernel\n\
         try:\n    rust_kernel.save({:?}, np.zeros((100, 100)))\n\
         except OSError as e:\n    print(e.errno, e.filename)\n",
        target.to_str().unwrap()
    );
    let out = Command::new(tools::python())
        .args(["-c", &code])
        .env("PYTHONPATH", tools::module_folder(&library))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", stderr_of(&out));
    assert_eq!(said.trim(), format!("28 {}", target.display()), "{said}");
    assert!(!target.exists(), "a file under its final name");
    assert!(
        partials(disk.path()).is_empty(),
        "{:?}",
        partials(disk.path())
    );
}

#[test]
fn ctrl_c_and_scancel_stop_it_between_files() {
    let step = python_step().name;
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("o");
        let mut child = common::start(step)
            .args(sizes(100_000, 20, &out_dir))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Well under way: some files written.
        let start = Instant::now();
        while files_under(&out_dir).len() < 50 && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(20));
        }
        common::signal_to(child.id(), signal);
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "{step} did not stop on SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("stopped by SIG{signal} after")),
            "{stderr}"
        );
        assert!(partials(&out_dir).is_empty(), "{:?}", partials(&out_dir));
    }
}
