//! Shared by the workshop's tools and the end-to-end tests: the list of steps, running a step
//! binary, and loading any run's output back as arrays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use gridgen::read::{load_h5, load_npy, load_txt};
use gridgen::Summary;
use ndarray::Array2;

/// One workshop step: its binary, the step it improves on, and what it writes.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    pub name: &'static str,
    pub predecessor: Option<&'static str>,
    pub format: Format,
    /// The one optimization it shows.
    pub lesson: &'static str,
}

/// What a step writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Txt,
    Npy,
    H5,
}

/// Every step, in the workshop's order. Adding a step is one line here.
pub const STEPS: &[StepInfo] = &[
    StepInfo {
        name: "write",
        predecessor: None,
        format: Format::Txt,
        lesson: "nested loops, text files",
    },
    StepInfo {
        name: "write_vectorized",
        predecessor: Some("write"),
        format: Format::Txt,
        lesson: "one array expression",
    },
    StepInfo {
        name: "write_vectorized_binary",
        predecessor: Some("write_vectorized"),
        format: Format::Npy,
        lesson: "binary .npy files",
    },
    StepInfo {
        name: "write_hdf5",
        predecessor: Some("write_vectorized_binary"),
        format: Format::H5,
        lesson: "one HDF5 file",
    },
];

/// Looks a step up by name.
pub fn step_info(name: &str) -> Option<&'static StepInfo> {
    STEPS.iter().find(|s| s.name == name)
}

/// The folder holding the built step binaries: the one this program was built into.
pub fn bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate this program")?;
    let mut dir = exe.parent().context("program has no folder")?.to_path_buf();
    // Test binaries live one level down, in target/<profile>/deps.
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir)
}

/// Path of a built step binary; an error that says how to build it if it is missing.
pub fn step_binary(name: &str) -> Result<PathBuf> {
    let path = bin_dir()?.join(name);
    ensure!(
        path.is_file(),
        "{} is not built: run `cargo build --release --workspace` (or `make build`) first",
        path.display()
    );
    Ok(path)
}

/// Runs a step binary with `args` plus `--json` and returns its summary.
pub fn run_step(name: &str, args: &[String]) -> Result<Summary> {
    let output = Command::new(step_binary(name)?)
        .args(args)
        .arg("--json")
        .output()
        .with_context(|| format!("cannot start {name}"))?;
    ensure!(
        output.status.success(),
        "{name} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    parse_summary(line).with_context(|| format!("{name} printed no JSON summary: {stdout}"))
}

/// Reads a `--json` summary line.
pub fn parse_summary(line: &str) -> Result<Summary> {
    let v: serde_json::Value = serde_json::from_str(line)?;
    let num = |key: &str| {
        v[key]
            .as_f64()
            .with_context(|| format!("summary lacks '{key}'"))
    };
    Ok(Summary::new(
        v["step"].as_str().context("summary lacks 'step'")?,
        num("n_files")? as usize,
        num("size")? as usize,
        num("bytes")? as u64,
        num("seconds")?,
    ))
}

/// A run's arrays by file index, whatever format it wrote.
pub type Arrays = BTreeMap<usize, Array2<f64>>;

/// Loads every array of the run `<dir>/<prefix>…` written in `format`, checking that exactly
/// the indices 0 … n_files-1 are there.
pub fn load_run(dir: &Path, prefix: &str, format: Format, n_files: usize) -> Result<Arrays> {
    let mut arrays = Arrays::new();
    match format {
        Format::Txt | Format::Npy => {
            let ext = if format == Format::Txt { "txt" } else { "npy" };
            for file_id in 0..n_files {
                let path = dir.join(format!("{prefix}{file_id:05}.{ext}"));
                let data = if format == Format::Txt {
                    load_txt(&path)?
                } else {
                    load_npy(&path)?
                };
                arrays.insert(file_id, data);
            }
        }
        Format::H5 => {
            let contents = load_h5(&dir.join(format!("{prefix}.h5")))?;
            ensure!(
                contents.datasets.len() == n_files,
                "expected {n_files} datasets, found {}",
                contents.datasets.len()
            );
            for (name, (file_id, data)) in contents.datasets {
                ensure!(
                    name == format!("{prefix}{file_id:05}"),
                    "dataset {name} has file_id {file_id}"
                );
                arrays.insert(file_id as usize, data);
            }
        }
    }
    Ok(arrays)
}

/// The arrays every step must write for `n_files` files of `size`, computed in-process with
/// gridgen (which the end-to-end tests tie to numpy's own values).
pub fn reference(n_files: usize, size: usize) -> Arrays {
    let (x, y) = gridgen::axes(size);
    let (xx, yy) = gridgen::meshgrid(&x, &y);
    (0..n_files)
        .map(|t| (t, gridgen::generate_data(&xx, &yy, n_files, t)))
        .collect()
}

/// Checks two runs hold the same numbers bit for bit; the error names the first difference.
pub fn compare_runs(a: &Arrays, b: &Arrays) -> Result<()> {
    ensure!(
        a.keys().eq(b.keys()),
        "the runs hold different file indices: {:?} vs {:?}",
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>()
    );
    for (file_id, x) in a {
        let y = &b[file_id];
        if x.dim() != y.dim() {
            bail!("file {file_id}: shape {:?} vs {:?}", x.dim(), y.dim());
        }
        if let Some(((i, j), v)) = x
            .indexed_iter()
            .find(|(ij, v)| v.to_bits() != y[*ij].to_bits())
        {
            bail!(
                "file {file_id}, row {i}, column {j}: {v:e} vs {:e}",
                y[[i, j]]
            );
        }
    }
    Ok(())
}
