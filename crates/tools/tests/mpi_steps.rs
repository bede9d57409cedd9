//! End-to-end tests of the MPI steps, run for real under Open MPI's `mpirun` (each with a
//! timeout: a wrong collective would hang forever). Needs `make setup` (Open MPI, parallel
//! HDF5) and `cargo build --release --workspace`.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{files_under, numpy_check, steps_launched, timed_mpirun};
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

fn run_ok(step: &str, ranks: usize, dir: &Path, n: usize, s: usize) -> String {
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
    stderr
}

fn every_case_matches_the_serial_output(step: &str) {
    for s in SIZES {
        for n in N_FILES {
            let expected = reference(n, s);
            // write_final's file must hold what write_hdf5's does: datasets, values, attributes.
            let serial_h5 = tempfile::tempdir().unwrap();
            let one_file = step.starts_with("write_final");
            if one_file {
                let out = Command::new(step_binary("write_hdf5").unwrap())
                    .args(["-n", &n.to_string(), "-s", &s.to_string(), "--dir"])
                    .arg(serial_h5.path())
                    .output()
                    .unwrap();
                assert!(out.status.success());
            }
            for ranks in RANKS {
                let dir = tempfile::tempdir().unwrap();
                let stderr = run_ok(step, ranks, dir.path(), n, s);
                let case = format!("{step} -np {ranks} -n {n} -s {s}");
                if one_file {
                    let ours = load_h5(&dir.path().join("data.h5")).unwrap();
                    let theirs = load_h5(&serial_h5.path().join("data.h5")).unwrap();
                    assert_eq!(ours.root_attributes, theirs.root_attributes, "{case}");
                    let arrays = load_run(dir.path(), "data", Format::H5, n).unwrap();
                    compare_runs(&expected, &arrays).unwrap_or_else(|e| panic!("{case}: {e}"));
                    // The collective step's one 3-D dataset reads back as the same arrays.
                    assert!(ours == theirs, "{case}: differs from write_hdf5's file");
                } else {
                    let arrays = load_run(dir.path(), "data", Format::Npy, n).unwrap();
                    compare_runs(&expected, &arrays).unwrap_or_else(|e| panic!("{case}: {e}"));
                }
                let files = files_under(dir.path());
                let want = if one_file { 1 } else { n };
                assert_eq!(files.len(), want, "{case}: {files:?}");
                // Ranks beyond the number of files say they had nothing to do.
                let idle = stderr.matches("no files to write").count();
                assert_eq!(idle, ranks.saturating_sub(n), "{case}: {stderr}");
            }
        }
    }
}

#[test]
fn write_mpi_matches_the_serial_steps() {
    every_case_matches_the_serial_output("write_mpi");
}

#[test]
fn write_mpi_scatter_matches_the_serial_steps() {
    every_case_matches_the_serial_output("write_mpi_scatter");
}

#[test]
fn write_final_matches_write_hdf5() {
    every_case_matches_the_serial_output("write_final");
}

#[test]
fn write_final_collective_matches_write_hdf5() {
    every_case_matches_the_serial_output("write_final_collective");
}

#[test]
fn h5py_reads_the_parallel_files_back() {
    let root = tempfile::tempdir().unwrap();
    let (n, s) = (7, 100);
    run_ok("write_final", 3, &root.path().join("write_final"), n, s);
    run_ok(
        "write_final_collective",
        4,
        &root.path().join("write_final_collective"),
        n,
        s,
    );
    let stdout = numpy_check(root.path(), n, s);
    assert!(
        stdout.contains(&format!("read {} arrays back exactly", 2 * n)),
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

/// Runs `command` (a step, perhaps behind a launcher) on a small run into a new folder and
/// checks that it is refused: exit 1, `says` on stderr, no output folder.
fn assert_refused(mut command: Command, case: &str, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = command
        .args(["-n", "3", "-s", "4", "--dir"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
    assert!(stderr.contains(says), "{case}: {stderr}");
    assert!(
        !dir.path().join("out").exists(),
        "{case} created its folder"
    );
}

/// A process that a launcher started as one of several, whose MPI sees it alone (another MPI's
/// launcher, or srun with the wrong --mpi plugin), refuses instead of writing every file alone.
#[test]
fn a_launcher_of_another_mpi_is_refused_not_run_alone() {
    let mpich = Path::new("/usr/bin/mpiexec.mpich");
    for step in steps_launched(Launch::Mpi) {
        for variable in ["PMI_SIZE", "SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE"] {
            let mut command = Command::new(step_binary(step).unwrap());
            command.env(variable, "2");
            assert_refused(
                command,
                &format!("{step} with {variable}=2"),
                &format!("started as one of 2 processes ({variable}=2)"),
            );
        }
        // The real thing, where MPICH is installed beside (make setup-stacks).
        if mpich.exists() && tools::Flavour::detect() == tools::Flavour::OpenMpi {
            let mut command = Command::new(mpich);
            command.args(["-n", "2"]).arg(step_binary(step).unwrap());
            assert_refused(
                command,
                &format!("{step} under MPICH's mpiexec"),
                "PMI_SIZE=2",
            );
        }
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
            let message = format!(
                "{step}: rank 0: cannot create output folder {}",
                dir.display()
            );
            let stderr = assert_job_fails(
                step,
                ranks,
                &["-n", "5", "--dir", dir.to_str().unwrap()],
                &message,
            );
            assert_eq!(
                stderr.matches("cannot create output folder").count(),
                1,
                "{stderr}"
            );
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
        let (target, rank) = if step.starts_with("write_final") {
            ("data.h5", 0)
        } else {
            ("data00005.npy", 2)
        };
        std::fs::create_dir(dir.join(target)).unwrap();
        let message = format!(
            "{step}: rank {rank}: cannot write {}",
            dir.join(target).display()
        );
        assert_job_fails(
            step,
            3,
            &["-n", "7", "-s", "20", "--dir", dir.to_str().unwrap()],
            &message,
        );
        let partial: Vec<_> = files_under(&dir)
            .into_iter()
            .filter(|f| f.contains(".partial"))
            .collect();
        assert!(partial.is_empty(), "{step} left {partial:?}");
    }
}

#[test]
fn bad_arguments_are_reported_once_by_rank_0() {
    for step in steps_launched(Launch::Mpi) {
        let stderr = assert_job_fails(step, 3, &["-n", "0"], "must be at least 1, got 0");
        assert_eq!(stderr.matches("must be at least 1").count(), 1, "{stderr}");
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
        let format = tools::step_info(step).unwrap().format;
        let arrays = load_run(dir.path(), "data", format, 9).unwrap();
        compare_runs(&reference(9, 30), &arrays).unwrap_or_else(|e| panic!("{step} over TCP: {e}"));
    }
}
