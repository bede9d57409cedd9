//! Text output exactly as `numpy.savetxt(path, data)` writes it: every value as C's `%.18e`,
//! one space between values, `\n` after each row.
//!
//! Rust's own `{:.18e}` is exact but many times slower (`make bench-text` times both) and
//! spells the exponent differently (`e-1`, not `e-01`). Every value of the field lies in [0, 1),
//! which allows an exact integer fast path; anything else goes through the standard formatter.

use std::io::{self, Write};

use ndarray::Array2;

/// Bytes of one formatted value in the fast path's range: `d.dddddddddddddddddde-0d`.
pub const VALUE_WIDTH: usize = 24;

const TEN_POW_18: u64 = 1_000_000_000_000_000_000;

static DIGIT_PAIRS: [u8; 200] = {
    let mut table = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        table[2 * i] = b'0' + (i / 10) as u8;
        table[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    table
};

/// Appends `v` formatted as C's `%.18e`.
#[inline]
pub fn push_e18(out: &mut Vec<u8>, v: f64) {
    if (1e-4..1.0).contains(&v) {
        push_e18_fast(out, v);
    } else {
        push_e18_slow(out, v);
    }
}

/// Exact for `v` in [1e-4, 1): `v = m · 2^-shift`, so `v · 10^k` for the 19-digit scale `k` is
/// `m · 10^k >> shift`, an integer division that fits in u128 (m < 2^53, 10^k ≤ 10^22).
/// The remainder decides the rounding: half to even, as glibc's printf does.
#[inline]
fn push_e18_fast(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&e18_fast(v));
}

/// The 24 bytes of `v` in [1e-4, 1) as `%.18e` writes them.
#[inline]
fn e18_fast(v: f64) -> [u8; VALUE_WIDTH] {
    let bits = v.to_bits();
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    let shift = 1075 - ((bits >> 52) & 0x7ff) as u32; // 53..=66 in this range
    let mut exponent = -1i32;
    let mut scale = 10_000_000_000_000_000_000u128; // 10^19 = 10^(18 - exponent)
    let (mut digits, remainder) = loop {
        let product = mantissa as u128 * scale;
        let digits = (product >> shift) as u64;
        if digits >= TEN_POW_18 || exponent == -4 {
            break (digits, product & ((1u128 << shift) - 1));
        }
        exponent -= 1;
        scale *= 10;
    };
    // Round half to even without a branch: the 19th digit rounds up about half the time, at
    // random, which no branch predictor can guess.
    let half = 1u128 << (shift - 1);
    let up = (remainder > half) | ((remainder == half) & (digits & 1 == 1));
    digits += u64::from(up);
    if digits == 10 * TEN_POW_18 {
        digits = TEN_POW_18;
        exponent += 1;
    }
    let mut buf = [0u8; VALUE_WIDTH];
    // The first three digits in one division, then the last sixteen, eight at a time.
    let (head, last_sixteen) = (digits / 10u64.pow(16), digits % 10u64.pow(16));
    // n / 100 == n * 41 >> 12 for n < 1000 (checked for every n in the tests).
    let first = (head * 41) >> 12;
    let first_two = (head - first * 100) as usize;
    buf[0] = b'0' + first as u8;
    buf[1] = b'.';
    buf[2..4].copy_from_slice(&DIGIT_PAIRS[2 * first_two..2 * first_two + 2]);
    buf[4..12].copy_from_slice(&eight_digits((last_sixteen / 100_000_000) as u32));
    buf[12..20].copy_from_slice(&eight_digits((last_sixteen % 100_000_000) as u32));
    let e = exponent.unsigned_abs() as usize;
    buf[20] = b'e';
    buf[21] = if exponent < 0 { b'-' } else { b'+' };
    buf[22..24].copy_from_slice(&DIGIT_PAIRS[2 * e..2 * e + 2]);
    buf
}

