//! The code's shape, checked over every crate's sources, nested modules included: no module
//! imports another that imports it back (a circle), and no function runs past sixty lines. The
//! plain steps hold no expert Rust and hand their `main` to nobody, and the library they share
//! stays small.
//!
//! A module is a file under `src/` (`a/b.rs` or `a/b/mod.rs` is `a::b`). What it refers to —
//! in `use` statements and in `crate::…`, `super::…`, `self::…` paths in its code — is resolved
//! to the module that defines the item, following re-exports (`pub use`), so that a parent that
//! only re-exports its children's items does not count as depending on them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

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

/// The crate's modules, nested ones included, by path, with their file and text. The root
/// (`lib.rs` or `main.rs`) is `[]`; binaries under `src/bin` are crates of their own.
fn modules(krate: &Path) -> BTreeMap<ModPath, (PathBuf, String)> {
    let mut out = BTreeMap::new();
    let src = krate.join("src");
    for root in ["lib.rs", "main.rs"] {
        if let Ok(text) = std::fs::read_to_string(src.join(root)) {
            out.insert(Vec::new(), (src.join(root), text));
        }
    }
    walk(&src, &mut Vec::new(), &mut out);
    out
}

fn walk(dir: &Path, at: &mut ModPath, out: &mut BTreeMap<ModPath, (PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if at.is_empty() && name == "bin" {
                continue;
            }
            at.push(name);
            walk(&path, at, out);
            at.pop();
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module = match name.as_str() {
            "lib" | "main" if at.is_empty() => continue,
            "mod" => at.clone(),
            _ => [at.clone(), vec![name]].concat(),
        };
        let text = std::fs::read_to_string(&path).unwrap();
        out.insert(module, (path, text));
    }
}

/// The code of a file without its `#[cfg(test)]` module (the tests may use anything) and
/// without comments (a link in a comment needs no import).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `use` statements of `code`: (re-exported?, the paths they name). `a::{b, c::{d, self}}`
/// is `a::b`, `a::c::d` and `a::c`; `x as y` is `x`.
fn uses(code: &str) -> Vec<(bool, Vec<ModPath>)> {
    let mut out = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        let (public, first) = if let Some(rest) = line.strip_prefix("use ") {
            (false, rest)
        } else if let Some(rest) = line.strip_prefix("pub use ") {
            (true, rest)
        } else if let Some((_, rest)) = line
            .strip_prefix("pub(")
            .and_then(|l| l.split_once(") use "))
        {
            (true, rest)
        } else {
            continue;
        };
        let mut statement = first.to_owned();
        while !statement.trim_end().ends_with(';') {
            match lines.next() {
                Some(more) => statement.push_str(more),
                None => break,
            }
        }
        let tree: String = statement
            .trim_end()
            .trim_end_matches(';')
            .replace(" as ", "@")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut paths = Vec::new();
        expand(&tree, &mut Vec::new(), &mut paths);
        out.push((public, paths));
    }
    out
}

/// Expands a use tree (no spaces; `@` for ` as `) under `prefix`.
fn expand(tree: &str, prefix: &mut ModPath, out: &mut Vec<ModPath>) {
    let Some(open) = tree.find('{') else {
        let path = tree.split('@').next().unwrap_or(tree);
        let segments: Vec<String> = path
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut full = [prefix.clone(), segments].concat();
        if full.len() > 1 && full.last().is_some_and(|s| s == "self") {
            full.pop();
        }
        out.push(full);
        return;
    };
    let head: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let len = prefix.len();
    prefix.extend(head);
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand_item(&inner[start..i], prefix, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    expand_item(&inner[start..], prefix, out);
    prefix.truncate(len);
}

fn expand_item(item: &str, prefix: &mut ModPath, out: &mut Vec<ModPath>) {
    match item.split('@').next().unwrap_or(item) {
        "" => {}
        "self" => out.push(prefix.clone()),
        item => expand(item, prefix, out),
    }
}

/// The paths that code names inline: `crate::a::b`, `super::c`, `self::d`.
fn inline_paths(code: &str) -> Vec<ModPath> {
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        for (at, _) in code.match_indices(start) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '$') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            );
        }
    }
    out
}

