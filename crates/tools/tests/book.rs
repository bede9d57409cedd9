//! A quick check of the workshop book without building it: every `{{#include}}` names a file
//! (and anchor) that exists, every image is there, every chapter in SUMMARY.md exists, every
//! `make` command the book or the README shows is a real target; the day's pages fit the day,
//! the Rust primer comes before the first exercise, every HPC word is defined where it is first
//! read, and every exercise not done in the room has a homework page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn src() -> PathBuf {
    repo().join("workshop/src")
}

/// The exercises the room does, in the day's order. Every other exercise is homework, with a
/// page of its own under `homework/` (the capstones: their sections of `your-own-crate.md`).
const IN_ROOM: [&str; 4] = [
    "write_vectorized",
    "write_vectorized_binary",
    "write_multiprocessing_queue",
    "write_mpi_scatter",
];

/// The line of SUMMARY.md that ends the day's pages: what follows is read after it.
const AFTER_THE_DAY: &str = "# After the day";

/// Every Markdown page under `dir`, sorted.
fn markdown_under(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_under(&path, into);
        } else if path.extension().is_some_and(|e| e == "md") {
            into.push(path);
        }
    }
}

/// Every page of the book's sources, chapters and homework pages alike.
fn chapters() -> Vec<PathBuf> {
    let mut files = Vec::new();
    markdown_under(&src(), &mut files);
    files.sort();
    assert!(
        files.len() >= 10,
        "the book has only {} chapters",
        files.len()
    );
    files
}

