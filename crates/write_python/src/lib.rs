//! Step 12 — `write_python`: the speed taken home, into the Python program.
//!
//! The Python program stays as it is: its command line, its loop over the files, its names.
//! Its two hot functions change, one import away: `generate_data` and `save` come from this
//! Rust module, `rust_kernel`, instead of `numpy_kernel` (`python/write_python.py` against
//! `python/write_vectorized_binary.py`). The module is a shared library that Python imports like
//! any other; `make write_python` builds it with maturin into a virtual environment.
//!
//! Three things make it pay, and each is a line below:
//! - numpy's arrays come in as views of numpy's own memory (`PyReadonlyArray2::as_array`), and
//!   the result goes out as the very array Rust made (`into_pyarray`): nothing is copied either
//!   way — unlike step 4's pool, whose tasks each carried a pickled copy of the grids;
//! - while Rust works, it lets go of Python's lock (`py.detach`, called `allow_threads` before
//!   PyO3 0.26), so that Python's other threads run meanwhile;
//! - a failure is a Python exception — a full disk an `OSError` naming the file, arrays of the
//!   wrong shape a `ValueError` — never a crash of the Python process.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use gridgen_contract::field::frac;
use gridgen_contract::npy;
use numpy::ndarray::{Array2, ArrayView2, Zip};
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

/// The field of file `file_id` over the grid: step 3's expression, in numpy's order of
/// operations, on views of any arrays of one shape.
fn field(xx: ArrayView2<f64>, yy: ArrayView2<f64>, n_files: usize, file_id: usize) -> Array2<f64> {
    let t = file_id as f64 / n_files as f64;
    Zip::from(xx).and(yy).map_collect(|&x, &y| {
        let (x, y) = (x / 10.0, y / 10.0);
        frac(x * x * y + y * y * x + t)
    })
}

/// Arguments numpy's version would also refuse (or turn into nonsense): as a `ValueError`.
fn check(xx: &ArrayView2<f64>, yy: &ArrayView2<f64>, n_files: usize) -> PyResult<()> {
    if xx.shape() != yy.shape() {
        return Err(PyValueError::new_err(format!(
            "generate_data: X is {:?} but Y is {:?}: they must have one shape (numpy.meshgrid's)",
            xx.shape(),
            yy.shape()
        )));
    }
    if n_files == 0 {
        return Err(PyValueError::new_err(
            "generate_data: n_files must be at least 1",
        ));
    }
    Ok(())
}

// ANCHOR: generate_data
/// `generate_data(X, Y, n_files, file_id)`: numpy's
/// `((X/10)**2 * (Y/10) + (Y/10)**2 * (X/10) + t/n) % 1`, computed by Rust on numpy's arrays.
#[pyfunction]
fn generate_data<'py>(
    py: Python<'py>,
    xx: PyReadonlyArray2<'py, f64>,
    yy: PyReadonlyArray2<'py, f64>,
    n_files: usize,
    file_id: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    // Views of numpy's own memory: nothing is copied in.
    let (xx, yy) = (xx.as_array(), yy.as_array());
    check(&xx, &yy, n_files)?;
    // Python's lock is let go while Rust computes: Python's other threads run meanwhile.
    let data = py.detach(|| field(xx, yy, n_files, file_id));
    // The array Rust made becomes numpy's as it is: nothing is copied out.
    Ok(data.into_pyarray(py))
}
// ANCHOR_END: generate_data

// ANCHOR: save
/// `save(path, data)`: `numpy.save`'s bytes — the .npy header, then the values — written
/// into a hidden file that becomes `path` only once it is complete.
#[pyfunction]
fn save(py: Python<'_>, path: PathBuf, data: PyReadonlyArray2<'_, f64>) -> PyResult<()> {
    let data = data.as_array();
    // The values in C order, as they sit in numpy's memory (numpy.save's order too).
    let values = data.as_slice().ok_or_else(|| {
        PyValueError::new_err(
            "save: the array is not in C order (numpy.ascontiguousarray makes it so)",
        )
    })?;
    let header = npy::header(data.shape());
    // The writing needs nothing of Python's either; an I/O error becomes an OSError.
    py.detach(|| write_new(&path, &[&header, bytemuck::cast_slice(values)]))
        .map_err(|e| os_error(e, &path))
}
// ANCHOR_END: save

