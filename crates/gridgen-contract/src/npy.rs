//! The header of a `.npy` file, byte for byte as `numpy.save` writes it.
//!
//! A `.npy` file is a short header — the magic bytes `\x93NUMPY`, a version, the header's length
//! and a Python dict literal naming the value type, the memory order and the shape — and then the
//! values' bytes. npyz's writer spells a 2-D shape `(7, 7, )` where numpy writes `(7, 7)`: every
//! reader parses both alike, but the files differ. With this header the steps' files are the
//! very bytes `numpy.save` writes for the same array (the tests compare them).

/// numpy leaves room in the header for the first axis to grow to this many digits in place.
const GROWTH_DIGITS: usize = 21;
/// The values start at a multiple of this many bytes from the start of the file.
const ALIGN: usize = 64;
/// `\x93NUMPY`, version 1.0, then the header text's length as a little-endian u16.
const MAGIC: &[u8; 8] = b"\x93NUMPY\x01\x00";

/// The header `numpy.save` writes for a C-ordered array of little-endian f64 of `shape`.
pub fn header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    // Python's repr of a tuple: `()`, `(7,)`, `(7, 7)`.
    let shape_text = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    // npyz knows the dtype's spelling: `'<f8'`.
    let descr = <f64 as npyz::AutoSerialize>::default_dtype().descr();
    let mut text = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape_text}, }}");
    if let Some(first) = dims.first() {
        text.push_str(&" ".repeat(GROWTH_DIGITS.saturating_sub(first.len())));
    }
    // Spaces, then a newline, so that the values start aligned.
    let unpadded = MAGIC.len() + 2 + text.len() + 1;
    text.push_str(&" ".repeat(unpadded.next_multiple_of(ALIGN) - unpadded));
    text.push('\n');
    let length = u16::try_from(text.len()).expect("the header of an array of a few dimensions");
    let mut bytes = Vec::with_capacity(MAGIC.len() + 2 + text.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&length.to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// numpy's `data.tobytes()`: the values as they sit in memory — rows one after another (C
/// order), each value as the 8 bytes of a little-endian f64 — what follows the header.
///
/// # Panics
/// If `data` is not in C order (a transposed view): make a copy with `.as_standard_layout()`.
pub fn tobytes(data: &ndarray::Array2<f64>) -> &[u8] {
    const _: () = assert!(cfg!(target_endian = "little"), "'<f8' is little-endian");
    let values = data
        .as_slice()
        .expect("an array in C order (rows one after another)");
    bytemuck::cast_slice(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What numpy 1.24 writes for `numpy.save(f, numpy.zeros((7, 7)))`, before the values.
    #[test]
    fn a_small_square_array() {
        let mut expected = b"\x93NUMPY\x01\x00v\x00".to_vec();
        expected.extend_from_slice(b"{'descr': '<f8', 'fortran_order': False, 'shape': (7, 7), }");
        expected.extend_from_slice(&[b' '; 58]);
        expected.push(b'\n');
        assert_eq!(header(&[7, 7]), expected);
    }

    #[test]
    fn values_start_aligned_and_the_header_parses() {
        for shape in [
            vec![1, 1],
            vec![100, 100],
            vec![123_456_789, 3],
            vec![5],
            vec![],
        ] {
            let bytes = header(&shape);
            assert_eq!(bytes.len() % ALIGN, 0, "{shape:?}");
            assert_eq!(*bytes.last().unwrap(), b'\n');
            let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!(len + 10, bytes.len());
            // npyz reads it back: a header followed by the right number of values.
            let count: usize = shape.iter().product();
            let mut file = bytes.clone();
            file.extend(std::iter::repeat_n(0u8, 8 * count));
            let npy = npyz::NpyFile::new(&file[..]).unwrap();
            let read: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
            assert_eq!(read, shape);
        }
    }
}