/// A page's text, by its path under `workshop/src`.
fn page(rel: &str) -> String {
    std::fs::read_to_string(src().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The pages SUMMARY.md links, in the book's reading order.
fn reading_order() -> Vec<String> {
    let summary = page("SUMMARY.md");
    summary
        .match_indices("](")
        .map(|(at, _)| {
            let link = &summary[at + 2..];
            link[..link.find(')').unwrap()].to_owned()
        })
        .collect()
}

/// The pages of the day, from the introduction to the wrap-up, in the book's order.
fn core_path() -> Vec<String> {
    let summary = page("SUMMARY.md");
    let (day, _) = summary
        .split_once(&format!("\n{AFTER_THE_DAY}\n"))
        .unwrap_or_else(|| panic!("SUMMARY.md has no line {AFTER_THE_DAY}"));
    let pages: Vec<String> = day
        .match_indices("](")
        .map(|(at, _)| {
            let link = &day[at + 2..];
            link[..link.find(')').unwrap()].to_owned()
        })
        .collect();
    assert!(pages.len() >= 10, "{pages:?}");
    assert_eq!(pages[0], "introduction.md");
    pages
}

/// The path from a page (`homework/write_mpi.md`) back to the repository's root, as its
/// includes start: `../../../`.
fn to_root(page: &str) -> String {
    "../".repeat(page.matches('/').count() + 2)
}

/// How `page` includes one anchored part of a step's code: from its lesson file (`main.rs`, or a
/// Python step's `lib.rs`: the file `steps::source::main_rs` names), or from the module of the
/// step's crate that holds the anchor (`write_production`'s holes are in its modules).
fn lesson_include(page: &str, step: &str, anchor: &str) -> String {
    let marker = format!("// ANCHOR: {anchor}\n");
    let holds =
        |file: &str| std::fs::read_to_string(repo().join(file)).is_ok_and(|t| t.contains(&marker));
    let main_rs = steps::source::main_rs(step);
    let file = if holds(&main_rs) {
        main_rs
    } else {
        std::fs::read_dir(repo().join(format!("crates/{step}/src")))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| format!("crates/{step}/src/{}", e.file_name().to_string_lossy()))
            .find(|file| holds(file))
            .unwrap_or(main_rs)
    };
    format!("{{{{#include {}{file}:{anchor}}}}}", to_root(page))
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
    for link in reading_order() {
        assert!(
            src().join(&link).is_file(),
            "SUMMARY.md lists {link}, which is missing"
        );
    }
    // `make book` copies docs/images and docs/plots into the book; the sources must exist.
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for (at, _) in text.match_indices("![") {
            // `s![..]` is ndarray's slice macro, not an image.
            if text[..at].ends_with(|c: char| c.is_alphanumeric()) {
                continue;
            }
            let rest = &text[at..];
            let link = &rest[rest.find("](").unwrap() + 2..];
            let link = &link[..link.find(')').unwrap()];
            let source = match link.trim_start_matches("../").split_once('/') {
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

#[test]
fn every_page_is_in_the_summary() {
    let listed: BTreeSet<String> = reading_order().into_iter().collect();
    for chapter in chapters() {
        let rel = chapter.strip_prefix(src()).unwrap().to_string_lossy();
        // plan.md is included by the instructor's guide, not read on its own.
        if rel == "SUMMARY.md" || rel == "plan.md" {
            continue;
        }
        assert!(
            listed.contains(rel.as_ref()),
            "{rel} is not in SUMMARY.md: no reader finds it"
        );
    }
}

#[test]
fn every_link_between_pages_leads_somewhere() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for (at, _) in text.match_indices("](") {
            let link = &text[at + 2..];
            let link = &link[..link.find(')').unwrap_or(0)];
            let (file, id) = link.split_once('#').unwrap_or((link, ""));
            if !file.ends_with(".md") || file.contains("://") {
                continue;
            }
            let target = chapter.parent().unwrap().join(file);
            let Ok(target_text) = std::fs::read_to_string(&target) else {
                wrong.push(format!("{}: {link}: no such page", chapter.display()));
                continue;
            };
            let ids: Vec<String> = target_text
                .lines()
                .filter(|l| l.starts_with('#'))
                .map(|l| steps::derived::heading_id(l.trim_start_matches('#')))
                .collect();
            if !id.is_empty() && !ids.iter().any(|i| i == id) {
                wrong.push(format!("{}: {link}: no heading #{id}", chapter.display()));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked > 50, "only {checked} links");
}

fn makefile_targets() -> BTreeSet<String> {
    // The Makefile and every file it includes (the step targets are generated into steps.mk),
    // read as the deck reads it.
    steps::makefile::Makefile::read(&repo()).unwrap().targets
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
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
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
        let Ok(entries) = std::fs::read_dir(dir.join("src")) else {
            continue; // a step whose crate is still to come: nothing of it is shown
        };
        code += &std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        for entry in entries {
            code += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
        }
    }
    code
}

#[test]
fn the_cheat_sheet_names_only_calls_the_steps_make() {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let code = squeeze(&step_code());
    let sheet = page("cheat-sheet.md");
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

/// The chapter's part a learner reads in the room: everything before "## Going further".
fn in_the_room(text: &str) -> &str {
    text.split("\n## Going further").next().unwrap_or(text)
}

/// Words of prose: no code blocks, includes, comments, HTML tags, nor folded `<details>`
/// (hints and solutions, opened on demand) when `folded` is false.
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
    for (open, close) in [("{{#", "}}"), ("<!--", "-->"), ("<", ">")] {
        prose = cut(&prose, open, close);
    }
    prose
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .count()
}

/// `text` without every span from `open` to the next `close` (both included).
fn cut(text: &str, open: &str, close: &str) -> String {
    let mut kept = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(open) {
        kept.push_str(&rest[..at]);
        rest = rest[at..].split_once(close).map_or("", |(_, r)| r);
    }
    kept.push_str(rest);
    kept
}

#[test]
fn the_day_fits_a_three_hour_slot() {
    let mut total = 0;
    for chapter in core_path() {
        let text = page(&chapter);
        let room = in_the_room(&text);
        let read = words(room, false);
        assert!(
            read <= 600,
            "{chapter}: {read} words before \"Going further\": the room's part is at most ~600"
        );
        let with_folded = words(room, true);
        eprintln!("{chapter}: {read} words in the room, {with_folded} with hints and solutions");
        total += with_folded;
    }
    eprintln!("the day: {total} words");
    assert!(
        total <= 6000,
        "the day's pages are {total} words (hints and solutions included): at most ~6000"
    );
    assert!(
        total > 2000,
        "only {total} words: has the book lost its text?"
    );
    assert_eq!(
        words(
            "a b\n```\nc d\n```\n<details>e</details>{{#x y}}<!-- z -->\n<table><tr><td>f",
            false
        ),
        3
    );
}

/// The heading of an exercise's section, where the grader reads its hints
/// (`crates/grader/src/hints.rs`).
fn exercise_heading(name: &str) -> String {
    format!("## Write it yourself: `{name}`")
}

/// The section of `text` under `heading`, to the next heading of its level or above.
fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let start = text.find(&format!("{heading}\n"))? + heading.len() + 1;
    let body = &text[start..];
    let end = body
        .find("\n## ")
        .or_else(|| body.find("\n# "))
        .unwrap_or(body.len());
    Some(&body[..end])
}

/// The steps that are exercises: those whose code leaves holes.
fn step_exercises() -> impl Iterator<Item = &'static steps::Step> {
    tools::STEPS.iter().filter(|s| !s.holes.is_empty())
}

/// The capstones, `capstone_<name>` for each `crates/grader/capstone/<name>.rs`.
fn capstones() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("crates/grader/capstone"))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "rs").then(|| format!("capstone_{stem}"))
        })
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    names
}

