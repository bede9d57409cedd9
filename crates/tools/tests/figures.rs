//! The committed figures against today's code: every function a flamegraph in `docs/` names
//! from the workshop's own crates still exists, and every diagram drawn from the code alone is
//! the one the code draws now. `make figures` regenerates them all.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every SVG under `dir`, recursively.
fn svgs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(svgs(&path));
        } else if path.extension().is_some_and(|e| e == "svg") {
            out.push(path);
        }
    }
    out
}

/// The frames an inferno flamegraph names: its `<title>`s, "name (N samples, P%)".
fn frames(svg: &str) -> Vec<String> {
    svg.split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next())
        .filter(|t| t.ends_with("%)") && t.contains(" sample"))
        .filter_map(|t| t.rsplit_once(" (").map(|(name, _)| name))
        .map(|name| {
            name.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// `name` without its generic arguments (`Chunk<W>` is `Chunk`).
fn without_generics(name: &str) -> String {
    let mut depth = 0;
    name.chars()
        .filter(|c| {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

/// The workshop crate and the function a frame names, when it is one of the workshop's own:
/// `gridgen::text::Chunk<W>::mixed_row` is (`gridgen`, `mixed_row`); closures count for
/// their function.
fn workshop_function(frame: &str) -> Option<(String, String)> {
    let path = frame.trim_start_matches('<');
    let krate = path.split("::").next()?;
    let ours = krate.starts_with("gridgen") || steps::find(krate).is_some();
    if !ours || !path.contains("::") {
        return None;
    }
    // `<A as B>::f`: the function is after the qualified type.
    let tail = match frame.strip_prefix('<') {
        Some(_) => frame.rsplit_once(">::").map_or(frame, |(_, f)| f),
        None => frame,
    };
    let function = without_generics(tail)
        .split("::")
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .last()?
        .to_owned();
    function
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then(|| (krate.to_owned(), function))
}

/// All the Rust source of the crate named `krate` (its folder spells `_` as `-`).
fn crate_source(krate: &str) -> String {
    let dir = repo().join("crates").join(krate.replace('_', "-"));
    let dir = if dir.is_dir() {
        dir
    } else {
        repo().join("crates").join(krate)
    };
    let mut text = String::new();
    let mut stack = vec![dir.join("src")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                text += &std::fs::read_to_string(&p).unwrap();
            }
        }
    }
    text
}

#[test]
fn no_committed_flamegraph_names_a_function_that_is_gone() {
    let mut checked = 0;
    let mut graphs = 0;
    for dir in ["docs/images", "docs/plots"] {
        for svg in svgs(&repo().join(dir)) {
            let text = std::fs::read_to_string(&svg).unwrap();
            let names = frames(&text);
            if names.is_empty() {
                continue;
            }
            graphs += 1;
            for (krate, function) in names.iter().filter_map(|f| workshop_function(f)) {
                let source = crate_source(&krate);
                assert!(
                    source.contains(&format!("fn {function}")),
                    "{} names {krate}'s {function}, which no longer exists: run `make figures`",
                    svg.display()
                );
                checked += 1;
            }
        }
    }
    assert!(graphs >= 4, "only {graphs} flamegraphs in docs/");
    assert!(
        checked >= 20,
        "only {checked} frames of the workshop's code checked"
    );
}

#[test]
fn frames_are_read_as_their_crate_and_function() {
    let f = |s| workshop_function(s);
    assert_eq!(
        f("gridgen::text::Chunk<W>::mixed_row"),
        Some(("gridgen".into(), "mixed_row".into()))
    );
    assert_eq!(
        f("write::main::{{closure}}"),
        Some(("write".into(), "main".into()))
    );
    assert_eq!(
        f("<gridgen::output::PartialFile as std::io::Write>::write_all"),
        Some(("gridgen".into(), "write_all".into()))
    );
    assert_eq!(f("core::fmt::write"), None);
    assert_eq!(f("write"), None, "a thread's name is not a function");
    assert_eq!(
        frames("<g><title>a::b (3 samples, 1%)</title></g><title>x (y)</title>"),
        ["a::b"]
    );
}

#[test]
fn the_diagrams_drawn_from_the_code_are_todays() {
    let dir = repo().join("docs/images/diagrams");
    let mut checked = 0;
    for diagram in viz::diagrams::Diagram::ALL {
        let committed =
            std::fs::read_to_string(dir.join(diagram.file_name())).unwrap_or_else(|_| {
                panic!(
                    "docs/images/diagrams/{} is missing: run `make diagrams`",
                    diagram.file_name()
                )
            });
        if diagram.from_a_run() {
            // Drawn from a run's trace: only its shape is fixed.
            assert!(
                committed.contains(diagram.title()) && committed.contains(">worker-0<"),
                "docs/images/diagrams/{} is not a queue drawn from a run",
                diagram.file_name()
            );
            continue;
        }
        let today = diagram.draw(None).unwrap();
        assert!(
            committed == today,
            "docs/images/diagrams/{} is not what the code draws today: run `make diagrams`",
            diagram.file_name()
        );
        checked += 1;
    }
    assert!(checked >= 7);
}
