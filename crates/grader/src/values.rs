//! What a wrong array is, read from the evidence: the whole array (or plane) against the
//! reference's, most specific explanation first — the reference's bits byte-swapped, rounded to
//! single precision, transposed, never written, another file's array, the same grid with
//! another `t`, numpy's floor modulo missed, the same formula in another order — and only when
//! none fits, another formula.

use ndarray::{Array2, ArrayView2};

use crate::cause::{Cause, Named, Topic, Tutor};

/// Below this, two values are "the same formula, rounded differently": the values lie in
/// [0, 1) after `% 1` of sums up to the hundreds, where another order of operations moves the
/// last bits, about 1e-13.
const ROUNDING: f64 = 1e-9;

/// Where an array came from: its name, and its file index in a run of `n_files`.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// `data00001.npy`, `data.h5/data00001`, `data.h5/data[1]`.
    pub name: &'a str,
    pub file_id: usize,
    pub n_files: usize,
}

/// A wrong array explained: where and how it differs, and the cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub what: String,
    pub details: Vec<String>,
    pub cause: Named,
}

/// The reference's array for another file index (the data contract's, computed here).
fn field(size: (usize, usize), n_files: usize, file_id: usize) -> Array2<f64> {
    let (x, y) = gridgen_contract::axes(size.1);
    let (xx, yy) = gridgen_contract::meshgrid(&x, &y);
    gridgen_contract::field::generate_data(&xx, &yy, n_files, file_id)
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn all_pairs(
    yours: &ArrayView2<f64>,
    theirs: &ArrayView2<f64>,
    f: impl Fn(f64, f64) -> bool,
) -> bool {
    yours.iter().zip(theirs.iter()).all(|(&a, &b)| f(a, b))
}

/// The largest absolute difference, and how many values differ in their bits.
fn spread(yours: &ArrayView2<f64>, theirs: &ArrayView2<f64>) -> (f64, usize) {
    yours
        .iter()
        .zip(theirs.iter())
        .fold((0.0f64, 0usize), |(largest, count), (&a, &b)| {
            if same_bits(a, b) {
                (largest, count)
            } else {
                (largest.max((a - b).abs()), count + 1)
            }
        })
}

/// `frac(a - b)` as a distance on the circle [0, 1): 0.999 and 0.001 are 0.002 apart.
fn circular(a: f64, b: f64) -> f64 {
    let d = (a - b).abs() % 1.0;
    d.min(1.0 - d)
}

/// The cause, tried from the most specific evidence to the least. `None` when every bit
/// agrees.
pub fn explain(
    place: Place,
    yours: ArrayView2<f64>,
    theirs: ArrayView2<f64>,
    tutor: &Tutor,
) -> Option<Explained> {
    let first = yours
        .indexed_iter()
        .find(|(ij, v)| !same_bits(**v, theirs[*ij]))
        .map(|(ij, _)| ij)?;
    let (largest, differing) = spread(&yours, &theirs);
    let (i, j) = first;
    let (a, b) = (yours[first], theirs[first]);
    let what = format!(
        "{} [{i}, {j}]: yours {a:e} (bits {:#018x}), the reference {b:e} (bits {:#018x})",
        place.name,
        a.to_bits(),
        b.to_bits()
    );
    let details = vec![format!(
        "{differing} of its {} values differ, the largest by {largest:.3e}",
        yours.len()
    )];
    let cause = cause(place, &yours, &theirs, largest, tutor);
    Some(Explained {
        what,
        details,
        cause,
    })
}

fn cause(
    place: Place,
    yours: &ArrayView2<f64>,
    theirs: &ArrayView2<f64>,
    largest: f64,
    tutor: &Tutor,
) -> Named {
    if let Some(named) = in_the_bits(place, yours, theirs, largest, tutor) {
        return named;
    }
    let field_link = tutor.see(Topic::Field);
    let differing: Vec<(f64, f64)> = yours
        .iter()
        .zip(theirs.iter())
        .filter(|(a, b)| !same_bits(**a, **b))
        .map(|(&a, &b)| (a, b))
        .collect();
    if differing
        .iter()
        .all(|&(a, b)| a < 0.0 && (a + 1.0 - b).abs() < ROUNDING)
    {
        let fix = if tutor.capstone() {
            "v - v.floor()"
        } else {
            "gridgen::field::frac(v) (or v - v.floor())"
        };
        return Named::new(
            Cause::FloorModulo,
            format!("each value that differs is the reference's minus 1, and negative: Rust's % keeps the sign of what it divides, so -0.25 % 1.0 is -0.25, where numpy's % 1 gives 0.75 — use {fix}, numpy's floor modulo {field_link}"),
        );
    }
    if let Some(named) = offset_in_t(place, &differing, largest, &field_link) {
        return named;
    }
    if largest < ROUNDING {
        return Named::new(
            Cause::OrderOfOperations,
            format!("{largest:.1e} apart at most: the same formula in another order of operations, rounded differently. The data contract fixes numpy's order, ((x/10)**2 * (y/10) + (y/10)**2 * (x/10) + t/n) % 1, term by term {field_link}"),
        );
    }
    Named::new(
        Cause::OtherFormula,
        format!("not a rounding difference ({largest:.1e} apart), nor the reference's bits swapped, transposed, rounded to f32, shifted in t or taken from another file: another formula or grid than the reference's — compare yours with ((x/10)**2 * (y/10) + (y/10)**2 * (x/10) + t/n) % 1 over numpy.meshgrid(x, y) {field_link}"),
    )
}

/// What the bits show at once: the reference's byte-swapped, nothing written, transposed,
/// rounded to f32, or another index's array.
fn in_the_bits(
    place: Place,
    yours: &ArrayView2<f64>,
    theirs: &ArrayView2<f64>,
    largest: f64,
    tutor: &Tutor,
) -> Option<Named> {
    let field_link = tutor.see(Topic::Field);
    if all_pairs(yours, theirs, |a, b| {
        a.to_bits() == b.to_bits().swap_bytes()
    }) {
        let how = if tutor.capstone() {
            "f64::to_le_bytes, or bytemuck::cast_slice on a little-endian machine"
        } else {
            "gridgen::npy::tobytes(&data), the bytes as they sit in memory"
        };
        return Some(Named::new(
            Cause::ByteSwapped,
            format!("every value holds the reference's 8 bytes in reverse order: written big-endian (to_be_bytes), where the header's '<f8' says little-endian — write {how} {}", tutor.see(Topic::Npy)),
        ));
    }
    if yours.iter().all(|&v| v.to_bits() == 0) {
        return Some(Named::new(
            Cause::NeverWritten,
            format!("every value is 0: this array was never written (a new array's zeros, or HDF5's fill value for a dataset created but never filled) — {} {}",
                never_written_advice(tutor), tutor.see(Topic::Hdf5)),
        ));
    }
    if let Some(named) = transposed(yours, theirs, &field_link) {
        return Some(named);
    }
    if single_precision(yours, largest) {
        return Some(Named::new(
            Cause::SinglePrecision,
            format!("every value fits in an f32 (its last 29 bits of mantissa are zero), {largest:.1e} at most from the reference: computed in single precision (f32) somewhere — numpy computes in f64 throughout {field_link}"),
        ));
    }
    another_index(place, yours, theirs)
}

fn never_written_advice(tutor: &Tutor) -> &'static str {
    match (tutor.exercise.name(), tutor.exercise.format()) {
        ("write_final_collective", _) => {
            "every rank writes its own planes, in as many rounds as the largest share needs"
        }
        (_, steps::Format::H5) if tutor.launch() == steps::Launch::Mpi => {
            "each rank fills the datasets of its own file indices after every rank has created them all"
        }
        (_, steps::Format::H5) => "each dataset is created with its data",
        _ => "the array computed is the one written",
    }
}