/// The page that holds exercise `name`'s section: its chapter for the room's, else its
/// homework page (the capstones: `your-own-crate.md`).
fn exercise_page(name: &str) -> String {
    match steps::find(name) {
        Some(step) if IN_ROOM.contains(&name) => step.chapter.to_owned(),
        Some(_) => format!("homework/{name}.md"),
        None => "your-own-crate.md".to_owned(),
    }
}

/// What every exercise's section gives the learner: the commands, hints, a checkpoint.
fn assert_a_full_exercise(name: &str, page_name: &str, body: &str) {
    for command in ["exercise", "verify", "hint"] {
        assert!(
            body.contains(&format!("make {command} STEP={name}")),
            "{page_name}: the section of {name} never says `make {command} STEP={name}`"
        );
    }
    let hints = body.matches("<summary>Hint").count();
    assert!(hints >= 2, "{page_name}: {name} has {hints} hints");
    assert!(
        body.contains("Checkpoint"),
        "{page_name}: {name}'s section has no checkpoint: what does the learner see when done?"
    );
}

#[test]
fn the_room_does_its_exercises_in_the_chapters_it_reads() {
    let day = core_path();
    let mut previous = 0;
    for name in IN_ROOM {
        let step = steps::find(name).unwrap_or_else(|| panic!("{name} is no step"));
        assert!(!step.holes.is_empty(), "{name} leaves nothing to write");
        let at = day.iter().position(|c| c == step.chapter);
        let at = at.unwrap_or_else(|| panic!("{} is not a page of the day", step.chapter));
        assert!(at >= previous, "IN_ROOM is not in the day's order");
        previous = at;
        let text = page(step.chapter);
        let heading = exercise_heading(name);
        assert!(
            in_the_room(&text).contains(&format!("{heading}\n")),
            "{}: {heading} must come before \"Going further\"",
            step.chapter
        );
        assert_a_full_exercise(name, step.chapter, section(&text, &heading).unwrap());
    }
}

#[test]
fn the_deck_has_the_room_write_the_same_exercises() {
    // The deck is what the room follows: its exercise slides are IN_ROOM, in the same order.
    let deck = std::fs::read_to_string(repo().join("workshop/slides/deck.md")).unwrap();
    let on_slides: Vec<&str> = deck
        .match_indices("{{#exercise ")
        .map(|(at, _)| {
            let rest = &deck[at + "{{#exercise ".len()..];
            rest[..rest.find("}}").unwrap()].trim()
        })
        .collect();
    assert_eq!(
        on_slides, IN_ROOM,
        "the deck's exercise slides and the book's exercises in the room differ"
    );
}