/// The crate's modules' dependencies on each other (the root left out).
struct Crate {
    modules: BTreeSet<ModPath>,
    /// Per module, the names it re-exports and the paths (absolute) they stand for.
    exports: BTreeMap<ModPath, BTreeMap<String, ModPath>>,
}

impl Crate {
    fn new(sources: &BTreeMap<ModPath, String>) -> Crate {
        let modules: BTreeSet<ModPath> = sources.keys().cloned().collect();
        let mut krate = Crate {
            modules,
            exports: BTreeMap::new(),
        };
        for (module, text) in sources {
            let mut names = BTreeMap::new();
            for (public, paths) in uses(&code(text)) {
                for path in paths.into_iter().filter(|_| public) {
                    if let (Some(name), Some(absolute)) =
                        (path.last(), krate.absolute(module, &path))
                    {
                        names.insert(name.clone(), absolute);
                    }
                }
            }
            krate.exports.insert(module.clone(), names);
        }
        krate
    }

    /// `path` as named from `module`, from the crate's root; `None` for other crates' paths.
    fn absolute(&self, module: &ModPath, path: &[String]) -> Option<ModPath> {
        let mut at = module.clone();
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                at.clear();
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().is_some_and(|s| s == "super") {
                    at.pop();
                    rest = &rest[1..];
                }
            }
            Some(first)
                if self
                    .modules
                    .contains(&[module.clone(), vec![first.into()]].concat()) => {}
            _ => return None,
        }
        Some([at, rest.to_vec()].concat())
    }

    /// The module that defines what the absolute `path` names (through re-exports).
    fn defining(&self, path: &[String], depth: usize) -> Option<ModPath> {
        let mut at: ModPath = Vec::new();
        for (i, segment) in path.iter().enumerate() {
            let child = [at.clone(), vec![segment.clone()]].concat();
            if self.modules.contains(&child) {
                at = child;
                continue;
            }
            let target = self.exports.get(&at).and_then(|e| e.get(segment));
            return match target {
                Some(target) if depth < 16 && target.as_slice() != &path[..=i] => {
                    self.defining(target, depth + 1).or(Some(at))
                }
                _ => Some(at),
            };
        }
        Some(at)
    }

    /// The modules `module`'s code depends on.
    fn dependencies(&self, module: &ModPath, text: &str) -> BTreeSet<ModPath> {
        let code = code(text);
        let mut named: Vec<ModPath> = uses(&code)
            .into_iter()
            .filter(|(public, _)| !public)
            .flat_map(|(_, paths)| paths)
            .collect();
        named.extend(inline_paths(&code));
        named
            .iter()
            .filter_map(|path| self.absolute(module, path))
            .filter_map(|path| self.defining(&path, 0))
            .filter(|target| !target.is_empty() && target != module)
            .collect()
    }
}

