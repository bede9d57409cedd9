//! A step's `main.rs` read as the book, the exercises and the deck read it: the regions between
//! `// ANCHOR: name` and `// ANCHOR_END: name` (the same markers mdBook's `{{#include}}` uses),
//! and the code without its comments.

/// The file of a step's lesson, relative to the repository's root: its `main.rs`, or for a
/// Python step its module's `lib.rs`.
pub fn main_rs(step: &str) -> String {
    match crate::find(step).map(|s| s.launch) {
        Some(crate::Launch::Python) => format!("crates/{step}/src/lib.rs"),
        _ => format!("crates/{step}/src/main.rs"),
    }
}

/// The files a learner compares to see what `step` changes against `pred`, in the order shown:
/// each pair is (before, after), relative to the repository's root. A step's lesson file
/// against its predecessor's; a Python step first shows its script against its numpy twin (the
/// one import that changes), then its Rust module against the predecessor's `main.rs`.
pub fn diff_pairs(pred: &str, step: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if crate::find(step).is_some_and(|s| s.launch == crate::Launch::Python) {
        let script = |name: &str| format!("crates/{step}/python/{name}.py");
        pairs.push((script(pred), script(step)));
    }
    pairs.push((main_rs(pred), main_rs(step)));
    pairs
}

/// True for the book's include markers, `// ANCHOR: name` and `// ANCHOR_END: name` (in Rust;
/// with `#` in a shell script, in an HTML comment in Markdown).
pub fn is_anchor_line(line: &str) -> bool {
    marker(line).is_some_and(|t| t.starts_with("ANCHOR: ") || t.starts_with("ANCHOR_END: "))
}

/// A comment line's text: `// x`, `# x` and `<!-- x -->` are all `x`.
fn marker(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t
        .strip_prefix("//")
        .or_else(|| {
            t.strip_prefix("<!--")
                .map(|r| r.trim_end().trim_end_matches("-->"))
        })
        .or_else(|| t.strip_prefix('#'))?;
    Some(inner.trim())
}

/// The text without its ANCHOR lines: what a learner reads has no marker noise.
pub fn strip_anchors(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|line| !is_anchor_line(line))
        .collect()
}

/// The byte range of the lines between `// ANCHOR: name` and `// ANCHOR_END: name` (or the
/// same with `#` or in `<!-- -->`), or `None` when the text has no such anchor.
pub fn anchor_region(text: &str, name: &str) -> Option<(usize, usize)> {
    let is = |line: &str, kind: &str| marker(line) == Some(&format!("{kind}: {name}"));
    let (mut start, mut at) = (None, 0);
    for line in text.split_inclusive('\n') {
        if start.is_none() && is(line, "ANCHOR") {
            start = Some(at + line.len());
        } else if let Some(s) = start {
            if is(line, "ANCHOR_END") {
                return Some((s, at));
            }
        }
        at += line.len();
    }
    None
}

/// The lines of anchor `name`, without the markers of other anchors nested in it.
pub fn anchor_text(text: &str, name: &str) -> Option<String> {
    anchor_region(text, name).map(|(from, to)| strip_anchors(&text[from..to]))
}

/// The code of `text` alone: no comment lines (`//`, `///`, `//!`), no blank lines. What a slide
/// shows of a step; the speaker says what the comments say.
pub fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with("//")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "use a;\n// ANCHOR: f\n/// Doc.\nfn f() {\n    // ANCHOR: inner\n    g(); // why\n    // ANCHOR_END: inner\n\n}\n// ANCHOR_END: f\n# ANCHOR: job\n#SBATCH -n 2\n# ANCHOR_END: job\n<!-- ANCHOR: md -->\n| a |\n<!-- ANCHOR_END: md -->\n";

    #[test]
    fn anchors_nest_and_their_markers_are_left_out() {
        assert_eq!(
            anchor_text(TEXT, "f").unwrap(),
            "/// Doc.\nfn f() {\n    g(); // why\n\n}\n"
        );
        assert_eq!(anchor_text(TEXT, "inner").unwrap(), "    g(); // why\n");
        assert_eq!(anchor_text(TEXT, "job").unwrap(), "#SBATCH -n 2\n");
        assert_eq!(anchor_text(TEXT, "md").unwrap(), "| a |\n");
        assert!(anchor_text(TEXT, "fn").is_none());
        assert!(!strip_anchors(TEXT).contains("ANCHOR"));
        assert!(strip_anchors(TEXT).contains("#SBATCH"));
    }

    #[test]
    fn code_lines_drop_comments_and_blanks() {
        let f = anchor_text(TEXT, "f").unwrap();
        assert_eq!(code_lines(&f), ["fn f() {", "    g(); // why", "}"]);
        assert_eq!(main_rs("write"), "crates/write/src/main.rs");
    }

    #[test]
    fn a_python_step_is_compared_script_first() {
        let [(before, after)] = &diff_pairs("write", "write_vectorized")[..] else {
            panic!("one pair for a Rust step");
        };
        assert_eq!(
            (before.as_str(), after.as_str()),
            (
                "crates/write/src/main.rs",
                "crates/write_vectorized/src/main.rs"
            )
        );
        let python = crate::STEPS
            .iter()
            .find(|s| s.launch == crate::Launch::Python)
            .unwrap();
        let pairs = diff_pairs("write_vectorized_binary", python.name);
        assert_eq!(pairs.len(), 2);
        assert!(pairs[0].1.ends_with(&format!("python/{}.py", python.name)));
        assert_eq!(pairs[1].1, main_rs(python.name));
    }
}
