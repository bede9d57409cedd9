//! The deck, held to its sources and to the room: it renders from the committed template, code
//! and numbers; it keeps a pace a beginner can follow (a Rust primer before the first exercise,
//! four exercises of ten minutes or more, two breaks); its notes can be spoken from; it covers
//! every section of the original workshop and ours; every step has its lesson and its diff on a
//! slide; no number is typed; every line of code shown is in a step; every claim a test can
//! check holds against the benchmark it cites; the instructor's plans are the deck's; every
//! checkpoint is captured and comes from the command the slide runs.

use std::path::{Path, PathBuf};

use deck::checkpoints::{self, CheckedBy, CHECKPOINTS};
use deck::measured::{self, Results};
use deck::plan::{self, Length};
use deck::render::{self, Sources};
use deck::template::{self, Deck, Slide};
use deck::{code, figure};

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

fn results() -> Results {
    Results::read(&measured::latest(&repo()).unwrap()).unwrap()
}

/// The exercises written in the room, in the order the room writes them.
const IN_ROOM: [&str; 4] = [
    "write_vectorized",
    "write_vectorized_binary",
    "write_multiprocessing_queue",
    "write_mpi_scatter",
];

/// The part of the deck that teaches the Rust the steps use.
const PRIMER: &str = "Rust for Python programmers";

fn exercise_slides(deck: &Deck) -> Vec<(String, &Slide)> {
    deck.slides
        .iter()
        .flat_map(|s| {
            plan::named(&s.body, "exercise")
                .into_iter()
                .map(move |e| (e, s))
        })
        .collect()
}

