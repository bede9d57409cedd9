//! `make diagrams`: the workshop's explanatory diagrams as SVG, into one folder (the book's and
//! the deck's `images/diagrams/`). The queue diagram is drawn from a real run of the queue step,
//! which this program starts with `--trace` (`viz::diagrams::QUEUE_RUN` says how).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Parser;
use viz::diagrams::{Diagram, QUEUE_RUN, QUEUE_STEP};

#[derive(Parser)]
#[command(about = "Draw the workshop's diagrams as SVG")]
struct Cli {
    /// The folder to write them into
    output: PathBuf,
    /// The folder of the built steps (target/release)
    #[arg(long)]
    steps: PathBuf,
    /// A folder for the queue step's run (its files and trace), removed at the end
    #[arg(long)]
    scratch: PathBuf,
}

/// Runs the queue step as `QUEUE_RUN` says, and reads its trace back.
fn queue_run(steps: &Path, scratch: &Path) -> Result<viz::trace::Timeline> {
    let (n, size, workers) = QUEUE_RUN;
    let trace = scratch.join("queue.trace.json");
    let status = Command::new(steps.join(QUEUE_STEP))
        .args(["-n", &n.to_string(), "-s", &size.to_string()])
        .args(["-w", &workers.to_string()])
        .arg("--dir")
        .arg(scratch.join("out"))
        .arg("--trace")
        .arg(&trace)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot start {}", steps.join(QUEUE_STEP).display()))?;
    if !status.success() {
        bail!("{QUEUE_STEP} failed ({status}): the queue diagram needs its run");
    }
    let text = std::fs::read_to_string(&trace)
        .with_context(|| format!("cannot read {}", trace.display()))?;
    let json = serde_json::from_str(&text).context("the queue trace is not JSON")?;
    viz::trace::read(&json).map_err(anyhow::Error::msg)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let run = queue_run(&cli.steps, &cli.scratch);
    // The run's files are not wanted, whatever happened.
    let _ = std::fs::remove_dir_all(&cli.scratch);
    let run = run?;
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
