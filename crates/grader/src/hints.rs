//! `make hint`: the hints of an exercise, one more each time, from its "Write it yourself"
//! section in the book (where they are folded, one `<details>` block each): in its chapter for
//! an exercise the room does, on its homework page (`homework/<name>.md`) for the others.

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::exercise::{Exercise, Layout};

/// The heading of an exercise's section in its chapter.
pub fn heading(exercise: Exercise) -> String {
    format!("## Write it yourself: `{}`", exercise.name())
}

/// The section's text, from its heading to the next heading of its level or above.
pub fn section(chapter: &str, heading: &str) -> Option<String> {
    let start = chapter.lines().position(|l| l.trim_end() == heading)?;
    let body: Vec<&str> = chapter
        .lines()
        .skip(start + 1)
        .take_while(|l| !(l.starts_with("## ") || l.starts_with("# ")))
        .collect();
    Some(body.join("\n"))
}

/// Every hint of a section, in order: the text of each `<details><summary>Hint …</summary>`.
pub fn hints_in(section: &str) -> Vec<String> {
    let mut hints = Vec::new();
    let mut rest = section;
    while let Some(start) = rest.find("<summary>Hint") {
        let after = &rest[start..];
        let Some(open) = after.find("</summary>") else {
            break;
        };
        let body = &after[open + "</summary>".len()..];
        let end = body.find("</details>").unwrap_or(body.len());
        hints.push(body[..end].trim().to_string());
        rest = &body[end..];
    }
    hints
}

/// The book's page that holds the exercise's section: its homework page if it has one, else its
/// chapter.
pub fn page(layout: &Layout, exercise: Exercise) -> PathBuf {
    let src = layout.repo.join("workshop/src");
    let homework = src.join("homework").join(format!("{}.md", exercise.name()));
    if homework.is_file() {
        homework
    } else {
        src.join(exercise.chapter())
    }
}

pub fn hints(layout: &Layout, exercise: Exercise) -> Result<Vec<String>> {
    let path = page(layout, exercise);
    let chapter =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let heading = heading(exercise);
    let section = section(&chapter, &heading)
        .with_context(|| format!("{} has no section `{heading}`", path.display()))?;
    let hints = hints_in(&section);
    if hints.is_empty() {
        bail!("the section `{heading}` of {} has no hints", path.display());
    }
    Ok(hints)
}

/// Where the exercise's solution is, for a learner who has used every hint.
pub fn solution_is(layout: &Layout, exercise: Exercise) -> String {
    let page = page(layout, exercise);
    let page = page.strip_prefix(&layout.repo).unwrap_or(&page);
    match exercise {
        Exercise::Step(step) => format!(
            "The reference solution is folded at the end of the exercise's section in the book \
             ({}, \"The reference solution\"), and `make diff STEP={}` shows the whole step \
             against its predecessor.",
            page.display(),
            step.name
        ),
        Exercise::Capstone(c) => format!(
            "The reference solution is crates/grader/capstone/{}.rs: read it after your own try.",
            c.name.trim_start_matches("capstone_")
        ),
    }
}

/// Prints the next hint not yet shown (remembered in the exercise's folder).
pub fn next(layout: &Layout, exercise: Exercise) -> Result<()> {
    let hints = hints(layout, exercise)?;
    let folder = layout.folder(exercise);
    let seen_file = folder.join(".hints-seen");
    let seen: usize = fs::read_to_string(&seen_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    let k = seen.min(hints.len() - 1);
    println!(
        "Hint {} of {} for {}:\n\n{}\n",
        k + 1,
        hints.len(),
        exercise.name(),
        hints[k]
    );
    if k + 1 == hints.len() {
        println!("That was the last one. {}", solution_is(layout, exercise));
    }
    if folder.is_dir() {
        let _ = crate::files::write_whole(&seen_file, format!("{}\n", k + 1).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_one_block_at_a_time_from_their_own_section() {
        let chapter = "# C\n## Write it yourself: `a`\ntext\n<details>\n<summary>Hint 1</summary>\n\nfirst\n\n</details>\n<details><summary>Hint 2</summary>\nsecond\n</details>\n## Next\n<summary>Hint 9</summary>no\n</details>\n";
        let s = section(chapter, "## Write it yourself: `a`").unwrap();
        assert_eq!(hints_in(&s), vec!["first", "second"]);
        assert_eq!(section(chapter, "## Write it yourself: `b`"), None);
    }
}
