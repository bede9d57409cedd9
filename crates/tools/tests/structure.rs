//! The code's shape, checked over every crate's sources: no module imports another that imports
//! it back (a circle), and no function runs past sixty lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 15, "only {} crates found", dirs.len());
    dirs
}

/// The crate's modules: `src/<name>.rs` (not lib.rs, main.rs or binaries), with their text.
fn modules(krate: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(krate.join("src")) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && stem != "lib" && stem != "main" {
            out.insert(stem, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

/// The code of a file without its `#[cfg(test)]` module (the tests may use anything).
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text)
}

/// The modules of the same crate that the code of `text` (not its comments, whose links need
/// no import) refers to as `crate::<module>`.
fn references(text: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if names.contains(&word) {
            found.insert(word);
        }
        // `use crate::{a, b::c}`
        if rest.starts_with('{') {
            let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for item in group.split(',') {
                let word: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if names.contains(&word) {
                    found.insert(word);
                }
            }
        }
    }
    found
}

/// A circle in `graph`, if there is one: its modules in order.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(found) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(found);
        }
    }
    None
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut checked = 0;
    for krate in crates() {
        let modules = modules(&krate);
        let names: BTreeSet<String> = modules.keys().cloned().collect();
        let graph: BTreeMap<String, BTreeSet<String>> = modules
            .iter()
            .map(|(name, text)| {
                let mut refs = references(without_tests(text), &names);
                refs.remove(name);
                (name.clone(), refs)
            })
            .collect();
        checked += graph.values().map(BTreeSet::len).sum::<usize>();
        assert_eq!(
            circle(&graph),
            None,
            "{}: these modules import each other in a circle",
            krate.display()
        );
    }
    assert!(checked > 20, "only {checked} imports seen");
    // The check itself finds a circle when there is one.
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(circle(&graph).is_some());
}

/// Every function of `text` (outside its tests) and its length in lines.
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = without_tests(text).lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "unsafe fn ",
            "pub unsafe fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn || trimmed.ends_with(';') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let closing = " ".repeat(indent) + "}";
        let end = lines[i..]
            .iter()
            .position(|l| *l == closing)
            .map_or(lines.len() - i, |p| p + 1);
        let name: String = trimmed
            .split("fn ")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        out.push((name, end));
    }
    out
}

#[test]
fn no_function_runs_past_sixty_lines() {
    let mut long = Vec::new();
    let mut seen = 0;
    for krate in crates() {
        let mut files = vec![krate.join("src/main.rs"), krate.join("src/lib.rs")];
        files.extend(
            modules(&krate)
                .keys()
                .map(|m| krate.join(format!("src/{m}.rs"))),
        );
        if let Ok(bins) = std::fs::read_dir(krate.join("src/bin")) {
            files.extend(bins.map(|e| e.unwrap().path()));
        }
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for (name, lines) in functions(&text) {
                seen += 1;
                if lines > 60 {
                    long.push(format!("{}: {name} ({lines} lines)", file.display()));
                }
            }
        }
    }
    assert!(seen > 200, "only {seen} functions seen");
    assert!(
        long.is_empty(),
        "functions over 60 lines:\n{}",
        long.join("\n")
    );
}
