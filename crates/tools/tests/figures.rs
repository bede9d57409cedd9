//! The committed figures against today's code and against what the slides say of them: every
//! function a flamegraph in `docs/` names from the workshop's own crates still exists, every
//! diagram drawn from the code alone is the one the code draws now, the profile on the slide
//! shows what its notes read from it, and a traced run of the blocking pool writes one file at
//! a time, its workers taking turns, as its timeline shows. `make figures` regenerates them all.

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
                committed.contains(diagram.title()) && committed.contains("From a run:"),
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

/// The samples of each frame an inferno flamegraph names, by name.
fn samples(svg: &str, frame: &str) -> u64 {
    svg.split("<title>")
        .skip(1)
        .filter_map(|t| t.split("</title>").next())
        .filter_map(|t| t.rsplit_once(" ("))
        .filter(|(name, _)| *name == frame)
        .filter_map(|(_, rest)| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn the_profile_on_the_slide_shows_what_its_notes_read_from_it() {
    // The deck's notes: save_txt takes most of the run; most of that is gridgen's text module,
    // a good part the commit (a rename per file); generate_value is a narrow column.
    let svg = std::fs::read_to_string(repo().join("docs/images/write.slide.svg")).unwrap();
    let all = samples(&svg, "all");
    let save = samples(&svg, "Output::save_txt");
    let text = samples(&svg, "text::savetxt");
    let commit = samples(&svg, "NewFile::commit");
    let field = samples(&svg, "write::generate_value");
    assert!(
        all > 0 && 2 * save > all,
        "save_txt: {save} of {all} samples"
    );
    assert!(
        2 * text > save,
        "the text module: {text} of save_txt's {save}"
    );
    assert!(
        commit > 0 && commit < text,
        "commit: {commit}, text: {text}"
    );
    assert!(field < text, "generate_value: {field}, text: {text}");
}

#[test]
fn the_blocking_pool_writes_one_file_at_a_time_its_workers_taking_turns() {
    let step = steps::STEPS
        .iter()
        .find(|s| s.launch == steps::Launch::Threads)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let status = std::process::Command::new(tools::step_binary(step.name).unwrap())
        .args(["-n", "30", "-s", "300", "-w", "2", "--dir"])
        .arg(dir.path().join("out"))
        .arg("--trace")
        .arg(&trace)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let json = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let timeline = viz::trace::read(&json).unwrap().from_zero();
    // A file's phases are bars of their own: one interval per file, its first start to its
    // last end.
    let mut by_file: std::collections::BTreeMap<usize, (f64, f64, usize)> = Default::default();
    for bar in &timeline.bars {
        let id = bar.file_id.expect("every bar names its file");
        let file = by_file.entry(id).or_insert((bar.start, bar.end, bar.row));
        file.0 = file.0.min(bar.start);
        file.1 = file.1.max(bar.end);
    }
    let mut merged: Vec<(f64, f64, usize)> = by_file.into_values().collect();
    merged.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(merged.len(), 30, "a bar per file");
    // One file at a time: a file starts once the one before it is written. What a worker does
    // after sending its answer (asking for the next index) may overlap the next file a little
    // on a busy machine: at most a tenth of the run.
    let overlap: f64 = merged.windows(2).map(|w| (w[0].1 - w[1].0).max(0.0)).sum();
    let span = merged.iter().map(|f| f.1).fold(0.0, f64::max);
    assert!(
        overlap < 0.1 * span,
        "{overlap} µs of {span} with two files at once"
    );
    // The workers take turns: both write files.
    let rows: std::collections::BTreeSet<usize> = merged.iter().map(|f| f.2).collect();
    assert_eq!(rows.len(), 2, "one worker wrote every file");
}
