//! `make diff-flamegraph`: what one optimization changed, as a differential flamegraph. Both
//! profiles' sample counts are normalised to the same total, so the colours show where the time
//! moved (red: more of the run than before, blue: less), not just that the runs took different
//! times. Like is compared with like: only the frames both profiles have are kept, the samples
//! of the others counted for their caller (see `viz::keep_only`), so a function the compiler
//! inlined in one build and not the other is not painted as grown.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Draw a differential flamegraph of two folded profiles")]
struct Cli {
    /// The predecessor's folded stacks (from --flamegraph: PATH.folded)
    before: PathBuf,
    /// The step's folded stacks
    after: PathBuf,
    /// The SVG to write
    output: PathBuf,
    #[arg(long, default_value = "differential flamegraph")]
    title: String,
    /// Compare every frame, also those only one profile has (inlining then shows as change)
    #[arg(long)]
    all_frames: bool,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let read = |p: &PathBuf| -> Result<viz::Folded> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        viz::parse(&text).map_err(anyhow::Error::msg)
    };
    let (before, after) = (read(&cli.before)?, read(&cli.after)?);
    let (before, after) = if cli.all_frames {
        (before, after)
    } else {
        let both = viz::frames(&before)
            .intersection(&viz::frames(&after))
            .copied()
            .collect();
        (
            viz::keep_only(&before, &both),
            viz::keep_only(&after, &both),
        )
    };
    let mut folded = Vec::new();
    let options = inferno::differential::Options {
        normalize: true,
        ..Default::default()
    };
    inferno::differential::from_readers(
        options,
        viz::render(&before).as_bytes(),
        viz::render(&after).as_bytes(),
        &mut folded,
    )
    .context("cannot compare the two profiles")?;
    let text = String::from_utf8(folded).context("inferno wrote text that is not UTF-8")?;
    let mut options = viz::page_options(
        &cli.title,
        "red grew, blue shrank: a larger or a smaller share of the run than before".to_owned(),
    );
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, text.lines(), &mut svg)
        .context("cannot draw the flamegraph")?;
    std::fs::write(&cli.output, svg)
        .with_context(|| format!("cannot write {}", cli.output.display()))?;
    println!("flamegraph-diff: {}", cli.output.display());
    Ok(())
}
