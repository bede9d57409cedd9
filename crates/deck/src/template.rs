//! The deck's template, `workshop/slides/deck.md`: Marp Markdown whose slides are separated by
//! `---` lines, each with one block of speaker notes and, where a part of the workshop begins,
//! a `{{#section …}}` line naming it. Directives (`{{#code …}}`, `{{#make …}}`, …) stand for
//! everything taken from the project's sources; `render` expands them.

use anyhow::{bail, Context, Result};

/// What the instructor reads in the presenter view beside a slide.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    /// Minutes the slide takes in the room in the three-hour plan, exercises included.
    pub minutes: u32,
    /// Minutes in the full-day plan, when they differ (an exercise done in the room instead of
    /// at home, a longer break); the three-hour minutes otherwise.
    pub day: Option<u32>,
    /// What to say: a few sentences, not the chapter.
    pub say: String,
    /// What to run live.
    pub run: Option<String>,
    /// The line learners should see (usually a `{{#checkpoint …}}`).
    pub see: Option<String>,
    /// The mistake learners most often make here.
    pub mistake: Option<String>,
}

impl Notes {
    /// Minutes in the full-day plan.
    pub fn day_minutes(&self) -> u32 {
        self.day.unwrap_or(self.minutes)
    }
}

/// One slide of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Slide {
    /// The part of the workshop this slide opens, if it opens one.
    pub section: Option<String>,
    /// The Markdown shown, directives unexpanded.
    pub body: String,
    pub notes: Notes,
}

impl Slide {
    /// Its first heading, without the `#`s.
    pub fn heading(&self) -> &str {
        self.body
            .lines()
            .find_map(|l| {
                l.strip_prefix('#')
                    .map(|h| h.trim_start_matches('#').trim())
            })
            .unwrap_or("")
    }
}

/// The template: its front matter (Marp's settings) and its slides.
#[derive(Debug, Clone, PartialEq)]
pub struct Deck {
    pub front_matter: String,
    pub slides: Vec<Slide>,
}

/// The lines of `text` split at `---` lines outside code fences.
fn split_slides(text: &str) -> Vec<String> {
    let (mut parts, mut current, mut fenced) = (Vec::new(), String::new(), false);
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if line == "---" && !fenced {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    parts.push(current);
    parts
}

/// The notes block `<!-- notes … -->` of a slide: `key: value` lines, a value running on over
/// the lines after it until the next key.
fn parse_notes(block: &str) -> Result<Notes> {
    let mut notes = Notes::default();
    let mut key = String::new();
    let mut minutes = None;
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, value) = match line.split_once(": ") {
            Some((k, v)) if ["min", "day", "say", "run", "see", "mistake"].contains(&k) => {
                (k.to_owned(), v)
            }
            _ => (key.clone(), line),
        };
        let field = match k.as_str() {
            "min" | "day" => {
                let m = value
                    .parse::<u32>()
                    .with_context(|| format!("{k}: {value} is not whole minutes"))?;
                if k == "min" {
                    minutes = Some(m);
                } else {
                    notes.day = Some(m);
                }
                key = k;
                continue;
            }
            "say" => &mut notes.say,
            "run" => notes.run.get_or_insert_with(String::new),
            "see" => notes.see.get_or_insert_with(String::new),
            "mistake" => notes.mistake.get_or_insert_with(String::new),
            _ => bail!("a notes line before any key: {line}"),
        };
        if !field.is_empty() {
            field.push(' ');
        }
        field.push_str(value);
        key = k;
    }
    notes.minutes = minutes.context("no `min:` line: say how many minutes the slide takes")?;
    if notes.say.is_empty() {
        bail!("no `say:` line: what does the instructor say here?");
    }
    Ok(notes)
}

/// One slide's text: its section line, its notes block, its body.
fn parse_slide(text: &str) -> Result<Slide> {
    const OPEN: &str = "<!-- notes";
    let start = text
        .find(OPEN)
        .context("no speaker notes (`<!-- notes` … `-->`)")?;
    let end = start
        + text[start..]
            .find("-->")
            .context("notes not closed with -->")?;
    if text[end..].contains(OPEN) {
        bail!("two notes blocks on one slide");
    }
    let notes = parse_notes(&text[start + OPEN.len()..end])?;
    let mut section = None;
    let body: String = text[..start]
        .lines()
        .chain(text[end + 3..].lines())
        .filter(|l| {
            match l
                .trim()
                .strip_prefix("{{#section ")
                .and_then(|s| s.strip_suffix("}}"))
            {
                Some(name) => {
                    section = Some(name.trim().to_owned());
                    false
                }
                None => true,
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    Ok(Slide {
        section,
        body: body.trim().to_owned(),
        notes,
    })
}

/// Reads the template.
pub fn parse(text: &str) -> Result<Deck> {
    let mut parts = split_slides(text);
    if parts.len() < 3 || !parts[0].trim().is_empty() {
        bail!("the deck must start with its front matter between two `---` lines");
    }
    let front_matter = parts.remove(1);
    parts.remove(0);
    let slides = parts
        .iter()
        .enumerate()
        .map(|(i, part)| parse_slide(part).with_context(|| format!("slide {}", i + 1)))
        .collect::<Result<Vec<_>>>()?;
    if slides.first().and_then(|s| s.section.as_ref()).is_none() {
        bail!("the first slide must open a {{{{#section …}}}}");
    }
    Ok(Deck {
        front_matter,
        slides,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECK: &str = "---\nmarp: true\n---\n{{#section Opening}}\n# Title\n\n<!-- notes\nmin: 2\nsay: Welcome.\n  Twice.\nsee: a line\n-->\n\n---\n\n## Code\n```rust\nlet a = 1;\n---\n```\n<!-- notes\nmin: 3\nday: 20\nsay: Read it.\nmistake: x * (x * y)\n-->\n";

    #[test]
    fn slides_sections_and_notes_are_read() {
        let deck = parse(DECK).unwrap();
        assert_eq!(deck.front_matter, "marp: true\n");
        assert_eq!(
            deck.slides.len(),
            2,
            "a --- inside a code fence does not split"
        );
        let first = &deck.slides[0];
        assert_eq!(first.section.as_deref(), Some("Opening"));
        assert_eq!(first.heading(), "Title");
        assert_eq!(first.notes.say, "Welcome. Twice.");
        assert_eq!(first.notes.see.as_deref(), Some("a line"));
        assert_eq!(deck.slides[1].notes.minutes, 3);
        assert_eq!(deck.slides[1].notes.day_minutes(), 20);
        assert_eq!(
            first.notes.day_minutes(),
            2,
            "the day takes the three-hour minutes"
        );
        assert_eq!(deck.slides[1].notes.mistake.as_deref(), Some("x * (x * y)"));
        assert!(deck.slides[1].body.contains("---"));
    }

    #[test]
    fn a_slide_without_notes_or_minutes_is_refused() {
        assert!(parse("---\nm: 1\n---\n{{#section A}}\n# A\n").is_err());
        assert!(parse("---\nm: 1\n---\n{{#section A}}\n# A\n<!-- notes\nsay: x\n-->\n").is_err());
        assert!(parse("---\nm: 1\n---\n# A\n<!-- notes\nmin: 1\nsay: x\n-->\n").is_err());
    }
}
