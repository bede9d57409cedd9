//! The instructor's plans, from the deck: each part of the workshop with its minutes (the sum of
//! its slides'), its slides, and the exercises learners write in it. Two plans come from the same
//! slides: three hours (each slide's `min:`; four exercises in the room, the others homework) and
//! a full day (each slide's `day:`, where the homework is written in the room too, with a lunch
//! between the parts nearest the middle of the day). `make slides` writes both into
//! `workshop/src/plan.md`, which the instructor's guide includes; a test fails when the committed
//! plan is not the deck's.

use crate::template::Deck;

/// Which plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// An afternoon: the slides' `min:`.
    ThreeHours,
    /// A day: the slides' `day:`, and a lunch.
    FullDay,
}

/// The part that opens with a `{{#section Break}}` slide: a break.
pub const BREAK: &str = "Break";
/// The full day's lunch, added by the plan between two parts.
pub const LUNCH: &str = "Lunch";
/// Its minutes.
pub const LUNCH_MINUTES: u32 = 60;

/// One part of the workshop: the slides from one `{{#section}}` to the next (none for lunch).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: String,
    /// The slides, first and last (1-based); `None` for the lunch.
    pub slides: Option<(usize, usize)>,
    pub start: u32,
    pub minutes: u32,
    /// Exercises written in the room in this plan.
    pub exercises: Vec<String>,
    /// Exercises of this part left for after the day (none in the full day).
    pub homework: Vec<String>,
}

impl Part {
    pub fn is_break(&self) -> bool {
        self.name == BREAK || self.name == LUNCH
    }

    pub fn end(&self) -> u32 {
        self.start + self.minutes
    }
}

/// The steps named by `directive` (`{{#exercise STEP}}`, `{{#homework STEP STEP}}`) in `body`.
pub fn named(body: &str, directive: &str) -> Vec<String> {
    let open = format!("{{{{#{directive} ");
    body.match_indices(&open)
        .filter_map(|(at, _)| body[at + open.len()..].split("}}").next())
        .flat_map(|names| names.split_whitespace().map(str::to_owned))
        .collect()
}

/// The parts of `deck`, in order, timed for `length`.
pub fn parts(deck: &Deck, length: Length) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for (i, slide) in deck.slides.iter().enumerate() {
        if let Some(name) = &slide.section {
            parts.push(Part {
                name: name.clone(),
                slides: Some((i + 1, i + 1)),
                start: 0,
                minutes: 0,
                exercises: Vec::new(),
                homework: Vec::new(),
            });
        }
        let Some(part) = parts.last_mut() else {
            continue;
        };
        if let Some((first, _)) = part.slides {
            part.slides = Some((first, i + 1));
        }
        let exercises = named(&slide.body, "exercise");
        let homework = named(&slide.body, "homework");
        match length {
            Length::ThreeHours => {
                part.minutes += slide.notes.minutes;
                part.exercises.extend(exercises);
                part.homework.extend(homework);
            }
            Length::FullDay => {
                part.minutes += slide.notes.day_minutes();
                part.exercises.extend(exercises.into_iter().chain(homework));
            }
        }
    }
    if length == Length::FullDay {
        add_lunch(&mut parts);
    }
    let mut clock = 0;
    for part in &mut parts {
        part.start = clock;
        clock += part.minutes;
    }
    parts
}

/// The lunch, between the two parts whose boundary is nearest the middle of the day, unless a
/// break is already there.
fn add_lunch(parts: &mut Vec<Part>) {
    let total: u32 = parts.iter().map(|p| p.minutes).sum();
    let mut clock = 0;
    let mut best: Option<(u32, usize)> = None;
    for (i, part) in parts.iter().enumerate().skip(1) {
        clock += parts[i - 1].minutes;
        let off = clock.abs_diff(total / 2);
        if !part.is_break() && !parts[i - 1].is_break() && best.is_none_or(|(b, _)| off < b) {
            best = Some((off, i));
        }
    }
    if let Some((_, at)) = best {
        parts.insert(
            at,
            Part {
                name: LUNCH.to_owned(),
                slides: None,
                start: 0,
                minutes: LUNCH_MINUTES,
                exercises: Vec::new(),
                homework: Vec::new(),
            },
        );
    }
}

/// The longest stretch of the plan without a break, in minutes.
pub fn longest_stretch(parts: &[Part]) -> u32 {
    let (mut longest, mut since) = (0, 0);
    for part in parts {
        if part.is_break() {
            since = 0;
        } else {
            since += part.minutes;
            longest = longest.max(since);
        }
    }
    longest
}

