//! The frame around every step's lesson: parse the arguments, check the grid fits, create the
//! output folder, time the run, print one summary line, and turn errors into one line on stderr
//! and an exit code (2 for usage, 1 for runtime failures).

use std::process::ExitCode;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::args::{self, Step, StepArgs};
use crate::observe::Observer;
use crate::{memory, Output, Result};

/// What a finished run reports: one line of text, or one JSON object with `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub step: String,
    pub n_files: usize,
    pub size: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub files_per_second: f64,
    pub mb_per_second: f64,
    /// Worker threads, for the thread steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Where the worker count came from: `-w`, `SLURM_CPUS_PER_TASK` or `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_from: Option<String>,
    /// MPI ranks, for the MPI steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranks: Option<usize>,
    /// Profile samples taken, with `--flamegraph`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// The flamegraph written, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flamegraph: Option<String>,
    /// The timeline written, with `--trace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

impl Summary {
    pub fn new(step: &str, n_files: usize, size: usize, bytes: u64, seconds: f64) -> Self {
        let per_second = |amount: f64| if seconds > 0.0 { amount / seconds } else { 0.0 };
        Summary {
            step: step.to_owned(),
            n_files,
            size,
            bytes,
            seconds,
            files_per_second: per_second(n_files as f64),
            mb_per_second: per_second(bytes as f64 / 1e6),
            workers: None,
            workers_from: None,
            ranks: None,
            samples: None,
            flamegraph: None,
            trace: None,
        }
    }

    /// The line printed at the end of a run.
    pub fn line(&self) -> String {
        let mut by = String::new();
        if let Some(w) = self.workers {
            let plural = if w == 1 { "" } else { "s" };
            by = format!(" by {w} worker{plural}");
            if let Some(from) = self.workers_from.as_deref().filter(|f| *f != "-w") {
                by += &format!(" (from {from})");
            }
        }
        if let Some(r) = self.ranks {
            by = format!(" by {r} rank{}", if r == 1 { "" } else { "s" });
        }
        let mut extra = String::new();
        if let Some(n) = self.samples {
            extra += &format!("; {n} profile samples");
            if let Some(path) = &self.flamegraph {
                extra += &format!(" in {path}");
            }
        }
        if let Some(path) = &self.trace {
            extra += &format!("; timeline in {path}");
        }
        format!(
            "{}: {} files of {}×{}, {:.2} MB written{by} in {:.3} s ({:.0} files/s, {:.1} MB/s){extra}",
            self.step,
            self.n_files,
            self.size,
            self.size,
            self.bytes as f64 / 1e6,
            self.seconds,
            self.files_per_second,
            self.mb_per_second
        )
    }

    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a summary always serialises")
    }
}

/// Runs one step: `body` is the lesson, handed the parsed arguments and the output folder.
pub fn run<A: StepArgs>(step: Step, body: impl FnOnce(&A, &Output) -> Result<()>) -> ExitCode {
    one_line_panics(step.name);
    let args: A = match args::parse(step, true) {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            report(&format!("{}: {message}", step.name));
            return ExitCode::from(2);
        }
    };
    match run_parsed(step, &args, body) {
        Ok(summary) => {
            print_summary(&summary, args.common().json);
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&format!("{}: {e}", step.name));
            ExitCode::from(e.exit_code())
        }
    }
}

/// A panic prints one line, like every other failure. Panics in worker threads print nothing
/// here: the worker pool catches them and the run reports them as its error.
pub(crate) fn one_line_panics(step: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        if thread.name().is_some_and(|n| n.starts_with("worker-")) {
            return;
        }
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        report(&format!(
            "{step}: internal error{place}: {}",
            message.replace('\n', " ")
        ));
    }));
}

fn run_parsed<A: StepArgs>(
    step: Step,
    args: &A,
    body: impl FnOnce(&A, &Output) -> Result<()>,
) -> Result<Summary> {
    // The profiler's own start-up (it loads symbols) is not part of the run being timed.
    let observer = Observer::start(args.common())?;
    let start = Instant::now();
    let mut out = prepare(args)?;
    out.show_progress(args.common().n_files);
    let result = body(args, &out);
    out.finish_progress();
    result?;
    let mut summary = summarize(step, args, out.bytes_written(), start);
    let seen = observer.finish()?;
    seen.write_alone(args.common(), &mut summary)?;
    Ok(summary)
}

/// Before any work: refuse a grid that cannot fit, and create the output folder.
pub(crate) fn prepare<A: StepArgs>(args: &A) -> Result<Output> {
    let common = args.common();
    memory::check_fits(common.size, args.grids_in_memory())?;
    Output::create(&common.dir, &common.output)
}

pub(crate) fn summarize<A: StepArgs>(step: Step, args: &A, bytes: u64, start: Instant) -> Summary {
    let common = args.common();
    let seconds = start.elapsed().as_secs_f64();
    let mut summary = Summary::new(step.name, common.n_files, common.size, bytes, seconds);
    args.annotate(&mut summary);
    summary
}

/// Writes one line to stderr in a single write, so that lines from several MPI ranks sharing
/// one terminal do not interleave mid-line (`eprintln!` may write in pieces).
pub(crate) fn report(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

pub(crate) fn print_summary(summary: &Summary, json: bool) {
    if json {
        println!("{}", summary.json());
    } else {
        println!("{}", summary.line());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_rates() {
        let s = Summary::new("write", 10, 100, 2_000_000, 0.5);
        assert_eq!(s.files_per_second, 20.0);
        assert_eq!(s.mb_per_second, 4.0);
        assert_eq!(
            s.line(),
            "write: 10 files of 100×100, 2.00 MB written in 0.500 s (20 files/s, 4.0 MB/s)"
        );
        let json: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        assert_eq!(json["step"], "write");
        assert_eq!(json["bytes"], 2_000_000);
        assert!(json.get("workers").is_none());
    }

    #[test]
    fn summary_names_workers_and_where_their_count_came_from() {
        let mut s = Summary::new("write_multiprocessing_queue", 4, 10, 4000, 1.0);
        s.workers = Some(2);
        s.workers_from = Some("SLURM_CPUS_PER_TASK".into());
        assert!(
            s.line()
                .contains("written by 2 workers (from SLURM_CPUS_PER_TASK) in"),
            "{}",
            s.line()
        );
        s.workers_from = Some("-w".into());
        assert!(s.line().contains("written by 2 workers in"), "{}", s.line());
        let json: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        assert_eq!(json["workers"], 2);
    }
}
