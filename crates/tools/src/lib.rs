//! Shared by the workshop's tools, the grader and the end-to-end tests: how the project is
//! built ([`build`]), how a step is started ([`launch`]) and run to its end ([`job`]), and
//! loading any run's output back as arrays. The steps themselves are the table in `steps`.

pub mod build;
pub mod capacity;
pub mod job;
pub mod launch;
pub mod read;
pub mod stats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use gridgen_contract::Summary;
use ndarray::Array2;
pub use steps::{find as step_info, Format, Launch, Needs, Step, STEPS};

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

/// Path of a built step binary (for a Python step, its module's library); an error that says
/// how to build it if it is missing.
pub fn step_binary(name: &str) -> Result<PathBuf> {
    let artifact = steps::find(name).map_or_else(|| name.to_owned(), Step::artifact);
    let path = bin_dir()?.join(artifact);
    ensure!(
        path.is_file(),
        "{} is not built: run `cargo build --release --workspace` (or `make build`) first",
        path.display()
    );
    Ok(path)
}

/// The Python that runs the Python steps: `$PYTHON` if set, else Debian's `/usr/bin/python3`,
/// which has numpy (the first `python3` on a PATH may be another, without it).
pub fn python() -> PathBuf {
    std::env::var_os("PYTHON").map_or_else(|| PathBuf::from("/usr/bin/python3"), PathBuf::from)
}

/// The project's folder: the one whose `target/` holds this program, when it does (a prepared
/// folder copied elsewhere, one for each learner of a room, then finds its own scripts and
/// crates), else the one the tools were built from.
pub fn repo() -> PathBuf {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let beside = bin_dir().ok().and_then(|bin| {
        // <project>/target/release, or <project>/target/<mpi>/release for another MPI.
        bin.ancestors()
            .skip(1)
            .take(3)
            .find(|dir| dir.file_name().is_some_and(|n| n == "target"))
            .and_then(Path::parent)
            .map(Path::to_path_buf)
    });
    beside.filter(|dir| is_project(dir)).unwrap_or(built_from)
}

/// True for a folder that holds this project: its workspace and its step table.
fn is_project(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("crates/steps/src/lib.rs").is_file()
}

/// The Python step's script, `crates/<step>/python/<step>.py`.
pub fn python_script(step: &Step) -> PathBuf {
    repo()
        .join("crates")
        .join(step.name)
        .join("python")
        .join(format!("{}.py", step.name))
}

/// The Python step of the table.
pub fn python_step() -> Result<&'static Step> {
    STEPS
        .iter()
        .find(|s| s.launch == Launch::Python)
        .context("the step table has no Python step")
}

/// The folder from which Python imports `library` (a cargo-built `lib….so`: the reference's
/// or an exercise's) as `rust_kernel`: `python-<library>/` beside it, holding a link named as
/// Python expects (maturin installs the same library under the same name).
pub fn module_folder(library: &Path) -> PathBuf {
    let stem = library.file_stem().unwrap_or_default().to_string_lossy();
    library.with_file_name(format!("python-{stem}"))
}

/// Makes [`module_folder`]'s link to `library`, which must be built.
pub fn link_python_module(library: &Path) -> Result<()> {
    ensure!(
        library.is_file(),
        "{} is not built: run `cargo build --release -p {}` (or `make build`) first",
        library.display(),
        python_step()?.name
    );
    let folder = module_folder(library);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let link = folder.join(format!("{}.abi3.so", steps::PYTHON_MODULE));
    if std::fs::read_link(&link).ok().as_deref() != Some(library) {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(library, &link)
            .with_context(|| format!("cannot link {}", link.display()))?;
    }
    Ok(())
}

/// The command that runs `script` under [`python`], importing the extension module `library`
/// (linked by [`link_python_module`]).
pub fn python_command(script: &Path, library: &Path) -> Command {
    let mut command = Command::new(python());
    command
        .arg(script)
        .env("PYTHONPATH", module_folder(library));
    command
}

/// The cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub use launch::{Flavour, Launcher, Python, SHARED_MEMORY_ONLY};

/// `mpirun -np <ranks> <program>`, as the Makefile starts it: quiet, with Open MPI
/// `--oversubscribe` when there are more ranks than cores (Hydra allows it anyway), and allowed
/// to run as root (Open MPI refuses otherwise; the variables do nothing for other users).
pub fn mpirun(ranks: usize, program: &Path) -> Command {
    mpirun_with(ranks, &[], program)
}

/// [`mpirun`] with extra `mpirun` options before the program.
pub fn mpirun_with(ranks: usize, options: &[&str], program: &Path) -> Command {
    Launcher::new(Launch::Mpi)
        .ranks(ranks)
        .mpirun_options(options.iter().copied())
        .started(program.into(), Vec::new(), None)
}

/// The command that starts a step: the binary itself, under `mpirun` with `ranks` ranks, or
/// for a Python step its script with the step's module ([`Launcher`] says how).
pub fn step_command(name: &str, ranks: usize) -> Result<Command> {
    launch::step(name, ranks)
}

/// Runs a step binary with `args` plus `--json` and returns its summary (MPI steps on one rank).
pub fn run_step(name: &str, args: &[String]) -> Result<Summary> {
    run_step_on(name, 1, args)
}

/// Runs a step with `args` plus `--json`, MPI steps under `mpirun` with `ranks` ranks.
pub fn run_step_on(name: &str, ranks: usize, args: &[String]) -> Result<Summary> {
    let output = step_command(name, ranks)?
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
    Ok(serde_json::from_str(line)?)
}

/// A run's arrays by file index, whatever format it wrote.
pub type Arrays = BTreeMap<usize, Array2<f64>>;

/// Loads every array of the run `<dir>/<prefix>…` written in `format`, checking that exactly
/// the indices 0 … n_files-1 are there.
pub fn load_run(dir: &Path, prefix: &str, format: Format, n_files: usize) -> Result<Arrays> {
    let mut arrays = Arrays::new();
    match format {
        Format::Txt | Format::Npy => {
            for file_id in 0..n_files {
                let path = dir.join(format!("{prefix}{file_id:05}.{format}"));
                let data = if format == Format::Txt {
                    read::load_txt(&path)?
                } else {
                    read::load_npy(&path)?
                };
                arrays.insert(file_id, data);
            }
        }
        Format::H5 => {
            let contents = read::load_h5(&dir.join(format!("{prefix}.h5")))?;
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
    let (x, y) = gridgen_contract::axes(size);
    let (xx, yy) = gridgen_contract::meshgrid(&x, &y);
    (0..n_files)
        .map(|t| {
            (
                t,
                gridgen_contract::field::generate_data(&xx, &yy, n_files, t),
            )
        })
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
