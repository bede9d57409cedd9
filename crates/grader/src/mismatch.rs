//! What a difference between two runs is: where it is, and what usually makes it so — for a
//! value, from the two values themselves.

use ndarray::Array2;
use steps::Launch;

use crate::run::Case;

/// The first difference between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where: the file, the index, both values.
    pub what: String,
    /// What usually makes it so, and where the book explains it.
    pub cause: String,
}

impl Mismatch {
    pub fn new(what: impl Into<String>, cause: impl Into<String>) -> Mismatch {
        Mismatch {
            what: what.into(),
            cause: cause.into(),
        }
    }
}

/// What ran: the case and how its processes were started, for the likely cause of a file
/// missing.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    pub case: Case,
    pub launch: Launch,
}

/// A value that differs: both, with their bits, and what a difference of that kind means.
pub fn values_differ(
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
    let cause = if yours < 0.0 || ((theirs - yours) - 1.0).abs() < 1e-9 {
        "your value is the reference's minus 1: Rust's % keeps the sign of what it divides, so -0.25 % 1.0 is -0.25, where numpy's % 1 gives 0.75 — use gridgen::field::frac(v), numpy's floor modulo (or v - v.floor()) (vectorizing.md#one-array-expression)".to_string()
    } else if (yours - theirs).abs() < 1e-9 {
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
