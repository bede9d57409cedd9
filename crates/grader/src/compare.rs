//! Comparing a learner's files with the reference's, bit for bit, and saying where and why
//! they differ: the first differing file, index and values (with their bits), and the likely
//! cause.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use ndarray::Array2;
use steps::{Format, Launch};

use crate::mismatch::{values_differ, Mismatch, Ran};
use crate::npy_header;

/// The names of the plain files and folders in `dir`.
pub fn names_in(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        names.insert(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// `None` when `yours` holds exactly the files of `reference`, byte for byte.
pub fn compare_dirs(
    reference: &Path,
    yours: &Path,
    format: Format,
    ran: Ran,
) -> Result<Option<Mismatch>> {
    let (want, have) = (names_in(reference)?, names_in(yours)?);
    let missing: Vec<&String> = want.difference(&have).collect();
    if let Some(first) = missing.first() {
        return Ok(Some(Mismatch::new(
            format!("{first} was not written{}", more(missing.len())),
            missing_cause(&missing, &want, &have, format, ran),
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
            if let Some(mismatch) = crate::h5_compare::compare(&a, &b, ran)? {
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

/// " (and 3 more)".
fn more(others: usize) -> String {
    match others {
        0 | 1 => String::new(),
        n => format!(" (nor {} more)", n - 1),
    }
}

/// Why files are missing, from which ones: none at all (nothing committed), the last ones with
/// several ranks or workers (a split that drops the remainder), or some index left out.
fn missing_cause(
    missing: &[&String],
    want: &BTreeSet<String>,
    have: &BTreeSet<String>,
    format: Format,
    ran: Ran,
) -> String {
    if format.one_file() {
        return "the file gets its name only when it is closed: every rank calls hf.close(hdf5::File::close)? after writing everything (hdf5.md#one-file-many-datasets)".into();
    }
    // The cases run one rank first: files that go missing only with more ranks, from the end
    // of the range, are a split that drops the remainder.
    let last: Vec<&String> = want.iter().rev().take(missing.len()).collect();
    let tail = missing.iter().all(|m| last.contains(m));
    if tail && ran.case.workers > 1 && ran.launch == Launch::Mpi {
        return format!(
            "the split of 0..{} over {} ranks leaves the last files out: numpy.array_split gives the first n % ranks ranks one file more (gridgen_mpi::array_split(n, ranks)) (mpi.md#point-to-point)",
            ran.case.n, ran.case.workers
        );
    }
    let finals = have.iter().filter(|n| want.contains(*n)).count();
    if finals == 0 {
        return "no file got its final name: each file is written under a hidden name and renamed when complete — out.create(file_id)? … then npy.commit()? (a file dropped without commit is removed) (binary.md#the-npy-format)".into();
    }
    "every file index 0..n must be written exactly once: is any index (or a worker's or rank's share) left out?".into()
}

/// The header's length, from its own u16 field.
fn npy_header_len(bytes: &[u8]) -> Option<usize> {
    bytes
        .get(8..10)
        .map(|l| 10 + u16::from_le_bytes([l[0], l[1]]) as usize)
}

/// Where the learner's .npy header (`b`) differs from numpy's (`a`, `ha` bytes long): which
/// field, and both headers as a reader would print them.
fn npy_header_mismatch(name: &str, a: &[u8], b: &[u8], ha: usize) -> Option<Mismatch> {
    if npy_header_len(b) == Some(ha) && a[..ha] == b[..ha.min(b.len())] {
        return None;
    }
    let (numpys, yours) = (npy_header::parse(a), npy_header::parse(b));
    let field = npy_header::first_difference(&yours, &numpys)
        .unwrap_or_else(|| "the header's bytes".to_string());
    let at = a[..ha]
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(ha.min(b.len()));
    Some(Mismatch::new(
        format!(
            "{name}: the .npy header differs at byte {at}, in {field}\n      yours:   {}\n      numpy's: {}",
            yours.text, numpys.text
        ),
        format!(
            "numpy.save's header, byte for byte ({})",
            npy_header::SECTION
        ),
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