/// The reference's rows and columns swapped, bit for bit or within rounding (the formula's x
/// and y swapped too): checked before any rule about small differences.
fn transposed(yours: &ArrayView2<f64>, theirs: &ArrayView2<f64>, link: &str) -> Option<Named> {
    if yours.nrows() != yours.ncols() || yours.nrows() < 2 {
        return None;
    }
    let t = theirs.t();
    let exact = all_pairs(yours, &t, same_bits);
    let close = yours
        .iter()
        .zip(t.iter())
        .all(|(&a, &b)| (a - b).abs() < ROUNDING);
    let close_untransposed = yours
        .iter()
        .zip(theirs.iter())
        .all(|(&a, &b)| (a - b).abs() < ROUNDING);
    (exact || (close && !close_untransposed)).then(|| {
        Named::new(
            Cause::Transposed,
            format!("your array is the reference's transposed: your [i, j] holds its [j, i]. numpy.meshgrid(x, y) gives X[i, j] = x[j] and Y[i, j] = y[i]: a row runs along x, a column along y {link}"),
        )
    })
}

/// Every value an f32 (the low 29 bits of its f64 mantissa zero), and close to the reference.
fn single_precision(yours: &ArrayView2<f64>, largest: f64) -> bool {
    let nonzero: Vec<f64> = yours.iter().copied().filter(|v| *v != 0.0).collect();
    !nonzero.is_empty()
        && largest < 1e-2
        && nonzero
            .iter()
            .all(|&v| v.is_finite() && f64::from(v as f32).to_bits() == v.to_bits())
}

/// Bit for bit the reference's array of another file index: the index shifted, or `t` taken
/// from another one.
fn another_index(place: Place, yours: &ArrayView2<f64>, theirs: &ArrayView2<f64>) -> Option<Named> {
    let shape = theirs.dim();
    // Indices past the run's end too: `(file_id + 1) / n` makes the last file's t = 1.
    let other = (0..=place.n_files + 1)
        .filter(|&k| k != place.file_id)
        .find(|&k| all_pairs(yours, &field(shape, place.n_files, k).view(), same_bits))?;
    let how = if other > place.file_id {
        format!("{} ahead", other - place.file_id)
    } else {
        format!("{} behind", place.file_id - other)
    };
    Some(Named::new(
        Cause::ShiftedIndex,
        format!("{} holds, bit for bit, the reference's array of file index {other} (of {}), not of {}: an index {how} — the file index, the dataset's or plane's offset, or the t = file_id / n_files of the formula", place.name, place.n_files, place.file_id),
    ))
}

