//! End-to-end tests of the MPI steps, run for real under Open MPI's `mpirun` (each with a
//! timeout: a wrong collective would hang forever). Needs `make setup` (Open MPI, parallel
//! HDF5) and `cargo build --release --workspace`.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    files_under, first, format_of, hidden_files, numpy_check, our_lines, steps_launched,
    steps_where, timed_mpirun,
};
use tools::read::load_h5;
use tools::{compare_runs, load_run, reference, step_binary, Format, Launch};

const RANKS: [usize; 4] = [1, 2, 3, 4];
const N_FILES: [usize; 4] = [1, 3, 7, 12];
const SIZES: [usize; 3] = [1, 5, 100];

/// `timeout -k 5 120 mpirun -np <ranks> [--oversubscribe] <step> <args>`.
fn mpirun(step: &str, ranks: usize, args: &[&str]) -> Output {
    let out = timed_mpirun(ranks, &step_binary(step).unwrap())
        .args(args)
        .output()
        .expect("cannot start timeout/mpirun: run `make setup`");
    assert_ne!(
        out.status.code(),
        Some(124),
        "{step} -np {ranks} {args:?} hung and was killed"
    );
    out
}

fn run_ok(step: &str, ranks: usize, dir: &Path, n: usize, s: usize) {
    let (n, s) = (n.to_string(), s.to_string());
    let out = mpirun(
        step,
        ranks,
        &["-n", &n, "-s", &s, "--dir", dir.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "{step} -np {ranks} -n {n} -s {s}: {stderr}"
    );
}

fn every_case_matches_the_serial_output(step: &str) {
    let one_file = format_of(step).one_file();
    for s in SIZES {
        for n in N_FILES {
            let expected = reference(n, s);
            // A one-file step's file must hold what the serial HDF5 step's does: datasets,
            // values, attributes.
            let serial_h5 = tempfile::tempdir().unwrap();
            if one_file {
                common::run_ok(first(Launch::Serial, Format::H5), serial_h5.path(), n, s);
            }
            for ranks in RANKS {
                let dir = tempfile::tempdir().unwrap();
                run_ok(step, ranks, dir.path(), n, s);
                let case = format!("{step} -np {ranks} -n {n} -s {s}");
                if one_file {
                    let ours = load_h5(&dir.path().join("data.h5")).unwrap();
                    let theirs = load_h5(&serial_h5.path().join("data.h5")).unwrap();
                    assert_eq!(ours.root_attributes, theirs.root_attributes, "{case}");
                    let arrays = load_run(dir.path(), "data", Format::H5, n).unwrap();
                    compare_runs(&expected, &arrays).unwrap_or_else(|e| panic!("{case}: {e}"));
                    // The collective step's one 3-D dataset reads back as the same arrays.
                    assert!(ours == theirs, "{case}: differs from the serial HDF5 file");
                } else {
                    let arrays = load_run(dir.path(), "data", Format::Npy, n).unwrap();
                    compare_runs(&expected, &arrays).unwrap_or_else(|e| panic!("{case}: {e}"));
                }
                // Nothing else: no hidden file left, whatever the number of idle ranks.
                let files = files_under(dir.path());
                let want = if one_file { 1 } else { n };
                assert_eq!(files.len(), want, "{case}: {files:?}");
            }
        }
    }
}

#[test]
fn the_mpi_steps_of_a_file_each_match_the_serial_steps() {
    let steps = steps_where(|s| s.launch == Launch::Mpi && !s.format.one_file());
    assert!(steps.len() >= 2, "{steps:?}");
    for step in steps {
        every_case_matches_the_serial_output(step);
    }
}

#[test]
fn the_mpi_steps_of_one_file_match_the_serial_hdf5_step() {
    let steps = steps_where(|s| s.launch == Launch::Mpi && s.format.one_file());
    assert!(steps.len() >= 2, "{steps:?}");
    for step in steps {
        every_case_matches_the_serial_output(step);
    }
}

#[test]
fn h5py_reads_the_parallel_files_back() {
    let root = tempfile::tempdir().unwrap();
    let (n, s) = (7, 100);
    let steps = steps_where(|s| s.launch == Launch::Mpi && s.format.one_file());
    for (step, ranks) in steps.iter().zip([3, 4].into_iter().cycle()) {
        run_ok(step, ranks, &root.path().join(step), n, s);
    }
    let stdout = numpy_check(root.path(), n, s);
    assert!(
        stdout.contains(&format!("read {} arrays back exactly", steps.len() * n)),
        "{stdout}"
    );
}

#[test]
fn a_plain_run_without_mpirun_is_one_rank() {
    for step in steps_launched(Launch::Mpi) {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(step_binary(step).unwrap())
            .args([
                "-n",
                "3",
                "-s",
                "4",
                "--json",
                "--dir",
                dir.path().to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = tools::parse_summary(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
        assert_eq!(summary.ranks, Some(1), "{step}");
    }
}

/// Runs a failing MPI job and checks it ends promptly, non-zero, with `message` on stderr.
fn assert_job_fails(step: &str, ranks: usize, args: &[&str], message: &str) -> String {
    let started = Instant::now();
    let out = mpirun(step, ranks, args);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    // Open MPI's mpirun sometimes crashes while tearing down an aborted job; the exit status is
    // non-zero either way, and that is what a job script or a test sees.
    assert!(
        !out.status.success(),
        "{step} -np {ranks} {args:?} succeeded"
    );
    assert!(
        took < Duration::from_secs(30),
        "{step} -np {ranks} took {took:?}"
    );
    assert!(
        stderr.contains(message),
        "{step} -np {ranks}: expected '{message}' in: {stderr}"
    );
    stderr
}

#[test]
fn an_unwritable_output_folder_fails_the_job_with_the_rank_message() {
    let root = tempfile::tempdir().unwrap();
    let blocker = root.path().join("a_file");
    std::fs::write(&blocker, "x").unwrap();
    let dir = blocker.join("out");
    for step in steps_launched(Launch::Mpi) {
        for ranks in [2, 3] {
            let message = format!("Error: rank 0: cannot create the folder {}", dir.display());
            let stderr = assert_job_fails(
                step,
                ranks,
                &["-n", "5", "--dir", dir.to_str().unwrap()],
                &message,
            );
            assert_eq!(our_lines(&stderr).len(), 1, "{step} -np {ranks}: {stderr}");
        }
    }
}

#[test]
fn a_failed_write_on_one_rank_fails_the_job_and_leaves_no_partial_file() {
    for step in steps_launched(Launch::Mpi) {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        std::fs::create_dir(&dir).unwrap();
        // With 7 files over 3 ranks, file 5 belongs to rank 2 (chunks 0-2, 3-4, 5-6). For
        // the one-file steps a folder named data.h5 makes rank 0 fail at the end, renaming it.
        let (target, rank) = if format_of(step).one_file() {
            ("data.h5", 0)
        } else {
            ("data00005.npy", 2)
        };
        std::fs::create_dir(dir.join(target)).unwrap();
        let message = format!(
            "Error: rank {rank}: cannot write {}: Is a directory",
            dir.join(target).display()
        );
        let stderr = assert_job_fails(
            step,
            3,
            &["-n", "7", "-s", "20", "--dir", dir.to_str().unwrap()],
            &message,
        );
        assert_eq!(our_lines(&stderr).len(), 1, "{step}: {stderr}");
        let hidden = hidden_files(&dir);
        assert!(hidden.is_empty(), "{step} left {hidden:?}");
        common::assert_whole(&dir, format_of(step), &[(7, 20)]);
    }
}

#[test]
fn bad_arguments_are_reported_once_by_rank_0() {
    for step in steps_launched(Launch::Mpi) {
        let stderr = assert_job_fails(step, 3, &["-n", "0"], "must be at least 1, got 0");
        let ours = our_lines(&stderr);
        assert_eq!(ours.len(), 1, "{step}: {stderr}");
        assert!(
            ours[0].contains("must be at least 1, got 0"),
            "{step}: {stderr}"
        );
    }
}

#[test]
fn the_mpi_steps_run_over_tcp_as_between_nodes() {
    // Open MPI forced onto its TCP transport (as between nodes without a fast network), not
    // shared memory: the messages and the MPI-IO traffic take the network path, over loopback.
    let tcp = ["--mca", "pml", "ob1", "--mca", "btl", "tcp,self"];
    for step in steps_launched(Launch::Mpi) {
        let dir = tempfile::tempdir().unwrap();
        let launcher = tools::mpirun_with(2, &tcp, &step_binary(step).unwrap());
        let out = Command::new("timeout")
            .args(["-k", "5", "120"])
            .arg(launcher.get_program())
            .args(launcher.get_args())
            .envs(launcher.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .args(["-n", "9", "-s", "30", "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{step} over TCP: {stderr}");
        let arrays = load_run(dir.path(), "data", format_of(step), 9).unwrap();
        compare_runs(&reference(9, 30), &arrays).unwrap_or_else(|e| panic!("{step} over TCP: {e}"));
    }
}
