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

/// The fast path's range, [2^-12, 1): every value of the field but one in about four thousand.
/// Below 2^-12 a value times 2^64 is no longer a whole number, which the fast path relies on.
const FAST: std::ops::Range<f64> = 1.0 / 4096.0..1.0;

/// Appends `v` formatted as C's `%.18e`.
#[inline]
pub fn push_e18(out: &mut Vec<u8>, v: f64) {
    if FAST.contains(&v) {
        push_e18_fast(out, v);
    } else {
        push_e18_slow(out, v);
    }
}

#[inline]
fn push_e18_fast(out: &mut Vec<u8>, v: f64) {
    let mut buf = [0u8; VALUE_WIDTH];
    e18_fast(&mut buf, v);
    out.extend_from_slice(&buf);
}

/// Writes the 24 bytes of `v` in [`FAST`] as `%.18e` writes them into `buf`.
///
/// Exact: in that range `f = v · 2^64` is a whole number below 2^64 (the mantissa shifted left),
/// a fraction with 64 bits after the point. Multiplying it by 10^k, in a 64 × 64-bit product,
/// moves the next k digits into the high half and leaves the rest of the fraction, to the last
/// bit, in the low half: three products give the 3 + 8 + 8 digits, and the fraction left over
/// decides the rounding — half to even, as glibc's printf does.
///
/// It writes in place rather than returning an array: copying a returned array reads back bytes
/// just stored in pieces of other widths, which the CPU cannot forward and stalls on (perf
/// showed that copy as the costliest instruction of `savetxt`). Always inlined into the row
/// loop, which `make bench-text` times faster than a call per value (run it to see by how much).
#[inline(always)]
fn e18_fast(buf: &mut [u8; VALUE_WIDTH], v: f64) {
    debug_assert!(FAST.contains(&v));
    let bits = v.to_bits();
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    // v = mantissa · 2^(e - 1075); the range keeps 64 + e - 1075 in 0..=11.
    let mut f = mantissa << (((bits >> 52) as u32 & 0x7ff) - 1011);
    let mut exponent = -1i32;
    // Below 0.1 (one value in ten) the first digit would be a zero: scale by ten, exactly, until
    // it is not. At most three times in this range.
    while f <= u64::MAX / 10 {
        f *= 10;
        exponent -= 1;
    }
    let (head, f) = next_digits(f, 1000); // 100..=999
    let (middle, f) = next_digits(f, EIGHT);
    let (tail, fraction) = next_digits(f, EIGHT);
    // Round half to even without a branch: the 19th digit rounds up about half the time, at
    // random, which no branch predictor can guess. A carry out of the last eight digits is
    // rare (one value in 10^8) and goes on by branches.
    const HALF: u64 = 1 << 63;
    let up = (fraction > HALF) | ((fraction == HALF) & (tail & 1 == 1));
    let (mut head, mut middle, mut tail) = (head, middle, tail + u64::from(up));
    if tail == EIGHT {
        tail = 0;
        middle += 1;
        if middle == EIGHT {
            middle = 0;
            head += 1;
            if head == 1000 {
                head = 100;
                exponent += 1;
            }
        }
    }
    // n / 100 == n * 41 >> 12 for n < 1000 (checked for every n in the tests).
    let first = (head * 41) >> 12;
    let first_two = (head - first * 100) as usize;
    buf[0] = b'0' + first as u8;
    buf[1] = b'.';
    buf[2..4].copy_from_slice(&DIGIT_PAIRS[2 * first_two..2 * first_two + 2]);
    buf[4..12].copy_from_slice(&eight_digits(middle as u32));
    buf[12..20].copy_from_slice(&eight_digits(tail as u32));
    let e = exponent.unsigned_abs() as usize;
    buf[20] = b'e';
    buf[21] = if exponent < 0 { b'-' } else { b'+' };
    buf[22..24].copy_from_slice(&DIGIT_PAIRS[2 * e..2 * e + 2]);
}

const EIGHT: u64 = 100_000_000;

