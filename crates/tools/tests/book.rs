//! A quick check of the workshop book without building it: every `{{#include}}` names a file
//! (and anchor) that exists, every image is there, every chapter in SUMMARY.md exists, and every
//! `make` command the book or the README shows is a real target.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chapters() -> Vec<PathBuf> {
    let dir = repo().join("workshop/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "the book has only {} chapters",
        files.len()
    );
    files
}

/// Every `{{#include path}}` or `{{#include path:anchor}}` in `text`.
fn includes(text: &str) -> Vec<(String, Option<String>)> {
    text.match_indices("{{#include ")
        .map(|(at, _)| {
            let rest = &text[at + "{{#include ".len()..];
            let inner = &rest[..rest.find("}}").expect("an unclosed include")];
            match inner.trim().split_once(':') {
                Some((path, anchor)) => (path.to_owned(), Some(anchor.to_owned())),
                None => (inner.trim().to_owned(), None),
            }
        })
        .collect()
}

#[test]
fn every_include_and_anchor_exists() {
    let mut checked = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for (path, anchor) in includes(&text) {
            let target = chapter.parent().unwrap().join(&path);
            let content = std::fs::read_to_string(&target)
                .unwrap_or_else(|e| panic!("{}: include {path}: {e}", chapter.display()));
            if let Some(anchor) = anchor {
                assert!(
                    content.contains(&format!("ANCHOR: {anchor}"))
                        && content.contains(&format!("ANCHOR_END: {anchor}")),
                    "{}: {path} has no anchor '{anchor}'",
                    chapter.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked > 15,
        "only {checked} includes: has the book lost its code?"
    );
}

#[test]
fn every_chapter_in_the_summary_and_every_image_exists() {
    let src = repo().join("workshop/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    for (at, _) in summary.match_indices("](") {
        let link = &summary[at + 2..];
        let link = &link[..link.find(')').unwrap()];
        assert!(
            src.join(link).is_file(),
            "SUMMARY.md lists {link}, which is missing"
        );
    }
    // `make book` copies docs/images and docs/plots into the book; the sources must exist.
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for (at, _) in text.match_indices("![") {
            let rest = &text[at..];
            let link = &rest[rest.find("](").unwrap() + 2..];
            let link = &link[..link.find(')').unwrap()];
            let source = match link.split_once('/') {
                Some(("images", name)) => repo().join("docs/images").join(name),
                Some(("plots", name)) => repo().join("docs/plots").join(name),
                _ => panic!(
                    "{}: image {link} is neither images/ nor plots/",
                    chapter.display()
                ),
            };
            assert!(
                source.is_file(),
                "{}: {} is missing",
                chapter.display(),
                source.display()
            );
        }
    }
}

fn makefile_targets() -> BTreeSet<String> {
    // The Makefile and what it includes: the step targets are generated into steps.mk.
    let makefile = std::fs::read_to_string(repo().join("Makefile")).unwrap()
        + &std::fs::read_to_string(repo().join("steps.mk")).unwrap();
    let mut targets = BTreeSet::new();
    for line in makefile.lines() {
        if line.starts_with(|c: char| c.is_ascii_alphanumeric())
            && !line.contains(":=")
            && !line.contains("?=")
        {
            if let Some((names, _)) = line.split_once(':') {
                targets.extend(names.split_whitespace().map(str::to_owned));
            }
        }
    }
    targets
}

#[test]
fn every_make_command_shown_is_a_real_target() {
    let targets = makefile_targets();
    let mut files = chapters();
    files.push(repo().join("README.md"));
    files.extend(
        ["setup.md", "troubleshooting.md", "architecture.md"].map(|f| repo().join("docs").join(f)),
    );
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("make ") {
            // Only commands: `make x` in backticks or at the start of a (code) line.
            let before = text[..at].chars().last().unwrap_or('\n');
            if !(before == '`' || before == '\n' || before == ' ' && text[..at].ends_with("    ")) {
                continue;
            }
            let target = text[at + 5..]
                .split(|c: char| c.is_whitespace() || c == '`')
                .next()
                .unwrap_or("");
            if target.is_empty() || target.contains('=') || target.starts_with('-') {
                continue;
            }
            assert!(
                targets.contains(target),
                "{}: `make {target}` is not a Makefile target",
                file.display()
            );
            seen += 1;
        }
    }
    assert!(seen > 20, "only {seen} make commands found");
}