#[test]
fn every_exercise_not_done_in_the_room_has_a_homework_page() {
    let order = reading_order();
    let homework = page("homework.md");
    let mut pages = 0;
    for step in step_exercises().filter(|s| !IN_ROOM.contains(&s.name)) {
        let rel = exercise_page(step.name);
        assert!(
            order.contains(&rel),
            "{}: an exercise done at home needs its page {rel}, in SUMMARY.md",
            step.name
        );
        let text = page(&rel);
        let body = section(&text, &exercise_heading(step.name))
            .unwrap_or_else(|| panic!("{rel} has no section {}", exercise_heading(step.name)));
        assert_a_full_exercise(step.name, &rel, body);
        // The page sends the learner to where the idea is taught.
        assert!(
            text.contains(&format!("](../{})", step.chapter))
                || text.contains(&format!("](../{}#", step.chapter)),
            "{rel} never links its chapter {}",
            step.chapter
        );
        assert!(
            homework.contains(&format!("](homework/{}.md)", step.name)),
            "homework.md does not list {}",
            step.name
        );
        pages += 1;
    }
    assert!(pages >= 6, "only {pages} homework pages");
    for capstone in capstones() {
        let text = page(&exercise_page(&capstone));
        let body = section(&text, &exercise_heading(&capstone))
            .unwrap_or_else(|| panic!("your-own-crate.md has no section for {capstone}"));
        assert!(body.contains(&format!("make verify STEP={capstone}")));
        assert!(body.matches("<summary>Hint").count() >= 2);
        assert!(
            homework.contains(&capstone),
            "homework.md does not list {capstone}"
        );
    }
}

