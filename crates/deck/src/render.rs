//! Expanding the template's directives from the project's sources:
//!
//! | directive | becomes | from |
//! |---|---|---|
//! | `{{#code STEP ANCHOR}}` | the anchor's code, comments left out | `crates/STEP/src/main.rs` |
//! | `{{#code STEP ANCHOR \| FROM \| TO}}` | its lines from the one holding FROM to the one holding TO | the same |
//! | `{{#lines STEP A \| B …}}` | the lines holding A, B, …, for a Python/Rust pair | the same |
//! | `{{#diff STEP}}` | what changed against the predecessor | both steps' `main.rs` |
//! | `{{#steps}}`, `{{#step NAME}}` | the step table, one step's name and lesson | `crates/steps` |
//! | `{{#exercise STEP}}` | what the exercise leaves out, and its commands | the step table's holes |
//! | `{{#homework STEP …}}` | exercises left for after the day, with their chapters | the same |
//! | `{{#homework-table}}` | every exercise not written in the room | the same, and the deck |
//! | `{{#make ARGS}}` | `make ARGS`, checked to be a target and its variables | the Makefile |
//! | `{{#checkpoint ID}}` | the captured line | `workshop/src/checkpoints/ID.txt` |
//! | `{{#figure PATH WIDTH}}` | the image, checked to be legible at that width | `docs/PATH` |
//! | `{{#include PATH:ANCHOR}}` | an anchored part of a file | the file |
//! | `{{#shell PATH PART}}` | a job script's `#SBATCH` lines, its settings or some lines | a job script, the site file |
//! | `{{#measured GOAL}}` | a goal's measured value | the benchmark's results |
//! | `{{#before-after}}`, `{{#worth}}` | every step against its predecessor: times; lines against gain | the same, and the steps |
//! | `{{#gain STEP}}`, `{{#over-floor STEP}}`, `{{#largest-gain}}`, `{{#python STEP}}` | one number of those | the same |

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use steps::{source, Step};

use crate::makefile::Makefile;
use crate::measured::{self, seconds, times, Results};
use crate::template::{Deck, Notes};
use crate::{checkpoints, code, figure};

/// What the directives read, loaded once.
pub struct Sources {
    pub repo: PathBuf,
    pub makefile: Makefile,
    pub results: Results,
}

impl Sources {
    pub fn read(repo: &Path) -> Result<Sources> {
        Ok(Sources {
            repo: repo.to_owned(),
            makefile: Makefile::read(repo)?,
            results: Results::read(&measured::latest(repo)?)?,
        })
    }
}

/// The rendered deck, and the figures it shows (paths under `docs/`, to copy beside it).
pub struct Rendered {
    pub markdown: String,
    pub figures: Vec<String>,
}

fn step(name: &str) -> Result<&'static Step> {
    steps::find(name).with_context(|| format!("{name} is not a step (crates/steps)"))
}

/// What expanding the deck needs beside its sources: the exercises written in the room (the
/// others are homework), and the figures shown so far.
pub struct Expansion<'a> {
    pub src: &'a Sources,
    pub in_room: Vec<String>,
    pub figures: Vec<String>,
}

