//! `make flamegraph`: several profiled runs of a step drawn as one flamegraph. Each run writes
//! few files (a small disk footprint) and keeps its samples alone (`--flamegraph PATH.folded`);
//! they add up to those of one long run, and are judged once, here: too few to trust is said
//! once, of the merged profile.
//!
//! Beside the flamegraph for a page (`OUTPUT`, every frame, for a browser to zoom into), a slide's
//! (`OUTPUT` with `.slide.svg`): larger text, short names, the hot path alone (our functions,
//! each call into a library and the leaf where its time went), and only the frames wide enough
//! to name.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Draw one flamegraph from the folded stacks of several runs")]
struct Cli {
    /// The SVG to write (its merged folded stacks go beside it, as .folded)
    output: PathBuf,
    /// The runs' folded stacks (from --flamegraph: PATH.folded)
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    #[arg(long, default_value = "flamegraph")]
    title: String,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut all = viz::Folded::new();
    for run in &cli.runs {
        let text = std::fs::read_to_string(run)
            .with_context(|| format!("cannot read {}", run.display()))?;
        let stacks = viz::parse(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{} is not a folded profile", run.display()))?;
        viz::add(&mut all, stacks);
    }
    let folded = viz::render(&all);
    let samples: u64 = all.values().sum();
    let drawn = viz::render(&viz::from_our_code(&all));
    let mut options = viz::page_options(
        &cli.title,
        format!(
            "{} runs, {samples} samples; start-up and runtime frames below the workshop's code left out",
            cli.runs.len()
        ),
    );
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, drawn.lines(), &mut svg)
        .context("cannot draw the flamegraph")?;
    let slide_path = cli.output.with_extension("slide.svg");
    let mut slide_options = viz::slide_options(
        &cli.title,
        format!("{samples} samples; …: library frames; boxes under 2% left out"),
    );
    let short = viz::render(&viz::short_names(&viz::hot_path(&viz::from_our_code(&all))));
    let mut slide = Vec::new();
    inferno::flamegraph::from_lines(&mut slide_options, short.lines(), &mut slide)
        .context("cannot draw the slide's flamegraph")?;
    std::fs::write(&slide_path, slide)
        .with_context(|| format!("cannot write {}", slide_path.display()))?;
    let folded_path = cli.output.with_extension("folded");
    std::fs::write(&folded_path, folded)
        .with_context(|| format!("cannot write {}", folded_path.display()))?;
    std::fs::write(&cli.output, svg)
        .with_context(|| format!("cannot write {}", cli.output.display()))?;
    if samples < gridgen_contract::summary::MIN_SAMPLES {
        eprintln!(
            "flamegraph: only {samples} samples from {} runs (the kernel allows about 250 per busy \
             thread per second): too few to trust; profile more runs or more files per run",
            cli.runs.len()
        );
    }
    println!(
        "flamegraph: {} ({samples} samples from {} runs)",
        cli.output.display(),
        cli.runs.len()
    );
    println!("flamegraph: {} (for a slide)", slide_path.display());
    Ok(())
}