/// The whole part and the fraction of `fraction / 2^64 · scale`: the next digits of a fraction.
#[inline(always)]
fn next_digits(fraction: u64, scale: u64) -> (u64, u64) {
    let product = u128::from(fraction) * u128::from(scale);
    ((product >> 64) as u64, product as u64)
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
/// size 100 — few system calls, and no extra buffer to copy through.
const CHUNK: usize = 1 << 16;

/// The longest `%.18e` of a finite f64, `-d.dddddddddddddddddde-ddd`, with its separator.
const MAX_WIDTH: usize = 27;

/// A fixed buffer of text on its way to a writer. It lives on the stack: a buffer on the heap,
/// made and freed for every file, made glibc hand the freed pages back to the kernel after each
/// file and fault them in again for the next (`strace -e brk` on the step shows it).
struct Chunk<W: Write> {
    text: [u8; CHUNK],
    len: usize,
    writer: W,
    written: u64,
}

impl<W: Write> Chunk<W> {
    fn room(&self) -> usize {
        CHUNK - self.len
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.write_all(&self.text[..self.len])?;
        self.written += self.len as u64;
        self.len = 0;
        Ok(())
    }

    /// Makes room for `bytes` more, handing the text so far to the writer if need be.
    fn reserve(&mut self, bytes: usize) -> io::Result<()> {
        if self.room() < bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn push(&mut self, bytes: &[u8]) {
        self.text[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// A row that fits the room left, if all its values are in [`FAST`]: each value goes to its
    /// own place, with nothing carried from one value to the next. The range is checked as the
    /// row is written, not in a pass of its own; a value outside it (rare) undoes the row and
    /// returns false.
    fn fast_row<'a>(&mut self, row: impl Iterator<Item = &'a f64>) -> bool {
        let start = self.len;
        let places = self.text[start..].chunks_exact_mut(VALUE_WIDTH + 1);
        for (place, &v) in places.zip(row) {
            if !FAST.contains(&v) {
                self.len = start;
                return false;
            }
            if let Some((value, separator)) = place.split_first_chunk_mut::<VALUE_WIDTH>() {
                e18_fast(value, v);
                separator[0] = b' ';
                self.len += VALUE_WIDTH + 1;
            }
        }
        // The last separator ends the row.
        self.text[self.len - 1] = b'\n';
        true
    }

    /// Any other row, one value at a time.
    fn mixed_row<'a>(&mut self, row: impl Iterator<Item = &'a f64>) -> io::Result<()> {
        let mut slow = Vec::new();
        for (j, &v) in row.enumerate() {
            self.reserve(MAX_WIDTH)?;
            if j > 0 {
                self.push(b" ");
            }
            slow.clear();
            push_e18(&mut slow, v);
            self.push(&slow);
        }
        self.reserve(1)?;
        self.push(b"\n");
        Ok(())
    }
}

/// Writes `data` as `numpy.savetxt` does. Rows are formatted into one buffer of `CHUNK` bytes,
/// which goes to `writer` in one `write_all` whenever the next row does not fit, so memory stays
/// small even for large grids and `writer` needs no buffering of its own.
pub fn savetxt<W: Write>(writer: W, data: &Array2<f64>) -> io::Result<u64> {
    let mut chunk = Chunk {
        text: [0; CHUNK],
        len: 0,
        writer,
        written: 0,
    };
    let row_width = data.ncols() * (VALUE_WIDTH + 1);
    for row in data.rows() {
        if row_width > 0 && row_width <= CHUNK {
            chunk.reserve(row_width)?;
            if chunk.fast_row(row.iter()) {
                continue;
            }
        }
        chunk.mixed_row(row.iter())?;
    }
    chunk.flush()?;
    chunk.writer.flush()?;
    Ok(chunk.written)
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
                if FAST.contains(&v) {
                    assert_eq!(e18(v), reference(v), "{v:e}");
                    for step in [v.next_up(), v.next_down()] {
                        assert_eq!(e18(step), reference(step), "{step:e}");
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 6000, "only {checked} values checked");
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
    fn a_carry_out_of_the_last_eight_digits_is_carried() {
        // v · 10^p just below a whole number, for the p that puts the 11th of the 19 digits
        // before the point, means that those digits end in 99999999 and round up. With
        // v = m / 2^(52 + j) that is m · 5^p ≡ -1 modulo 2^(52 + j - p), solved for m.
        fn inverse(a: u64) -> u64 {
            let mut x = a;
            for _ in 0..6 {
                x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
            }
            x
        }
        let mut carried = 0;
        for j in 1..=12u32 {
            for p in 11..=14u32 {
                let modulus = 1u64 << (52 + j - p);
                let m0 = (modulus - 1).wrapping_mul(inverse(5u64.pow(p))) & (modulus - 1);
                let k0 = (1u64 << 52).saturating_sub(m0).div_ceil(modulus);
                for k in k0..k0 + 16 {
                    let m = m0 + k * modulus;
                    if m >= 1 << 53 {
                        break;
                    }
                    let v = m as f64 / 2f64.powi((52 + j) as i32);
                    let text = e18(v);
                    assert_eq!(text, reference(v), "value {v:e}");
                    if FAST.contains(&v) && &text[12..20] == "00000000" {
                        carried += 1;
                    }
                }
            }
        }
        assert!(carried >= 100, "only {carried} carries checked");
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
        // The fast path's lower edge, 2^-12, and the values beside it on either path.
        let edge = FAST.start;
        for v in [
            edge,
            edge.next_down(),
            edge.next_up(),
            4.0 * edge.next_down(),
        ] {
            assert_eq!(e18(v), reference(v), "value {v:e}");
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

    fn value_by_value(data: &Array2<f64>) -> String {
        let mut expected = String::new();
        for row in data.rows() {
            let texts: Vec<String> = row.iter().map(|&v| e18(v)).collect();
            expected += &(texts.join(" ") + "\n");
        }
        expected
    }

    fn savetxt_string(data: &Array2<f64>) -> String {
        let mut out = Vec::new();
        let written = savetxt(&mut out, data).unwrap();
        assert_eq!(written, out.len() as u64);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rows_of_fixed_width_and_mixed_rows_are_written_alike() {
        // One row all in the fast path's range, one with a zero and one with a large value.
        let data = ndarray::array![
            [0.5, 0.123, 0.000_15, 0.999],
            [0.5, 0.0, 0.25, 0.75],
            [1e-7, 0.3, 12.5, 0.1],
        ];
        assert_eq!(savetxt_string(&data), value_by_value(&data));
        // Rows wider than the buffer, and rows that end the buffer part way, both kinds.
        let wide = Array2::from_shape_fn((5, 3000), |(i, j)| match (i, j) {
            (1, 7) => 0.0,
            (3, 2999) => 1e-9,
            _ => ((i * 3000 + j) as f64 * 0.618_033_988_749_895).fract() * 0.99 + 0.005,
        });
        assert_eq!(savetxt_string(&wide), value_by_value(&wide));
        let narrow = Array2::from_shape_fn((2000, 7), |(i, j)| {
            if (i + j) % 97 == 0 {
                -3.5
            } else {
                0.25 + (i * 7 + j) as f64 / 20_000.0
            }
        });
        assert_eq!(savetxt_string(&narrow), value_by_value(&narrow));
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