#[test]
fn the_deck_fits_three_hours() {
    let deck = deck();
    let slides = deck.slides.len();
    assert!((40..=72).contains(&slides), "{slides} slides, not 40 to 72");
    let minutes: u32 = deck.slides.iter().map(|s| s.notes.minutes).sum();
    assert!(
        (175..=185).contains(&minutes),
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

#[test]
fn the_pace_is_one_a_beginner_can_keep() {
    let deck = deck();
    let parts = plan::parts(&deck, Length::ThreeHours);
    // Two breaks of ten minutes or more, and never more than seventy minutes without one.
    let breaks: Vec<_> = parts.iter().filter(|p| p.is_break()).collect();
    assert!(breaks.len() >= 2, "{} breaks in three hours", breaks.len());
    assert!(
        breaks.iter().all(|b| b.minutes >= 10),
        "a break under ten minutes"
    );
    let stretch = plan::longest_stretch(&parts);
    assert!(stretch <= 70, "{stretch} minutes without a break");
    // The room writes four exercises, at least ten minutes each, each with the line that says
    // "you should be here": its own passing grade, captured from a real one.
    let exercises = exercise_slides(&deck);
    let names: Vec<&str> = exercises.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names, IN_ROOM);
    for (exercise, slide) in &exercises {
        assert!(
            slide.notes.minutes >= 10,
            "{exercise}: {} minutes",
            slide.notes.minutes
        );
        let see = slide.notes.see.as_deref().unwrap_or("");
        let id = see
            .strip_prefix("{{#checkpoint ")
            .and_then(|s| s.split("}}").next())
            .unwrap_or_else(|| panic!("{exercise}: no checkpoint to say where learners should be"));
        let checkpoint = checkpoints::find(id).unwrap();
        assert!(
            matches!(
                checkpoint.checked_by,
                CheckedBy::Graded { exercise: e, solved: true } if e == exercise
            ),
            "{exercise}'s checkpoint {id} is not its own passing grade"
        );
        assert!(
            slide.notes.mistake.is_some(),
            "{exercise}: no common mistake"
        );
    }
    // The primer comes first: ten to fifteen minutes of Rust before the first exercise.
    let primer = parts
        .iter()
        .find(|p| p.name == PRIMER)
        .expect("no Rust primer");
    assert!(
        (10..=15).contains(&primer.minutes),
        "a primer of {} minutes",
        primer.minutes
    );
    let first_exercise = parts.iter().find(|p| !p.exercises.is_empty()).unwrap();
    assert!(
        primer.end() <= first_exercise.start,
        "the primer comes after an exercise"
    );
    // Every other exercise is homework on a slide of its part.
    let homework: Vec<String> = deck
        .slides
        .iter()
        .flat_map(|s| plan::named(&s.body, "homework"))
        .collect();
    for step in steps::STEPS.iter().filter(|s| !s.holes.is_empty()) {
        assert!(
            IN_ROOM.contains(&step.name) || homework.iter().any(|h| h == step.name),
            "{}'s exercise is neither written in the room nor homework",
            step.name
        );
    }
}

#[test]
fn the_full_day_writes_every_exercise_in_the_room() {
    let deck = deck();
    let parts = plan::parts(&deck, Length::FullDay);
    let total = parts.last().unwrap().end();
    assert!(
        (360..=480).contains(&total),
        "a full day of {total} minutes, lunch included"
    );
    assert!(parts.iter().any(|p| p.name == plan::LUNCH));
    let stretch = plan::longest_stretch(&parts);
    assert!(
        stretch <= 120,
        "{stretch} minutes without a break in the full day"
    );
    let written: Vec<&String> = parts.iter().flat_map(|p| &p.exercises).collect();
    for step in steps::STEPS.iter().filter(|s| !s.holes.is_empty()) {
        assert!(
            written.iter().any(|w| *w == step.name),
            "the full day does not write {}",
            step.name
        );
    }
    for (exercise, slide) in exercise_slides(&deck) {
        assert!(
            slide.notes.day_minutes() >= 15,
            "{exercise}: {} minutes in the full day",
            slide.notes.day_minutes()
        );
    }
}

/// Words in `text`, directives counting as one.
fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

#[test]
fn the_notes_can_be_spoken_from() {
    let deck = deck();
    let talk: Vec<&Slide> = deck
        .slides
        .iter()
        .filter(|s| {
            plan::named(&s.body, "exercise").is_empty() && s.section.as_deref() != Some(plan::BREAK)
        })
        .collect();
    for slide in &talk {
        let say = &slide.notes.say;
        // Full sentences: at least two, and a third or more of the slide's minutes of speech
        // (some 130 words a minute; the rest is the live run and the room's questions).
        assert!(
            say.matches(". ").count() + 1 >= 2,
            "{}: say it in full sentences: {say}",
            slide.heading()
        );
        let wanted = 30 * slide.notes.minutes as usize;
        assert!(
            words(say) >= wanted.min(150),
            "{}: {} words to say for {} minutes (want {wanted})",
            slide.heading(),
            words(say),
            slide.notes.minutes
        );
    }
    let spoken: usize = talk.iter().map(|s| words(&s.notes.say)).sum();
    let minutes: u32 = talk.iter().map(|s| s.notes.minutes).sum();
    assert!(
        spoken >= 35 * minutes as usize,
        "{spoken} words for {minutes} minutes of talk"
    );
    // A slide that runs something says what learners should see: the line that same command
    // printed in a real run.
    for slide in &deck.slides {
        let Some(run) = &slide.notes.run else {
            continue;
        };
        if run.contains("presenter view") {
            continue;
        }
        let see = slide.notes.see.as_deref().unwrap_or_else(|| {
            panic!(
                "{}: runs {run} but says nothing learners see",
                slide.heading()
            )
        });
        let id = see
            .strip_prefix("{{#checkpoint ")
            .and_then(|s| s.split("}}").next())
            .unwrap_or_else(|| panic!("{}: `see:` is typed: {see}", slide.heading()));
        let command = checkpoints::find(id).unwrap().command;
        let run = run.replace("{{#make ", "make ").replace("}}", "");
        for part in command.split(" && ") {
            assert!(
                run.contains(part),
                "{}: learners see the line of `{command}`, but the slide runs `{run}`",
                slide.heading()
            );
        }
    }
}

/// The original deck's sections, in its order (its "Getting setup" and "Installing
/// dependencies" are one slide here, as are its "Additional resources" and "Thanks!").
const ORIGINAL: [&str; 25] = [
    "outline",
    "getting the materials",
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
    "was it worth it",
    "resources, and thanks",
];

/// What this workshop adds.
const OURS: [&str; 10] = [
    "you write the code",
    "exercise",
    "rayon",
    "collective",
    "site file",
    "capstone",
    "how close to the floor",
    "before and after",
    "homework",
    "production",
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
    assert!(deck
        .slides
        .iter()
        .any(|s| s.section.as_deref() == Some(PRIMER)));
}

#[test]
fn every_step_has_its_lesson_and_its_diff_on_a_slide() {
    let text = template_text();
    for step in steps::STEPS {
        assert!(
            text.contains(&format!("{{{{#code {} ", step.name))
                || text.contains(&format!("{{{{#lines {} ", step.name)),
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
    assert!(
        prose.contains("Read/write performance"),
        "the prose is the template's"
    );
}

/// Every line of every step's lesson file (and a Python step's scripts), trimmed; with its
/// trailing comment cut too, and a too-wide signature's pieces as a slide wraps it.
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
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for line in text.lines() {
                lines.push(line.trim().to_owned());
                lines.push(code::without_comment(line).trim().to_owned());
                for piece in code::wrap_signatures(vec![line.trim().to_owned()]) {
                    lines.push(piece.trim().to_owned());
                }
            }
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
        assert!(block.lines().count() <= code::DENSE_LINES, "{block}");
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
        assert!(block.lines().count() <= code::DENSE_LINES, "{block}");
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
fn python_beside_rust_fits_its_column() {
    // The Python half of a pair takes what its code needs; Rust gets the rest of the slide.
    let text = template_text();
    let pairs = text
        .split("<div class=\"pair\">")
        .skip(1)
        .filter_map(|p| p.split("</div>").next());
    for block in pairs.flat_map(|p| p.split("```python\n").skip(1)) {
        let block = block.split("\n```").next().unwrap();
        for line in block.lines() {
            assert!(
                line.chars().count() <= 40,
                "a Python line too wide to stand beside Rust: {line}"
            );
        }
    }
}

/// Whether anchor `anchor` of `text` is a function, or lies inside one.
fn in_a_function(text: &str, anchor: &str) -> bool {
    if text.contains(&format!("fn {anchor}(")) || text.contains(&format!("fn {anchor}<")) {
        return true;
    }
    let Some((start, _)) = steps::source::anchor_region(text, anchor) else {
        return false;
    };
    // The last item opened at the margin before the anchor is a function not yet closed.
    let before: Vec<&str> = text[..start].lines().collect();
    let opened = before
        .iter()
        .rposition(|l| l.starts_with("fn ") || l.starts_with("pub fn "));
    let closed = before.iter().rposition(|l| l.starts_with('}'));
    matches!((opened, closed), (Some(o), c) if c.is_none_or(|c| c < o))
}

#[test]
fn every_anchor_shown_is_a_function_or_inside_one() {
    let text = template_text();
    let mut checked = 0;
    for (at, _) in text.match_indices("{{#code ") {
        let directive = text[at + 8..].split("}}").next().unwrap();
        let words: Vec<&str> = directive.split_whitespace().collect();
        let (step, anchor) = (words[0], words[1]);
        let source = std::fs::read_to_string(repo().join(steps::source::main_rs(step))).unwrap();
        assert!(
            in_a_function(&source, anchor),
            "{step}'s anchor {anchor} is neither a function nor inside one"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} code slides");
}

#[test]
fn the_claims_of_the_slides_hold_against_the_numbers_they_cite() {
    let r = results();
    let step = |name: &str| -> &'static steps::Step { steps::find(name).unwrap() };
    let text = template_text();
    // "Scatter: two collective calls": the root's branch calls scatter twice.
    let scatter =
        std::fs::read_to_string(repo().join("crates/write_mpi_scatter/src/main.rs")).unwrap();
    let shown = steps::source::anchor_text(&scatter, "scatter").unwrap();
    let root_branch = shown.split("} else {").next().unwrap();
    assert_eq!(root_branch.matches("root.scatter").count(), 2);
    assert!(text.contains("## Scatter: two collective calls"));
    // The floor: binary files cost little above it; one HDF5 file goes below it.
    let binary = r.over_floor(step("write_vectorized_binary")).unwrap();
    assert!(
        binary < 1.5,
        "write_vectorized_binary at {binary}× the floor: not 'nearly free'"
    );
    let hdf5 = r.over_floor(step("write_hdf5")).unwrap();
    assert!(hdf5 < 1.0, "write_hdf5 at {hdf5}× the floor: not below it");
    assert!(text.contains("write_hdf5 sits below the floor"));
    // "Some steps are slower than their predecessors: the blocking pool, MPI".
    for slower in ["write_multiprocessing", "write_mpi"] {
        let b = r.before_after(step(slower)).unwrap();
        assert!(
            b.gain < 1.0,
            "{slower} is {}× its predecessor: not slower",
            b.gain
        );
    }
    // "Binary files changed a handful of lines … the parallel steps changed many more, and on
    // two cores they buy little".
    let lines = |s: &str| code::changed_lines(&repo(), step(s).predecessor.unwrap(), s).unwrap();
    let few = lines("write_vectorized_binary");
    assert!(few <= 20, "binary files changed {few} lines");
    for parallel in [
        "write_multiprocessing_queue",
        "write_mpi_scatter",
        "write_final",
    ] {
        assert!(
            lines(parallel) > few,
            "{parallel} changed fewer lines than binary files"
        );
    }
    for parallel in [
        "write_multiprocessing_queue",
        "write_rayon",
        "write_mpi_scatter",
    ] {
        let gain = r.before_after(step(parallel)).unwrap().gain;
        assert!(gain < 1.5, "{parallel} bought {gain}×: not little");
    }
    // "In Rust, vectorizing's own speedup is …: next to nothing".
    let vectorizing = r.before_after(step("write_vectorized")).unwrap().gain;
    assert!(
        (0.8..1.25).contains(&vectorizing),
        "vectorizing's speedup in Rust is {vectorizing}: not next to nothing"
    );
    assert!(
        text.contains("vectorizing's own speedup is {{#gain write_vectorized}}: next to nothing")
    );
    // "The Rust steps are many times faster than Python's".
    for fast in ["write", "write_vectorized"] {
        let (ratio, _) = r.against_python(step(fast)).unwrap();
        assert!(ratio >= 10.0, "{fast} only {ratio}× Python's");
    }
    // "The all-Rust step: … faster still", and the Python step faster than numpy's kernel.
    for goal in [
        "(all Rust)",
        "faster than the same script with numpy's kernel",
    ] {
        let shown = r.goal(goal).unwrap();
        let value: f64 = shown.trim_end_matches('×').parse().unwrap();
        assert!(value > 1.0, "{goal}: {shown}, not faster");
    }
    // The largest gain is computed, never typed.
    assert!(!text.contains("largest gain of the day"));
    assert!(text.contains("{{#largest-gain}}"));
}

#[test]
fn every_figure_reads_from_the_back_of_the_room() {
    let text = template_text();
    let mut checked = 0;
    for (at, _) in text.match_indices("{{#figure ") {
        let directive = text[at + 10..].split("}}").next().unwrap();
        let [path, width] = directive.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("{directive}");
        };
        let svg = std::fs::read_to_string(repo().join("docs").join(path)).unwrap();
        let svg = figure::Svg::parse(&svg).unwrap();
        let smallest = svg.smallest_text(width.parse().unwrap()).unwrap();
        assert!(
            smallest >= figure::MIN_TEXT_PX - 0.05,
            "{path}: {smallest:.1} px text on the slide"
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} figures");
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
