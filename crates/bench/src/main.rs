//! `make bench` / `make bench-quick`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use bench::machine::Machine;
use bench::metric::against_baseline;
use bench::metric::{goals, Bound};
use bench::model::Build;
use bench::model::Case;
use bench::plan::Baseline;
use bench::plan::Plan;
use bench::results::BaselineCheck;
use bench::results::Results;
use bench::runner::{self, BaselineDir, Binaries, Rounds, Scratch, Watched};
use bench::{matrix, plots, report};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Parser)]
#[command(
    about = "Benchmark every workshop step and write the report, the raw results and the plots"
)]
struct Cli {
    /// Small sizes, one run each: about a minute (for checking the machinery, not for numbers)
    #[arg(long)]
    quick: bool,
    /// Measured runs per case (default: 5, or 1 with --quick)
    #[arg(long)]
    repeat: Option<usize>,
    /// Unmeasured runs before each case (default: 1, or 0 with --quick)
    #[arg(long)]
    warmup: Option<usize>,
    /// The markdown report
    #[arg(long, default_value = "docs/benchmarks.md")]
    report: PathBuf,
    /// Folder for the SVG plots
    #[arg(long, default_value = "docs/plots")]
    plots: PathBuf,
    /// Folder for the raw JSON results
    #[arg(long, default_value = "bench/results")]
    results: PathBuf,
    /// Scratch folder the steps write into
    #[arg(long, default_value = "output/bench")]
    scratch: PathBuf,
    /// A RAM-backed folder (tmpfs) for the cases that measure the code without the disk
    #[arg(long, default_value = "/dev/shm/hpc-bench")]
    ram_scratch: PathBuf,
    /// Minutes of extra rounds, at most, for targets whose ratio is still noisy (default: 15,
    /// or 0 with --quick)
    #[arg(long)]
    budget_minutes: Option<f64>,
    /// The folder of the steps built with `-C target-cpu=native` (`make bench NATIVE=1`): times
    /// them beside the portable build and checks that they write the same bytes
    #[arg(long, value_name = "DIR")]
    native: Option<PathBuf>,
    /// Another build of the steps, such as an earlier commit's (`make bench BASELINE=DIR`):
    /// times each step it has beside today's in the same rounds (on tmpfs), and checks that they
    /// write the same bytes. Labelled `before` unless given as LABEL=DIR; may be repeated.
    #[arg(long, value_name = "[LABEL=]DIR")]
    baseline: Vec<BaselineDir>,
    /// Measure nothing: redraw the report and plots from an earlier run's raw results
    #[arg(long, value_name = "RESULTS.json")]
    from_results: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(raw) = &cli.from_results {
        let text = std::fs::read_to_string(raw)
            .with_context(|| format!("cannot read {}", raw.display()))?;
        let results: Results = serde_json::from_str(&text).context("not a bench results file")?;
        let raw_name = raw
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return write_outputs(&cli, &results, &raw_name);
    }
    let results = measure(&cli)?;
    std::fs::create_dir_all(&cli.results)?;
    let raw_name = format!(
        "{}-{}{}.json",
        results.machine.host,
        results.machine.date,
        if cli.quick { "-quick" } else { "" }
    );
    std::fs::write(
        cli.results.join(&raw_name),
        serde_json::to_string_pretty(&results)?,
    )?;
    write_outputs(&cli, &results, &raw_name)
}

/// The plan the command line asks for.
fn plan(cli: &Cli) -> Result<Plan> {
    let mut plan = if cli.quick {
        Plan::quick(tools::cores())
    } else {
        Plan::full(tools::cores())
    };
    plan.native = cli.native.is_some();
    for (k, b) in cli.baseline.iter().enumerate() {
        anyhow::ensure!(
            !cli.baseline[..k].iter().any(|a| a.label == b.label),
            "two builds are labelled {} (--baseline LABEL=DIR)",
            b.label
        );
        let steps = b.steps();
        anyhow::ensure!(
            !steps.is_empty(),
            "{} holds no step's program (--baseline {}={})",
            b.dir.display(),
            b.label,
            b.dir.display()
        );
        plan.baselines.push(Baseline {
            label: b.label.clone(),
            steps,
        });
    }
    Ok(plan)
}

/// Runs every step of each other build beside today's at the sizes they are timed at, and
/// compares the files they write.
fn compare_baselines(bins: &Binaries, plan: &Plan, scratch: &Path) -> Result<Vec<BaselineCheck>> {
    let mut checks = Vec::new();
    for (dir, baseline) in bins.baselines.iter().zip(&plan.baselines) {
        let mut pairs = Vec::new();
        for step in baseline.steps.iter().filter_map(|name| steps::find(name)) {
            for at in plan.baseline_sizes(step) {
                let today = against_baseline(step, at);
                let before = today.clone().built(Build::Baseline(baseline.label.clone()));
                pairs.push((today, before));
            }
        }
        let names = |steps: Vec<&str>| steps.into_iter().map(str::to_owned).collect();
        checks.push(BaselineCheck {
            label: baseline.label.clone(),
            dir: dir.dir.display().to_string(),
            steps: names(dir.steps()),
            missing: names(dir.missing()),
            files: runner::compare_builds(bins, &pairs, scratch)?,
        });
    }
    Ok(checks)
}