#[test]
fn every_exercise_heading_is_in_the_book_once() {
    // The grader finds an exercise's hints by its heading: two would be ambiguous.
    let names: Vec<String> = step_exercises()
        .map(|s| s.name.to_owned())
        .chain(capstones())
        .collect();
    for name in names {
        let heading = format!("{}\n", exercise_heading(&name));
        let holders: Vec<String> = chapters()
            .iter()
            .filter(|c| std::fs::read_to_string(c).unwrap().contains(&heading))
            .map(|c| c.strip_prefix(src()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            holders,
            [exercise_page(&name)],
            "the section of {name} must be on its page, once"
        );
    }
}

#[test]
fn every_hole_is_explained_and_its_solution_folded_on_its_exercise_page() {
    let mut checked = 0;
    for step in step_exercises() {
        let exercise = exercise_page(step.name);
        let exercise_text = page(&exercise);
        for hole in step.holes {
            // Where the chapter explains it.
            let (file, section) = hole.section.split_once('#').unwrap();
            let text = page(file);
            let ids: Vec<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
                .map(steps::derived::heading_id)
                .collect();
            assert!(
                ids.iter().any(|id| id == section),
                "{file} has no section #{section} (it has {ids:?})"
            );
            // Its solution, on the exercise's page.
            let include = lesson_include(&exercise, step.name, hole.anchor);
            assert!(
                exercise_text.contains(&include),
                "{exercise} does not include {include}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} holes");
    // Anywhere in the book, the lines an exercise leaves out are shown only folded.
    for chapter in chapters() {
        let rel = chapter.strip_prefix(src()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&chapter).unwrap();
        for step in step_exercises() {
            for hole in step.holes {
                let include = lesson_include(&rel, step.name, hole.anchor);
                for (at, _) in text.match_indices(&include) {
                    let before = &text[..at];
                    assert!(
                        before.matches("<details>").count() > before.matches("</details>").count(),
                        "{rel} shows {}'s {} unfolded: an exercise's solution belongs in a <details>",
                        step.name,
                        hole.anchor
                    );
                }
            }
        }
    }
    assert_eq!(
        steps::derived::heading_id("A pool with a blocking `apply`"),
        "a-pool-with-a-blocking-apply"
    );
    assert_eq!(
        steps::derived::heading_id("The .npy format"),
        "the-npy-format"
    );
    assert_eq!(
        to_root("homework/write_mpi.md"),
        "../../../",
        "a homework page's includes climb one folder more"
    );
}

#[test]
fn the_rust_primer_comes_before_the_first_exercise() {
    let order = reading_order();
    let primer = order
        .iter()
        .position(|p| p == "rust-primer.md")
        .expect("SUMMARY.md lists the Rust primer, rust-primer.md");
    assert!(core_path().contains(&"rust-primer.md".to_owned()));
    for (at, rel) in order.iter().enumerate() {
        if page(rel).contains("## Write it yourself: `") {
            assert!(
                primer < at,
                "{rel} has an exercise, and comes before the Rust primer"
            );
        }
    }
    // What it covers, each beside its Python.
    let text = page("rust-primer.md");
    for topic in [
        "cargo",
        "`let`",
        "`mut`",
        "`&`",
        "`Vec`",
        "ndarray",
        "`Result`",
        "`?`",
        "lambda",
        "move",
        "comprehension",
        "thread",
        "channel",
        "scope",
    ] {
        assert!(text.contains(topic), "the primer never mentions {topic}");
    }
    let sides = in_the_room(&text).matches("```python").count();
    assert!(sides >= 8, "only {sides} Python blocks beside the Rust");
}

/// The code of `text` alone: every line without its `//` comment, trimmed, blank lines left out.
fn code_without_comments(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split(" //").next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_primers_rust_is_the_steps_own() {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut code = step_code();
    for lib in ["gridgen", "gridgen-contract", "gridgen-mpi"] {
        let mut files = Vec::new();
        rust_files(&repo().join("crates").join(lib).join("src"), &mut files);
        for file in files {
            code += &std::fs::read_to_string(file).unwrap();
        }
    }
    let code = squeeze(&code_without_comments(&code).join("\n"));
    let text = page("rust-primer.md");
    let mut checked = 0;
    let mut rust = false;
    for line in text.lines() {
        if line.starts_with("```") {
            rust = line.trim() == "```rust";
            continue;
        }
        if !rust || line.contains("{{#include") {
            continue;
        }
        for piece in code_without_comments(line) {
            assert!(
                code.contains(&squeeze(&piece)),
                "rust-primer.md: `{piece}` is in no step's code: show the steps' own lines"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} lines of Rust checked");
}

/// Every Rust file under `dir`.
fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// What a reader reads of a page, in lower case: its prose and the prose it includes (the
/// benchmark report's parts, the captured checkpoints), without code, comments, link targets,
/// headings (they name what the section below them defines) or the generated table of steps (a
/// list of names, each taught in the chapter it links to).
fn read_text(rel: &str) -> String {
    let path = src().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut prose = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced && !line.starts_with('#') {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    let mut expanded = String::new();
    let mut rest = prose.as_str();
    while let Some(at) = rest.find("{{#include ") {
        expanded.push_str(&rest[..at]);
        let inner = &rest[at + "{{#include ".len()..];
        let end = inner.find("}}").expect("an unclosed include");
        let (file, anchor) = match inner[..end].trim().split_once(':') {
            Some((f, a)) => (f, Some(a)),
            None => (inner[..end].trim(), None),
        };
        if file.ends_with(".md") || file.ends_with(".txt") {
            let included = std::fs::read_to_string(path.parent().unwrap().join(file)).unwrap();
            let part = match anchor {
                Some(a) => steps::source::anchor_text(&included, a).unwrap_or_default(),
                None => included,
            };
            expanded.push_str(&part);
        }
        rest = &inner[end + 2..];
    }
    expanded.push_str(rest);
    let mut text = cut(&expanded, "<!-- steps:begin", "<!-- steps:end -->");
    text = cut(&text, "<!--", "-->");
    text = cut(&text, "](", ")");
    // Inline code: names of the code, not words of the prose.
    let mut prose = String::new();
    for (i, piece) in text.split('`').enumerate() {
        if i % 2 == 0 {
            prose.push_str(piece);
        }
        prose.push(' ');
    }
    prose
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The glossary's terms, each with the page the glossary says defines it.
fn glossary() -> Vec<(String, String)> {
    let text = page("glossary.md");
    let terms: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("- **")?;
            let (term, rest) = rest.split_once("**")?;
            let link = rest.rsplit_once("](")?.1;
            let target = link.split([')', '#']).next()?;
            Some((term.to_owned(), target.to_owned()))
        })
        .collect();
    assert!(terms.len() >= 25, "only {} glossary terms", terms.len());
    terms
}

/// Where `term` first appears in `text` as a word or a word's start (`rank`, `ranks`).
fn first_use(text: &str, term: &str) -> Option<usize> {
    let term = term.to_lowercase();
    text.match_indices(&term).map(|(at, _)| at).find(|&at| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

#[test]
fn every_glossary_term_is_defined_where_it_is_first_read() {
    let order: Vec<String> = reading_order()
        .into_iter()
        .filter(|p| p != "glossary.md")
        .collect();
    let texts: Vec<(String, String)> = order.iter().map(|p| (p.clone(), read_text(p))).collect();
    let mut wrong = Vec::new();
    for (term, defined_in) in glossary() {
        let found = texts
            .iter()
            .find_map(|(p, text)| first_use(text, &term).map(|at| (p, text, at)));
        let Some((first_page, text, at)) = found else {
            wrong.push(format!("the glossary's {term} is in no chapter"));
            continue;
        };
        let from = text.floor_char_boundary(at.saturating_sub(40));
        let to = text.ceil_char_boundary((at + 60).min(text.len()));
        if !text[..at].ends_with("<dfn>") {
            wrong.push(format!(
                "{first_page} uses \"{term}\" before any chapter defines it (with <dfn>): …{}…",
                &text[from..to]
            ));
        } else if first_page != &defined_in {
            wrong.push(format!(
                "the glossary says {term} is defined in {defined_in}, but {first_page} does"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(first_use("the ranks of", "Rank"), Some(4));
    assert_eq!(first_use("cranks", "rank"), None);
}

#[test]
fn the_book_says_under_which_licences_it_may_be_used() {
    let text = page("introduction.md");
    for (licence, file) in [
        ("CC BY 4.0", "LICENSE-CC-BY-4.0"),
        ("MIT", "LICENSE-MIT"),
        ("Apache-2.0", "LICENSE-APACHE"),
    ] {
        assert!(
            text.contains(licence) && text.contains(file),
            "introduction.md must name {licence} and its file {file}"
        );
        assert!(
            repo().join(file).is_file(),
            "the book names {file}, which is missing"
        );
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
    let chapter = page("cluster.md");
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
    let mut exercises = 0;
    for chapter in chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        // An exercise runs from its heading to the next heading of the same or a higher level.
        for exercise in text
            .split("\n## ")
            .filter(|s| s.starts_with("Write it yourself"))
        {
            assert!(
                !exercise.contains("make test"),
                "{}: an exercise tells learners to run `make test`; give the cheap command",
                chapter.display()
            );
            exercises += 1;
        }
    }
    assert!(exercises >= 10, "only {exercises} exercise sections found");
}

/// The identifiers of every Rust file under `dir`.
fn words_of(dir: &Path, into: &mut BTreeSet<String>) {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        into.extend(
            text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
        );
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
        "tempfile",
    ] {
        words_of(&registry_source(package).join("src"), &mut names);
    }
    names
}

/// Methods of Rust's standard library the chapters use (its source is not on every machine).
const STD: &[&str] = &[
    "name",
    "spawn",
    "scope",
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
    "is_err",
    "is_empty",
    "len",
    "take",
    "skip",
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
    "push",
    "new",
    "rename",
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