#[test]
fn the_diffs_the_book_shows_match_the_code() {
    let mut checked = 0;
    for (step, pred) in tools::STEPS
        .iter()
        .filter_map(|s| s.predecessor.map(|p| (s.name, p)))
    {
        let out = std::process::Command::new("scripts/step-diff.sh")
            .current_dir(repo())
            .args([pred, step])
            .output()
            .expect("scripts/step-diff.sh runs");
        assert!(out.status.success(), "step-diff.sh {pred} {step} failed");
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(
            shown.contains("@@") && !shown.contains("ANCHOR"),
            "the learner's diff of {step} must show changes and no ANCHOR marker"
        );
        let committed =
            std::fs::read_to_string(repo().join(format!("workshop/src/diffs/{step}.diff")))
                .unwrap_or_else(|_| {
                    panic!("workshop/src/diffs/{step}.diff is missing: run scripts/book-diffs.sh")
                });
        assert!(
            committed.as_bytes() == out.stdout.as_slice(),
            "workshop/src/diffs/{step}.diff is stale: run scripts/book-diffs.sh (make book does)"
        );
        checked += 1;
    }
    assert_eq!(
        checked,
        tools::STEPS.len() - 1,
        "every step but the first has a diff"
    );
}

/// Every source file and the manifest of every step crate, and the workspace's manifest.
fn step_code() -> String {
    let mut code = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    for step in tools::STEPS {
        let dir = repo().join(format!("crates/{}", step.name));
        code += &std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for entry in std::fs::read_dir(dir.join("src")).unwrap() {
            code += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
        }
    }
    code
}

