//! End-to-end tests of the serial steps: the built binaries are run as a learner runs them, and
//! their files are read back by gridgen, by numpy and by h5py.
//!
//! Needs `cargo build --release --workspace` first (`make test` does it); a missing binary fails
//! the test with that instruction.

mod common;

use std::fs;

use common::{assert_fails, files_under, format_of, numpy_check, run, run_ok};
use tools::{compare_runs, load_run, Format};

const SERIAL: [&str; 4] = [
    "write",
    "write_vectorized",
    "write_vectorized_binary",
    "write_hdf5",
];

#[test]
fn every_serial_step_writes_the_same_numbers() {
    for (n, s) in [(1, 1), (3, 5), (4, 8), (2, 101), (5, 100)] {
        let root = tempfile::tempdir().unwrap();
        let baseline = root.path().join("write");
        run_ok("write", &baseline, n, s);
        let expected = load_run(&baseline, "data", Format::Txt, n).unwrap();
        assert_eq!(expected[&0].dim(), (s, s));
        for step in &SERIAL[1..] {
            let dir = root.path().join(step);
            run_ok(step, &dir, n, s);
            let arrays = load_run(&dir, "data", format_of(step), n).unwrap();
            compare_runs(&expected, &arrays)
                .unwrap_or_else(|e| panic!("{step} -n {n} -s {s} differs from write: {e}"));
        }
    }
}

#[test]
fn numpy_and_h5py_read_every_output_back_exactly() {
    for (n, s) in [(1, 1), (3, 5), (2, 100), (2, 101)] {
        let root = tempfile::tempdir().unwrap();
        for step in SERIAL {
            run_ok(step, &root.path().join(step), n, s);
        }
        let stdout = numpy_check(root.path(), n, s);
        let expected_arrays = n * 3; // two text steps and one .npy step…
        let expected_arrays = expected_arrays + n; // …and the HDF5 datasets
        assert!(
            stdout.contains(&format!("read {expected_arrays} arrays back exactly")),
            "{stdout}"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    let d = dir.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["-n", "0"], "must be at least 1, got 0"),
        (&["-s", "0"], "must be at least 1, got 0"),
        (&["-n", "-4"], "must be at least 1, got -4"),
        (&["--size=-1"], "must be at least 1, got -1"),
        (&["-n", "ten"], "got 'ten'"),
        (&["-s", "2.5"], "got '2.5'"),
        (&["-o", ""], "prefix must not be empty"),
        (&["-o", "run/x"], "path separator"),
        (&["--no-such-flag"], "unexpected argument '--no-such-flag'"),
        (
            &["-s", "4000000000"],
            "needs more memory than any machine has",
        ),
        (
            &["-s", "18446744073709551615"],
            "needs more memory than any machine has",
        ),
    ];
    for step in SERIAL {
        for (args, cause) in cases {
            let mut all = args.to_vec();
            all.extend(["--dir", d]);
            assert_fails(step, &all, &dir, 2, cause);
        }
    }
}

#[test]
fn an_output_folder_that_cannot_be_created_is_a_runtime_error() {
    let root = tempfile::tempdir().unwrap();
    // A regular file where a folder should be: even root cannot create a folder under it.
    let blocker = root.path().join("not_a_folder");
    fs::write(&blocker, "x").unwrap();
    let dir = blocker.join("out");
    for step in SERIAL {
        assert_fails(
            step,
            &["-n", "2", "--dir", dir.to_str().unwrap()],
            root.path(),
            1,
            &format!("cannot create output folder {}", dir.display()),
        );
    }
}

#[test]
fn a_target_that_cannot_be_written_is_named_and_leaves_no_partial_file() {
    for step in SERIAL {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs::create_dir(&dir).unwrap();
        // A folder sitting where the third file (or the HDF5 file) must go.
        let target = match format_of(step) {
            Format::Txt => "data00002.txt",
            Format::Npy => "data00002.npy",
            Format::H5 => "data.h5",
        };
        fs::create_dir(dir.join(target)).unwrap();
        let out = run(
            step,
            &["-n", "4", "-s", "10", "--dir", dir.to_str().unwrap()],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{step}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&dir.join(target).display().to_string()),
            "{stderr}"
        );
        let partials: Vec<_> = files_under(&dir)
            .into_iter()
            .filter(|f| f.contains(".partial"))
            .collect();
        assert!(partials.is_empty(), "{step} left {partials:?}");
    }
}

// File-size limits (`ulimit -f` up front, and lowered mid-run with prlimit), full disks,
// signals and concurrent runs are in tests/failures.rs, for every step.

#[test]
fn output_of_an_earlier_run_is_overwritten() {
    for step in SERIAL {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        run_ok(step, &dir, 2, 3);
        run_ok(step, &dir, 2, 4);
        let arrays = load_run(&dir, "data", format_of(step), 2).unwrap();
        assert_eq!(arrays[&1].dim(), (4, 4), "{step} kept the old file");
    }
}

#[test]
fn the_summary_line_reports_the_run() {
    let root = tempfile::tempdir().unwrap();
    for step in SERIAL {
        let dir = root.path().join(step);
        let summary = tools::run_step(
            step,
            &[
                "-n".into(),
                "3".into(),
                "-s".into(),
                "10".into(),
                "--dir".into(),
                dir.display().to_string(),
            ],
        )
        .unwrap();
        assert_eq!(
            (summary.step.as_str(), summary.n_files, summary.size),
            (step, 3, 10)
        );
        let on_disk: u64 = files_under(&dir)
            .iter()
            .map(|f| fs::metadata(f).unwrap().len())
            .sum();
        assert_eq!(summary.bytes, on_disk, "{step}");
        let text = run(
            step,
            &["-n", "3", "-s", "10", "--dir", dir.to_str().unwrap()],
        );
        let line = String::from_utf8_lossy(&text.stdout);
        assert!(
            line.starts_with(&format!("{step}: 3 files of 10×10")),
            "{line}"
        );
        assert!(line.contains("files/s") && line.contains("MB/s"), "{line}");
    }
}