/// `h:mm` from the start.
fn clock(minutes: u32) -> String {
    format!("{}:{:02}", minutes / 60, minutes % 60)
}

fn table(parts: &[Part], homework_column: bool) -> String {
    let mut out = String::from("| from | to | part | slides | learners write |");
    out += if homework_column {
        " homework |\n|---|---|---|---|---|---|\n"
    } else {
        "\n|---|---|---|---|---|\n"
    };
    let list = |names: &[String]| {
        if names.is_empty() {
            "—".to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for p in parts {
        let slides = p.slides.map_or("—".to_owned(), |(a, b)| format!("{a}–{b}"));
        out += &format!(
            "| {} | {} | {} | {slides} | {} |",
            clock(p.start),
            clock(p.end()),
            p.name,
            list(&p.exercises)
        );
        if homework_column {
            out += &format!(" {} |", list(&p.homework));
        }
        out.push('\n');
    }
    out
}

/// Both plans as Markdown tables.
pub fn markdown(deck: &Deck) -> String {
    let short = parts(deck, Length::ThreeHours);
    let day = parts(deck, Length::FullDay);
    let total = |parts: &[Part]| parts.last().map_or(0, Part::end);
    let breaks = |parts: &[Part]| parts.iter().filter(|p| p.is_break()).count();
    format!(
        "<!-- Generated by `make slides` from workshop/slides/deck.md (each slide's `min:` and `day:`); do not edit. -->\n\n\
         ### Three hours\n\n{}\n{} slides, {} minutes, {} breaks; the longest stretch without a break is {} minutes.\n\n\
         ### A full day\n\nThe same slides, with every exercise written in the room and a lunch.\n\n{}\n{} minutes, {} breaks and lunch; the longest stretch without a break is {} minutes.\n",
        table(&short, true),
        deck.slides.len(),
        total(&short),
        breaks(&short),
        longest_stretch(&short),
        table(&day, false),
        total(&day),
        breaks(&day) - 1,
        longest_stretch(&day),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::parse;

    const DECK: &str = "---\nm: 1\n---\n{{#section Open}}\n# A\n<!-- notes\nmin: 2\nsay: a\n-->\n---\n# B\n<!-- notes\nmin: 3\nsay: b\n-->\n---\n{{#section Write}}\n# C\n{{#exercise write_vectorized}}\n<!-- notes\nmin: 10\nday: 20\nsay: c\n-->\n---\n{{#section Break}}\n# Break\n<!-- notes\nmin: 10\nday: 15\nsay: d\n-->\n---\n{{#section More}}\n# D\n{{#homework write_mpi write_hdf5}}\n<!-- notes\nmin: 5\nday: 45\nsay: e\n-->\n---\n{{#section End}}\n# E\n<!-- notes\nmin: 5\nday: 30\nsay: f\n-->\n";

    #[test]
    fn parts_add_up_their_slides_minutes() {
        let deck = parse(DECK).unwrap();
        let p = parts(&deck, Length::ThreeHours);
        assert_eq!(
            (p[0].start, p[0].minutes, p[0].slides),
            (0, 5, Some((1, 2)))
        );
        assert_eq!((p[1].start, p[1].minutes), (5, 10));
        assert_eq!(p[1].exercises, ["write_vectorized"]);
        assert_eq!(p[3].homework, ["write_mpi", "write_hdf5"]);
        assert!(p[2].is_break());
        assert_eq!(longest_stretch(&p), 15);
        let md = markdown(&deck);
        assert!(
            md.contains("| 0:05 | 0:15 | Write | 3–3 | `write_vectorized` | — |"),
            "{md}"
        );
        assert!(md.contains("6 slides, 35 minutes, 1 breaks"), "{md}");
    }

    #[test]
    fn the_full_day_writes_the_homework_in_the_room_and_has_a_lunch() {
        let deck = parse(DECK).unwrap();
        let p = parts(&deck, Length::FullDay);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Open", "Write", "Break", "More", LUNCH, "End"]);
        assert_eq!(p[3].exercises, ["write_mpi", "write_hdf5"]);
        assert!(p[3].homework.is_empty());
        assert_eq!(
            p.last().unwrap().end(),
            5 + 20 + 15 + 45 + LUNCH_MINUTES + 30
        );
        assert_eq!(
            named("{{#exercise a}} x {{#exercise b}}", "exercise"),
            ["a", "b"]
        );
    }
}
