//! End-to-end tests of the single-node parallel steps: any number of workers writes the same
//! files as the serial steps, and a failure in one worker ends the run cleanly.

mod common;

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_fails, files_under, hidden_files, run, run_within, steps_launched};
use tools::{compare_runs, load_run, reference, Format, Launch};

#[test]
fn any_number_of_workers_writes_the_same_files() {
    for n in [1, 7, 100] {
        let expected = reference(n, 12);
        for step in steps_launched(Launch::Threads) {
            for w in [1, 2, 3, 8, 64] {
                let dir = tempfile::tempdir().unwrap();
                let d = dir.path().to_str().unwrap();
                let out = run(
                    step,
                    &[
                        "-n",
                        &n.to_string(),
                        "-s",
                        "12",
                        "-w",
                        &w.to_string(),
                        "--dir",
                        d,
                    ],
                );
                assert!(
                    out.status.success(),
                    "{step} -w {w}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let arrays = load_run(dir.path(), "data", Format::Npy, n).unwrap();
                compare_runs(&expected, &arrays)
                    .unwrap_or_else(|e| panic!("{step} -n {n} -w {w}: {e}"));
                assert_eq!(
                    files_under(dir.path()).len(),
                    n,
                    "{step} -n {n} -w {w}: extra files"
                );
            }
        }
    }
}

#[test]
fn zero_workers_is_a_usage_error() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    for step in steps_launched(Launch::Threads) {
        let args = ["-w", "0", "--dir", dir.to_str().unwrap()];
        assert_fails(step, &args, &dir, 2, "must be at least 1, got 0");
    }
}

#[test]
fn the_worker_count_comes_from_slurm_when_not_given() {
    for step in steps_launched(Launch::Threads) {
        let dir = tempfile::tempdir().unwrap();
        let binary = tools::step_binary(step).unwrap();
        let out = Command::new(&binary)
            .args(["-n", "4", "-s", "5", "--dir", dir.path().to_str().unwrap()])
            .env("SLURM_CPUS_PER_TASK", "3")
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(
            line.contains("by 3 workers (from SLURM_CPUS_PER_TASK)"),
            "{step}: {line}"
        );
        let out = Command::new(&binary)
            .args([
                "-n",
                "4",
                "-w",
                "2",
                "--json",
                "--dir",
                dir.path().to_str().unwrap(),
            ])
            .env("SLURM_CPUS_PER_TASK", "3")
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            (json["workers"].as_u64(), json["workers_from"].as_str()),
            (Some(2), Some("-w"))
        );
        let out = Command::new(&binary)
            .args(["--dir", dir.path().to_str().unwrap()])
            .env("SLURM_CPUS_PER_TASK", "many")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{step}: {stderr}");
        assert!(
            stderr.starts_with("Error: SLURM_CPUS_PER_TASK=\"many\"")
                && stderr.lines().count() == 1,
            "{step}: {stderr}"
        );
    }
}

#[test]
fn a_failed_write_ends_the_run_and_names_the_file() {
    for step in steps_launched(Launch::Threads) {
        for w in [1, 2, 8] {
            let root = tempfile::tempdir().unwrap();
            let dir = root.path().join("out");
            fs::create_dir(&dir).unwrap();
            // A folder where file 37 must go: its write fails, whichever worker gets it.
            let blocked = dir.join("data00037.npy");
            fs::create_dir(&blocked).unwrap();
            let started = Instant::now();
            let out = run_within(
                Duration::from_secs(60),
                step,
                &[
                    "-n",
                    "2000",
                    "-s",
                    "40",
                    "-w",
                    &w.to_string(),
                    "--dir",
                    dir.to_str().unwrap(),
                ],
            );
            let took = started.elapsed();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{step} -w {w}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "reported once: {stderr}");
            let said = format!("Error: cannot write {}: ", blocked.display());
            assert!(stderr.starts_with(&said), "{step} -w {w}: {stderr}");
            // Generous bound for a loaded machine.
            assert!(
                took < Duration::from_secs(20),
                "{step} -w {w} took {took:?}"
            );
            let files = files_under(&dir);
            let hidden = hidden_files(&dir);
            assert!(hidden.is_empty(), "{step} -w {w} left {hidden:?}");
            common::assert_whole(&dir, tools::Format::Npy, &[(2000, 40)]);
            assert!(files.len() < 2000, "{step} -w {w}: {} files", files.len());
        }
    }
}