/// The same grid with another `t`: every differing value is the reference's plus one constant
/// (modulo 1).
fn offset_in_t(place: Place, differing: &[(f64, f64)], largest: f64, link: &str) -> Option<Named> {
    let &(a0, b0) = differing.first()?;
    let offset = (a0 - b0).rem_euclid(1.0);
    let constant = differing
        .iter()
        .all(|&(a, b)| circular((a - b).rem_euclid(1.0), offset) < ROUNDING);
    // Another t moves every value (few stay equal), by more than rounding.
    (constant && differing.len() > 1 && largest > ROUNDING).then(|| {
        let t = place.file_id as f64 / place.n_files as f64;
        Named::new(
            Cause::OffsetInT,
            format!("every value that differs is the reference's plus {offset:.6} (modulo 1): the same grid, another t. For file {} of {} the reference's t is file_id / n_files = {t:.6}; yours behaves as t = {:.6} — an f64 division of the file index by the number of files {link}",
                place.file_id, place.n_files, (t + offset).rem_euclid(1.0)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercise::Exercise;

    fn tutor() -> Tutor {
        Tutor::new(Exercise::find("write_vectorized").unwrap())
    }

    fn kind(yours: &Array2<f64>, file_id: usize, n: usize) -> Cause {
        let theirs = field(yours.dim(), n, file_id);
        let place = Place {
            name: "data00001.npy",
            file_id,
            n_files: n,
        };
        explain(place, yours.view(), theirs.view(), &tutor())
            .expect("a difference")
            .cause
            .kind
    }

    #[test]
    fn each_kind_of_wrong_array_is_told_apart() {
        let (n, t, s) = (4, 1, 9);
        let good = field((s, s), n, t);
        let place = Place {
            name: "x",
            file_id: t,
            n_files: n,
        };
        assert!(explain(place, good.view(), good.view(), &tutor()).is_none());
        let swapped = good.mapv(|v| f64::from_bits(v.to_bits().swap_bytes()));
        assert_eq!(kind(&swapped, t, n), Cause::ByteSwapped);
        let single = good.mapv(|v| f64::from(v as f32));
        assert_eq!(kind(&single, t, n), Cause::SinglePrecision);
        assert_eq!(kind(&good.t().to_owned(), t, n), Cause::Transposed);
        assert_eq!(kind(&Array2::zeros((s, s)), t, n), Cause::NeverWritten);
        assert_eq!(kind(&field((s, s), n, t + 1), t, n), Cause::ShiftedIndex);
        assert_eq!(kind(&field((s, s), n, 0), t, n), Cause::ShiftedIndex);
        // t = file_id / (n - 1): a constant offset that no other index gives.
        let (x, y) = gridgen_contract::axes(s);
        let (xx, yy) = gridgen_contract::meshgrid(&x, &y);
        let other_t = ndarray::Zip::from(&xx).and(&yy).map_collect(|&x, &y| {
            let (x, y) = (x / 10.0, y / 10.0);
            gridgen_contract::field::frac(x * x * y + y * y * x + t as f64 / (n - 1) as f64)
        });
        assert_eq!(kind(&other_t, t, n), Cause::OffsetInT);
        let rust_mod = ndarray::Zip::from(&xx).and(&yy).map_collect(|&x, &y| {
            let (x, y) = (x / 10.0, y / 10.0);
            (x * x * y + y * y * x + t as f64 / n as f64) % 1.0
        });
        assert_eq!(kind(&rust_mod, t, n), Cause::FloorModulo);
        let order = ndarray::Zip::from(&xx).and(&yy).map_collect(|&x, &y| {
            let (x, y) = (x / 10.0, y / 10.0);
            gridgen_contract::field::frac(x * (x * y) + y * (y * x) + t as f64 / n as f64)
        });
        assert_eq!(kind(&order, t, n), Cause::OrderOfOperations);
        let other = good.mapv(|v| (v * 1.5) % 1.0);
        assert_eq!(kind(&other, t, n), Cause::OtherFormula);
    }

    #[test]
    fn a_transpose_with_its_formula_swapped_is_still_a_transpose() {
        let (n, t, s) = (3, 2, 7);
        let (x, y) = gridgen_contract::axes(s);
        let (xx, yy) = gridgen_contract::meshgrid(&x, &y);
        // numpy.meshgrid(y, x)'s grids, with the formula's terms in the other order.
        let yours = ndarray::Zip::from(&yy.t())
            .and(&xx.t())
            .map_collect(|&y, &x| {
                let (x, y) = (x / 10.0, y / 10.0);
                gridgen_contract::field::frac(y * y * x + x * x * y + t as f64 / n as f64)
            });
        assert_eq!(kind(&yours, t, n), Cause::Transposed);
    }
}
