//! Reading a step's Rust source as text: where its ANCHOR markers are, where a function's body
//! begins and ends. The exercise is the step's own file with those bodies cut out, so every
//! other line (comments, layout) stays exactly as the learner sees it in the chapter.

use anyhow::{bail, Context, Result};

pub use steps::source::{anchor_region, is_anchor_line, strip_anchors};

/// The byte offsets of the `{` and `}` of the one function body inside `text[region]`.
pub fn function_body(text: &str, region: (usize, usize)) -> Result<(usize, usize)> {
    let code = Code::new(text);
    let fns: Vec<usize> = code
        .positions(region.0, region.1)
        .filter(|&i| code.word_at(i, "fn"))
        .collect();
    let &[start] = fns.as_slice() else {
        bail!(
            "the region holds {} functions, not exactly one (nested closures are fine)",
            fns.len()
        );
    };
    let open = code
        .positions(start, region.1)
        .find(|&i| code.byte(i) == b'{')
        .context("the function has no body")?;
    let mut depth = 0usize;
    for i in code.positions(open, region.1) {
        match code.byte(i) {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok((open, i));
                }
            }
            _ => {}
        }
    }
    bail!("the function's body does not end inside the region")
}

/// Replaces the body of the one function in `text[region]` with `todo!("<message>")`.
pub fn cut_body(text: &str, region: (usize, usize), message: &str) -> Result<String> {
    let (open, close) = function_body(text, region)?;
    let line_start = text[..open].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let literal = message
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('{', "{{")
        .replace('}', "}}");
    Ok(format!(
        "{}{{\n{indent}    todo!(\"{literal}\")\n{indent}{}",
        &text[..open],
        &text[close..]
    ))
}

/// Rust source with its comments, strings and character literals told apart from code, so
/// that a `{` inside `format!("{x}")` or `'{'` is not taken for a brace.
struct Code<'a> {
    text: &'a [u8],
    /// `true` for each byte that is code.
    code: Vec<bool>,
}

impl<'a> Code<'a> {
    fn new(text: &'a str) -> Code<'a> {
        let text = text.as_bytes();
        let mut code = vec![true; text.len()];
        let mut i = 0;
        while i < text.len() {
            let end = skip_literal(text, i);
            if end > i {
                code[i..end].iter_mut().for_each(|c| *c = false);
                i = end;
            } else {
                i += 1;
            }
        }
        Code { text, code }
    }

    fn byte(&self, i: usize) -> u8 {
        self.text[i]
    }

    /// The positions of code bytes in `from..to`.
    fn positions(&self, from: usize, to: usize) -> impl Iterator<Item = usize> + '_ {
        (from..to.min(self.text.len())).filter(|&i| self.code[i])
    }

    /// True when the word `word` starts at `i` (not as part of a longer name).
    fn word_at(&self, i: usize, word: &str) -> bool {
        let w = word.as_bytes();
        let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        self.text[i..].starts_with(w)
            && (i == 0 || !ident(self.text[i - 1]))
            && self.text.get(i + w.len()).is_none_or(|&b| !ident(b))
    }
}

/// The end of the comment or literal that starts at `i`, or `i` when none starts there.
fn skip_literal(t: &[u8], i: usize) -> usize {
    let at = |k: usize| t.get(k).copied().unwrap_or(0);
    match (at(i), at(i + 1)) {
        (b'/', b'/') => t[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(t.len(), |p| i + p),
        (b'/', b'*') => skip_block_comment(t, i),
        (b'"', _) => skip_string(t, i + 1),
        (b'b', b'"') => skip_string(t, i + 2),
        (b'r', b'"' | b'#') | (b'b', b'r') => skip_raw_string(t, i),
        (b'\'', _) => skip_char(t, i),
        _ => i,
    }
}

fn skip_block_comment(t: &[u8], i: usize) -> usize {
    let (mut depth, mut k) = (0usize, i);
    while k + 1 < t.len() {
        match (t[k], t[k + 1]) {
            (b'/', b'*') => (depth, k) = (depth + 1, k + 2),
            (b'*', b'/') => {
                (depth, k) = (depth - 1, k + 2);
                if depth == 0 {
                    return k;
                }
            }
            _ => k += 1,
        }
    }
    t.len()
}

/// From just after the opening quote to just after the closing one.
fn skip_string(t: &[u8], mut k: usize) -> usize {
    while k < t.len() {
        match t[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    t.len()
}

/// `r"…"`, `r#"…"#`, `br"…"`: no escapes, closed by a quote and as many hashes.
fn skip_raw_string(t: &[u8], i: usize) -> usize {
    // Only a raw string when the letters stand alone (not the end of a name like `ptr`).
    if i > 0 && (t[i - 1].is_ascii_alphanumeric() || t[i - 1] == b'_') {
        return i;
    }
    let mut k = i + if t[i] == b'b' { 2 } else { 1 };
    let hashes = t[k..].iter().take_while(|&&b| b == b'#').count();
    k += hashes;
    if t.get(k) != Some(&b'"') {
        return i; // `r#ident`, or a plain name starting with r
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    t[k + 1..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map_or(t.len(), |p| k + 1 + p + close.len())
}

/// A character literal (`'{'`, `'\n'`, `'\u{7b}'`); a lifetime (`'a`) is code.
fn skip_char(t: &[u8], i: usize) -> usize {
    if t.get(i + 1) == Some(&b'\\') {
        return t[i + 2..]
            .iter()
            .position(|&b| b == b'\'')
            .map_or(t.len(), |p| i + 3 + p);
    }
    // One character (of up to four UTF-8 bytes), then the closing quote.
    let len = match t.get(i + 1) {
        Some(&b) if b >= 0xF0 => 4,
        Some(&b) if b >= 0xE0 => 3,
        Some(&b) if b >= 0xC0 => 2,
        Some(_) => 1,
        None => return i,
    };
    if t.get(i + 1 + len) == Some(&b'\'') {
        i + 2 + len
    } else {
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r##"use x;
// ANCHOR: work
/// Does the work.
fn work<'a>(s: &'a str) -> String {
    let open = '{';
    let text = format!("{s} }} {{");
    /* a } in a /* nested */ comment */
    let raw = r#"}"#;
    // a } in a line comment
    if s.is_empty() { text } else { raw.to_string() }
}
// ANCHOR_END: work
fn main() {}
"##;

    #[test]
    fn the_body_ends_at_its_own_brace_whatever_the_literals_hold() {
        let region = anchor_region(SAMPLE, "work").unwrap();
        let cut = cut_body(SAMPLE, region, "do the {work} \"now\"").unwrap();
        let stripped = strip_anchors(&cut);
        assert_eq!(
            stripped,
            "use x;\n/// Does the work.\nfn work<'a>(s: &'a str) -> String {\n    todo!(\"do the {{work}} \\\"now\\\"\")\n}\nfn main() {}\n"
        );
    }

    #[test]
    fn a_region_must_hold_one_function() {
        let text = "// ANCHOR: two\nfn a() {}\nfn b() {}\n// ANCHOR_END: two\n";
        let region = anchor_region(text, "two").unwrap();
        assert!(function_body(text, region).is_err());
        assert_eq!(anchor_region(text, "none"), None);
        // A closure inside the one function is fine; "fn" inside a name is not a function.
        let text = "// ANCHOR: one\nfn a() { let f = |x| x; let fnord = 1; }\n// ANCHOR_END: one\n";
        let region = anchor_region(text, "one").unwrap();
        assert!(function_body(text, region).is_ok());
    }
}