#[test]
fn the_cheat_sheet_names_only_calls_the_steps_make() {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let code = squeeze(&step_code());
    let sheet = std::fs::read_to_string(repo().join("workshop/src/cheat-sheet.md")).unwrap();
    // The first table maps Python to the crates' calls; the helpers' table after it is not a
    // list of calls.
    let calls = sheet.split("\n## ").next().unwrap();
    let mut checked = 0;
    for row in calls.lines().filter(|l| l.starts_with("| `")) {
        // Columns: Python | Rust | step. Split on unescaped pipes.
        let cells: Vec<String> = row
            .replace("\\|", "\u{1}")
            .split('|')
            .map(|c| c.replace('\u{1}', "|"))
            .collect();
        let (rust, step) = (&cells[2], cells[3].trim());
        if step == "every step" {
            continue;
        }
        for span in rust.split('`').skip(1).step_by(2) {
            for piece in span.split('…').map(str::trim).filter(|p| !p.is_empty()) {
                assert!(
                    code.contains(&squeeze(piece)),
                    "cheat-sheet: `{piece}` is in no step's code"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} calls checked");
    // The helpers the steps call are named as the workshop's own, not as a crate's API.
    assert!(sheet.contains("## What the workshop's own helpers stand for"));
}

#[test]
fn every_chapter_shows_the_lines_its_exercise_leaves_out() {
    let mut checked = 0;
    for step in tools::STEPS {
        for hole in step.holes {
            let (file, section) = hole.section.split_once('#').unwrap();
            let text = std::fs::read_to_string(repo().join("workshop/src").join(file)).unwrap();
            let include = lesson_include(step.name, hole.anchor);
            assert!(text.contains(&include), "{file} does not include {include}");
            let ids: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
                .map(steps::derived::heading_id)
                .collect();
            assert!(
                ids.iter().any(|id| id == section),
                "{file} has no section #{section} (it has {ids:?})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} holes");
    assert_eq!(
        steps::derived::heading_id("A pool with a blocking `apply`"),
        "a-pool-with-a-blocking-apply"
    );
    assert_eq!(
        steps::derived::heading_id("The .npy format"),
        "the-npy-format"
    );
}

/// The chapters of the path from the introduction to the wrap-up, in the book's order.
fn core_path() -> Vec<String> {
    let summary = std::fs::read_to_string(repo().join("workshop/src/SUMMARY.md")).unwrap();
    let mut chapters = vec!["introduction.md".to_owned()];
    chapters.extend(
        summary
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- ["))
            .filter_map(|l| l.split_once("](")?.1.strip_suffix(')'))
            .map(str::to_owned),
    );
    assert!(chapters.len() >= 10, "{chapters:?}");
    chapters
}

/// The chapter's part a learner reads in the room: everything before "## Going further".
fn in_the_room(text: &str) -> &str {
    text.split("\n## Going further").next().unwrap_or(text)
}

/// Words of prose: no code blocks, includes, comments, nor folded `<details>` (hints and
/// solutions, opened on demand) when `folded` is false.
fn words(text: &str, folded: bool) -> usize {
    let mut prose = String::new();
    let mut fenced = false;
    let mut details = 0;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        details += line.matches("<details>").count();
        let closing = line.matches("</details>").count();
        if !fenced && (folded || details == 0) {
            prose.push_str(line);
            prose.push('\n');
        }
        details -= closing.min(details);
    }
    let mut rest = prose.as_str();
    let mut kept = String::new();
    for (open, close) in [("{{#", "}}"), ("<!--", "-->")] {
        kept.clear();
        while let Some(at) = rest.find(open) {
            kept.push_str(&rest[..at]);
            rest = rest[at..].split_once(close).map_or("", |(_, r)| r);
        }
        kept.push_str(rest);
        prose = kept.clone();
        rest = prose.as_str();
    }
    prose
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .count()
}

#[test]
fn the_core_path_fits_a_three_hour_slot() {
    let mut total = 0;
    for chapter in core_path() {
        let text = std::fs::read_to_string(repo().join("workshop/src").join(&chapter)).unwrap();
        let room = in_the_room(&text);
        let read = words(room, false);
        assert!(
            read <= 600,
            "{chapter}: {read} words before \"Going further\": the room's part is at most ~600"
        );
        total += words(room, true);
    }
    assert!(
        total <= 6000,
        "the core path is {total} words (hints and solutions included): at most ~6000"
    );
    assert!(
        total > 2000,
        "only {total} words: has the book lost its text?"
    );
    assert_eq!(
        words(
            "a b\n```\nc d\n```\n<details>e</details>{{#x y}}<!-- z -->",
            false
        ),
        2
    );
}

#[test]
fn every_exercise_is_in_the_room_and_its_solution_folded() {
    for chapter in core_path() {
        let text = std::fs::read_to_string(repo().join("workshop/src").join(&chapter)).unwrap();
        let room = in_the_room(&text);
        let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("## ")).collect();
        let exercises: Vec<&&str> = headings
            .iter()
            .filter(|h| h.starts_with("## Write it yourself"))
            .collect();
        if chapter != "introduction.md" {
            assert!(
                !exercises.is_empty(),
                "{chapter} has no \"Write it yourself\" section"
            );
        }
        for exercise in exercises {
            assert!(
                room.contains(exercise),
                "{chapter}: {exercise} must come before \"Going further\""
            );
        }
    }
    // A step's lines that its exercise leaves out are shown only inside a folded <details>.
    for step in tools::STEPS {
        for hole in step.holes {
            let chapter = hole.section.split_once('#').unwrap().0;
            let text = std::fs::read_to_string(repo().join("workshop/src").join(chapter)).unwrap();
            let include = lesson_include(step.name, hole.anchor);
            for (at, _) in text.match_indices(&include) {
                let before = &text[..at];
                let opened = before.matches("<details>").count();
                let closed = before.matches("</details>").count();
                assert!(
                    opened > closed,
                    "{chapter} shows {}'s {} unfolded: the exercise's solution belongs in a <details>",
                    step.name,
                    hole.anchor
                );
            }
        }
    }
}

/// Bytes a run of `step` writes: text 25 bytes a value, .npy and HDF5 8.
fn bytes_written(step: &steps::Step, n: u64, s: u64) -> u64 {
    let per_value = if step.format == steps::Format::Txt {
        25
    } else {
        8
    };
    n * s * s * per_value
}

#[test]
fn every_command_a_chapter_runs_leaves_little_on_disk() {
    let mut checked = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for paragraph in text.split("\n\n") {
            for line in paragraph.lines() {
                let Some(at) = line.find("make write") else {
                    continue;
                };
                let words: Vec<&str> = line[at + 5..]
                    .split(|c: char| c.is_whitespace() || c == '`')
                    .take_while(|w| !w.is_empty())
                    .collect();
                let Some(step) = words.first().and_then(|w| steps::find(w)) else {
                    continue;
                };
                let var = |name: &str, default: u64| {
                    words
                        .iter()
                        .find_map(|w| w.strip_prefix(name)?.parse().ok())
                        .unwrap_or(default)
                };
                let bytes = bytes_written(step, var("N=", 100), var("S=", 100));
                let cleaned = paragraph.contains("rm -r") || paragraph.contains("make clean");
                assert!(
                    bytes <= 100_000_000 || cleaned,
                    "{}: `{}` leaves {} MB: make it smaller or say how to clean up",
                    chapter.display(),
                    line.trim(),
                    bytes / 1_000_000
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} commands checked");
}

#[test]
fn the_cluster_chapter_includes_every_job_script() {
    let chapter = std::fs::read_to_string(repo().join("workshop/src/cluster.md")).unwrap();
    let mut jobs = 0;
    for entry in std::fs::read_dir(repo().join("slurm")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".job") {
            assert!(
                chapter.contains(&format!("{{{{#include ../../slurm/{name}}}}}")),
                "cluster.md does not include slurm/{name}"
            );
            jobs += 1;
        }
    }
    assert!(jobs >= 6, "only {jobs} job scripts");
    for needed in [
        "salloc",
        "srun --mpi=pmix",
        "sacct",
        "--cpus-per-task",
        "scratch",
        "HDF5_USE_FILE_LOCKING",
    ] {
        assert!(
            chapter.contains(needed),
            "cluster.md never mentions {needed}"
        );
    }
}

#[test]
fn no_exercise_sends_learners_to_make_test() {
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        // An exercise runs from its heading to the next heading of the same or a higher level.
        for exercise in text.split("\n## ").filter(|s| s.starts_with("Exercise")) {
            assert!(
                !exercise.contains("make test"),
                "{}: an exercise tells learners to run `make test`; give the cheap command",
                chapter.display()
            );
        }
    }
}

/// The identifiers of every Rust file under `dir`.
fn words_of(dir: &Path, into: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            words_of(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            into.extend(
                text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned),
            );
        }
    }
}

/// The source folder of a dependency in cargo's registry, at the version Cargo.lock pins.
fn registry_source(package: &str) -> PathBuf {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains(&format!("name = \"{package}\"\n")))
        .and_then(|p| p.split("version = \"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("{package} is not in Cargo.lock"));
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let registries = home.join("registry/src");
    std::fs::read_dir(&registries)
        .unwrap_or_else(|e| panic!("{}: {e}", registries.display()))
        .flatten()
        .map(|r| r.path().join(format!("{package}-{version}")))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "no source of {package} {version} under {}",
                registries.display()
            )
        })
}