/// The graph of a crate's modules: each to the modules it depends on.
fn graph(sources: &BTreeMap<ModPath, String>) -> BTreeMap<String, BTreeSet<String>> {
    let krate = Crate::new(sources);
    sources
        .iter()
        .filter(|(module, _)| !module.is_empty())
        .map(|(module, text)| {
            let deps = krate.dependencies(module, text);
            (
                module.join("::"),
                deps.into_iter().map(|d| d.join("::")).collect(),
            )
        })
        .collect()
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

fn sources(pairs: &[(&str, &str)]) -> BTreeMap<ModPath, String> {
    pairs
        .iter()
        .map(|(m, t)| {
            let path = m.split("::").filter(|s| !s.is_empty()).map(str::to_owned);
            (path.collect(), t.to_string())
        })
        .collect()
}

#[test]
fn the_check_sees_nested_modules_and_follows_re_exports() {
    // A circle through a nested module, named through the root's re-export.
    let circular = sources(&[
        ("", "pub use out::File;\npub mod out;\npub mod signals;"),
        ("out", "use crate::signals::held::Held;\npub struct File;"),
        ("signals", "pub mod held;"),
        ("signals::held", "use crate::File;\npub struct Held;"),
    ]);
    let graph_found = graph(&circular);
    assert!(
        graph_found["signals::held"].contains("out"),
        "{graph_found:?}"
    );
    assert!(circle(&graph_found).is_some(), "{graph_found:?}");
    // A parent that only re-exports its children is no party to their imports.
    let layered = sources(&[
        (
            "",
            "pub use driver::output::Output;\npub mod driver;\npub mod guard;",
        ),
        (
            "driver",
            "pub mod output;\npub mod temp;\npub use temp::Temp;",
        ),
        (
            "driver::output",
            "use super::temp::Temp;\nuse crate::guard::{self, Slot};\npub struct Output;",
        ),
        (
            "driver::temp",
            "use crate::guard::register;\npub struct Temp;",
        ),
        (
            "guard",
            "pub mod registry;\npub use registry::{register, Slot};",
        ),
        ("guard::registry", "pub fn register() {}\npub struct Slot;"),
    ]);
    let graph_found = graph(&layered);
    assert_eq!(circle(&graph_found), None, "{graph_found:?}");
    assert_eq!(
        graph_found["driver::output"],
        BTreeSet::from([
            "driver::temp".into(),
            "guard".into(),
            "guard::registry".into()
        ])
    );
    assert_eq!(
        graph_found["driver::temp"],
        BTreeSet::from(["guard::registry".into()])
    );
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut checked = 0;
    let mut nested = 0;
    for krate in crates() {
        let sources: BTreeMap<ModPath, String> = modules(&krate)
            .into_iter()
            .map(|(module, (_, text))| (module, text))
            .collect();
        nested += sources.keys().filter(|m| m.len() > 1).count();
        let graph = graph(&sources);
        checked += graph.values().map(BTreeSet::len).sum::<usize>();
        assert_eq!(
            circle(&graph),
            None,
            "{}: these modules import each other in a circle",
            krate.display()
        );
    }
    assert!(checked > 40, "only {checked} imports seen");
    assert!(nested > 3, "only {nested} nested modules seen");
}

/// Every function of `text` (outside its tests) and its length in lines.
fn functions(text: &str) -> Vec<(String, usize)> {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "unsafe fn ",
            "pub unsafe fn ",
            "extern \"C\" fn ",
            "pub extern \"C\" fn ",
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
        let mut files: Vec<PathBuf> = modules(&krate).into_values().map(|(f, _)| f).collect();
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
    assert!(seen > 300, "only {seen} functions seen");
    assert!(
        long.is_empty(),
        "functions over 60 lines:\n{}",
        long.join("\n")
    );
}

/// `text` with its comments, string literals and character literals blanked out (lifetimes
/// and labels kept), so that a word in a comment or a message is not taken for code.
fn bare_code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let skip_to = |end: &str, from: usize| -> usize {
            let end: Vec<char> = end.chars().collect();
            (from..chars.len())
                .find(|&j| chars[j..].starts_with(&end))
                .map_or(chars.len(), |j| j + end.len())
        };
        let next = match rest {
            ['/', '/', ..] => skip_to("\n", i) - 1,
            ['/', '*', ..] => skip_to("*/", i + 2),
            ['r', '#', '"', ..] => skip_to("\"#", i + 3),
            ['r', '"', ..] => skip_to("\"", i + 2),
            ['"', ..] => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != '"' {
                    j += if chars[j] == '\\' { 2 } else { 1 };
                }
                j + 1
            }
            ['\'', '\\', ..] => skip_to("'", i + 2),
            ['\'', _, '\'', ..] => i + 3,
            _ => {
                out.push(chars[i]);
                i += 1;
                continue;
            }
        };
        out.push(' ');
        i = next.max(i + 1);
    }
    out
}

/// Expert Rust found in `code` (bare): what no plain step shows a newcomer.
fn expert(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (no, line) in code.lines().enumerate() {
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\''))
            .collect();
        let mut why = Vec::new();
        if line.contains("Box<dyn") {
            why.push("a boxed trait object");
        }
        if line.contains("impl<") {
            why.push("a generic impl block");
        }
        if words.contains(&"where") {
            why.push("a where clause");
        }
        if words.contains(&"unsafe") {
            why.push("unsafe");
        }
        // 'a, 'env (not '_, which names none, nor a character like '\n' left after bare_code).
        let lifetime = |w: &&str| {
            let mut chars = w.chars();
            chars.next() == Some('\'')
                && chars.next().is_some_and(char::is_alphabetic)
                && !w.ends_with('\'')
        };
        if words.iter().any(lifetime) {
            why.push("a named lifetime");
        }
        found.extend(why.into_iter().map(|w| format!("line {}: {w}", no + 1)));
    }
    found
}

