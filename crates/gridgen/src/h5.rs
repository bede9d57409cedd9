//! The one-file output of the HDF5 steps: `<dir>/<prefix>.h5`, a dataset `/<prefix><t:05>` of
//! shape (size, size) per file index, each with an attribute `file_id`, and the run's parameters
//! (`n_files`, `size`, `x_origin`, `y_origin`) as attributes of the root.
//!
//! Like every output, the file is written under a hidden `.partial` name and renamed only once it
//! is complete and closed; dropping an unfinished file removes it.

use std::fs;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::field::{X_ORIGIN, Y_ORIGIN};
use crate::output::partial_path;
use crate::{Error, Output, Result};

/// An HDF5 file being written by one run (by one process, or by every MPI rank together).
pub struct H5File<'a> {
    out: &'a Output,
    file: Option<hdf5::File>,
    path: PathBuf,
    /// The process that renames the finished file and counts its bytes: the only one, or rank 0.
    is_root: bool,
    /// The ranks writing this file together, in parallel HDF5.
    #[cfg(feature = "mpio")]
    comm: Option<&'a mpi::topology::SimpleCommunicator>,
}

impl Output {
    /// Creates `<prefix>.h5` (under its partial name) with the run's parameters on its root.
    pub fn create_h5(&self, n_files: usize, size: usize) -> Result<H5File<'_>> {
        let path = self.single_path("h5");
        let file = hdf5::File::create(partial_path(&path)).map_err(|e| h5_error(&path, e))?;
        let h5 = H5File {
            out: self,
            file: Some(file),
            path,
            is_root: true,
            #[cfg(feature = "mpio")]
            comm: None,
        };
        h5.write_root_attributes(n_files, size)?;
        Ok(h5)
    }

    /// Creates `<prefix>.h5` on every rank of `comm` together, through the MPI-IO driver.
    /// Collective: every rank calls it, and then [`H5File::create_datasets`].
    #[cfg(feature = "mpio")]
    pub fn create_h5_parallel<'a>(
        &'a self,
        comm: &'a mpi::topology::SimpleCommunicator,
        n_files: usize,
        size: usize,
    ) -> Result<H5File<'a>> {
        use mpi::raw::AsRaw;
        use mpi::topology::Communicator;
        let path = self.single_path("h5");
        let raw = comm.as_raw();
        let file = hdf5::File::with_options()
            .with_fapl(|fapl| fapl.mpio(raw, None))
            .create(partial_path(&path))
            .map_err(|e| h5_error(&path, e))?;
        let h5 = H5File {
            out: self,
            file: Some(file),
            path,
            is_root: comm.rank() == 0,
            comm: Some(comm),
        };
        h5.write_root_attributes(n_files, size)?;
        Ok(h5)
    }
}

