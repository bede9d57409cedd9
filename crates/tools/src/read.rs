//! Loading the steps' outputs back, so that runs can be compared bit for bit.

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::Array2;

/// Why an output could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {message}", .path.display())]
pub struct ReadError {
    pub path: PathBuf,
    pub message: String,
}

fn fail(path: &Path, message: impl ToString) -> ReadError {
    ReadError {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// Reads a `numpy.savetxt` file. `%.18e` keeps 19 significant digits, more than the 17 any f64
/// needs, so parsing gives back the exact bits.
pub fn load_txt(path: &Path) -> Result<Array2<f64>, ReadError> {
    let text = fs::read_to_string(path).map_err(|e| fail(path, e))?;
    parse_txt(&text).map_err(|message| fail(path, message))
}

/// The array of a `numpy.savetxt` text: rows of numbers separated by single spaces.
pub fn parse_txt(text: &str) -> Result<Array2<f64>, String> {
    let mut values = Vec::new();
    let mut rows = 0;
    for (line_no, line) in text.lines().enumerate() {
        for word in line.split(' ') {
            let v: f64 = word
                .parse()
                .map_err(|_| format!("line {}: '{word}' is not a number", line_no + 1))?;
            values.push(v);
        }
        rows += 1;
    }
    let cols = values.len().checked_div(rows).unwrap_or(0);
    Array2::from_shape_vec((rows, cols), values).map_err(|_| "rows of different lengths".into())
}

/// Reads a 2-D `<f8` .npy file.
pub fn load_npy(path: &Path) -> Result<Array2<f64>, ReadError> {
    let bytes = fs::read(path).map_err(|e| fail(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| fail(path, e))?;
    let shape = npy.shape().to_vec();
    let [rows, cols] = shape[..] else {
        return Err(fail(
            path,
            format!("expected a 2-D array, found shape {shape:?}"),
        ));
    };
    let values: Vec<f64> = npy.into_vec().map_err(|e| fail(path, e))?;
    Array2::from_shape_vec((rows as usize, cols as usize), values).map_err(|e| fail(path, e))
}

#[cfg(feature = "hdf5")]
pub use self::hdf5_read::{load_h5, H5Contents};

/// Without the `hdf5` feature, .h5 files cannot be read: say so, and how to get it.
#[cfg(not(feature = "hdf5"))]
pub fn load_h5(path: &Path) -> Result<H5Contents, ReadError> {
    Err(fail(
        path,
        "this build reads no HDF5 files (build the tools with their default `hdf5` feature)",
    ))
}

/// What an HDF5 output holds (without the `hdf5` feature, nothing can be read into it).
#[cfg(not(feature = "hdf5"))]
#[derive(Debug, PartialEq)]
pub struct H5Contents {
    pub root_attributes: std::collections::BTreeMap<String, f64>,
    pub datasets: std::collections::BTreeMap<String, (u64, Array2<f64>)>,
    pub types: std::collections::BTreeMap<String, String>,
}

#[cfg(feature = "hdf5")]
mod hdf5_read {
    use super::*;
    use std::collections::BTreeMap;

    /// Everything an HDF5 output holds: root attributes, and each array with its `file_id` — a
    /// dataset per file, or (`write_final_collective`) the planes of one 3-D dataset. Two are
    /// equal when their attributes and arrays are: how they are stored (`types`, one dataset or
    /// many) is not compared.
    #[derive(Debug)]
    pub struct H5Contents {
        pub root_attributes: BTreeMap<String, f64>,
        pub datasets: BTreeMap<String, (u64, Array2<f64>)>,
        /// The stored type of every attribute and dataset, as h5py names it (`uint64`,
        /// `float64`, `int64`): `@n_files` for a root attribute, `data00042` for a dataset,
        /// `data00042@file_id` for its attribute.
        pub types: BTreeMap<String, String>,
    }

    impl PartialEq for H5Contents {
        fn eq(&self, other: &Self) -> bool {
            self.root_attributes == other.root_attributes && self.datasets == other.datasets
        }
    }

    /// h5py's name of a stored type: `uint64`, `float64`, `int32`, …
    fn type_name(dtype: hdf5::Result<hdf5::Datatype>) -> String {
        use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
        let bits = |size: IntSize| size as usize * 8;
        match dtype.and_then(|d| d.to_descriptor()) {
            Ok(TypeDescriptor::Unsigned(size)) => format!("uint{}", bits(size)),
            Ok(TypeDescriptor::Integer(size)) => format!("int{}", bits(size)),
            Ok(TypeDescriptor::Float(FloatSize::U4)) => "float32".into(),
            Ok(TypeDescriptor::Float(FloatSize::U8)) => "float64".into(),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("unreadable ({e})"),
        }
    }

    pub fn load_h5(path: &Path) -> Result<H5Contents, ReadError> {
        let e = |err: hdf5::Error| fail(path, err.to_string().replace('\n', " "));
        let file = hdf5::File::open(path).map_err(e)?;
        let (mut root_attributes, mut types) = (BTreeMap::new(), BTreeMap::new());
        for name in file.attr_names().map_err(e)? {
            let attr = file.attr(&name).map_err(e)?;
            types.insert(format!("@{name}"), type_name(attr.dtype()));
            // Counts are stored as u64 and origins as f64; f64 holds both exactly here.
            let v = match attr.read_scalar::<f64>() {
                Ok(v) => v,
                Err(_) => attr.read_scalar::<u64>().map_err(e)? as f64,
            };
            root_attributes.insert(name, v);
        }
        let mut datasets = BTreeMap::new();
        for name in file.member_names().map_err(e)? {
            let ds = file.dataset(&name).map_err(e)?;
            types.insert(name.clone(), type_name(ds.dtype()));
            if ds.ndim() == 3 {
                // The collective step's layout: one dataset `/<prefix>`, file t is plane t.
                // Listed as the datasets the other layout would have, so both compare alike.
                let stack = ds.read_dyn::<f64>().map_err(e)?;
                for (t, plane) in stack.outer_iter().enumerate() {
                    let plane = plane
                        .into_dimensionality::<ndarray::Ix2>()
                        .map_err(|err| fail(path, err))?;
                    datasets.insert(format!("{name}{t:05}"), (t as u64, plane.to_owned()));
                }
                continue;
            }
            let id_attr = ds.attr("file_id").map_err(e)?;
            types.insert(format!("{name}@file_id"), type_name(id_attr.dtype()));
            let file_id = id_attr.read_scalar::<u64>().map_err(e)?;
            let data = ds.read_2d::<f64>().map_err(e)?;
            datasets.insert(name, (file_id, data));
        }
        Ok(H5Contents {
            root_attributes,
            datasets,
            types,
        })
    }
}
