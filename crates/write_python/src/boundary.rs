//! Beside the lesson, for the benchmark (`crates/bench/python/boundary.py`): the step's loop
//! in one call, and `generate_data` with the copies the lesson avoids.

use std::path::PathBuf;

use gridgen_contract::npy;
use numpy::{PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::files::{os_error, write_new};
use crate::{check, field};

/// `write_files(dir, prefix, n_files, size)`: the whole loop in Rust, in one call — the
/// boundary crossed once instead of twice a file. The benchmark times it against the loop in
/// Python.
#[pyfunction]
pub fn write_files(
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
pub fn generate_data_copying<'py>(
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
