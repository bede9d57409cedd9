//! The one call the `hdf5` crate (0.15) has no safe form of: a **collective** write, in which
//! every rank takes part in the same `H5Dwrite` and MPI-IO may merge their pieces. The crate's
//! own `write_slice` writes independently, and skips the call for an empty selection, which a
//! collective write must not (a rank with no plane left still takes part). So these few lines
//! call HDF5's C API underneath it.

use hdf5::Datatype;
use hdf5_sys::h5d::H5Dwrite;
use hdf5_sys::h5p::{
    H5FD_mpio_xfer_t, H5Pclose, H5Pcreate, H5Pset_dxpl_mpio, H5P_CLS_DATASET_XFER,
};
use ndarray::ArrayView3;

/// Writes `planes` into `dataset[first .. first + planes.len()]`, every rank in one collective
/// transfer. A rank with no plane left passes none, and takes part all the same.
pub fn write_planes(
    dataset: &hdf5::Dataset,
    first: usize,
    planes: ArrayView3<f64>,
) -> hdf5::Result<()> {
    let count = planes.dim().0;
    let file_space = dataset.space()?.select((first..first + count, .., ..))?;
    let memory_space = hdf5::Dataspace::try_new(planes.dim())?;
    let double = Datatype::from_type::<f64>()?;
    let values = planes.as_slice().ok_or("the planes must be in C order")?;
    hdf5::sync::sync(|| {
        // SAFETY: every id is a live HDF5 object's; the buffer holds exactly the selected values,
        // in C order; the transfer list is made here and closed here.
        unsafe {
            let transfer = hdf5::h5check(H5Pcreate(*H5P_CLS_DATASET_XFER))?;
            let mode = H5FD_mpio_xfer_t::H5FD_MPIO_COLLECTIVE;
            let written = hdf5::h5check(H5Pset_dxpl_mpio(transfer, mode)).and_then(|_| {
                let (memory, file) = (memory_space.id(), file_space.id());
                hdf5::h5check(H5Dwrite(
                    dataset.id(),
                    double.id(),
                    memory,
                    file,
                    transfer,
                    values.as_ptr().cast(),
                ))
            });
            H5Pclose(transfer);
            written.map(drop)
        }
    })
}