/// Every identifier of the workspace's crates and of the crates the chapters teach.
fn known_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("crates")).unwrap() {
        words_of(&entry.unwrap().path(), &mut names);
    }
    for package in [
        "hdf5-metno",
        "hdf5-metno-types",
        "mpi",
        "rayon",
        "rayon-core",
        "crossbeam-channel",
        "ndarray",
        "bytemuck",
        "npyz",
        "pyo3",
        "numpy",
    ] {
        words_of(&registry_source(package).join("src"), &mut names);
    }
    names
}

/// Methods of Rust's standard library the chapters use (its source is not on every machine).
const STD: &[&str] = &[
    "name",
    "spawn_scoped",
    "join",
    "send",
    "recv",
    "try_recv",
    "clone",
    "collect",
    "write_all",
    "as_slice",
    "iter",
    "into_iter",
    "map",
    "map_err",
    "unwrap_or",
    "unwrap_or_default",
    "ok",
    "is_empty",
    "len",
    "take",
    "enumerate",
    "copied",
    "chunks",
    "next",
    "first",
    "floor",
    "to_le_bytes",
    "div_ceil",
    "min",
    "max",
    "get",
    "flush",
    "as_str",
    "unwrap",
    "expect",
];

/// Inline code that reads as Rust (not Python, not a shell command).
fn rusty(span: &str) -> bool {
    ["::", "?", "&", "|", "->", "!("]
        .iter()
        .any(|m| span.contains(m))
        && !span.starts_with("make ")
        && !span.contains("numpy.")
        && !span.contains("h5py.")
}

#[test]
fn no_chapter_names_a_function_or_path_that_does_not_exist() {
    let names = known_names();
    let mut checked = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for span in text.split('`').skip(1).step_by(2) {
            let span = span.trim();
            // A file of the repository, named by its path.
            if span.starts_with("crates/") && span.ends_with(".rs") {
                assert!(
                    repo().join(span).is_file(),
                    "{}: `{span}` does not exist",
                    chapter.display()
                );
                checked += 1;
                continue;
            }
            if !rusty(span) || span.starts_with("std::") {
                continue;
            }
            // Every segment after `::` and every `.method(`: a name some crate has.
            let called = span
                .split("::")
                .skip(1)
                .chain(span.split('.').skip(1))
                .filter_map(|s| {
                    let name: String = s
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    (!name.is_empty() && name.chars().next().is_some_and(|c| c.is_alphabetic()))
                        .then_some(name)
                });
            for name in called {
                assert!(
                    names.contains(&name) || STD.contains(&name.as_str()),
                    "{}: `{span}` names {name}, which neither the workspace nor its crates have",
                    chapter.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "only {checked} names checked");
}

/// How a chapter includes one anchored part of a step's lesson file (`main.rs`, or a Python
/// step's `lib.rs`: the file `steps::source::main_rs` names).
fn lesson_include(step: &str, anchor: &str) -> String {
    format!(
        "{{{{#include ../../{}:{anchor}}}}}",
        steps::source::main_rs(step)
    )
}
