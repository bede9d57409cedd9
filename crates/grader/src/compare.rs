//! Comparing a learner's files with the reference's, bit for bit, and saying where and why
//! they differ: the first differing file, index and values (with their bits), and the likely
//! cause.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use ndarray::Array2;
use steps::Format;

/// The first difference between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where: the file, the index, both values.
    pub what: String,
    /// What usually makes it so, and where the book explains it.
    pub cause: String,
}

impl Mismatch {
    fn new(what: impl Into<String>, cause: impl Into<String>) -> Mismatch {
        Mismatch {
            what: what.into(),
            cause: cause.into(),
        }
    }
}

/// The names of the plain files and folders in `dir`.
pub fn names_in(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        names.insert(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// `None` when `yours` holds exactly the files of `reference`, byte for byte.
pub fn compare_dirs(reference: &Path, yours: &Path, format: Format) -> Result<Option<Mismatch>> {
    let (want, have) = (names_in(reference)?, names_in(yours)?);
    if let Some(missing) = want.difference(&have).next() {
        return Ok(Some(Mismatch::new(
            format!("{missing} was not written"),
            "every file index 0..n must be written exactly once: is any index (or a worker's or rank's share) left out?",
        )));
    }
    if let Some(extra) = have.difference(&want).next() {
        return Ok(Some(Mismatch::new(
            format!("{extra} is there too, and the reference writes no such file"),
            "a temporary file left behind, or a name not <prefix><index:05>.<ext>",
        )));
    }
    for name in &want {
        let (a, b) = (reference.join(name), yours.join(name));
        // HDF5 files hold creation times: the same contents are not the same bytes.
        if format == Format::H5 {
            if let Some(mismatch) = compare_h5(&a, &b)? {
                return Ok(Some(mismatch));
            }
            continue;
        }
        let (a, b) = (fs::read(a)?, fs::read(b)?);
        if a != b {
            return Ok(Some(match format {
                Format::Npy => compare_npy(name, &a, &b)?,
                _ => compare_txt(name, &a, &b),
            }));
        }
    }
    Ok(None)
}

const NPY_SECTION: &str = "binary.md#the-npy-format";

/// The header's length, from its own u16 field.
fn npy_header_len(bytes: &[u8]) -> Option<usize> {
    bytes
        .get(8..10)
        .map(|l| 10 + u16::from_le_bytes([l[0], l[1]]) as usize)
}

/// Where the learner's .npy header (`b`) first differs from numpy's (`a`, `ha` bytes long).
fn npy_header_mismatch(name: &str, a: &[u8], b: &[u8], ha: usize) -> Option<Mismatch> {
    if npy_header_len(b) == Some(ha) && a[..ha] == b[..ha.min(b.len())] {
        return None;
    }
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let show = |bytes: &[u8]| {
        let end = bytes
            .len()
            .min(npy_header_len(bytes).unwrap_or(64))
            .min(128);
        String::from_utf8_lossy(&bytes[..end])
            .escape_debug()
            .to_string()
    };
    Some(Mismatch::new(
        format!(
            "{name}: the .npy header differs at byte {at}:\n      yours:     \"{}\"\n      numpy's:   \"{}\"",
            show(b),
            show(a)
        ),
        format!("numpy.save's header, byte for byte: the magic, version 1.0, the little-endian u16 length, the dict padded with spaces to a multiple of 64 and a newline ({NPY_SECTION})"),
    ))
}

fn compare_npy(name: &str, a: &[u8], b: &[u8]) -> Result<Mismatch> {
    let ha = npy_header_len(a).context("the reference's .npy has no header")?;
    if let Some(mismatch) = npy_header_mismatch(name, a, b, ha) {
        return Ok(mismatch);
    }
    let values = |bytes: &[u8]| -> Vec<f64> {
        bytes[ha..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect()
    };
    let (va, vb) = (values(a), values(b));
    if va.len() != vb.len() || (b.len() - ha) % 8 != 0 {
        return Ok(Mismatch::new(
            format!(
                "{name}: {} bytes of values, numpy's has {}",
                b.len() - ha,
                a.len() - ha
            ),
            "the array's values, 8 bytes each, once, right after the header",
        ));
    }
    let side = (va.len() as f64).sqrt() as usize;
    let k = va
        .iter()
        .zip(&vb)
        .position(|(x, y)| x.to_bits() != y.to_bits())
        .unwrap_or(0);
    Ok(values_differ(
        name,
        (k / side.max(1), k % side.max(1)),
        vb[k],
        va[k],
        &grid(&va, side),
    ))
}

fn grid(values: &[f64], side: usize) -> Array2<f64> {
    Array2::from_shape_vec((side, side), values.to_vec()).unwrap_or_else(|_| Array2::zeros((0, 0)))
}

fn compare_txt(name: &str, a: &[u8], b: &[u8]) -> Mismatch {
    let (ta, tb) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let rows_a: Vec<&str> = ta.split_inclusive('\n').collect();
    let rows_b: Vec<&str> = tb.split_inclusive('\n').collect();
    let text_cause =
        "numpy.savetxt's text: each value as %.18e, one space between values, \\n after each row";
    for (i, (ra, rb)) in rows_a.iter().zip(&rows_b).enumerate() {
        if ra == rb {
            continue;
        }
        let (wa, wb): (Vec<&str>, Vec<&str>) = (
            ra.trim_end_matches('\n').split(' ').collect(),
            rb.trim_end_matches('\n').split(' ').collect(),
        );
        let j = wa
            .iter()
            .zip(&wb)
            .position(|(x, y)| x != y)
            .unwrap_or(wa.len().min(wb.len()));
        let (Some(x), Some(y)) = (wa.get(j), wb.get(j)) else {
            return Mismatch::new(
                format!(
                    "{name}, row {i}: {} values, numpy's has {}",
                    wb.len(),
                    wa.len()
                ),
                text_cause,
            );
        };
        return match (x.parse::<f64>(), y.parse::<f64>()) {
            (Ok(r), Ok(v)) if r.to_bits() == v.to_bits() => Mismatch::new(
                format!("{name} [{i}, {j}]: the same number, other text: yours \"{y}\", numpy's \"{x}\""),
                text_cause,
            ),
            (Ok(r), Ok(v)) => {
                let whole = tools::read::parse_txt(&ta).unwrap_or_else(|_| Array2::zeros((0, 0)));
                values_differ(name, (i, j), v, r, &whole)
            }
            _ => Mismatch::new(format!("{name} [{i}, {j}]: \"{y}\" is not a number (numpy's: \"{x}\")"), text_cause),
        };
    }
    Mismatch::new(
        format!(
            "{name}: {} rows, numpy's has {} (or a row does not end with \\n)",
            rows_b.len(),
            rows_a.len()
        ),
        text_cause,
    )
}

/// A value that differs: both, with their bits, and what a difference of that kind means.
fn values_differ(
    name: &str,
    (i, j): (usize, usize),
    yours: f64,
    theirs: f64,
    reference: &Array2<f64>,
) -> Mismatch {
    let what = format!(
        "{name} [{i}, {j}]: yours {yours:e} (bits {:#018x}), the reference {theirs:e} (bits {:#018x})",
        yours.to_bits(),
        theirs.to_bits()
    );
    // The values lie in [0, 1) after `% 1` of sums up to the hundreds: another order of
    // operations changes the sum's last bits, a difference of about 1e-13 here.
    let cause = if (yours - theirs).abs() < 1e-9 {
        format!("{:.1e} apart: the same formula in another order of operations, rounded differently. The data contract fixes numpy's order, ((x/10)**2 * (y/10) + (y/10)**2 * (x/10) + t/n) % 1, term by term (vectorizing.md#one-array-expression)", (yours - theirs).abs())
    } else if reference
        .get((j, i))
        .is_some_and(|v| v.to_bits() == yours.to_bits())
    {
        "your value is the reference's at [j, i]: rows and columns swapped (numpy.meshgrid: a row runs over y, a column over x)".to_string()
    } else {
        "not a rounding difference: another formula, grid point or file index t than the reference's (vectorizing.md#one-array-expression)".to_string()
    };
    Mismatch::new(what, cause)
}

#[cfg(feature = "hdf5")]
fn compare_h5(reference: &Path, yours: &Path) -> Result<Option<Mismatch>> {
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
    if mine.root_attributes != theirs.root_attributes {
        return Ok(Some(Mismatch::new(
            format!(
                "{name}: the root attributes are {:?}, the reference's {:?}",
                mine.root_attributes, theirs.root_attributes
            ),
            "the run's attributes on the file's root group (hdf5.md#one-file-many-datasets)",
        )));
    }
    let (a, b): (BTreeSet<&String>, BTreeSet<&String>) = (
        theirs.datasets.keys().collect(),
        mine.datasets.keys().collect(),
    );
    if a != b {
        return Ok(Some(Mismatch::new(
            format!("{name}: datasets {b:?}, the reference has {a:?}"),
            "one dataset per file index, named <prefix><index:05> (hdf5.md#one-file-many-datasets)",
        )));
    }
    Ok(compare_datasets(&name, &theirs, &mine))
}

/// The first dataset whose file index, shape or values differ from the reference's.
#[cfg(feature = "hdf5")]
fn compare_datasets(
    name: &str,
    theirs: &tools::read::H5Contents,
    mine: &tools::read::H5Contents,
) -> Option<Mismatch> {
    for (key, (id_a, data_a)) in &theirs.datasets {
        let (id_b, data_b) = &mine.datasets[key];
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
            return Some(values_differ(
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

#[cfg(not(feature = "hdf5"))]
fn compare_h5(_: &Path, _: &Path) -> Result<Option<Mismatch>> {
    anyhow::bail!("this grader was built without HDF5, so it cannot read .h5 files: `make verify` builds it with HDF5 for the HDF5 steps")
}
