//! The deck, held to its sources: it renders from the committed template, code and numbers;
//! it covers every section of the original workshop and ours; every step has its lesson and its
//! diff on a slide; no number is typed on a slide; every line of code shown is in a step; the
//! instructor's plan is the deck's; every checkpoint is captured and shown.

use std::path::{Path, PathBuf};

use deck::checkpoints::{self, CHECKPOINTS};
use deck::render::{self, Sources};
use deck::template::{self, Deck};
use deck::{code, plan};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template_text() -> String {
    std::fs::read_to_string(repo().join("workshop/slides/deck.md")).unwrap()
}

fn deck() -> Deck {
    template::parse(&template_text()).unwrap()
}

fn rendered() -> String {
    render::deck(&deck(), &Sources::read(&repo()).unwrap())
        .unwrap()
        .markdown
}

#[test]
fn the_deck_fits_the_three_hour_plan() {
    let deck = deck();
    let slides = deck.slides.len();
    // The original's sixty or so, the Python step's section among them.
    assert!((40..=60).contains(&slides), "{slides} slides, not 40 to 60");
    let minutes: u32 = deck.slides.iter().map(|s| s.notes.minutes).sum();
    assert!(
        (170..=190).contains(&minutes),
        "{minutes} minutes, not about 180"
    );
    for (i, slide) in deck.slides.iter().enumerate() {
        assert!(slide.notes.minutes > 0, "slide {} takes no time", i + 1);
        assert!(
            !slide.heading().is_empty(),
            "slide {} has no heading",
            i + 1
        );
    }
}

/// The original deck's sections, in its order.
const ORIGINAL: [&str; 24] = [
    "outline",
    "getting set up",
    "profiling and benchmarking",
    "how to profile",
    "interpreting",
    "general recommendations",
    "vectorizing",
    "read/write performance",
    "parallel programming",
    "costs of parallelizing",
    "amdahl",
    "hardware and slurm resources",
    "implicit and explicit parallelism",
    "the pool",
    "copying (pickling)",
    "queue",
    "timelines",
    "point-to-point",
    "scatter",
    "parallel i/o",
    "one hdf5 file",
    "parallel hdf5",
    "mpi job script",
    "and resources",
];

/// What this workshop adds.
const OURS: [&str; 7] = [
    "you write the code",
    "exercise",
    "rayon",
    "collective",
    "site file",
    "capstone",
    "how close to the floor",
];

#[test]
fn every_section_of_the_original_and_of_ours_has_a_slide() {
    let deck = deck();
    let slides: Vec<String> = deck
        .slides
        .iter()
        .map(|s| format!("{}\n{}", s.heading(), s.body).to_lowercase())
        .collect();
    let first = |section: &str| {
        slides
            .iter()
            .position(|h| h.lines().next().unwrap_or("").contains(section))
    };
    let mut at = 0;
    for section in ORIGINAL {
        let found = first(section).unwrap_or_else(|| panic!("no slide for \"{section}\""));
        assert!(
            found >= at,
            "\"{section}\" comes before a section the original has earlier"
        );
        at = found;
    }
    for section in OURS {
        assert!(
            slides.iter().any(|s| s.contains(section)),
            "no slide for \"{section}\""
        );
    }
}

#[test]
fn every_step_has_its_lesson_and_its_diff_on_a_slide() {
    let text = template_text();
    for step in steps::STEPS {
        assert!(
            text.contains(&format!("{{{{#code {} ", step.name)),
            "no slide shows the lesson of {}",
            step.name
        );
        if step.predecessor.is_some() {
            assert!(
                text.contains(&format!("{{{{#diff {}}}}}", step.name)),
                "no slide shows the diff of {}",
                step.name
            );
        }
    }
}

/// The template's text outside its directives.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{{#") {
        out.push_str(&rest[..at]);
        rest = rest[at..].split_once("}}").map_or("", |(_, r)| r);
    }
    out + rest
}