/// The markdown one directive stands for.
fn expand_one(directive: &str, ex: &mut Expansion) -> Result<String> {
    let src = ex.src;
    let (name, args) = directive.split_once(' ').unwrap_or((directive, ""));
    let args = args.trim();
    let words: Vec<&str> = args.split_whitespace().collect();
    match (name, words.as_slice()) {
        ("code", [s, anchor]) => code::lesson(&src.repo, step(s)?.name, anchor, None),
        ("code", [s, anchor, ..]) => {
            // {{#code STEP ANCHOR | FROM | TO}}: part of a function.
            let parts: Vec<&str> = args.split(" | ").map(str::trim).collect();
            let [_, from, to] = parts.as_slice() else {
                bail!("{{{{#code STEP ANCHOR | FROM | TO}}}}: give both ends");
            };
            code::lesson(&src.repo, step(s)?.name, anchor, Some((from, to)))
        }
        ("lines", [s, ..]) => {
            let needles: Vec<&str> = args[s.len()..].split(" | ").map(str::trim).collect();
            code::lines(&src.repo, step(s)?.name, &needles)
        }
        ("diff", [s]) => {
            let s = step(s)?;
            let pred = s
                .predecessor
                .with_context(|| format!("{} has no predecessor", s.name))?;
            code::diff(&src.repo, pred, s.name)
        }
        ("steps", []) => Ok(step_table()),
        ("step", [s]) => Ok(format!("`{}` — {}", s, step(s)?.lesson)),
        ("exercise", [s]) => exercise(step(s)?, &src.makefile),
        ("homework", names) if !names.is_empty() => homework(&src.repo, names, &src.makefile),
        ("homework-table", []) => {
            let left: Vec<&str> = steps::STEPS
                .iter()
                .filter(|s| !s.holes.is_empty() && !ex.in_room.iter().any(|r| r == s.name))
                .map(|s| s.name)
                .collect();
            homework(&src.repo, &left, &src.makefile)
        }
        ("make", _) => src.makefile.check(args).map(|()| format!("make {args}")),
        ("checkpoint", [id]) => checkpoints::captured(&src.repo, id),
        ("figure", [path, width]) => {
            let width: f64 = width
                .parse()
                .with_context(|| format!("figure {path}: give its width in pixels, not {width}"))?;
            figure::check(&src.repo.join("docs").join(path), width)
                .with_context(|| format!("docs/{path}"))?;
            ex.figures.push((*path).to_owned());
            Ok(format!("![w:{width}]({path})"))
        }
        ("include", [spec]) => include(&src.repo, spec),
        ("shell", [path, part]) => shell(&src.repo, path, part),
        _ => measured(name, &words, args, src)?
            .with_context(|| format!("unknown directive or wrong arguments: {{{{#{directive}}}}}")),
    }
}

/// The directives that read the benchmark's results; `None` for any other.
fn measured(name: &str, words: &[&str], args: &str, src: &Sources) -> Result<Option<String>> {
    let results = &src.results;
    let text = match (name, words) {
        ("measured", _) => results.goal(args)?,
        ("before-after", []) => before_after(results)?,
        ("worth", []) => worth(&src.repo, results)?,
        ("gain", [s]) => {
            let b = results
                .before_after(step(s)?)
                .with_context(|| format!("the benchmark has no {s} beside its predecessor"))?;
            times(b.gain)
        }
        ("over-floor", [s]) => results
            .over_floor(step(s)?)
            .map(times)
            .with_context(|| format!("the benchmark has no {s} beside the floor"))?,
        ("python", [s]) => results
            .against_python(step(s)?)
            .map(|(ratio, _)| times(ratio))
            .with_context(|| format!("the benchmark has no {s} beside its Python version"))?,
        ("largest-gain", []) => {
            let (best, b) = results
                .largest_gain()
                .context("the benchmark has no step beside its predecessor")?;
            format!("`{}`, {} its predecessor", best.name, times(b.gain))
        }
        _ => return Ok(None),
    };
    Ok(Some(text))
}