impl H5File<'_> {
    fn file(&self) -> &hdf5::File {
        self.file
            .as_ref()
            .expect("the file stays open until close()")
    }

    fn write_root_attributes(&self, n_files: usize, size: usize) -> Result<()> {
        let root = self.file();
        let fail = |e| h5_error(&self.path, e);
        root.new_attr::<u64>()
            .create("n_files")
            .and_then(|a| a.write_scalar(&(n_files as u64)))
            .map_err(fail)?;
        root.new_attr::<u64>()
            .create("size")
            .and_then(|a| a.write_scalar(&(size as u64)))
            .map_err(fail)?;
        root.new_attr::<f64>()
            .create("x_origin")
            .and_then(|a| a.write_scalar(&X_ORIGIN))
            .map_err(fail)?;
        root.new_attr::<f64>()
            .create("y_origin")
            .and_then(|a| a.write_scalar(&Y_ORIGIN))
            .map_err(fail)?;
        Ok(())
    }

    /// The dataset name of file index `file_id`: `<prefix><file_id:05>`.
    pub fn dataset_name(&self, file_id: usize) -> String {
        format!("{}{file_id:05}", self.out.prefix())
    }

    /// `hf.create_dataset(name, data=Z)`: one dataset holding `data`, tagged with its `file_id`.
    pub fn create_dataset(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        crate::trace::writing(file_id, || self.create_dataset_untraced(file_id, data))
    }

    fn create_dataset_untraced(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        let name = self.dataset_name(file_id);
        let dataset = self
            .file()
            .new_dataset_builder()
            .with_data(&data.as_standard_layout())
            .create(name.as_str())
            .map_err(|e| h5_error(&self.path, e))?;
        self.tag(&dataset, file_id)?;
        self.out.count_file();
        Ok(())
    }

    /// Creates the empty datasets of every file index, each tagged with its `file_id`.
    ///
    /// In parallel HDF5 this is collective: every rank creates every dataset, in the same order,
    /// even those other ranks will fill. (A rank that created only its own would leave the
    /// ranks disagreeing about the file's structure: data silently lost, or a hang.)
    pub fn create_datasets(&self, n_files: usize, size: usize) -> Result<()> {
        for file_id in 0..n_files {
            let dataset = self
                .file()
                .new_dataset::<f64>()
                .shape((size, size))
                .create(self.dataset_name(file_id).as_str())
                .map_err(|e| h5_error(&self.path, e))?;
            self.tag(&dataset, file_id)?;
        }
        Ok(())
    }

    /// Fills the dataset of `file_id` (made by [`H5File::create_datasets`]) with `data`. Not
    /// collective: each rank writes only its own datasets.
    pub fn write_dataset(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        crate::trace::writing(file_id, || self.write_dataset_untraced(file_id, data))
    }

    fn write_dataset_untraced(&self, file_id: usize, data: &Array2<f64>) -> Result<()> {
        let fail = |e| h5_error(&self.path, e);
        let dataset = self
            .file()
            .dataset(&self.dataset_name(file_id))
            .map_err(fail)?;
        dataset.write(&data.as_standard_layout()).map_err(fail)?;
        self.out.count_file();
        Ok(())
    }

    fn tag(&self, dataset: &hdf5::Dataset, file_id: usize) -> Result<()> {
        dataset
            .new_attr::<u64>()
            .create("file_id")
            .and_then(|a| a.write_scalar(&(file_id as u64)))
            .map_err(|e| h5_error(&self.path, e))
    }

    /// Closes the file and gives it its final name. In parallel HDF5 closing is collective;
    /// the file is renamed (by rank 0) only if every rank wrote all of its datasets.
    pub fn close(mut self) -> Result<()> {
        self.finish(true)
    }

    /// Closes the file; keeps it if `complete` holds on every rank, else removes it. Every rank
    /// comes here exactly once — from `close`, or from `drop` on its way out with an error — so
    /// the collective close and the vote below always match up across ranks.
    fn finish(&mut self, complete: bool) -> Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let partial = partial_path(&self.path);
        let closed = file.close().map_err(|e| h5_error(&self.path, e));
        let everyone_complete = self.all_ranks_agree(complete && closed.is_ok());
        closed?;
        if !self.is_root {
            return if everyone_complete {
                Ok(())
            } else {
                Err(Error::OtherRankFailed)
            };
        }
        if !everyone_complete {
            let _ = fs::remove_file(&partial);
            return Err(Error::OtherRankFailed);
        }
        if let Err(source) = fs::rename(&partial, &self.path) {
            let _ = fs::remove_file(&partial);
            return Err(Error::Write {
                path: self.path.clone(),
                source,
            });
        }
        let bytes = fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        self.out.count_bytes(bytes);
        Ok(())
    }

    /// True if `mine` holds on every rank writing this file (just `mine` without MPI).
    fn all_ranks_agree(&self, mine: bool) -> bool {
        #[cfg(feature = "mpio")]
        if let Some(comm) = self.comm {
            use mpi::collective::{CommunicatorCollectives, SystemOperation};
            let mut all = 0i32;
            comm.all_reduce_into(&i32::from(mine), &mut all, SystemOperation::min());
            return all == 1;
        }
        mine
    }
}

impl Drop for H5File<'_> {
    /// An unfinished file (an error, a panic) is removed rather than left looking complete.
    fn drop(&mut self) {
        let _ = self.finish(false);
    }
}

fn h5_error(path: &Path, e: hdf5::Error) -> Error {
    Error::Hdf5 {
        path: path.to_owned(),
        message: short_h5_message(&e.to_string()),
    }
}

/// HDF5's low-level messages run to a line of diagnostics (time, descriptor, buffer address);
/// keep what a learner can act on: the failed call and the system's reason.
fn short_h5_message(message: &str) -> String {
    let message = message.replace('\n', " ");
    let Some((call, details)) = message.split_once(": time = ") else {
        return message;
    };
    let reason = details
        .split_once("error message = '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(reason, _)| reason);
    match reason {
        Some(reason) => format!("{call}: {reason}"),
        None => call.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::short_h5_message;

    #[test]
    fn low_level_diagnostics_are_cut_to_the_reason() {
        let raw = "H5Dwrite(): can't write data: file write failed: time = Wed Nov 25 2026 , \
                   filename = 'x.h5', file descriptor = 3, errno = 27, error message = 'File too large', \
                   buf = 0x7f, total write size = 256512";
        assert_eq!(
            short_h5_message(raw),
            "H5Dwrite(): can't write data: file write failed: File too large"
        );
        assert_eq!(
            short_h5_message("unable to open file"),
            "unable to open file"
        );
    }
}
