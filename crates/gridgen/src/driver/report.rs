//! What a run says: the summary line (or JSON) on stdout, and one line on stderr for anything
//! that went wrong.

use std::io::{self, Write};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use crate::args::WorkersFrom;
use crate::Error;

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
    pub workers_from: Option<WorkersFrom>,
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
            if let Some(from) = self.workers_from.filter(|f| *f != WorkersFrom::Flag) {
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

/// Writes one line to stderr in a single write, so that lines from several MPI ranks sharing
/// one terminal do not interleave mid-line (`eprintln!` may write in pieces).
pub fn line(text: &str) {
    let _ = io::stderr().write_all(format!("{text}\n").as_bytes());
}

/// The outcome was told by another rank: a signal that ends this one has nothing to add.
pub fn mark_told() {
    crate::signals::mark_told();
}

/// Reports `e` as `<step>: [rank N: ]<cause>` and gives its exit code.
pub fn failure(step: &str, rank: Option<usize>, e: &Error) -> ExitCode {
    mark_told();
    let rank = rank.map(|r| format!("rank {r}: ")).unwrap_or_default();
    line(&format!("{step}: {rank}{e}"));
    ExitCode::from(e.exit_code())
}

/// Prints the summary on stdout. The files are written by now: a reader that went away (a
/// closed pipe, `| head`) is no failure of the run, so that ends it quietly and successfully;
/// any other failure to print (`> /dev/full`) is one line and exit 1.
pub fn summary(step: &str, summary: &Summary, json: bool) -> ExitCode {
    mark_told();
    let text = if json { summary.json() } else { summary.line() };
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            line(&format!("{step}: cannot print the summary: {e}"));
            ExitCode::from(1)
        }
    }
}

/// A panic prints one line, like every other failure: `who` (the step, and its rank under MPI),
/// the worker it happened in, where, and its message — `write_final: rank 1 panicked at
/// src/main.rs:127: …`. It is a bug in the code, the learner's or ours, not a failure of the
/// machine. (The panic that `std::thread::scope` raises afterwards, to say a worker panicked,
/// adds nothing.)
pub fn one_line_panics(who: String) {
    std::panic::set_hook(Box::new(move |info| {
        let message = crate::workers::panic_message(info.payload());
        if message == "a scoped thread panicked" {
            return;
        }
        let thread = std::thread::current();
        let worker = thread
            .name()
            .filter(|n| n.starts_with(steps::WORKER_PREFIX))
            .map(|n| format!(" in {n}"))
            .unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        line(&format!(
            "{who} panicked{worker}{place}: {}",
            message.replace('\n', " ")
        ));
    }));
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
        s.workers_from = Some(WorkersFrom::Slurm);
        assert!(
            s.line()
                .contains("written by 2 workers (from SLURM_CPUS_PER_TASK) in"),
            "{}",
            s.line()
        );
        s.workers_from = Some(WorkersFrom::Flag);
        assert!(s.line().contains("written by 2 workers in"), "{}", s.line());
        let json: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
        assert_eq!(json["workers"], 2);
    }
}