/// `text` with every `{{#…}}` expanded.
pub fn expand(text: &str, ex: &mut Expansion) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{{#") {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find("}}")
            .context("a directive without its closing }}")?;
        let inner = &rest[at + 3..at + end];
        out.push_str(
            &expand_one(inner.trim(), ex).with_context(|| format!("in {{{{#{inner}}}}}"))?,
        );
        rest = &rest[at + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn step_table() -> String {
    let mut table = String::from("| # | step | lesson |\n|---|---|---|\n");
    for s in steps::STEPS {
        table += &format!("| {} | `{}` | {} |\n", s.number(), s.name, s.lesson);
    }
    table.trim_end().to_owned()
}

/// What the exercise leaves for the learner (the table's holes) and the commands to do it.
fn exercise(s: &Step, makefile: &Makefile) -> Result<String> {
    if s.holes.is_empty() {
        bail!("{} has no exercise", s.name);
    }
    let mut text = String::new();
    for hole in s.holes {
        text += &format!("- `{}`: {}\n", hole.anchor, hole.todo);
    }
    text += "\n```sh\n";
    for target in ["exercise", "verify", "hint"] {
        let args = format!("{target} STEP={}", s.name);
        makefile.check(&args)?;
        text += &format!("make {args}\n");
    }
    text += "```";
    Ok(text)
}

/// The exercises left for after the day: each with what it leaves to write and the chapter
/// that explains it, then how to start one.
fn homework(repo: &Path, names: &[&str], makefile: &Makefile) -> Result<String> {
    let summary = std::fs::read_to_string(repo.join("workshop/src/SUMMARY.md"))
        .context("cannot read workshop/src/SUMMARY.md")?;
    if let [name] = names {
        let s = step(name)?;
        let args = format!("exercise STEP={name}");
        makefile.check(&args)?;
        let parts: Vec<String> = s.holes.iter().map(|h| format!("`{}`", h.anchor)).collect();
        let page = homework_page(&summary, s)?;
        if parts.is_empty() {
            bail!("{name} has no exercise");
        }
        return Ok(format!(
            "**Homework**: `make {args}`: you write {} (the book: {page})",
            parts.join(", ")
        ));
    }
    let mut text = String::from("| exercise | you write | in the book |\n|---|---|---|\n");
    for name in names {
        let s = step(name)?;
        if s.holes.is_empty() {
            bail!("{name} has no exercise");
        }
        makefile.check(&format!("exercise STEP={name}"))?;
        let parts: Vec<String> = s.holes.iter().map(|h| format!("`{}`", h.anchor)).collect();
        let page = homework_page(&summary, s)?;
        text += &format!("| `{name}` | {} | {page} |\n", parts.join(", "));
    }
    Ok(text + "\n`make exercise STEP=…`, then `make verify` and `make hint` as in the room")
}

/// Where the book sets `step`'s exercise as homework: its page under Homework
/// (`homework/<step>.md`), or else its chapter.
fn homework_page(summary: &str, step: &Step) -> Result<String> {
    let page = format!("homework/{}.md", step.name);
    chapter_title(summary, &page)
        .map(|title| {
            // "write_mpi: sends and receives": the page's own words, the exercise named beside.
            let words = title.split_once(": ").map_or(title.as_str(), |(_, w)| w);
            format!("Homework › {words}")
        })
        .or_else(|| {
            let title = chapter_title(summary, step.chapter)?;
            Some(title.split(':').next().unwrap_or(&title).trim().to_owned())
        })
        .with_context(|| {
            format!(
                "neither {page} nor {} is in the book's SUMMARY.md",
                step.chapter
            )
        })
}

/// The title the book's table of contents gives `chapter`.
fn chapter_title(summary: &str, chapter: &str) -> Option<String> {
    let link = format!("]({chapter})");
    let line = summary.lines().find(|l| l.contains(&link))?;
    let open = line.find('[')?;
    let close = line.find(&link)?;
    Some(line[open + 1..close].trim().to_owned())
}

/// Every step against its predecessor, at the benchmark's many-small-files size: both times and
/// how many times faster (two workers or ranks for the parallel steps; on the disk, or on tmpfs
/// where only that was timed).
fn before_after(r: &Results) -> Result<String> {
    let (n, s) = r.small;
    let mut text =
        String::from("| step | its predecessor | the step | speedup |\n|---|---|---|---|\n");
    let mut rows = 0;
    for step in steps::STEPS.iter() {
        let Some(b) = r.before_after(step) else {
            continue;
        };
        let ram = if b.ram { " (both on tmpfs)" } else { "" };
        text += &format!(
            "| `{}`{ram} | {} | {} | {} |\n",
            step.name,
            seconds(b.before),
            seconds(b.after),
            times(b.gain)
        );
        rows += 1;
    }
    if rows < 8 {
        bail!("the benchmark times only {rows} steps beside their predecessors");
    }
    Ok(format!(
        "{text}\n{n} files of {s}×{s} on the disk, two workers or ranks; speedup below 1: slower. Benchmark of {}",
        r.machine.date
    ))
}

/// What each change cost, in lines of code changed against its predecessor, against what it
/// gained, and against the step's Python version where the benchmark timed one.
fn worth(repo: &Path, r: &Results) -> Result<String> {
    let mut text =
        String::from("| step | lines changed | speedup over its predecessor | over its Python version |\n|---|---|---|---|\n");
    for step in steps::STEPS.iter() {
        let Some(pred) = step.predecessor else {
            continue;
        };
        let Some(b) = r.before_after(step) else {
            continue;
        };
        let changed = code::changed_lines(repo, pred, step.name)?;
        let python = r
            .against_python(step)
            .map_or("—".to_owned(), |(ratio, _)| times(ratio));
        text += &format!(
            "| `{}` | {changed} | {} | {python} |\n",
            step.name,
            times(b.gain)
        );
    }
    Ok(text.trim_end().to_owned())
}

/// `{{#include PATH:ANCHOR}}`, as mdBook reads it (PATH from the repository's root).
fn include(repo: &Path, spec: &str) -> Result<String> {
    let (path, anchor) = match spec.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (spec, None),
    };
    let text =
        std::fs::read_to_string(repo.join(path)).with_context(|| format!("cannot read {path}"))?;
    let part = match anchor {
        Some(a) => {
            source::anchor_text(&text, a).with_context(|| format!("{path} has no anchor '{a}'"))?
        }
        None => source::strip_anchors(&text),
    };
    Ok(part.trim_end().to_owned())
}

/// `{{#shell PATH PART}}`: part of a job script or the site file as a shell block, without its
/// comment lines: `sbatch` (the `#SBATCH` lines, what Slurm reads), `settings` (the `NAME=`
/// lines), or `lines-with:TEXT` (the lines holding TEXT, with their `\` continuations).
fn shell(repo: &Path, path: &str, part: &str) -> Result<String> {
    let text =
        std::fs::read_to_string(repo.join(path)).with_context(|| format!("cannot read {path}"))?;
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') || l.starts_with("#SBATCH"))
        .collect();
    let mut lines = Vec::new();
    let mut continued = false;
    for line in code {
        let wanted = match part {
            "sbatch" => line.starts_with("#SBATCH"),
            "settings" => line.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            }),
            _ => match part.strip_prefix("lines-with:") {
                Some(needle) => line.contains(needle),
                None => bail!("{path}: no part '{part}' (sbatch, settings, lines-with:TEXT)"),
            },
        };
        if wanted || continued {
            lines.push(line.to_owned());
        }
        continued = (wanted || continued) && line.ends_with('\\');
    }
    if lines.is_empty() {
        bail!("{path}: '{part}' selects no line");
    }
    code::fenced("sh", &lines, path)
}

