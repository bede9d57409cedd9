//! Comparing a learner's files with the reference's, bit for bit, and saying where and why
//! they differ: which files are missing or extra, the first differing file and value, and the
//! cause the evidence shows (see [`crate::values`] for a wrong array).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use ndarray::Array2;
use steps::{Format, Launch};

use crate::cause::{Cause, Topic, Tutor};
use crate::mismatch::{Mismatch, Ran};
use crate::npy_header;
use crate::values::{self, Place};

/// The names of the plain files and folders in `dir`.
pub fn names_in(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        names.insert(entry?.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// `data00042.npy` → 42, for the names the steps write.
fn index_of(name: &str) -> Option<usize> {
    if name.starts_with('.') {
        return None;
    }
    let stem = name.split('.').next()?;
    let digits: String = stem
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.len() >= 5)
        .then(|| digits.chars().rev().collect::<String>().parse().ok())
        .flatten()
}

/// `None` when `yours` holds exactly the files of `reference`, byte for byte.
pub fn compare_dirs(
    reference: &Path,
    yours: &Path,
    format: Format,
    ran: Ran,
    tutor: &Tutor,
) -> Result<Option<Mismatch>> {
    let (want, have) = (names_in(reference)?, names_in(yours)?);
    let missing: Vec<&String> = want.difference(&have).collect();
    if let Some(first) = missing.first() {
        return Ok(Some(missing_files(
            first, &missing, &want, &have, format, ran, tutor,
        )));
    }
    if let Some(extra) = have.difference(&want).next() {
        return Ok(Some(extra_file(extra, tutor)));
    }
    for name in &want {
        let (a, b) = (reference.join(name), yours.join(name));
        // HDF5 files hold creation times: the same contents are not the same bytes.
        if format == Format::H5 {
            if let Some(mismatch) = crate::h5_compare::compare(&a, &b, ran, tutor)? {
                return Ok(Some(mismatch));
            }
            continue;
        }
        let (a, b) = (fs::read(a)?, fs::read(b)?);
        if a != b {
            let place = Place {
                name,
                file_id: index_of(name).unwrap_or(0),
                n_files: ran.case.n,
            };
            return Ok(Some(match format {
                Format::Npy => compare_npy(place, &a, &b, tutor)?,
                _ => compare_txt(place, &a, &b, tutor),
            }));
        }
    }
    Ok(None)
}

fn extra_file(extra: &str, tutor: &Tutor) -> Mismatch {
    let hidden = extra.starts_with('.');
    let sentence = if hidden {
        format!(
            "a hidden file left behind after a run that succeeded: a file written but never renamed or removed — {} {}",
            tutor.commit_advice(),
            tutor.see(Topic::WriteThenRename)
        )
    } else {
        format!(
            "the reference writes exactly <prefix><index:05>.<ext> for each index 0..n, nothing else {}",
            tutor.see(Topic::WriteThenRename)
        )
    };
    Mismatch::new(
        format!("{extra} is there too, and the reference writes no such file"),
        Cause::ExtraFile,
        sentence,
    )
}

/// Why files are missing, from which ones: none at all (nothing committed), the last ones with
/// several ranks (a split that drops the remainder), all of them one index off, or some index
/// left out.
fn missing_files(
    first: &str,
    missing: &[&String],
    want: &BTreeSet<String>,
    have: &BTreeSet<String>,
    format: Format,
    ran: Ran,
    tutor: &Tutor,
) -> Mismatch {
    let more = match missing.len() {
        0 | 1 => String::new(),
        n => format!(" (nor {} more)", n - 1),
    };
    let what = format!("{first} was not written{more}");
    if let Some((kind, sentence)) = misnamed(want, have, format, tutor) {
        return Mismatch::new(what, kind, sentence);
    }
    // The cases run one rank first: files that go missing only with more ranks, from the end
    // of the range, are a split that drops the remainder.
    let last: Vec<&String> = want.iter().rev().take(missing.len()).collect();
    let tail = missing.iter().all(|m| last.contains(m));
    if tail && ran.case.workers > 1 && ran.launch == Launch::Mpi {
        let how = if tutor.capstone() {
            "the first n % ranks ranks get one file more"
        } else {
            "gridgen_mpi::array_split(n, ranks) gives the first n % ranks ranks one file more"
        };
        return Mismatch::new(
            what,
            Cause::SplitDropsRemainder,
            format!(
                "the split of 0..{} over {} ranks leaves the last files out: numpy.array_split's chunks cover every index — {how} {}",
                ran.case.n,
                ran.case.workers,
                tutor.see(Topic::Split)
            ),
        );
    }
    Mismatch::new(
        what,
        Cause::IndexLeftOut,
        format!(
            "every file index 0..n is written exactly once: some index (or a worker's or rank's share) is left out {}",
            tutor.see(if ran.launch == Launch::Mpi {
                Topic::Split
            } else {
                Topic::Workers
            })
        ),
    )
}

/// No file with a final name (never committed), or every name off by one index.
fn misnamed(
    want: &BTreeSet<String>,
    have: &BTreeSet<String>,
    format: Format,
    tutor: &Tutor,
) -> Option<(Cause, String)> {
    let stem = |n: &str| n.split('.').next().unwrap_or_default().to_string();
    let other = have.iter().find(|h| {
        !h.starts_with('.') && !want.contains(*h) && want.iter().any(|w| stem(w) == stem(h))
    });
    if let Some(other) = other {
        let how = if tutor.capstone() {
            format!("name each file <prefix><index:05>.{format}")
        } else {
            format!("Output::create(&args, Format::{format:?}) names them, and the step writes {format}")
        };
        return Some((
            Cause::OtherFormat,
            format!(
                "{other} is there: files of another format than the step's .{format} — {how} {}",
                tutor.see(Topic::Npy)
            ),
        ));
    }
    if shifted(want, have) {
        return Some((
            Cause::ShiftedIndex,
            format!(
                "your files are named one index off: {} are there, where the reference writes {} — file indices run 0..n, and each file is named by its own index {}",
                have.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                want.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                tutor.see(Topic::Field)
            ),
        ));
    }
    if !format.one_file() && have.iter().any(|n| want.contains(n)) {
        return None;
    }
    let left = if have.iter().any(|n| n.starts_with('.')) {
        " (a hidden file was left instead)"
    } else {
        ""
    };
    Some((
        Cause::NotCommitted,
        format!(
            "no file got its final name{left}: each is written under a hidden name and renamed when complete — {} {}",
            tutor.commit_advice(),
            tutor.see(Topic::WriteThenRename)
        ),
    ))
}

/// Files named 1..=n (or another constant shift) where the reference names 0..n.
fn shifted(want: &BTreeSet<String>, have: &BTreeSet<String>) -> bool {
    let finals: Vec<usize> = have.iter().filter_map(|n| index_of(n)).collect();
    let wanted: Vec<usize> = want.iter().filter_map(|n| index_of(n)).collect();
    !finals.is_empty()
        && finals.len() == wanted.len()
        && finals != wanted
        && finals.iter().zip(&wanted).all(|(a, b)| a.abs_diff(*b) == 1)
}

/// The header's length, from its own u16 field.
fn npy_header_len(bytes: &[u8]) -> Option<usize> {
    bytes
        .get(8..10)
        .map(|l| 10 + u16::from_le_bytes([l[0], l[1]]) as usize)
}

/// Where the learner's .npy header (`b`) differs from numpy's (`a`, `ha` bytes long): which
/// field, and both headers as a reader would print them.
fn npy_header_mismatch(
    name: &str,
    a: &[u8],
    b: &[u8],
    ha: usize,
    tutor: &Tutor,
) -> Option<Mismatch> {
    if npy_header_len(b) == Some(ha) && a[..ha] == b[..ha.min(b.len())] {
        return None;
    }
    let (numpys, yours) = (npy_header::parse(a), npy_header::parse(b));
    let (field, why) = npy_header::first_difference(&yours, &numpys)
        .unwrap_or((npy_header::Field::Padding, "the header's bytes".to_string()));
    let at = a[..ha]
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(ha.min(b.len()));
    Some(Mismatch::new(
        format!(
            "{name}: the .npy header differs at byte {at}, in {why}\n      yours:   {}\n      numpy's: {}",
            yours.text, numpys.text
        ),
        field.cause(),
        format!(
            "numpy.save's header, byte for byte {}",
            tutor.see(Topic::Npy)
        ),
    ))
}

/// The reference's shape, from its header.
fn shape_of(bytes: &[u8]) -> Option<(usize, usize)> {
    let shape = npy_header::parse(bytes).shape?;
    let inner = shape.trim_matches(|c| c == '(' || c == ')');
    let mut dims = inner.split(',').filter_map(|d| d.trim().parse().ok());
    Some((dims.next()?, dims.next()?))
}

fn compare_npy(place: Place, a: &[u8], b: &[u8], tutor: &Tutor) -> Result<Mismatch> {
    let ha = npy_header_len(a).context("the reference's .npy has no header")?;
    if let Some(mismatch) = npy_header_mismatch(place.name, a, b, ha, tutor) {
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
                "{}: {} bytes of values, numpy's has {}",
                place.name,
                b.len() - ha,
                a.len() - ha
            ),
            Cause::ValueBytes,
            format!(
                "right after the header, the array's values, 8 bytes each, each once {}",
                tutor.see(Topic::Npy)
            ),
        ));
    }
    let shape = shape_of(a).context("the reference's .npy header has no shape")?;
    let (theirs, yours) = (grid(va, shape)?, grid(vb, shape)?);
    Ok(values::explain(place, yours.view(), theirs.view(), tutor)
        .map(Mismatch::from)
        .unwrap_or_else(|| {
            Mismatch::new(
                format!("{}: other bytes than numpy's", place.name),
                Cause::ValueBytes,
                "the same values, other bytes".to_string(),
            )
        }))
}