#[test]
fn the_check_for_expert_rust_reads_code_not_comments() {
    let code = bare_code(
        "// impl<T> where 'a unsafe\nfn f<'a>(x: &'a str) -> char { let _ = \"Box<dyn X>\"; 'x' }\n",
    );
    assert_eq!(expert(&code), ["line 2: a named lifetime"]);
    let code = bare_code("unsafe { libc::_exit(1) }\nimpl<T: Copy> S<T> where T: Send {}\n");
    assert_eq!(
        expert(&code),
        [
            "line 1: unsafe",
            "line 2: a generic impl block",
            "line 2: a where clause"
        ]
    );
    assert!(expert(&bare_code("let c = '\\''; let s = r#\"'a\"#;")).is_empty());
}

/// The Rust sources of a step's crate: (file, text).
fn step_sources(step: &str) -> Vec<(PathBuf, String)> {
    let krate = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(step);
    modules(&krate).into_values().collect()
}

#[test]
fn no_plain_step_holds_expert_rust_or_hands_its_main_away() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    // The Python step's module is PyO3's idioms (its lesson); the hardening step has tests of
    // its own.
    for step in tools::STEPS
        .iter()
        .filter(|s| s.plain() && s.launch != tools::Launch::Python)
    {
        for (file, text) in step_sources(step.name) {
            checked += 1;
            let code = bare_code(&text);
            let name = format!(
                "{}/{}",
                step.name,
                file.file_name().unwrap().to_string_lossy()
            );
            if code.contains("global_allocator") {
                wrong.push(format!("{name}: declares an allocator"));
            }
            let found = expert(&code);
            // write_final_collective's collective transfer: one unsafe block, which its chapter
            // explains and its SAFETY comment justifies.
            let explained = name.ends_with("collective.rs")
                && found == [format!("line {}: unsafe", unsafe_line(&code))]
                && text.matches("unsafe {").count() == 1
                && text.contains("// SAFETY:");
            if !found.is_empty() && !explained {
                wrong.extend(found.into_iter().map(|f| format!("{name}: {f}")));
            }
            if let Some(body) = main_body(&code) {
                if body.contains('|') || body.contains("step!") {
                    wrong.push(format!("{name}: main hands its run to a closure or macro"));
                }
            }
        }
    }
    assert!(checked >= 11, "only {checked} files of plain steps read");
    assert!(wrong.is_empty(), "not plain:\n{}", wrong.join("\n"));
}

/// The (1-based) line of the first `unsafe` in bare `code`.
fn unsafe_line(code: &str) -> usize {
    code.lines()
        .position(|l| {
            l.split(|c: char| !c.is_alphanumeric())
                .any(|w| w == "unsafe")
        })
        .map_or(0, |i| i + 1)
}

/// The body of `fn main` in bare `code`, if it has one.
fn main_body(code: &str) -> Option<String> {
    let start = code.find("fn main(")?;
    let open = start + code[start..].find('{')?;
    let mut depth = 0;
    for (i, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(code[open..open + i].to_owned());
                }
            }
            _ => {}
        }
    }
    None
}

/// Non-blank lines of `text` before its test module.
fn lines_outside_tests(text: &str) -> usize {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn the_library_the_steps_share_stays_small() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut total = 0;
    let mut files = 0;
    for krate in ["gridgen", "gridgen-contract", "gridgen-mpi"] {
        let root = crates.join(krate);
        let mut sources: Vec<PathBuf> = modules(&root).into_values().map(|(f, _)| f).collect();
        sources.push(root.join("build.rs"));
        if let Ok(benches) = std::fs::read_dir(root.join("benches")) {
            sources.extend(benches.map(|e| e.unwrap().path()));
        }
        for file in sources {
            // A module of tests in a file of its own (`mod tests;` under #[cfg(test)]).
            if file.file_stem().is_some_and(|s| s == "tests") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&file) {
                total += lines_outside_tests(&text);
                files += 1;
            }
        }
    }
    assert!(files >= 10, "only {files} files of gridgen read");
    assert!(
        total <= 2000,
        "the gridgen crates hold {total} non-blank lines outside tests: at most 2,000"
    );
}
