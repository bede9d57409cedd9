//! The two pieces of step 11 that hdf5-metno 0.15 has no safe form of, written with the C APIs
//! of HDF5 and MPI underneath it:
//!
//! - [`Hints`]: an `MPI_Info` of MPI-IO hints for the file (how large a buffer each aggregator
//!   gathers a collective write into, how many aggregators), handed to the file-access list.
//! - [`Transfer`]: a data-transfer property list in collective mode (`H5Pset_dxpl_mpio`), made
//!   once, and [`Transfer::write_planes`]: one collective `H5Dwrite` of a run of consecutive
//!   planes of an `(n, size, size)` dataset, or of none.

use std::ffi::CString;

use hdf5::Datatype;
use hdf5_sys::h5d::H5Dwrite;
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{
    H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio, H5P_CLS_DATASET_XFER,
};
use hdf5_sys::h5s::{H5S_seloper_t, H5Sselect_hyperslab, H5Sselect_none};
use ndarray::Array3;

/// MPI-IO hints, as an `MPI_Info` (freed when dropped).
pub struct Hints {
    info: mpi::ffi::MPI_Info,
}

impl Hints {
    /// `cb_buffer_size`: the bytes each aggregator gathers before it writes (MPI-IO's own
    /// buffer, beside ours).
    pub fn new(buffer_bytes: usize) -> Hints {
        // SAFETY: MPI_Info_create fills a handle we own and free in Drop; the keys and values are
        // NUL-terminated strings that MPI copies.
        unsafe {
            let mut info = std::mem::zeroed();
            mpi::ffi::MPI_Info_create(&mut info);
            let key = CString::new("cb_buffer_size").expect("no NUL in a key");
            let value = CString::new(buffer_bytes.to_string()).expect("no NUL in a number");
            mpi::ffi::MPI_Info_set(info, key.as_ptr(), value.as_ptr());
            Hints { info }
        }
    }

    /// The handle, for `fapl.mpio(comm, Some(hints.raw()))`.
    pub fn raw(&self) -> mpi::ffi::MPI_Info {
        self.info
    }
}

impl Drop for Hints {
    fn drop(&mut self) {
        // SAFETY: a handle MPI_Info_create made, freed once. (HDF5 keeps a copy of its own.)
        unsafe {
            mpi::ffi::MPI_Info_free(&mut self.info);
        }
    }
}

/// A data-transfer property list in collective MPI-IO mode.
pub struct Transfer {
    id: hid_t,
}

impl Transfer {
    /// `H5Pcreate(H5P_DATASET_XFER)` and `H5Pset_dxpl_mpio(…, H5FD_MPIO_COLLECTIVE)`.
    pub fn collective() -> hdf5::Result<Transfer> {
        hdf5::sync::sync(|| {
            // SAFETY: plain HDF5 calls on a list we own; it is closed in Drop.
            let id = hdf5::h5check(unsafe { H5Pcreate(*H5P_CLS_DATASET_XFER) })?;
            let transfer = Transfer { id };
            hdf5::h5check(unsafe {
                H5Pset_dxpl_mpio(transfer.id, H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE)
            })?;
            Ok(transfer)
        })
    }

    /// Writes the first `count` planes of `planes` into `dataset[first .. first + count]`, as one
    /// collective transfer: every rank calls it the same number of times, and a rank with no
    /// plane left passes `count` 0 and writes an empty selection.
    pub fn write_planes(
        &self,
        dataset: &hdf5::Dataset,
        first: usize,
        planes: &Array3<f64>,
        count: usize,
    ) -> hdf5::Result<()> {
        let (batch, rows, cols) = planes.dim();
        assert!(count <= batch, "more planes than the buffer holds");
        let file_space = dataset.space()?;
        let memory_space = hdf5::Dataspace::try_new([batch.max(1), rows, cols])?;
        let double = Datatype::from_type::<f64>()?;
        let values = planes
            .as_slice()
            .ok_or("the planes must be in standard layout")?;
        let check = |status: i32| hdf5::h5check(status).map(drop);
        hdf5::sync::sync(|| {
            // SAFETY: every id is a live HDF5 object's; the buffer holds batch × rows × cols values
            // in C order, of which the selection reads the first count planes (none if count is 0).
            unsafe {
                if count == 0 {
                    check(H5Sselect_none(file_space.id()))?;
                    check(H5Sselect_none(memory_space.id()))?;
                } else {
                    let block = [count as u64, rows as u64, cols as u64];
                    let at = |start: u64| [start, 0, 0];
                    check(H5Sselect_hyperslab(
                        file_space.id(),
                        H5S_seloper_t::H5S_SELECT_SET,
                        at(first as u64).as_ptr(),
                        std::ptr::null(),
                        block.as_ptr(),
                        std::ptr::null(),
                    ))?;
                    check(H5Sselect_hyperslab(
                        memory_space.id(),
                        H5S_seloper_t::H5S_SELECT_SET,
                        at(0).as_ptr(),
                        std::ptr::null(),
                        block.as_ptr(),
                        std::ptr::null(),
                    ))?;
                }
                check(H5Dwrite(
                    dataset.id(),
                    double.id(),
                    memory_space.id(),
                    file_space.id(),
                    self.id,
                    values.as_ptr().cast(),
                ))
            }
        })
    }
}

impl Drop for Transfer {
    fn drop(&mut self) {
        // SAFETY: a list H5Pcreate made, closed once.
        hdf5::sync::sync(|| unsafe {
            H5Pclose(self.id);
        });
    }
}
