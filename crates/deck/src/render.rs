//! Expanding the template's directives from the project's sources:
//!
//! | directive | becomes | from |
//! |---|---|---|
//! | `{{#code STEP ANCHOR}}` | the anchor's code, comments left out | `crates/STEP/src/main.rs` |
//! | `{{#diff STEP}}` | what changed against the predecessor | both steps' `main.rs` |
//! | `{{#steps}}`, `{{#step NAME}}` | the step table, one step's name and lesson | `crates/steps` |
//! | `{{#exercise STEP}}` | what the exercise leaves out, and its commands | the step table's holes |
//! | `{{#make ARGS}}` | `make ARGS`, checked to be a target and its variables | the Makefile |
//! | `{{#checkpoint ID}}` | the captured line | `workshop/src/checkpoints/ID.txt` |
//! | `{{#figure PATH WIDTH}}` | the image (or its lower part: `crop`), copied beside the deck | `docs/PATH` |
//! | `{{#include PATH:ANCHOR}}` | an anchored part of a file | the file |
//! | `{{#shell PATH PART}}` | its `#SBATCH` lines, its settings or some lines, as a shell block | a job script, the site file |
//! | `{{#measured ROW}}` | a target's measured median | `docs/benchmarks.md` |

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use steps::{source, Step};

use crate::makefile::Makefile;
use crate::template::{Deck, Notes};
use crate::{checkpoints, code};

/// What the directives read, loaded once.
pub struct Sources {
    pub repo: PathBuf,
    pub makefile: Makefile,
    pub benchmarks: String,
}

impl Sources {
    pub fn read(repo: &Path) -> Result<Sources> {
        Ok(Sources {
            repo: repo.to_owned(),
            makefile: Makefile::read(repo)?,
            benchmarks: std::fs::read_to_string(repo.join("docs/benchmarks.md"))
                .context("cannot read docs/benchmarks.md")?,
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

/// The markdown one directive stands for.
fn expand_one(directive: &str, src: &Sources, figures: &mut Vec<String>) -> Result<String> {
    let (name, args) = directive.split_once(' ').unwrap_or((directive, ""));
    let args = args.trim();
    let words: Vec<&str> = args.split_whitespace().collect();
    match (name, words.as_slice()) {
        ("code", [s, anchor]) => code::lesson(&src.repo, step(s)?.name, anchor),
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
        ("make", _) => src.makefile.check(args).map(|()| format!("make {args}")),
        ("checkpoint", [id]) => checkpoints::captured(&src.repo, id),
        ("figure", [path, how]) => {
            if !src.repo.join("docs").join(path).is_file() {
                bail!("docs/{path} is missing: `make figures` draws it");
            }
            figures.push((*path).to_owned());
            match how.parse::<u32>() {
                Ok(width) => Ok(format!("![w:{width}]({path})")),
                // A tall flamegraph: its lower part, where the time is, at the slide's width.
                Err(_) if *how == "crop" => Ok(format!(
                    "<img class=\"crop\" src=\"{path}\" alt=\"{path}\">"
                )),
                Err(_) => bail!("figure {path}: give a width in pixels or `crop`, not {how}"),
            }
        }
        ("include", [spec]) => include(&src.repo, spec),
        ("shell", [path, part]) => shell(&src.repo, path, part),
        ("measured", _) => measured(&src.benchmarks, args),
        _ => bail!("unknown directive or wrong arguments: {{{{#{directive}}}}}"),
    }
}

/// `text` with every `{{#…}}` expanded.
pub fn expand(text: &str, src: &Sources, figures: &mut Vec<String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{{#") {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find("}}")
            .context("a directive without its closing }}")?;
        let inner = &rest[at + 3..at + end];
        out.push_str(
            &expand_one(inner.trim(), src, figures)
                .with_context(|| format!("in {{{{#{inner}}}}}"))?,
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

/// The median of the benchmark report's target whose description contains `row` (exactly
/// one must): `33.43×` is shown as `33×`, `1.14×` as `1.1×`.
fn measured(report: &str, row: &str) -> Result<String> {
    let targets = source::anchor_text(report, "targets")
        .context("docs/benchmarks.md has no targets table")?;
    let rows: Vec<&str> = targets
        .lines()
        .filter(|l| l.starts_with("| ") && l.split('|').nth(1).is_some_and(|c| c.contains(row)))
        .collect();
    let [line] = rows.as_slice() else {
        bail!(
            "{} rows of docs/benchmarks.md's targets match '{row}', not one",
            rows.len()
        );
    };
    let cell = line.split('|').nth(2).unwrap_or("").trim();
    let number = cell.split_whitespace().next().unwrap_or("");
    let (value, unit) = number.split_at(
        number
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(number.len()),
    );
    let v: f64 = value
        .parse()
        .with_context(|| format!("'{cell}' does not start with a number"))?;
    Ok(if v >= 10.0 {
        format!("{v:.0}{unit}")
    } else {
        format!("{v:.1}{unit}")
    })
}

/// The notes as Marp shows them in the presenter view: plain lines, the minutes first (so that
/// Marp does not read the block as its own settings).
fn notes(n: &Notes, src: &Sources, figures: &mut Vec<String>) -> Result<String> {
    let mut out = format!(
        "<!--\n{} min\nSay: {}\n",
        n.minutes,
        expand(&n.say, src, figures)?
    );
    for (label, value) in [
        ("Run live", &n.run),
        ("Learners see", &n.see),
        ("Common mistake", &n.mistake),
    ] {
        if let Some(v) = value {
            out += &format!("{label}: {}\n", expand(v, src, figures)?);
        }
    }
    Ok(out + "-->")
}

/// The whole deck as Marp reads it.
pub fn deck(deck: &Deck, src: &Sources) -> Result<Rendered> {
    let mut figures = Vec::new();
    let mut markdown = format!("---\n{}---\n", deck.front_matter);
    for (i, slide) in deck.slides.iter().enumerate() {
        let body = expand(&slide.body, src, &mut figures)
            .with_context(|| format!("slide {} ({})", i + 1, slide.heading()))?;
        let notes = notes(&slide.notes, src, &mut figures)
            .with_context(|| format!("slide {} notes", i + 1))?;
        if i > 0 {
            markdown += "\n---\n\n";
        }
        markdown += &format!("{body}\n\n{notes}\n");
    }
    figures.sort();
    figures.dedup();
    Ok(Rendered { markdown, figures })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "<!-- ANCHOR: targets -->\n| target | measured | |\n|---|---|---|\n| `write` at least 10× faster than Python's write (n=100; tmpfs) | 44.04× (IQR 42.21–44.64, 5 rounds) | met |\n| `write_vectorized_binary` within 1.2× of the floor | 1.14× (IQR 1.03–1.17, 7 rounds) | met |\n<!-- ANCHOR_END: targets -->\n";

    #[test]
    fn measured_values_come_from_one_row_of_the_report() {
        assert_eq!(measured(REPORT, "`write` at least").unwrap(), "44×");
        assert_eq!(measured(REPORT, "within 1.2×").unwrap(), "1.1×");
        assert!(measured(REPORT, "at least").is_ok());
        assert!(measured(REPORT, "`write").is_err(), "two rows match");
        assert!(measured(REPORT, "nothing").is_err());
    }

    #[test]
    fn the_step_table_has_every_step() {
        let table = step_table();
        assert_eq!(table.lines().count(), steps::STEPS.len() + 2);
        assert!(table.contains("| 1 | `write` | nested loops, text files |"));
    }
}