#[test]
fn no_measured_number_is_typed_on_a_slide() {
    let prose = prose(&template_text());
    let units = ["×", "%", " s ", " ms", " MB", " GB", " ns", " files/s"];
    for line in prose.lines() {
        let chars: Vec<char> = line.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if !c.is_ascii_digit() {
                continue;
            }
            let after: String = chars[i + 1..]
                .iter()
                .skip_while(|d| d.is_ascii_digit() || **d == '.')
                .collect();
            assert!(
                !units.iter().any(|u| after.starts_with(u)),
                "a number typed on a slide (take it from the benchmark with {{{{#measured …}}}}): {line}"
            );
        }
    }
    assert!(prose.contains("RAM-backed"), "the prose is the template's");
}

/// Every step's lesson file (and a Python step's scripts), trimmed line by line.
fn step_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for step in steps::STEPS {
        let mut files = vec![repo().join(steps::source::main_rs(step.name))];
        if step.launch == steps::Launch::Python {
            let scripts = repo().join("crates").join(step.name).join("python");
            files.extend(
                std::fs::read_dir(scripts)
                    .unwrap()
                    .map(|e| e.unwrap().path()),
            );
        }
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            lines.extend(text.lines().map(|l| l.trim().to_owned()));
        }
    }
    lines
}

#[test]
fn every_line_of_code_on_a_slide_is_in_a_step() {
    let lines = step_lines();
    let deck = rendered();
    let mut checked = 0;
    for block in deck.split("```rust\n").skip(1) {
        let block = block.split("\n```").next().unwrap();
        assert!(block.lines().count() <= code::MAX_LINES, "{block}");
        for line in block.lines() {
            assert!(
                lines.contains(&line.trim().to_owned()),
                "a slide shows `{line}`, which no step has"
            );
            checked += 1;
        }
    }
    for block in deck.split("```diff\n").skip(1) {
        let block = block.split("\n```").next().unwrap();
        assert!(block.lines().count() <= code::MAX_LINES, "{block}");
        for line in block
            .lines()
            .filter(|l| !l.starts_with("@@") && !l.contains('…'))
        {
            let code = line[1..].trim();
            assert!(
                lines.iter().any(|l| l == code),
                "a diff shows `{line}`, which no step has"
            );
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} lines of code on the slides");
}

#[test]
fn the_instructors_plan_is_the_decks() {
    let committed = std::fs::read_to_string(repo().join("workshop/src/plan.md")).unwrap();
    assert!(
        committed == plan::markdown(&deck()),
        "workshop/src/plan.md is stale: run `make slides`"
    );
    let guide = std::fs::read_to_string(repo().join("workshop/src/instructors.md")).unwrap();
    assert!(
        guide.contains("{{#include plan.md}}"),
        "the guide does not include the plan"
    );
}

#[test]
fn every_checkpoint_is_captured_and_shown_where_learners_look() {
    let repo = repo();
    let mut shown = template_text();
    for entry in std::fs::read_dir(repo.join("workshop/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            shown += &std::fs::read_to_string(&path).unwrap();
        }
    }
    for c in CHECKPOINTS {
        let line = checkpoints::captured(&repo, c.id).unwrap();
        assert!(!line.is_empty(), "{} is empty", c.id);
        assert!(
            shown.contains(&format!("{{{{#checkpoint {}}}}}", c.id))
                || shown.contains(&format!("checkpoints/{}.txt", c.id)),
            "checkpoint {} is shown nowhere",
            c.id
        );
    }
    // In the deck, what learners should see is always a captured line.
    for slide in deck().slides {
        if let Some(see) = &slide.notes.see {
            assert!(
                see.contains("{{#checkpoint "),
                "{}: `see:` is typed: {see}",
                slide.heading()
            );
        }
    }
    // In the book and the guide, every checkpoint includes its captured line.
    for entry in std::fs::read_dir(repo.join("workshop/src")).unwrap() {
        let path = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for paragraph in text.split("\n\n") {
            for part in paragraph.split("Checkpoint:").skip(1) {
                assert!(
                    part.contains("{{#include checkpoints/"),
                    "{}: a checkpoint typed by hand: {part}",
                    path.display()
                );
            }
        }
    }
}
