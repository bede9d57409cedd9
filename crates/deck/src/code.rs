//! A step's code as a slide shows it: an anchor's lines without comments, and what changed
//! against the predecessor, item by item. The speaker says what the comments say; the whole
//! change is `make diff`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use steps::source;

/// At most this many lines in a slide's code block: more does not fit a slide at a size the
/// back of the room can read.
pub const MAX_LINES: usize = 16;
/// At most this many characters a line (22-pixel monospace across a 1280-pixel slide, 13.2
/// pixels a character, in the theme's 1184 pixels between the margins).
pub const MAX_WIDTH: usize = 88;
/// A block up to this size is shown at 20 pixels (the theme's `dense` slides), the smallest
/// text the deck allows: a whole function of a dozen and a half lines, or one long signature.
pub const DENSE_LINES: usize = 21;
pub const DENSE_WIDTH: usize = 96;
/// The Marp directive that makes a slide dense; `fenced` puts it before a block that needs it.
pub const DENSE: &str = "<!-- _class: dense -->";

/// A fenced block of `lang`, checked against the slide's limits: within the normal ones as it
/// is, within the dense ones with the slide marked [`DENSE`].
pub fn fenced(lang: &str, lines: &[String], what: &str) -> Result<String> {
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    if lines.len() > DENSE_LINES || width > DENSE_WIDTH {
        bail!(
            "{what}: {} lines of at most {width} characters, more than a slide's {DENSE_LINES} \
             of {DENSE_WIDTH}: mark a smaller anchor",
            lines.len()
        );
    }
    let block = format!("```{lang}\n{}\n```", lines.join("\n"));
    if lines.len() > MAX_LINES || width > MAX_WIDTH {
        Ok(format!("{DENSE}\n{block}"))
    } else {
        Ok(block)
    }
}

/// The lines of `step`'s lesson file that contain each of `needles` (each exactly one line), in
/// the file's order, without their trailing comments: a few lines of a step, beside the Python
/// they replace (a pair's Rust half is as wide as the Python half leaves it: the browser test
/// fails on a block that does not fit).
pub fn lines(repo: &Path, step: &str, needles: &[&str]) -> Result<String> {
    let path = source::main_rs(step);
    let text =
        std::fs::read_to_string(repo.join(&path)).with_context(|| format!("cannot read {path}"))?;
    let code = source::strip_anchors(&text);
    let code = source::code_lines(&code);
    let mut picked = Vec::new();
    for needle in needles {
        let found: Vec<usize> = (0..code.len())
            .filter(|&i| code[i].contains(needle))
            .collect();
        let [at] = found.as_slice() else {
            bail!("{path}: {} lines contain '{needle}', not one", found.len());
        };
        picked.push(*at);
    }
    picked.sort_unstable();
    picked.dedup();
    let chosen: Vec<&str> = picked.iter().map(|&i| without_comment(code[i])).collect();
    fenced("rust", &dedent(&chosen), &path)
}

/// A line without its trailing `// comment` (the steps hold no `//` inside a string).
pub fn without_comment(line: &str) -> &str {
    match line.find(" //") {
        Some(at) if !line[..at].trim().is_empty() => line[..at].trim_end(),
        _ => line,
    }
}

/// Anchor `anchor` of `step`'s `main.rs`, without comments, as a Rust block; with `range`,
/// only its lines from the one holding `range.0` to the one holding `range.1` (a part of a
/// function too long for one slide).
pub fn lesson(
    repo: &Path,
    step: &str,
    anchor: &str,
    range: Option<(&str, &str)>,
) -> Result<String> {
    let path = source::main_rs(step);
    let text =
        std::fs::read_to_string(repo.join(&path)).with_context(|| format!("cannot read {path}"))?;
    let region = source::anchor_text(&text, anchor)
        .with_context(|| format!("{path} has no anchor '{anchor}'"))?;
    let mut code = source::code_lines(&region);
    if let Some((from, to)) = range {
        let first = code
            .iter()
            .position(|l| l.contains(from))
            .with_context(|| format!("{path}:{anchor} has no line with '{from}'"))?;
        let last = first
            + code[first..]
                .iter()
                .position(|l| l.contains(to))
                .with_context(|| {
                    format!("{path}:{anchor} has no line with '{to}' after '{from}'")
                })?;
        code = code[first..=last].to_vec();
    }
    let lines = wrap_signatures(dedent(&code));
    fenced("rust", &lines, &format!("{path}:{anchor}"))
}

