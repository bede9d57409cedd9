//! End-to-end tests of the serial steps: the built binaries are run as a learner runs them, and
//! their files are read back by gridgen, by numpy and by h5py.
//!
//! Needs `cargo build --release --workspace` first (`make test` does it); a missing binary fails
//! the test with that instruction.

mod common;

use std::fs;

use common::{assert_fails, files_under, format_of, hidden_files, numpy_check, run, run_ok};
use tools::{compare_runs, load_run, Format, Launch};

/// The serial steps, from the table: the baseline first.
fn serial() -> Vec<&'static str> {
    common::steps_launched(Launch::Serial)
}

#[test]
fn every_serial_step_writes_the_same_numbers() {
    let steps = serial();
    let (baseline, rest) = steps.split_first().unwrap();
    assert!(rest.len() >= 3, "the table lists {steps:?}");
    for (n, s) in [(1, 1), (3, 5), (4, 8), (2, 101), (5, 100)] {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(baseline);
        run_ok(baseline, &dir, n, s);
        let expected = load_run(&dir, "data", format_of(baseline), n).unwrap();
        assert_eq!(expected[&0].dim(), (s, s));
        for step in rest {
            let dir = root.path().join(step);
            run_ok(step, &dir, n, s);
            let arrays = load_run(&dir, "data", format_of(step), n).unwrap();
            compare_runs(&expected, &arrays)
                .unwrap_or_else(|e| panic!("{step} -n {n} -s {s} differs from {baseline}: {e}"));
        }
    }
}

#[test]
fn numpy_and_h5py_read_every_output_back_exactly() {
    for (n, s) in [(1, 1), (3, 5), (2, 100), (2, 101)] {
        let root = tempfile::tempdir().unwrap();
        for step in serial() {
            run_ok(step, &root.path().join(step), n, s);
        }
        let stdout = numpy_check(root.path(), n, s);
        // Every step's n arrays: its files, or its HDF5 file's datasets.
        let expected_arrays = n * serial().len();
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
        (&["-o", "run/x"], "it names files, not folders"),
        (&["-o", ".x"], "starts with a dot"),
        (&["--no-such-flag"], "unexpected argument '--no-such-flag'"),
        (&["-s", "4000000000"], "larger than any machine's memory"),
        (
            &["-s", "18446744073709551615"],
            "larger than any machine's memory",
        ),
    ];
    for step in serial() {
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
    for step in serial() {
        assert_fails(
            step,
            &["-n", "2", "--dir", dir.to_str().unwrap()],
            root.path(),
            1,
            &format!("cannot create the folder {}", dir.display()),
        );
    }
}

#[test]
fn a_target_that_cannot_be_written_is_named_and_leaves_no_partial_file() {
    for step in serial() {
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
        let said = format!("Error: cannot write {}: ", dir.join(target).display());
        assert!(stderr.starts_with(&said), "{step}: {stderr}");
        assert!(stderr.contains("Is a directory"), "{step}: {stderr}");
        let hidden = hidden_files(&dir);
        assert!(hidden.is_empty(), "{step} left {hidden:?}");
        common::assert_whole(&dir, format_of(step), &[(4, 10)]);
    }
}

// Full disks, signals and concurrent runs: tests/promises.rs, for every plain step.

#[test]
fn output_of_an_earlier_run_is_overwritten() {
    for step in serial() {
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
    for step in serial() {
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
