//! Comparing a learner's HDF5 file with the reference's, as h5py would see them: the root
//! attributes (names, types, values), the datasets (names, types, each `file_id`), then every
//! value — saying which one differs and what usually makes it so.

use std::path::Path;

use anyhow::Result;

use crate::mismatch::{Mismatch, Ran};

#[cfg(feature = "hdf5")]
pub fn compare(reference: &Path, yours: &Path, ran: Ran) -> Result<Option<Mismatch>> {
    let name = yours
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let theirs = tools::read::load_h5(reference)?;
    let mine = match tools::read::load_h5(yours) {
        Ok(mine) => mine,
        Err(e) => {
            return Ok(Some(Mismatch::new(
                format!("{name} cannot be read back: {}", e.message),
                "a file h5py can open: every rank closes it, after writing everything",
            )))
        }
    };
    Ok(members(&name, &theirs, &mine, ran)
        .or_else(|| types(&name, &theirs, &mine))
        .or_else(|| attributes(&name, &theirs, &mine))
        .or_else(|| datasets(&name, &theirs, &mine)))
}

#[cfg(not(feature = "hdf5"))]
pub fn compare(_: &Path, _: &Path, _: Ran) -> Result<Option<Mismatch>> {
    anyhow::bail!("this grader was built without HDF5, so it cannot read .h5 files: `make verify` builds it with HDF5 for the HDF5 steps")
}

/// A dataset or root attribute missing, or one too many.
#[cfg(feature = "hdf5")]
fn members(
    name: &str,
    theirs: &tools::read::H5Contents,
    mine: &tools::read::H5Contents,
    ran: Ran,
) -> Option<Mismatch> {
    let collective = ran.launch == steps::Launch::Mpi && ran.case.workers > 1;
    if let Some(key) = theirs.types.keys().find(|k| !mine.types.contains_key(*k)) {
        let cause = match key.split_once('@') {
            Some(("", attr)) => format!("the root attribute {attr}: the run's parameters n_files, size, x_origin and y_origin go on the file's root (hdf5.md#one-file-many-datasets)"),
            Some((_, attr)) => format!("the {attr} attribute of every dataset: new_attr::<u64>().create(\"{attr}\")?.write_scalar(..)"),
            None if collective => "every rank creates every dataset, in the same order, also those other ranks fill: creating a dataset is collective (parallel-hdf5.md#one-file-every-rank)".into(),
            None => "one dataset per file index, named <prefix><index:05> (hdf5.md#one-file-many-datasets)".into(),
        };
        return Some(Mismatch::new(
            format!("{name}: {} is missing", shown(key)),
            cause,
        ));
    }
    mine.types
        .keys()
        .find(|k| !theirs.types.contains_key(*k))
        .map(|key| {
            Mismatch::new(
                format!(
                    "{name}: {} is there, and the reference has none",
                    shown(key)
                ),
                "the file holds the run's attributes and one dataset per file index, nothing else",
            )
        })
}

/// `@n_files` as "the root attribute n_files", `data00042@file_id` as "data00042's attribute
/// file_id", `data00042` as "the dataset data00042".
#[cfg(feature = "hdf5")]
fn shown(key: &str) -> String {
    match key.split_once('@') {
        Some(("", attr)) => format!("the root attribute {attr}"),
        Some((dataset, attr)) => format!("{dataset}'s attribute {attr}"),
        None => format!("the dataset {key}"),
    }
}

/// An attribute or dataset stored as another type than the reference's.
#[cfg(feature = "hdf5")]
fn types(
    name: &str,
    theirs: &tools::read::H5Contents,
    mine: &tools::read::H5Contents,
) -> Option<Mismatch> {
    let (key, want) = theirs
        .types
        .iter()
        .find(|(k, t)| mine.types.get(*k).is_some_and(|m| m != *t))?;
    let have = &mine.types[key];
    let rust = match want.as_str() {
        "uint64" => "u64",
        "float64" => "f64",
        other => other,
    };
    Some(Mismatch::new(
        format!("{name}: {} is stored as {have}, the reference's as {want}", shown(key)),
        format!("h5py reads back the type it was written with: write it as a {rust} (new_attr::<{rust}>(), new_dataset::<{rust}>()) (hdf5.md#one-file-many-datasets)"),
    ))
}

/// A root attribute whose value differs.
#[cfg(feature = "hdf5")]
fn attributes(
    name: &str,
    theirs: &tools::read::H5Contents,
    mine: &tools::read::H5Contents,
) -> Option<Mismatch> {
    let (attr, want) = theirs.root_attributes.iter().find(|(a, v)| {
        mine.root_attributes
            .get(*a)
            .is_some_and(|m| m.to_bits() != v.to_bits())
    })?;
    Some(Mismatch::new(
        format!(
            "{name}: the root attribute {attr} is {}, the reference's {want}",
            mine.root_attributes[attr]
        ),
        "the run's parameters, as the command line gave them (hdf5.md#one-file-many-datasets)",
    ))
}

/// The first dataset whose file index, shape or values differ from the reference's.
#[cfg(feature = "hdf5")]
fn datasets(
    name: &str,
    theirs: &tools::read::H5Contents,
    mine: &tools::read::H5Contents,
) -> Option<Mismatch> {
    for (key, (id_a, data_a)) in &theirs.datasets {
        let (id_b, data_b) = mine.datasets.get(key)?;
        if id_a != id_b {
            return Some(Mismatch::new(
                format!("{name}/{key}: file_id {id_b}, the reference {id_a}"),
                "each dataset's file_id attribute is its file index",
            ));
        }
        if data_a.dim() != data_b.dim() {
            return Some(Mismatch::new(
                format!(
                    "{name}/{key}: shape {:?}, the reference {:?}",
                    data_b.dim(),
                    data_a.dim()
                ),
                "a (size, size) dataset per file",
            ));
        }
        if let Some(((i, j), v)) = data_b
            .indexed_iter()
            .find(|(ij, v)| v.to_bits() != data_a[*ij].to_bits())
        {
            return Some(crate::mismatch::values_differ(
                &format!("{name}/{key}"),
                (i, j),
                *v,
                data_a[[i, j]],
                data_a,
            ));
        }
    }
    None
}
