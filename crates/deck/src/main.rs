//! `make slides` and `make checkpoints`: the deck's Markdown from its template and the project's
//! sources (Marp then draws it), the instructor's plan, and the checkpoint lines captured from
//! real runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use deck::checkpoints::{self, CheckedBy, CHECKPOINTS};
use deck::render::{self, Sources};
use deck::{plan, template};

#[derive(Parser)]
#[command(about = "The workshop's deck, plan and checkpoints, from the project's sources")]
struct Cli {
    /// The repository's root
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the deck's Markdown into OUT (with the figures it shows) and write the plan
    Build {
        #[arg(long, default_value = "workshop/slides/build")]
        out: PathBuf,
    },
    /// Fail when workshop/src/plan.md is not the deck's plan
    Plan,
    /// Run every checkpoint's command and check its line, or (--capture) keep it as the new one
    Checkpoints {
        #[arg(long)]
        capture: bool,
        /// Only these checkpoints (by id; all when none is given)
        #[arg(long)]
        only: Vec<String>,
    },
    /// Check one checkpoint against a line a run printed (for the scripts that run it)
    Checkpoint { id: String, line: String },
    /// Fail when a page of the deck's PDF holds text under 20 px (a word's box under 17 pt)
    PdfText { pdf: PathBuf },
}

const TEMPLATE: &str = "workshop/slides/deck.md";
const PLAN: &str = "workshop/src/plan.md";

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deck: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn read_deck(repo: &Path) -> Result<template::Deck> {
    let text = std::fs::read_to_string(repo.join(TEMPLATE))
        .with_context(|| format!("cannot read {TEMPLATE}"))?;
    template::parse(&text).context(TEMPLATE)
}

fn run(cli: Cli) -> Result<()> {
    let repo = &cli.repo;
    match cli.command {
        Command::Build { out } => build(repo, &out),
        Command::Plan => {
            let want = plan::markdown(&read_deck(repo)?);
            let have = std::fs::read_to_string(repo.join(PLAN)).unwrap_or_default();
            if want != have {
                bail!("{PLAN} is not the deck's plan: run `make slides`");
            }
            Ok(())
        }
        Command::Checkpoints { capture, only } => run_checkpoints(repo, capture, &only),
        Command::Checkpoint { id, line } => checkpoints::check_line(repo, &id, &line),
        Command::PdfText { pdf } => {
            let pages = deck::pdf::check(&pdf)?;
            let smallest = pages
                .iter()
                .min_by(|a, b| a.height.total_cmp(&b.height))
                .context("no page")?;
            println!(
                "deck: {} pages, the smallest text a {:.1}-pt box (page {}, \"{}\"), none under {} pt",
                pages.len(),
                smallest.height,
                smallest.page,
                smallest.word,
                deck::pdf::MIN_BOX_PT
            );
            Ok(())
        }
    }
}

fn build(repo: &Path, out: &Path) -> Result<()> {
    let deck = read_deck(repo)?;
    let rendered = render::deck(&deck, &Sources::read(repo)?)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for figure in &rendered.figures {
        let to = out.join(figure);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(repo.join("docs").join(figure), &to)
            .with_context(|| format!("cannot copy docs/{figure}"))?;
    }
    std::fs::write(out.join("deck.md"), &rendered.markdown)?;
    std::fs::write(repo.join(PLAN), plan::markdown(&deck))?;
    println!(
        "deck: {} slides, {} figures, {} minutes into {}; plan in {PLAN}",
        deck.slides.len(),
        rendered.figures.len(),
        deck.slides.iter().map(|s| s.notes.minutes).sum::<u32>(),
        out.join("deck.md").display()
    );
    Ok(())
}

/// Runs the checkpoints this command holds (the others are held by the Slurm and learner
/// tests); every stale one is reported before failing. Exercises are graded in a scratch folder,
/// removed at the end.
fn run_checkpoints(repo: &Path, capture: bool, only: &[String]) -> Result<()> {
    let scratch = checkpoints::Scratch {
        dir: std::env::temp_dir().join(format!("deck-checkpoints-{}", std::process::id())),
        grader: std::env::current_exe()?.with_file_name("exercise"),
    };
    for id in only {
        checkpoints::find(id)?;
    }
    let result = check_all(repo, capture, only, &scratch);
    let _ = std::fs::remove_dir_all(&scratch.dir);
    result
}

fn check_all(
    repo: &Path,
    capture: bool,
    only: &[String],
    scratch: &checkpoints::Scratch,
) -> Result<()> {
    let mut stale = Vec::new();
    let ours = CHECKPOINTS.iter().filter(|c| {
        matches!(
            c.checked_by,
            CheckedBy::Deck | CheckedBy::Graded { .. } | CheckedBy::Listed
        ) && (only.is_empty() || only.iter().any(|id| id == c.id))
    });
    for c in ours {
        let line = checkpoints::run(repo, c, scratch, Duration::from_secs(600))?;
        if capture {
            std::fs::create_dir_all(checkpoints::path(repo, c.id).parent().unwrap_or(repo))?;
            // No newline at the end: the book includes the line inside a sentence.
            std::fs::write(checkpoints::path(repo, c.id), &line)?;
            println!("checkpoint {}: {line}", c.id);
        } else if let Err(e) = checkpoints::check_line(repo, c.id, &line) {
            stale.push(format!("{e:#}"));
        } else {
            println!("checkpoint {} holds: {line}", c.id);
        }
    }
    if !stale.is_empty() {
        bail!("{}", stale.join("\n"));
    }
    Ok(())
}
