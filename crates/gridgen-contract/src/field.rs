//! The data contract: the grid and the field every step writes.
//!
//! Every value here must equal what numpy computes for the Python original, bit for bit, so the
//! order of operations is fixed: squares as products, the three terms added left to right, `t/n`
//! as one f64 division, and numpy's floor modulo for `% 1`.

use ndarray::{Array1, Array2, Zip};

/// Centre of the grid along x.
pub const X_ORIGIN: f64 = 0.0;
/// Centre of the grid along y.
pub const Y_ORIGIN: f64 = 500.0;

/// The `size` points `origin - size/2, …, origin + size/2 - 1`, like
/// `numpy.arange(origin - size/2, origin + size/2, 1)`. Odd sizes give half-integers.
pub fn arange(origin: f64, size: usize) -> Array1<f64> {
    let start = origin - size as f64 / 2.0;
    Array1::from_iter((0..size).map(|j| start + j as f64))
}

/// The grid's two axes, `(x, y)`.
pub fn axes(size: usize) -> (Array1<f64>, Array1<f64>) {
    (arange(X_ORIGIN, size), arange(Y_ORIGIN, size))
}

/// `numpy.meshgrid(x, y)`: rows run over y, columns over x ('xy' indexing).
pub fn meshgrid(x: &Array1<f64>, y: &Array1<f64>) -> (Array2<f64>, Array2<f64>) {
    let shape = (y.len(), x.len());
    let xx = Array2::from_shape_fn(shape, |(_, j)| x[j]);
    let yy = Array2::from_shape_fn(shape, |(i, _)| y[i]);
    (xx, yy)
}

/// numpy's `v % 1.0` for a finite `v`: the result lies in [0, 1) and a zero is +0.0.
///
/// `v - v.floor()` rounds the same exact difference that numpy's `fmod` then `+ 1` rounds, so the
/// bits agree, and it costs a fraction of libm's `fmod`. Integers give `v - v`, which is +0.0.
#[inline]
pub fn frac(v: f64) -> f64 {
    v - v.floor()
}

/// The field at one point `(x, y)` for file `file_id` of `n_files`.
#[inline]
pub fn generate_value(x: f64, y: f64, n_files: usize, file_id: usize) -> f64 {
    let (x, y) = (x / 10.0, y / 10.0);
    frac(x * x * y + y * y * x + file_id as f64 / n_files as f64)
}

/// The field over a whole meshgrid: one elementwise expression over `xx` and `yy` — what every
/// step from `write_vectorized` on writes in its own `main.rs`, here for the tools that check
/// them (the end-to-end tests tie it to numpy's own values).
pub fn generate_data(
    xx: &Array2<f64>,
    yy: &Array2<f64>,
    n_files: usize,
    file_id: usize,
) -> Array2<f64> {
    Zip::from(xx)
        .and(yy)
        .map_collect(|&x, &y| generate_value(x, y, n_files, file_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy's floor modulo as its C code states it: fmod, then shift negatives up, +0.0 for zero.
    fn numpy_mod1(v: f64) -> f64 {
        let r = v % 1.0;
        if r == 0.0 {
            0.0
        } else if r < 0.0 {
            r + 1.0
        } else {
            r
        }
    }

    #[test]
    fn even_axes_are_integers_centred_on_the_origin() {
        let (x, y) = axes(4);
        assert_eq!(x.to_vec(), vec![-2.0, -1.0, 0.0, 1.0]);
        assert_eq!(y.to_vec(), vec![498.0, 499.0, 500.0, 501.0]);
    }

    #[test]
    fn odd_axes_are_half_integers() {
        let (x, y) = axes(5);
        assert_eq!(x.to_vec(), vec![-2.5, -1.5, -0.5, 0.5, 1.5]);
        assert_eq!(y.to_vec(), vec![497.5, 498.5, 499.5, 500.5, 501.5]);
        let (x, y) = axes(1);
        assert_eq!((x[0], y[0]), (-0.5, 499.5));
    }

    #[test]
    fn meshgrid_rows_run_over_y() {
        let (x, y) = axes(3);
        let (xx, yy) = meshgrid(&x, &y);
        assert_eq!(xx.row(2).to_vec(), x.to_vec());
        assert_eq!(yy.column(1).to_vec(), y.to_vec());
    }

    #[test]
    fn frac_matches_numpy_on_negatives_and_zeros() {
        let cases = [
            -0.0,
            0.0,
            3.0,
            -3.0,
            -1e-20,
            1e-20,
            -0.25,
            -1.75,
            2.5,
            -1e300,
            1e300,
            -4503599627370495.5,
        ];
        for v in cases {
            let (ours, numpy) = (frac(v), numpy_mod1(v));
            assert_eq!(ours.to_bits(), numpy.to_bits(), "v = {v:e}");
        }
        assert_eq!(frac(-2.0).to_bits(), 0.0f64.to_bits(), "integers give +0.0");
        assert_eq!(frac(-0.0).to_bits(), 0.0f64.to_bits(), "-0.0 gives +0.0");
        assert_eq!(
            frac(-1e-20),
            1.0,
            "a tiny negative rounds up to 1.0, as in numpy"
        );
    }

    #[test]
    fn frac_matches_numpy_on_many_values() {
        // A fixed xorshift sequence of bit patterns: every finite f64 has to agree.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut checked = 0;
        while checked < 2_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = f64::from_bits(state);
            if !v.is_finite() {
                continue;
            }
            assert_eq!(frac(v).to_bits(), numpy_mod1(v).to_bits(), "v = {v:e}");
            checked += 1;
        }
    }

    #[test]
    fn field_gives_zero_for_exact_integer_sums() {
        // x = 0: both products vanish, so the value is frac(t/n).
        assert_eq!(generate_value(0.0, 500.0, 4, 0).to_bits(), 0.0f64.to_bits());
        assert_eq!(generate_value(0.0, 500.0, 4, 2), 0.5);
        // (1)^2*50 + 50^2*1 = 2550, an integer: +0.0, not -0.0.
        assert_eq!(
            generate_value(10.0, 500.0, 3, 0).to_bits(),
            0.0f64.to_bits()
        );
        // (-1)^2*50 + 50^2*(-1) = -2450: a negative integer, still +0.0.
        assert_eq!(
            generate_value(-10.0, 500.0, 3, 0).to_bits(),
            0.0f64.to_bits()
        );
    }

    #[test]
    fn field_follows_numpy_floor_modulo_on_negative_sums() {
        // x = -0.5, y = 499.5: a negative sum; numpy gives the value in [0, 1).
        let (x, y) = (-0.05f64, 49.95f64);
        let sum = x * x * y + y * y * x + 1.0 / 3.0;
        assert!(sum < 0.0);
        let v = generate_value(-0.5, 499.5, 3, 1);
        assert_eq!(v.to_bits(), numpy_mod1(sum).to_bits());
        assert!((0.0..1.0).contains(&v));
    }

    #[test]
    fn whole_array_and_scalar_functions_agree_bit_for_bit() {
        for size in [1, 2, 5, 64, 101] {
            let (x, y) = axes(size);
            let (xx, yy) = meshgrid(&x, &y);
            for (n, t) in [(1, 0), (7, 3), (100, 99)] {
                let data = generate_data(&xx, &yy, n, t);
                for ((i, j), &v) in data.indexed_iter() {
                    assert_eq!(v.to_bits(), generate_value(x[j], y[i], n, t).to_bits());
                }
            }
        }
    }
}
