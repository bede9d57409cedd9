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

mod boundary;
mod files;

use std::path::PathBuf;

use files::{os_error, write_new};
use gridgen_contract::field::frac;
use gridgen_contract::npy;
use numpy::ndarray::{Array2, ArrayView2, Zip};
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
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

/// The module Python imports: `from rust_kernel import generate_data, save`.
#[pymodule]
fn rust_kernel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(generate_data, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    // Beside the lesson, for the benchmark: the boundary crossed once, and the copy it avoids.
    m.add_function(wrap_pyfunction!(boundary::write_files, m)?)?;
    m.add_function(wrap_pyfunction!(boundary::generate_data_copying, m)?)?;
    Ok(())
}
