//! The Python step end to end: its script with its Rust module writes the Rust step's bytes, and
//! so does the same script with numpy's kernel (numpy's own `np.load` reads them back exactly);
//! it fails as the Rust steps do — one line naming the cause, exit 2 only for arguments, no
//! hidden file left, every file under a final name whole — on a full disk, a blocked folder and
//! Ctrl-C or `scancel`, with either kernel. The promises every plain step keeps (concurrent
//! runs, SIGKILL) are tested on it with the others in tests/promises.rs.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    assert_fails, assert_whole, files_under, hidden_files, run, sizes, stderr_of, SmallDisk,
};
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

/// The step's script with its Rust kernel, or (`numpy`) its twin with numpy's: a name for
/// messages, and the command that starts it.
fn kernel(numpy: bool) -> (String, Command) {
    let step = python_step();
    if !numpy {
        return (step.name.to_owned(), common::start(step.name));
    }
    let rust = step.predecessor_step().unwrap();
    let twin = tools::python_script(step).with_file_name(format!("{}.py", rust.name));
    let mut command = Command::new(tools::python());
    command.arg(&twin);
    (format!("{} (numpy's kernel)", twin.display()), command)
}

/// Both kernels.
fn both_kernels() -> [(String, Command); 2] {
    [kernel(false), kernel(true)]
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
        "must be a plain file name",
    );
    assert_fails(
        step,
        &["--flamegraph", "x.svg", "--dir", d],
        dir.path(),
        2,
        "unrecognized arguments: --flamegraph",
    );
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "a file").unwrap();
    let under = blocker.join("o");
    assert_fails(
        step,
        &["-n", "2", "--dir", under.to_str().unwrap()],
        dir.path(),
        1,
        &format!("cannot create the folder {}", under.display()),
    );
    // A folder where a file must go: the kernel's OSError names it, with either kernel.
    for (name, mut command) in both_kernels() {
        let out = dir.path().join(format!("out-{}", name.len()));
        std::fs::create_dir_all(out.join("data00001.npy")).unwrap();
        let result = command
            .args(["-n", "3", "-s", "4", "--dir", out.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = stderr_of(&result);
        assert_eq!(result.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        let said = format!(
            "Error: cannot write {}: ",
            out.join("data00001.npy").display()
        );
        assert!(stderr.starts_with(&said), "{name}: {stderr}");
        assert!(
            hidden_files(&out).is_empty(),
            "{name}: {:?}",
            hidden_files(&out)
        );
        assert_whole(&out, Format::Npy, &[(3, 4)]);
    }
}

#[test]
fn a_full_disk_is_one_line_naming_the_file_and_leaves_only_whole_files() {
    let Some(disk) = SmallDisk::mount("python_step_full_disk", "1m") else {
        return;
    };
    // 40 files of 80 kB do not fit: the disk fills up mid-run, with either kernel.
    for numpy in [false, true] {
        let (name, mut command) = kernel(numpy);
        let dir = disk.path().join(format!("o-{numpy}"));
        let out = command.args(sizes(40, 100, &dir)).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        let said = format!("Error: cannot write {}/data000", dir.display());
        assert!(stderr.starts_with(&said), "{name}: {stderr}");
        // numpy's own writer says what it could not write, without the system's errno.
        let cause = if numpy {
            ".npy: 10000 requested and "
        } else {
            ".npy: No space left on device"
        };
        assert!(stderr.contains(cause), "{name}: {stderr}");
        assert!(
            hidden_files(&dir).is_empty(),
            "{name}: {:?}",
            hidden_files(&dir)
        );
        let whole = assert_whole(&dir, Format::Npy, &[(40, 100)]);
        assert!(whole > 0 && whole < 40, "{name}: {whole} files");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // The module's own error, as Python sees it: an OSError with the errno and the file.
    let mut k = 0;
    while std::fs::write(disk.path().join(format!("more{k}")), vec![0u8; 65536]).is_ok() {
        k += 1;
    }
    let library = tools::step_binary(python_step().name).unwrap();
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
        hidden_files(disk.path()).is_empty(),
        "{:?}",
        hidden_files(disk.path())
    );
}

#[test]
fn ctrl_c_scancel_and_a_closed_terminal_stop_it_between_files() {
    for numpy in [false, true] {
        for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
            let dir = tempfile::tempdir().unwrap();
            let out_dir = dir.path().join("o");
            let (name, mut command) = kernel(numpy);
            let mut child = command
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
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("{name} did not stop on SIG{signal}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let out = child.wait_with_output().unwrap();
            let stderr = stderr_of(&out);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{name} SIG{signal}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with(&format!("Stopped by SIG{signal}: ")),
                "{name}: {stderr}"
            );
            assert!(
                stderr.trim_end().ends_with(" of 100000 files written"),
                "{name}: {stderr}"
            );
            let hidden = hidden_files(&out_dir);
            assert!(hidden.is_empty(), "{name} SIG{signal} left {hidden:?}");
            assert_whole(&out_dir, Format::Npy, &[(100_000, 20)]);
        }
    }
}