/// A signature wider than a dense slide, with one parameter a line as rustfmt writes them when
/// they do not fit: `fn f(a: A, b: B) -> R {` becomes `fn f(`, `    a: A,`, `    b: B,`,
/// `) -> R {`.
pub fn wrap_signatures(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let wrapped = (line.chars().count() > DENSE_WIDTH)
            .then(|| wrap_signature(&line))
            .flatten();
        match wrapped {
            Some(pieces) => out.extend(pieces),
            None => out.push(line),
        }
    }
    out
}

fn wrap_signature(line: &str) -> Option<Vec<String>> {
    let indent = &line[..line.len() - line.trim_start().len()];
    if !line.trim_start().starts_with("fn ") {
        return None;
    }
    let open = line.find('(')?;
    let close = matching_paren(line)?;
    let mut out = vec![line[..=open].to_owned()];
    let mut depth = 0usize;
    let mut start = open + 1;
    for (i, c) in line[open + 1..close]
        .char_indices()
        .map(|(i, c)| (i + open + 1, c))
    {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(format!("{indent}    {},", line[start..i].trim()));
                start = i + 1;
            }
            _ => {}
        }
    }
    if !line[start..close].trim().is_empty() {
        out.push(format!("{indent}    {},", line[start..close].trim()));
    }
    out.push(format!("{indent}{}", &line[close..]));
    Some(out)
}

/// The lines with their common indentation removed.
fn dedent(lines: &[&str]) -> Vec<String> {
    let indent = lines
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines.iter().map(|l| l[indent..].to_owned()).collect()
}

/// One top-level item of a Rust file: its key (`fn write_data`, `use`, `type Task`) and its
/// code lines.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    key: String,
    lines: Vec<String>,
}

/// The key of an item starting with `line` (attributes and `pub` skipped).
fn key_of(line: &str) -> String {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == '(' || c == '<' || c == ':' || c == '=')
        .filter(|w| !w.is_empty() && *w != "pub" && *w != "pub(crate)")
        .collect();
    match words.as_slice() {
        ["use", ..] => "use".to_owned(),
        ["impl", rest @ ..] => format!("impl {}", rest.first().unwrap_or(&"")),
        [kind, name, ..] => format!("{kind} {name}"),
        _ => line.trim().to_owned(),
    }
}

/// The top-level items of `text`, in order; `use` lines each an item of their own.
fn items(text: &str) -> Vec<Item> {
    let code = source::strip_anchors(text);
    let mut out: Vec<Item> = Vec::new();
    let mut open: Option<Item> = None;
    for line in source::code_lines(&code) {
        if let Some(item) = open.as_mut() {
            item.lines.push(line.to_owned());
            let at_margin = !line.starts_with(' ');
            if at_margin && (line.starts_with('}') || line.ends_with(';')) {
                out.extend(open.take());
            }
            continue;
        }
        if line.starts_with("#[") || line.starts_with("#![") {
            continue;
        }
        let item = Item {
            key: key_of(line),
            lines: vec![line.to_owned()],
        };
        if line.ends_with(';') || line.ends_with('}') {
            out.push(item);
        } else {
            open = Some(item);
        }
    }
    out
}

/// An item's signature on one line: `fn f(a: A, b: B) -> C`, cut with `…` when too wide; a
/// one-line item (`type`, `const`) as it is.
fn signature(item: &Item) -> String {
    let mut joined = String::new();
    for line in &item.lines {
        joined.push_str(line.trim());
        joined.push(' ');
        if line.trim_end().ends_with('{') || line.trim_end().ends_with(';') {
            break;
        }
    }
    let whole = joined.trim().ends_with(';');
    let one = joined
        .trim()
        .trim_end_matches('{')
        .replace("( ", "(")
        .replace(", )", ")")
        .replace(",)", ")")
        .trim()
        .to_owned();
    let one = if whole { one } else { format!("{one} {{…}}") };
    let width = MAX_WIDTH - 2;
    if one.chars().count() <= width {
        return one;
    }
    match (one.find('('), matching_paren(&one)) {
        (Some(open), Some(close)) if open + 4 + one.len() - close <= width => {
            format!("{}(…){}", &one[..open], &one[close + 1..])
        }
        _ => one.chars().take(width - 1).chain(['…']).collect(),
    }
}