/// Runs every case of the plan, and the native check and text profile around them.
fn measure(cli: &Cli) -> Result<Results> {
    let plan = plan(cli)?;
    let bins = Binaries::here(cli.native.clone(), cli.baseline.clone())?;
    let (repeat, warmup) = (
        cli.repeat.unwrap_or(if cli.quick { 1 } else { 5 }),
        cli.warmup.unwrap_or(if cli.quick { 0 } else { 1 }),
    );
    let cases = matrix::cases(&plan);
    let goals = goals(&plan);
    // A folder of this run's own in the RAM-backed one, which other users and runs share;
    // removed when the run ends, whether it succeeds or fails (it holds RAM, not disk).
    let ram = RamScratch::create(&cli.ram_scratch)?;
    std::fs::create_dir_all(&cli.scratch)
        .with_context(|| format!("cannot create {}", cli.scratch.display()))?;
    let machine = Machine::describe(&cli.scratch, &ram.0);
    let native = match &cli.native {
        Some(_) => Some(runner::compare_native(&bins, &plan, &ram.0)?),
        None => None,
    };
    let baselines = compare_baselines(&bins, &plan, &ram.0)?;
    let watched: Vec<Watched> = goals
        .iter()
        .filter(|g| !matches!(g.bound, Bound::Info))
        .filter_map(|g| Watched::of(g, &cases))
        .collect();
    let budget = cli
        .budget_minutes
        .unwrap_or(if cli.quick { 0.0 } else { 15.0 });
    let rounds = Rounds {
        warmup,
        repeat,
        watched: &watched,
        budget: Duration::from_secs_f64(budget * 60.0),
        max_rounds: warmup + repeat.max(1) + 20,
    };
    let scratch = Scratch {
        disk: cli.scratch.join("out"),
        ram: ram.0.join("out"),
    };
    let measured = with_bar(cases.len() * (warmup + repeat.max(1)), |tick| {
        runner::measure_all(&cases, &bins, &rounds, &scratch, tick)
    })?;
    let text_profile = Some(runner::profile_text_step(&bins, &plan, &ram.0, &cli.plots)?);
    let boundary = runner::boundary(&bins, &plan, &ram.0, repeat)?;
    drop(ram);
    Ok(Results {
        machine,
        quick: cli.quick,
        warmup,
        repeat,
        small: plan.small,
        large: plan.large,
        measured,
        native,
        baselines,
        text_profile,
        boundary,
        goals,
    })
}

/// Runs `f` with a progress bar of `runs` ticks — on a terminal only: hidden when piped, in CI
/// and in tests. Extra rounds come on top of its count.
fn with_bar<T>(runs: usize, f: impl FnOnce(&mut dyn FnMut(&Case)) -> Result<T>) -> Result<T> {
    let bar = ProgressBar::with_draw_target(Some(runs as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {eta} left  {msg}");
    bar.set_style(style.expect("a valid template"));
    let out = f(&mut |case: &Case| {
        bar.set_message(case.command_line());
        bar.inc(1);
    });
    bar.finish_and_clear();
    out
}

/// `<base>/run-<pid>`: removed on drop, and `<base>` too once no other run is using it.
struct RamScratch(PathBuf);

impl RamScratch {
    fn create(base: &Path) -> Result<RamScratch> {
        let dir = base.join(format!("run-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(RamScratch(dir))
    }
}

impl Drop for RamScratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        if let Some(base) = self.0.parent() {
            let _ = std::fs::remove_dir(base); // fails while another run's folder is in it
        }
    }
}

fn write_outputs(cli: &Cli, results: &Results, raw_name: &str) -> Result<()> {
    let drawn = plots::draw_all(results, &cli.plots)?;
    let prefix = relative_prefix(&cli.report, &cli.plots);
    std::fs::write(
        &cli.report,
        report::markdown(results, &drawn, &prefix, raw_name),
    )
    .with_context(|| format!("cannot write {}", cli.report.display()))?;
    println!(
        "bench: {} cases; report {}, plots in {}, raw results {}",
        results.measured.len(),
        cli.report.display(),
        cli.plots.display(),
        cli.results.join(raw_name).display()
    );
    Ok(())
}

/// How the report refers to the plots: relative to the report's own folder when the plots are
/// under it (docs/plots from docs/benchmarks.md is "plots/"), else by their path as given.
fn relative_prefix(report: &Path, plots: &Path) -> String {
    let base = report.parent().unwrap_or(Path::new(""));
    match plots.strip_prefix(base) {
        Ok(rel) if !rel.as_os_str().is_empty() => format!("{}/", rel.display()),
        _ => format!("{}/", plots.display()),
    }
}
