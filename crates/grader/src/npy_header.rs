//! A `.npy` header read field by field — the magic and version, the length, the value type, the
//! order, the shape, the padding — so that the grader can say which one differs from numpy's,
//! and what it should be.

/// What a header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `\x93NUMPY` then version 1.0.
    pub preamble_ok: bool,
    /// Bytes from the start of the file to the first value, as its length field says.
    pub length: Option<usize>,
    /// The dict's fields, as written: `'<f8'`, `False`, `(100, 100)`.
    pub descr: Option<String>,
    pub fortran_order: Option<String>,
    pub shape: Option<String>,
    /// The dict's text, as a reader would print it.
    pub text: String,
}

/// The value of `key` in the dict text, up to the next `end`: `'shape': (100, 100)`.
fn field(text: &str, key: &str, end: char) -> Option<String> {
    let start = text.find(&format!("'{key}': "))? + key.len() + 4;
    let rest = &text[start..];
    let stop = match rest.chars().next()? {
        '(' => rest.find(')')? + 1,
        '\'' => rest[1..].find('\'')? + 2,
        _ => rest.find(end)?,
    };
    Some(rest[..stop].to_owned())
}

/// Reads the header at the start of `bytes`.
pub fn parse(bytes: &[u8]) -> Header {
    let preamble_ok = bytes.starts_with(b"\x93NUMPY\x01\x00");
    let length = bytes
        .get(8..10)
        .map(|l| 10 + u16::from_le_bytes([l[0], l[1]]) as usize);
    let end = length
        .unwrap_or(0)
        .clamp(10.min(bytes.len()), bytes.len().min(4096));
    let raw = bytes.get(10..end).unwrap_or_default();
    let text: String = String::from_utf8_lossy(raw)
        .chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect();
    Header {
        preamble_ok,
        length,
        descr: field(&text, "descr", ','),
        fortran_order: field(&text, "fortran_order", ','),
        shape: field(&text, "shape", ','),
        text: text.trim_end().to_owned(),
    }
}

/// The parts of a header, each a cause of its own when it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Preamble,
    ValueType,
    Order,
    Shape,
    Padding,
}

impl Field {
    pub fn cause(self) -> crate::cause::Cause {
        use crate::cause::Cause;
        match self {
            Field::Preamble => Cause::NpyPreamble,
            Field::ValueType => Cause::NpyValueType,
            Field::Order => Cause::NpyOrder,
            Field::Shape => Cause::NpyShape,
            Field::Padding => Cause::NpyPadding,
        }
    }
}

/// The first field of `yours` that differs from `numpys`, and what it should be.
pub fn first_difference(yours: &Header, numpys: &Header) -> Option<(Field, String)> {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "missing".into());
    if !yours.preamble_ok {
        return Some((
            Field::Preamble,
            "the preamble: a .npy file starts with the 6 bytes \\x93NUMPY, then the version 1.0 (two bytes, 1 and 0)".into(),
        ));
    }
    if yours.descr != numpys.descr {
        return Some((
            Field::ValueType,
            format!(
                "the value type: yours is {}, numpy's {} — the values are f64, little-endian",
                show(&yours.descr),
                show(&numpys.descr)
            ),
        ));
    }
    if yours.fortran_order != numpys.fortran_order {
        return Some((
            Field::Order,
            format!(
            "the order: yours is {}, numpy's {} — ndarray stores rows one after another, C order",
            show(&yours.fortran_order),
            show(&numpys.fortran_order)
        ),
        ));
    }
    if yours.shape != numpys.shape {
        return Some((Field::Shape, format!(
            "the shape: yours is {}, numpy's {} — the header's shape is the array's, data.shape(), every dimension",
            show(&yours.shape),
            show(&numpys.shape)
        )));
    }
    if yours.length != numpys.length || yours.text != numpys.text {
        return Some((Field::Padding, format!(
            "the padding: your header takes {} bytes, numpy's {} — the dict is padded with spaces so that the values start at a multiple of 64, and ends with a newline",
            yours.length.map_or("?".into(), |l| l.to_string()),
            numpys.length.map_or("?".into(), |l| l.to_string())
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(dict: &str) -> Vec<u8> {
        let mut text = dict.to_owned();
        while (10 + text.len() + 1) % 64 != 0 {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.as_bytes());
        bytes
    }

    const NUMPY: &str = "{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }";

    #[test]
    fn each_field_is_named_when_it_differs() {
        let numpy = parse(&header(NUMPY));
        assert_eq!(numpy.shape.as_deref(), Some("(100, 100)"));
        assert_eq!(numpy.descr.as_deref(), Some("'<f8'"));
        assert_eq!(numpy.length, Some(128));
        assert_eq!(first_difference(&numpy, &numpy), None);
        let cases = [
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (100, 100), }",
                "the value type",
            ),
            (
                "{'descr': '<f8', 'fortran_order': True, 'shape': (100, 100), }",
                "the order",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (10000,), }",
                "the shape",
            ),
        ];
        for (dict, named) in cases {
            let (_, why) = first_difference(&parse(&header(dict)), &numpy).unwrap();
            assert!(why.starts_with(named), "{why}");
        }
        let mut short = header(NUMPY);
        short.truncate(100);
        short[8] = 90;
        let (field, why) = first_difference(&parse(&short), &numpy).unwrap();
        assert!(why.starts_with("the padding"), "{why}");
        assert_eq!(field, Field::Padding);
        let (field, _) = first_difference(&parse(b"NUMPY"), &numpy).unwrap();
        assert_eq!(field, Field::Preamble);
    }
}
