//! `make diff-flamegraph`: what one optimization changed, as a differential flamegraph. Both
//! profiles' sample counts are normalised to the same total, so the colours show where the time
//! moved (red: more of the run than before, blue: less), not just that the runs took different
//! times.

use std::fs::File;
use std::io::BufReader;
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
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let open = |p: &PathBuf| -> Result<BufReader<File>> {
        Ok(BufReader::new(
            File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        ))
    };
    let mut folded = Vec::new();
    let options = inferno::differential::Options {
        normalize: true,
        ..Default::default()
    };
    inferno::differential::from_readers(
        options,
        open(&cli.before)?,
        open(&cli.after)?,
        &mut folded,
    )
    .context("cannot compare the two profiles")?;
    let text = String::from_utf8(folded).context("inferno wrote text that is not UTF-8")?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = cli.title;
    options.subtitle = Some(format!(
        "{} → {}: red grew, blue shrank (counts normalised)",
        cli.before.display(),
        cli.after.display()
    ));
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, text.lines(), &mut svg)
        .context("cannot draw the flamegraph")?;
    std::fs::write(&cli.output, svg)
        .with_context(|| format!("cannot write {}", cli.output.display()))?;
    println!("flamegraph-diff: {}", cli.output.display());
    Ok(())
}
