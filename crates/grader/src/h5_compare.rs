//! Comparing a learner's HDF5 file with the reference's, as h5py would see them: the structure
//! first — groups, datasets and attributes missing or extra, their types and shapes, for a file
//! of datasets and for the collective step's one (n, size, size) dataset alike — then the
//! root attributes' values, each dataset's `file_id`, and every value.

use std::path::Path;

use anyhow::Result;

use crate::cause::Tutor;
use crate::mismatch::{Mismatch, Ran};

#[cfg(feature = "hdf5")]
pub use with_hdf5::{compare, structure, Member, Shape, Structure};

#[cfg(not(feature = "hdf5"))]
pub fn compare(_: &Path, _: &Path, _: Ran, _: &Tutor) -> Result<Option<Mismatch>> {
    anyhow::bail!("this grader was built without HDF5, so it cannot read .h5 files: `make verify` builds it with HDF5 for the HDF5 steps")
}

#[cfg(feature = "hdf5")]
mod with_hdf5 {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cause::{Cause, Topic};
    use crate::values::{self, Place};

    /// What a member is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Shape {
        Group,
        Dataset,
        Attribute,
    }

    /// One member of a file: a group, a dataset or an attribute, its stored type and shape.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Member {
        pub shape: Shape,
        /// h5py's name of its type (`float64`, `uint64`); empty for a group.
        pub dtype: String,
        pub dims: Vec<usize>,
    }

    /// Every member by its path: `/`, `/results` (a group), `/data00001` (a dataset),
    /// `/@n_files` (a root attribute), `/data00001@file_id`.
    pub type Structure = BTreeMap<String, Member>;

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

    fn attributes(loc: &hdf5::Location, path: &str, out: &mut Structure) -> hdf5::Result<()> {
        for name in loc.attr_names()? {
            let attr = loc.attr(&name)?;
            let key = format!("{}@{name}", path.trim_end_matches('/'));
            let key = if key.starts_with('@') {
                format!("/{key}")
            } else {
                key
            };
            out.insert(
                key,
                Member {
                    shape: Shape::Attribute,
                    dtype: type_name(attr.dtype()),
                    dims: attr.shape(),
                },
            );
        }
        Ok(())
    }

    fn walk(group: &hdf5::Group, path: &str, out: &mut Structure) -> hdf5::Result<()> {
        attributes(group, path, out)?;
        for name in group.member_names()? {
            let child = format!("{}/{name}", path.trim_end_matches('/'));
            if let Ok(ds) = group.dataset(&name) {
                out.insert(
                    child.clone(),
                    Member {
                        shape: Shape::Dataset,
                        dtype: type_name(ds.dtype()),
                        dims: ds.shape(),
                    },
                );
                attributes(&ds, &child, out)?;
            } else if let Ok(sub) = group.group(&name) {
                out.insert(
                    child.clone(),
                    Member {
                        shape: Shape::Group,
                        dtype: String::new(),
                        dims: Vec::new(),
                    },
                );
                walk(&sub, &child, out)?;
            }
        }
        Ok(())
    }

    /// Every group, dataset and attribute of the file at `path`.
    pub fn structure(path: &Path) -> hdf5::Result<Structure> {
        let file = hdf5::File::open(path)?;
        let mut out = Structure::new();
        walk(&file, "/", &mut out)?;
        Ok(out)
    }

    pub fn compare(
        reference: &Path,
        yours: &Path,
        ran: Ran,
        tutor: &Tutor,
    ) -> Result<Option<Mismatch>> {
        let name = yours
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let theirs = structure(reference)?;
        let mine = match structure(yours) {
            Ok(mine) => mine,
            Err(e) => return Ok(Some(unreadable(&name, &e.to_string(), tutor))),
        };
        if let Some(m) = members(&name, &theirs, &mine, ran, tutor) {
            return Ok(Some(m));
        }
        if let Some(m) = types(&name, &theirs, &mine, tutor) {
            return Ok(Some(m));
        }
        let (a, b) = (
            tools::read::load_h5(reference)?,
            tools::read::load_h5(yours),
        );
        let b = match b {
            Ok(b) => b,
            Err(e) => return Ok(Some(unreadable(&name, &e.message, tutor))),
        };
        Ok(attribute_values(&name, &a, &b, tutor)
            .or_else(|| datasets(&name, &a, &b, &theirs, ran, tutor)))
    }

    fn unreadable(name: &str, error: &str, tutor: &Tutor) -> Mismatch {
        Mismatch::new(
            format!("{name} cannot be read back: {}", error.replace('\n', " ")),
            Cause::H5Unreadable,
            format!(
                "a file h5py can open is one closed after everything is written, and only then renamed: {} {}",
                tutor.commit_advice(),
                tutor.see(Topic::Hdf5)
            ),
        )
    }

    /// `/@n_files` as "the root attribute n_files", `/data00042@file_id` as "data00042's
    /// attribute file_id", `/data00042` as "the dataset data00042", `/g` as "the group g".
    fn shown(key: &str, member: &Member) -> String {
        let trimmed = key.trim_start_matches('/');
        match (member.shape, trimmed.split_once('@')) {
            (Shape::Attribute, Some(("", attr))) => format!("the root attribute {attr}"),
            (Shape::Attribute, Some((object, attr))) => format!("{object}'s attribute {attr}"),
            (Shape::Group, _) => format!("the group {trimmed}"),
            _ => format!("the dataset {trimmed}"),
        }
    }

    /// The collective step's layout: one dataset whose planes are the files.
    fn one_cube(s: &Structure) -> bool {
        s.values()
            .any(|m| m.shape == Shape::Dataset && m.dims.len() == 3)
    }

    /// A group, dataset or attribute missing, or one too many — missing ones first, groups and
    /// datasets before attributes.
    fn members(
        name: &str,
        theirs: &Structure,
        mine: &Structure,
        ran: Ran,
        tutor: &Tutor,
    ) -> Option<Mismatch> {
        let order = [Shape::Group, Shape::Dataset, Shape::Attribute];
        let missing = order.iter().find_map(|&shape| {
            theirs
                .iter()
                .filter(|(_, m)| m.shape == shape)
                .find(|(k, _)| !mine.contains_key(*k))
        });
        if let Some((key, member)) = missing {
            let count = theirs.keys().filter(|k| !mine.contains_key(*k)).count();
            let more = if count > 1 {
                format!(" (and {} more)", count - 1)
            } else {
                String::new()
            };
            let (kind, sentence) = missing_cause(key, member, theirs, ran, tutor);
            return Some(Mismatch::new(
                format!("{name}: {} is missing{more}", shown(key, member)),
                kind,
                sentence,
            ));
        }
        let extra = order.iter().find_map(|&shape| {
            mine.iter()
                .filter(|(_, m)| m.shape == shape)
                .find(|(k, _)| !theirs.contains_key(*k))
        })?;
        let (key, member) = extra;
        let kind = match member.shape {
            Shape::Group => Cause::H5ExtraGroup,
            Shape::Dataset => Cause::H5ExtraDataset,
            Shape::Attribute => Cause::H5ExtraAttribute,
        };
        let holds = if one_cube(theirs) {
            "the run's four root attributes and one dataset of shape (n, size, size)"
        } else {
            "the run's four root attributes and one dataset per file index, each with its file_id, at the file's root"
        };
        Some(Mismatch::new(
            format!(
                "{name}: {} is there, and the reference has none",
                shown(key, member)
            ),
            kind,
            format!(
                "the file holds {holds}, nothing else {}",
                tutor.see(Topic::Hdf5)
            ),
        ))
    }

    fn missing_cause(
        key: &str,
        member: &Member,
        theirs: &Structure,
        ran: Ran,
        tutor: &Tutor,
    ) -> (Cause, String) {
        let collective = ran.launch == steps::Launch::Mpi && ran.case.workers > 1;
        let see = tutor.see(Topic::Hdf5);
        match member.shape {
            Shape::Group => (Cause::H5MissingGroup, format!("the reference's file has this group {see}")),
            Shape::Attribute if key.starts_with("/@") => (
                Cause::H5MissingAttribute,
                format!("the run's parameters go on the file's root as attributes: n_files and size as u64, x_origin and y_origin as f64 {see}"),
            ),
            Shape::Attribute => (
                Cause::H5MissingAttribute,
                format!("every dataset carries its file index as a u64 attribute, file_id {see}"),
            ),
            Shape::Dataset if one_cube(theirs) => (
                Cause::H5MissingDataset,
                format!("one dataset for the whole run, named by the prefix, of shape (n_files, size, size): file t is its plane t {see}"),
            ),
            Shape::Dataset if collective => (
                Cause::H5MissingDataset,
                format!("every rank creates every dataset, in the same order, also those that other ranks fill: creating a dataset changes the file's structure, which is collective {see}"),
            ),
            Shape::Dataset => (
                Cause::H5MissingDataset,
                format!("one dataset per file index, named <prefix><index:05>, at the file's root {see}"),
            ),
        }
    }

    /// An attribute or dataset stored as another type or shape than the reference's.
    fn types(name: &str, theirs: &Structure, mine: &Structure, tutor: &Tutor) -> Option<Mismatch> {
        if let Some((key, want)) = theirs
            .iter()
            .find(|(k, t)| mine.get(*k).is_some_and(|m| m.dtype != t.dtype))
        {
            let have = &mine[key];
            let rust = match want.dtype.as_str() {
                "uint64" => "u64",
                "float64" => "f64",
                other => other,
            };
            return Some(Mismatch::new(
                format!("{name}: {} is stored as {}, the reference's as {}", shown(key, want), have.dtype, want.dtype),
                Cause::H5Type,
                format!("h5py reads back the type it was written with: write it as a {rust} (new_attr::<{rust}>(), new_dataset::<{rust}>()) {}", tutor.see(Topic::Hdf5)),
            ));
        }
        let (key, want) = theirs
            .iter()
            .find(|(k, t)| mine.get(*k).is_some_and(|m| m.dims != t.dims))?;
        Some(Mismatch::new(
            format!("{name}: {} has shape {:?}, the reference's {:?}", shown(key, want), mine[key].dims, want.dims),
            Cause::H5Shape,
            format!("the reference's shapes: a scalar for each attribute, (size, size) for a file's dataset, (n_files, size, size) for the one dataset of all files {}", tutor.see(Topic::Hdf5)),
        ))
    }

    /// A root attribute whose value differs.
    fn attribute_values(
        name: &str,
        theirs: &tools::read::H5Contents,
        mine: &tools::read::H5Contents,
        tutor: &Tutor,
    ) -> Option<Mismatch> {
        let (attr, want) = theirs.root_attributes.iter().find(|(a, v)| {
            mine.root_attributes
                .get(*a)
                .is_some_and(|m| m.to_bits() != v.to_bits())
        })?;
        Some(Mismatch::new(
            format!("{name}: the root attribute {attr} is {}, the reference's {want}", mine.root_attributes[attr]),
            Cause::H5AttributeValue,
            format!("the run's parameters, as the command line gave them (n_files, size) and the grid's origins (x_origin 0, y_origin 500) {}", tutor.see(Topic::Hdf5)),
        ))
    }

    /// The first dataset (or plane) whose file index or values differ, explained from all of
    /// its values.
    fn datasets(
        name: &str,
        theirs: &tools::read::H5Contents,
        mine: &tools::read::H5Contents,
        structure: &Structure,
        ran: Ran,
        tutor: &Tutor,
    ) -> Option<Mismatch> {
        let cube = one_cube(structure);
        let differing = theirs
            .datasets
            .iter()
            .filter(|(k, (_, a))| mine.datasets.get(*k).is_none_or(|(_, b)| a != b))
            .count();
        for (key, (id_a, data_a)) in &theirs.datasets {
            let (id_b, data_b) = mine.datasets.get(key)?;
            if id_a != id_b {
                return Some(Mismatch::new(
                    format!("{name}/{key}: file_id {id_b}, the reference {id_a}"),
                    Cause::H5FileId,
                    format!(
                        "each dataset's file_id attribute is its own file index {}",
                        tutor.see(Topic::Hdf5)
                    ),
                ));
            }
            let label = if cube {
                let prefix = key.trim_end_matches(|c: char| c.is_ascii_digit());
                format!("{name}/{prefix}[{id_a}]")
            } else {
                format!("{name}/{key}")
            };
            let place = Place {
                name: &label,
                file_id: *id_a as usize,
                n_files: ran.case.n,
            };
            if let Some(explained) = values::explain(place, data_b.view(), data_a.view(), tutor) {
                let what = if cube { "planes" } else { "datasets" };
                return Some(Mismatch::from(explained).with(format!(
                    "{differing} of the {} {what} differ",
                    theirs.datasets.len()
                )));
            }
        }
        None
    }
}