/// The byte index of the `)` that closes the first `(` of `text`.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The changed lines of two line lists, as `-`/`+` lines in order (a longest common
/// subsequence; the lists are a function's, a few dozen lines).
fn line_diff(before: &[String], after: &[String]) -> Vec<String> {
    let (n, m) = (before.len(), after.len());
    let mut common = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if before[i] == after[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && before[i] == after[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || common[i + 1][j] >= common[i][j + 1]) {
            out.push(format!("-{}", before[i]));
            i += 1;
        } else {
            out.push(format!("+{}", after[j]));
            j += 1;
        }
    }
    out
}

/// A changed line as a slide shows it: its indentation cut to the item's own.
fn shown(line: &str) -> String {
    let (sign, rest) = line.split_at(1);
    let trimmed = rest.trim_start();
    let indent = (rest.len() - trimmed.len()).min(8);
    format!("{sign} {}{trimmed}", " ".repeat(indent.saturating_sub(4)))
}

/// What changed from `before` to `after`, item by item: imports added and removed; items
/// removed and added by their signature; a changed item's lines when there are at most
/// `small` of them, else how many.
fn summary(before: &[Item], after: &[Item], small: usize) -> Vec<String> {
    let mut out = Vec::new();
    let uses = |items: &[Item]| -> Vec<String> {
        items
            .iter()
            .filter(|i| i.key == "use")
            .map(|i| i.lines.join(" "))
            .collect()
    };
    out.extend(
        line_diff(&uses(before), &uses(after))
            .iter()
            .map(|l| shown(l)),
    );
    let find = |items: &[Item], key: &str| items.iter().find(|i| i.key == key).cloned();
    for item in before.iter().filter(|i| i.key != "use") {
        if find(after, &item.key).is_none() {
            out.push(format!("- {}", signature(item)));
        }
    }
    for item in after.iter().filter(|i| i.key != "use") {
        match find(before, &item.key) {
            None => out.push(format!("+ {}", signature(item))),
            Some(old) if old.lines != item.lines => {
                let changes = line_diff(&old.lines, &item.lines);
                if changes.len() <= small {
                    out.push(format!("@@ {} @@", item.key));
                    out.extend(changes.iter().map(|l| shown(l)));
                } else {
                    out.push(format!(
                        "@@ {}: {} lines changed @@",
                        item.key,
                        changes.len()
                    ));
                }
            }
            Some(_) => {}
        }
    }
    out
}

/// `step`'s change against `predecessor`, as a diff block that fits a slide: the small
/// changes shown line by line, the larger ones counted (the lesson's own slide shows them).
pub fn diff(repo: &Path, predecessor: &str, step: &str) -> Result<String> {
    let read = |path: String| {
        std::fs::read_to_string(repo.join(&path)).with_context(|| format!("cannot read {path}"))
    };
    if steps::find(step).is_some_and(|s| s.launch == steps::Launch::Python) {
        return python_diff(&read, predecessor, step);
    }
    let (before, after) = (
        items(&read(source::main_rs(predecessor))?),
        items(&read(source::main_rs(step))?),
    );
    // Show changes line by line where they fit; count them where they would not.
    let lines = (1..=6)
        .rev()
        .map(|small| summary(&before, &after, small))
        .find(|lines| lines.len() <= MAX_LINES)
        .unwrap_or_else(|| summary(&before, &after, 0));
    fenced("diff", &lines, &format!("the diff of {step}"))
}

/// How many lines of code a step changes against its predecessor, comments and blank lines
/// aside: the lines removed and the lines added. A Python step's change is its script's lines
/// against its numpy twin's, and the whole Rust module it imports.
pub fn changed_lines(repo: &Path, predecessor: &str, step: &str) -> Result<usize> {
    let read = |path: String| {
        std::fs::read_to_string(repo.join(&path)).with_context(|| format!("cannot read {path}"))
    };
    let code = |text: String| -> Vec<String> {
        source::code_lines(&source::strip_anchors(&text))
            .iter()
            .map(|l| l.trim().to_owned())
            .collect()
    };
    if steps::find(step).is_some_and(|s| s.launch == steps::Launch::Python) {
        let script = |name: &str| read(format!("crates/{step}/python/{name}.py")).map(code);
        let module = code(read(source::main_rs(step))?);
        return Ok(line_diff(&script(predecessor)?, &script(step)?).len() + module.len());
    }
    let before = code(read(source::main_rs(predecessor))?);
    let after = code(read(source::main_rs(step))?);
    Ok(line_diff(&before, &after).len())
}