/// The eight decimal digits of `x` (< 10^8) as ASCII, computed in the lanes of one u64: two
/// halves of four digits, then four pairs, then eight digits, each split by a multiply and a
/// shift that equal division by 100 and by 10 for lanes this small.
#[inline]
fn eight_digits(x: u32) -> [u8; 8] {
    debug_assert!(x < 100_000_000);
    let (high, low) = (x / 10_000, x % 10_000);
    // Two 32-bit lanes, the first digits in the lowest bytes (the first in memory).
    let fours = u64::from(high) | (u64::from(low) << 32);
    // n / 100 == n * 10486 >> 20 for n < 10 000 (checked for every n in the tests).
    let hundreds = ((fours * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let pairs = hundreds | ((fours - hundreds * 100) << 16);
    // n / 10 == n * 103 >> 10 for n < 100.
    let tens = ((pairs * 103) >> 10) & 0x000f_000f_000f_000f;
    let digits = tens | ((pairs - tens * 10) << 8);
    (digits | 0x3030_3030_3030_3030).to_le_bytes()
}

/// Any other value: Rust's exact formatter, with the exponent rewritten the C way.
#[cold]
fn push_e18_slow(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    let rust = format!("{v:.18e}");
    let (mantissa, exponent) = rust.split_once('e').expect("LowerExp always writes an 'e'");
    let exponent: i32 = exponent
        .parse()
        .expect("LowerExp writes an integer exponent");
    let sign = if exponent < 0 { '-' } else { '+' };
    let c_style = format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    out.extend_from_slice(c_style.as_bytes());
}

/// How many bytes of text are formatted before they are handed to the writer: a few rows at
/// size 100, one at size 1000 — few system calls, and no extra buffer to copy through.
const CHUNK: usize = 1 << 16;

/// Writes `data` as `numpy.savetxt` does. Rows are formatted into one buffer of about
/// [`CHUNK`] bytes, which goes to `writer` in one `write_all` whenever it is full, so memory
/// stays small even for large grids and `writer` needs no buffering of its own.
pub fn savetxt<W: Write>(mut writer: W, data: &Array2<f64>) -> io::Result<u64> {
    let row_bytes = data.ncols() * (VALUE_WIDTH + 1) + 1;
    let mut text = Vec::with_capacity(CHUNK + row_bytes);
    let mut written = 0u64;
    for row in data.rows() {
        if !row.is_empty() && row.iter().all(|v| (1e-4..1.0).contains(v)) {
            // Every value of the row has the fast path's fixed width: each goes to its own place
            // in the buffer, with nothing carried from one value to the next.
            let start = text.len();
            text.resize(start + row.len() * (VALUE_WIDTH + 1), b' ');
            let places = text[start..].chunks_exact_mut(VALUE_WIDTH + 1);
            for (place, &v) in places.zip(row) {
                place[..VALUE_WIDTH].copy_from_slice(&e18_fast(v));
            }
            text.pop();
        } else {
            for (j, &v) in row.iter().enumerate() {
                if j > 0 {
                    text.push(b' ');
                }
                push_e18(&mut text, v);
            }
        }
        text.push(b'\n');
        if text.len() >= CHUNK {
            writer.write_all(&text)?;
            written += text.len() as u64;
            text.clear();
        }
    }
    writer.write_all(&text)?;
    written += text.len() as u64;
    writer.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e18(v: f64) -> String {
        let mut out = Vec::new();
        push_e18(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn reference(v: f64) -> String {
        let mut out = Vec::new();
        push_e18_slow(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_printf_on_known_values() {
        // Each expected string was printed by Python's '%.18e' (C printf underneath), subnormals
        // and the smallest normal value included.
        let cases = [
            (0.0, "0.000000000000000000e+00"),
            (-0.0, "-0.000000000000000000e+00"),
            (0.5, "5.000000000000000000e-01"),
            (0.1, "1.000000000000000056e-01"),
            (1e-4, "1.000000000000000048e-04"),
            (1e-5, "1.000000000000000082e-05"),
            (1.0 - f64::EPSILON / 2.0, "9.999999999999998890e-01"),
            (104859.0 / 1048576.0, "1.000013351440429688e-01"),
            (123456.0, "1.234560000000000000e+05"),
            (1e100, "1.000000000000000016e+100"),
            (-2.5e-300, "-2.499999999999999980e-300"),
            (1.0, "1.000000000000000000e+00"),
            (-7.0, "-7.000000000000000000e+00"),
            (5e-324, "4.940656458412465442e-324"),
            (2.2250738585072014e-308, "2.225073858507201383e-308"),
            (1e-310, "9.999999999999969449e-311"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, expected) in cases {
            assert_eq!(e18(v), expected, "value {v:e}");
        }
    }

    #[test]
    fn fast_path_agrees_with_the_exact_formatter_on_millions_of_values() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2_000_000 {
            // Uniform in [0, 1) and log-uniform down to 1e-4, so each decade is hit.
            let uniform = (next() >> 11) as f64 / (1u64 << 53) as f64;
            let log_uniform = 10f64.powf(-4.0 * uniform);
            for v in [uniform, log_uniform * 0.999_999_999] {
                assert_eq!(e18(v), reference(v), "value {v:e}");
            }
        }
    }

    #[test]
    fn zeros_inside_the_digits_are_kept() {
        // Values whose 18 fractional digits hold long runs of zeros, at the start, the middle
        // or the end, keep every one of them.
        let mut checked = 0;
        for exponent in 1..=4 {
            for k in 0..2000u32 {
                let base = [
                    1.0,
                    1.000000001,
                    1.000000000000000001,
                    9.999999999,
                    5.0000000005,
                ][(k % 5) as usize];
                let v = (base + f64::from(k / 5) * 1e-9) / 10f64.powi(exponent);
                if (1e-4..1.0).contains(&v) {
                    assert_eq!(e18(v), reference(v), "{v:e}");
                    for step in [v.next_up(), v.next_down()] {
                        assert_eq!(e18(step), reference(step), "{step:e}");
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 7000);
    }

    #[test]
    fn fast_path_rounds_ties_to_even() {
        // With v = odd / 2^(k+1) in the decade [10^(18-k), 10^(19-k)), v·10^k = odd·5^k / 2 lies
        // exactly halfway between two integers: the 19th digit is a tie.
        let mut ties = 0;
        for k in 19..=22i32 {
            let (low, high) = (10f64.powi(18 - k), 10f64.powi(19 - k));
            let denominator = 2f64.powi(k + 1);
            let first = (low * denominator) as u64 | 1;
            for odd in (first..first + 400_000).step_by(2) {
                let v = odd as f64 / denominator;
                if (low..high).contains(&v) {
                    assert_eq!(e18(v), reference(v), "tie {v:e}");
                    ties += 1;
                }
            }
        }
        assert!(ties > 300_000, "only {ties} ties checked");
    }

    #[test]
    fn decade_boundaries_and_their_neighbours() {
        for exponent in -5..=0 {
            let p = 10f64.powi(exponent);
            for v in [
                p,
                f64::from_bits(p.to_bits() - 1),
                f64::from_bits(p.to_bits() + 1),
            ] {
                assert_eq!(e18(v), reference(v), "value {v:e}");
            }
        }
        // The largest f64 below 1 keeps its exponent: 19 digits do not round it up to 1.
        assert_eq!(
            e18(f64::from_bits(1f64.to_bits() - 1)),
            "9.999999999999998890e-01"
        );
    }

    #[test]
    fn exponents_of_one_two_and_three_digits() {
        assert_eq!(e18(3e7), "3.000000000000000000e+07");
        assert_eq!(e18(-3e-7), "-2.999999999999999864e-07");
        assert_eq!(e18(2.5e42), "2.500000000000000035e+42");
        assert_eq!(e18(-1e-123), "-1.000000000000000059e-123");
        assert_eq!(e18(1.5e300), "1.500000000000000079e+300");
    }

    #[test]
    fn eight_digits_at_once_are_the_digits() {
        for n in 0..10_000u32 {
            assert_eq!((n * 10_486) >> 20, n / 100, "{n}");
        }
        for n in 0..100u32 {
            assert_eq!((n * 103) >> 10, n / 10, "{n}");
        }
        for n in 0..1000u64 {
            assert_eq!((n * 41) >> 12, n / 100, "{n}");
        }
        let mut x = 0u32;
        while x < 100_000_000 {
            for v in [x, x + 1, x.saturating_sub(1)] {
                assert_eq!(eight_digits(v), format!("{v:08}").as_bytes(), "{v}");
            }
            x += 9_973;
        }
        assert_eq!(&eight_digits(99_999_999), b"99999999");
    }

    #[test]
    fn rows_of_fixed_width_and_mixed_rows_are_written_alike() {
        // One row all in the fast path's range, one with a zero and one with a large value.
        let data = ndarray::array![
            [0.5, 0.123, 0.000_15, 0.999],
            [0.5, 0.0, 0.25, 0.75],
            [1e-7, 0.3, 12.5, 0.1],
        ];
        let mut expected = String::new();
        for row in data.rows() {
            let texts: Vec<String> = row.iter().map(|&v| e18(v)).collect();
            expected += &(texts.join(" ") + "\n");
        }
        let mut out = Vec::new();
        savetxt(&mut out, &data).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let mut empty = Vec::new();
        savetxt(&mut empty, &Array2::<f64>::zeros((2, 0))).unwrap();
        assert_eq!(empty, b"\n\n");
    }

    #[test]
    fn savetxt_layout() {
        let data = ndarray::array![[0.5, 0.25], [0.0, 0.125]];
        let mut out = Vec::new();
        let written = savetxt(&mut out, &data).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "5.000000000000000000e-01 2.500000000000000000e-01\n\
             0.000000000000000000e+00 1.250000000000000000e-01\n"
        );
        assert_eq!(written, text.len() as u64);
    }
}