/// `write_files(dir, prefix, n_files, size)`: the whole loop in Rust, in one call — the
/// boundary crossed once instead of twice a file. The benchmark times it against the loop in
/// Python.
#[pyfunction]
fn write_files(
    py: Python<'_>,
    dir: PathBuf,
    prefix: String,
    n_files: usize,
    size: usize,
) -> PyResult<()> {
    if n_files == 0 {
        return Err(PyValueError::new_err(
            "write_files: n_files must be at least 1",
        ));
    }
    py.detach(|| {
        let (x, y) = gridgen_contract::axes(size);
        let (xx, yy) = gridgen_contract::meshgrid(&x, &y);
        (0..n_files).try_for_each(|file_id| {
            let path = dir.join(format!("{prefix}{file_id:05}.npy"));
            let data = field(xx.view(), yy.view(), n_files, file_id);
            let values = data.as_slice().unwrap_or_default();
            write_new(
                &path,
                &[&npy::header(data.shape()), bytemuck::cast_slice(values)],
            )
            .map_err(|e| (e, path))
        })
    })
    .map_err(|(e, path)| os_error(e, &path))
}

/// `generate_data`, copying: numpy's arrays copied into Rust's, and the result copied back —
/// what sending them to another process (pickling) costs, without leaving this one. The
/// benchmark times it against `generate_data`.
#[pyfunction]
fn generate_data_copying<'py>(
    py: Python<'py>,
    xx: PyReadonlyArray2<'py, f64>,
    yy: PyReadonlyArray2<'py, f64>,
    n_files: usize,
    file_id: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    check(&xx.as_array(), &yy.as_array(), n_files)?;
    let (xx, yy) = (xx.as_array().to_owned(), yy.as_array().to_owned());
    let data = py.detach(|| field(xx.view(), yy.view(), n_files, file_id));
    Ok(PyArray2::from_array(py, &data))
}

/// Writes `parts` into a new hidden file beside `path`, and renames it to `path` once all is
/// written. On failure the hidden file is removed and `path` is left as it was.
fn write_new(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let (mut file, temp) = create_hidden(path)?;
    let written = parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| rename_if_ours(&file, &temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Renames `temp` to `path` only if `temp` still names the file written through `file` — not a
/// symlink or another file that someone put in its place — and checks afterwards that `path`
/// names it (a swap in the instant between is undone).
fn rename_if_ours(file: &File, temp: &Path, path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let ours = file.metadata()?;
    let is_ours = |p: &Path| {
        std::fs::symlink_metadata(p).is_ok_and(|m| {
            m.file_type().is_file() && (m.dev(), m.ino()) == (ours.dev(), ours.ino())
        })
    };
    let replaced = || {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            "someone replaced the temporary file while it was written",
        )
    };
    if !is_ours(temp) {
        return Err(replaced());
    }
    std::fs::rename(temp, path)?;
    if !is_ours(path) {
        let _ = std::fs::remove_file(path);
        return Err(replaced());
    }
    Ok(())
}

/// `.<name>.<pid>-<k>.partial` beside `path`: the first such name not taken, created
/// exclusively (a file or a symlink already there is never opened, the next name is tried).
fn create_hidden(path: &Path) -> io::Result<(File, PathBuf)> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy();
    for k in 0..64 {
        let temp = path.with_file_name(format!(".{name}.{}-{k}.partial", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name beside it",
    ))
}

/// An I/O error as Python's own: `OSError(errno, strerror, filename)`, which prints as
/// `[Errno 28] No space left on device: 'output/data00001.npy'`.
fn os_error(e: io::Error, path: &Path) -> PyErr {
    let text = e.to_string();
    let reason = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let errno = e.raw_os_error().unwrap_or(0);
    PyOSError::new_err((errno, reason, path.display().to_string()))
}

/// The module Python imports: `from rust_kernel import generate_data, save`.
#[pymodule]
fn rust_kernel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(generate_data, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    m.add_function(wrap_pyfunction!(write_files, m)?)?;
    m.add_function(wrap_pyfunction!(generate_data_copying, m)?)?;
    Ok(())
}