/// The notes as Marp shows them in the presenter view: plain lines, the minutes first (so that
/// Marp does not read the block as its own settings).
fn notes(n: &Notes, ex: &mut Expansion) -> Result<String> {
    let mut out = format!("<!--\n{} min\nSay: {}\n", n.minutes, expand(&n.say, ex)?);
    for (label, value) in [
        ("Run live", &n.run),
        ("Learners see", &n.see),
        ("Common mistake", &n.mistake),
    ] {
        if let Some(v) = value {
            out += &format!("{label}: {}\n", expand(v, ex)?);
        }
    }
    Ok(out + "-->")
}

/// The whole deck as Marp reads it.
pub fn deck(deck: &Deck, src: &Sources) -> Result<Rendered> {
    let mut ex = Expansion {
        src,
        in_room: deck
            .slides
            .iter()
            .flat_map(|s| crate::plan::named(&s.body, "exercise"))
            .collect(),
        figures: Vec::new(),
    };
    let mut markdown = format!("---\n{}---\n", deck.front_matter);
    for (i, slide) in deck.slides.iter().enumerate() {
        let body = expand(&slide.body, &mut ex)
            .with_context(|| format!("slide {} ({})", i + 1, slide.heading()))?;
        let notes =
            notes(&slide.notes, &mut ex).with_context(|| format!("slide {} notes", i + 1))?;
        if i > 0 {
            markdown += "\n---\n\n";
        }
        markdown += &format!("{body}\n\n{notes}\n");
    }
    let mut figures = ex.figures;
    figures.sort();
    figures.dedup();
    Ok(Rendered { markdown, figures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chapters_title_comes_from_the_books_contents() {
        let summary =
            "- [Setting up](setup.md)\n- [Vectorizing: write → write_vectorized](vectorizing.md)\n";
        assert_eq!(
            chapter_title(summary, "vectorizing.md").as_deref(),
            Some("Vectorizing: write → write_vectorized")
        );
        assert_eq!(chapter_title(summary, "mpi.md"), None);
    }

    #[test]
    fn the_step_table_has_every_step() {
        let table = step_table();
        assert_eq!(table.lines().count(), steps::STEPS.len() + 2);
        assert!(table.contains("| 1 | `write` | nested loops, text files |"));
    }
}
