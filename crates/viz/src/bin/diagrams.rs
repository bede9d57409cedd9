//! `make diagrams`: the workshop's explanatory diagrams as SVG, into one folder (the book's and
//! the deck's `images/diagrams/`). The queue diagram is drawn from the trace of a real run.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use viz::diagrams::Diagram;

#[derive(Parser)]
#[command(about = "Draw the workshop's diagrams as SVG")]
struct Cli {
    /// The folder to write them into
    output: PathBuf,
    /// The --trace of a run of write_multiprocessing_queue, for the queue diagram
    #[arg(long, value_name = "TRACE.json")]
    queue_trace: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.queue_trace)
        .with_context(|| format!("cannot read {}", cli.queue_trace.display()))?;
    let json = serde_json::from_str(&text).context("the queue trace is not JSON")?;
    let run = viz::trace::read(&json).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&cli.output)
        .with_context(|| format!("cannot create {}", cli.output.display()))?;
    for diagram in Diagram::ALL {
        let svg = diagram.draw(Some(&run)).map_err(anyhow::Error::msg)?;
        let path = cli.output.join(diagram.file_name());
        std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "diagrams: {} SVGs in {}",
        Diagram::ALL.len(),
        cli.output.display()
    );
    Ok(())
}