fn grid(values: Vec<f64>, shape: (usize, usize)) -> Result<Array2<f64>> {
    Array2::from_shape_vec(shape, values).context("the values do not fill the header's shape")
}

fn compare_txt(place: Place, a: &[u8], b: &[u8], tutor: &Tutor) -> Mismatch {
    let (ta, tb) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let rows_a: Vec<&str> = ta.split_inclusive('\n').collect();
    let rows_b: Vec<&str> = tb.split_inclusive('\n').collect();
    let text_cause = format!(
        "numpy.savetxt's text: each value as %.18e, one space between values, \\n after each row {}",
        tutor.see(Topic::Text)
    );
    let name = place.name;
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
                Cause::TextFormat,
                text_cause,
            );
        };
        let at = (i, j);
        return differing_word(place, (&ta, &tb), (x, y), at, tutor, text_cause);
    }
    Mismatch::new(
        format!(
            "{name}: {} rows, numpy's has {} (or a row does not end with \\n)",
            rows_b.len(),
            rows_a.len()
        ),
        Cause::TextFormat,
        text_cause,
    )
}

/// The first word that differs, `x` numpy's and `y` yours, at row and column `at`: other text
/// for the same number, or other numbers (explained from the whole array).
fn differing_word(
    place: Place,
    (ta, tb): (&str, &str),
    (x, y): (&str, &str),
    (i, j): (usize, usize),
    tutor: &Tutor,
    text_cause: String,
) -> Mismatch {
    let name = place.name;
    match (x.parse::<f64>(), y.parse::<f64>()) {
        (Ok(r), Ok(v)) if r.to_bits() == v.to_bits() => Mismatch::new(
            format!(
                "{name} [{i}, {j}]: the same number, other text: yours \"{y}\", numpy's \"{x}\""
            ),
            Cause::TextFormat,
            text_cause,
        ),
        (Ok(_), Ok(_)) => match (tools::read::parse_txt(ta), tools::read::parse_txt(tb)) {
            (Ok(theirs), Ok(yours)) if theirs.dim() == yours.dim() => {
                values::explain(place, yours.view(), theirs.view(), tutor)
                    .map(Mismatch::from)
                    .unwrap_or_else(|| {
                        Mismatch::new(format!("{name}: other text"), Cause::TextFormat, text_cause)
                    })
            }
            _ => Mismatch::new(
                format!("{name}: rows of other lengths than numpy's"),
                Cause::TextFormat,
                text_cause,
            ),
        },
        _ => Mismatch::new(
            format!("{name} [{i}, {j}]: \"{y}\" is not a number (numpy's: \"{x}\")"),
            Cause::TextFormat,
            text_cause,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_their_index_and_a_shift_is_seen() {
        assert_eq!(index_of("data00042.npy"), Some(42));
        assert_eq!(index_of(".data00042.npy~1~h~x"), None);
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let want = set(&["data00000.npy", "data00001.npy", "data00002.npy"]);
        assert!(shifted(
            &want,
            &set(&["data00001.npy", "data00002.npy", "data00003.npy"])
        ));
        assert!(!shifted(&want, &set(&["data00000.npy", "data00001.npy"])));
    }
}
