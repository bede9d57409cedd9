//! What a finished run reports: the summary line every step prints (or its JSON with `--json`),
//! which `make workshop`, the benchmark and the grader read back.

use serde::{Deserialize, Serialize};

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

/// Where a thread step's worker count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkersFrom {
    /// `-w`, given on the command line.
    #[serde(rename = "-w")]
    Flag,
    /// The Slurm job's `--cpus-per-task`.
    #[serde(rename = "SLURM_CPUS_PER_TASK")]
    Slurm,
    /// Neither: one worker.
    #[serde(rename = "default")]
    Default,
}

impl std::fmt::Display for WorkersFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkersFrom::Flag => "-w",
            WorkersFrom::Slurm => SLURM_CPUS_PER_TASK,
            WorkersFrom::Default => "default",
        })
    }
}

/// The Slurm variable that says how many cores a job's task was given.
pub const SLURM_CPUS_PER_TASK: &str = "SLURM_CPUS_PER_TASK";

/// Below this many samples a flamegraph shows noise more than a profile: a run says so, and
/// `make flamegraph` says so of its merged runs.
pub const MIN_SAMPLES: u64 = 50;

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
