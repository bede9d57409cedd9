//! `make workshop`: run every step in order with the same parameters, check that they all wrote
//! the same numbers as the baseline, and print how fast each one was.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use gridgen_contract::Summary;
use tools::{compare_runs, load_run, run_step_on, step_binary, Arrays, Launch, Step, STEPS};

#[derive(Parser)]
#[command(about = "Run every workshop step, check they agree bit for bit, and compare their speed")]
struct Cli {
    #[arg(short = 'n', long = "n-files", default_value_t = 100)]
    n_files: usize,
    #[arg(short, long, default_value_t = 100)]
    size: usize,
    /// Worker threads for the thread steps
    #[arg(short, long, default_value_t = 2)]
    workers: usize,
    /// MPI ranks for the MPI steps (started with mpirun)
    #[arg(long, default_value_t = 2)]
    ranks: usize,
    /// Runs per step; the table shows the median
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Each step writes into <dir>/<step>
    #[arg(long, default_value = "output/workshop")]
    dir: PathBuf,
}

fn median_run(step: &str, ranks: usize, args: &[String], repeat: usize) -> Result<Summary> {
    let mut runs = (0..repeat.max(1))
        .map(|_| run_step_on(step, ranks, args))
        .collect::<Result<Vec<_>>>()?;
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    Ok(runs.swap_remove(runs.len() / 2))
}

/// Runs `step` as the command line says, and reads back what it wrote.
fn run_one(cli: &Cli, step: &Step) -> Result<(Summary, Arrays)> {
    let dir = cli.dir.join(step.name);
    let mut args: Vec<String> = vec![
        "-n".into(),
        cli.n_files.to_string(),
        "-s".into(),
        cli.size.to_string(),
        "--dir".into(),
        dir.display().to_string(),
    ];
    if step.launch == Launch::Threads {
        args.extend(["-w".into(), cli.workers.to_string()]);
    }
    let summary = median_run(step.name, cli.ranks, &args, cli.repeat)?;
    let arrays = load_run(&dir, "data", step.format, cli.n_files)
        .with_context(|| format!("reading back what {} wrote", step.name))?;
    Ok((summary, arrays))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let first = STEPS[0].name;
    println!(
        "Running every step with -n {} -s {}, {} workers, {} MPI ranks (median of {} runs each)\n",
        cli.n_files, cli.size, cli.workers, cli.ranks, cli.repeat
    );
    println!(
        "{:<28} {:<34} {:>8} {:>9} {:>9} {:>9}  same numbers",
        "step",
        "lesson",
        "wall s",
        "files/s",
        format!("vs {first}"),
        "vs prev"
    );
    let mut times: Vec<(&str, f64)> = Vec::new();
    let mut baseline: Option<Arrays> = None;
    let mut all_same = true;
    for step in STEPS {
        if step_binary(step.name).is_err() {
            println!("{:<28} (not built)", step.name);
            continue;
        }
        let (summary, arrays) = run_one(&cli, step)?;
        let verdict = match &baseline {
            None => "baseline".to_string(),
            Some(expected) => compare_runs(expected, &arrays).map_or_else(
                |e| {
                    all_same = false;
                    format!("NO: {e}")
                },
                |()| "yes".to_string(),
            ),
        };
        baseline.get_or_insert(arrays);
        let time_of = |name: &str| times.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
        let speedup = |other: Option<f64>| {
            other.map_or("—".into(), |t| format!("{:.1}×", t / summary.seconds))
        };
        println!(
            "{:<28} {:<34} {:>8.3} {:>9.0} {:>9} {:>9}  {verdict}",
            step.name,
            step.lesson,
            summary.seconds,
            summary.files_per_second,
            speedup(time_of(first)),
            speedup(step.predecessor.and_then(time_of)),
        );
        times.push((step.name, summary.seconds));
    }
    println!("\nOutputs are under {}.", cli.dir.display());
    anyhow::ensure!(
        all_same,
        "some steps did not write the same numbers as `{first}`"
    );
    println!("Every step wrote the same numbers, bit for bit.");
    Ok(())
}