/// A Python step's change, as the learner makes it: its script against its numpy twin (the
/// one import), then what its Rust module defines, by signature.
fn python_diff(
    read: &dyn Fn(String) -> Result<String>,
    predecessor: &str,
    step: &str,
) -> Result<String> {
    let script = |name: &str| -> Result<Vec<String>> {
        let text = read(format!("crates/{step}/python/{name}.py"))?;
        Ok(source::strip_anchors(&text)
            .lines()
            .map(str::to_owned)
            .collect())
    };
    let mut lines = line_diff(&script(predecessor)?, &script(step)?);
    lines.push(format!(
        "@@ {}: the module it imports @@",
        source::main_rs(step)
    ));
    let module = items(&read(source::main_rs(step))?);
    let defined = module.iter().filter(|i| i.key.starts_with("fn "));
    lines.extend(defined.map(|item| format!("+ {}", signature(item))));
    fenced("diff", &lines, &format!("the diff of {step}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "use a::b;\n\n/// Doc.\nfn f(x: f64) -> f64 {\n    x + 1.0\n}\n\nfn main() {\n    let v = f(1.0);\n    // why\n    println!(\"{v}\");\n}\n";
    const AFTER: &str = "use a::b;\nuse c::d;\n\nfn g(\n    x: f64,\n) -> f64 {\n    x * 2.0\n}\n\nfn main() {\n    let v = g(1.0);\n    println!(\"{v}\");\n}\n";

    #[test]
    fn items_are_found_by_kind_and_name() {
        let keys: Vec<String> = items(BEFORE).into_iter().map(|i| i.key).collect();
        assert_eq!(keys, ["use", "fn f", "fn main"]);
        assert_eq!(key_of("pub fn start_pool<'scope>("), "fn start_pool");
        assert_eq!(key_of("type Task<'a> = Box<dyn FnOnce()>;"), "type Task");
    }

    #[test]
    fn the_summary_names_removed_added_and_changed_items() {
        let lines = summary(&items(BEFORE), &items(AFTER), 4);
        assert_eq!(
            lines,
            [
                "+ use c::d;",
                "- fn f(x: f64) -> f64 {…}",
                "+ fn g(x: f64) -> f64 {…}",
                "@@ fn main @@",
                "- let v = f(1.0);",
                "+ let v = g(1.0);",
            ]
        );
        let counted = summary(&items(BEFORE), &items(AFTER), 1);
        assert_eq!(counted.last().unwrap(), "@@ fn main: 2 lines changed @@");
    }

    #[test]
    fn long_signatures_are_cut() {
        let item = Item {
            key: "fn f".into(),
            lines: vec![format!("fn f({}) -> usize {{", "a: usize, ".repeat(12))],
        };
        assert_eq!(signature(&item), "fn f(…) -> usize {…}");
        let typed = Item {
            key: "fn g".into(),
            lines: vec![format!(
                "fn g({}) -> Result<()> {{",
                "a: usize, ".repeat(12)
            )],
        };
        assert_eq!(signature(&typed), "fn g(…) -> Result<()> {…}");
    }

    #[test]
    fn blocks_longer_than_a_slide_are_dense_or_refused() {
        let long: Vec<String> = (0..DENSE_LINES + 1).map(|i| i.to_string()).collect();
        assert!(fenced("rust", &long, "x").is_err());
        let normal = fenced("rust", &long[..MAX_LINES], "x").unwrap();
        assert!(normal.starts_with("```rust\n"));
        let dense = fenced("rust", &long[..MAX_LINES + 1], "x").unwrap();
        assert!(dense.starts_with(DENSE), "{dense}");
        assert!(fenced("rust", &["x".repeat(DENSE_WIDTH + 1)], "x").is_err());
    }

    #[test]
    fn a_signature_too_wide_for_a_slide_gets_a_parameter_a_line() {
        let line = format!(
            "fn save_dataset(hf: &hdf5::File, out: &Output, file_id: usize, data: &Array2<f64>) -> Result<()> {{{}",
            ""
        );
        assert!(line.chars().count() > DENSE_WIDTH);
        assert_eq!(
            wrap_signatures(vec![line, "    x".into()]),
            [
                "fn save_dataset(",
                "    hf: &hdf5::File,",
                "    out: &Output,",
                "    file_id: usize,",
                "    data: &Array2<f64>,",
                ") -> Result<()> {",
                "    x"
            ]
        );
    }

    #[test]
    fn trailing_comments_are_cut_but_not_whole_comment_lines() {
        assert_eq!(without_comment("let a = 1; // why"), "let a = 1;");
        assert_eq!(without_comment("    // only this"), "    // only this");
        assert_eq!(without_comment("let a = 1;"), "let a = 1;");
    }
}
