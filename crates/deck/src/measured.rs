//! The benchmark's numbers as the slides show them, read from its raw results
//! (`bench/results/<host>-<date>.json`, which `make bench` writes): a goal's value as the
//! report's targets table gives it (the median of its per-round values), every step's time
//! before and after its change, and what each change cost in lines against what it gained.
//!
//! Only the fields the slides need are read, typed as `bench` writes them; `bench` itself is
//! not linked, because it links MPI and HDF5 and the deck builds with cargo alone.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use steps::{Launch, Step, STEPS};
use tools::stats::Ratio;

/// A benchmark run: its machine, its two sizes, every case measured and the goals it was
/// judged under.
#[derive(Debug, Clone, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub quick: bool,
    /// `(n_files, size)` of the many-small-files case and of the large-grid case.
    pub small: (usize, usize),
    pub large: (usize, usize),
    pub measured: Vec<Measured>,
    #[serde(default)]
    pub goals: Vec<Goal>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Machine {
    pub date: String,
    pub cores: usize,
}

/// One case's rounds.
#[derive(Debug, Clone, Deserialize)]
pub struct Measured {
    pub case: Case,
    pub wall: Wall,
    /// `(round, seconds)` of every run.
    pub samples: Vec<(usize, f64)>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Wall {
    pub median: f64,
}

/// What a case ran: a program (`write_mpi`, `py-write`, `floor-npy`, `launch`, `capacity`)
/// at a size, with workers or ranks, on the disk or on tmpfs (`ram`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Case {
    pub program: String,
    pub n_files: usize,
    pub size: usize,
    #[serde(default)]
    pub workers: Option<usize>,
    #[serde(default)]
    pub ranks: Option<usize>,
    #[serde(default)]
    pub oversubscribed: bool,
    #[serde(default)]
    pub shared_memory: bool,
    #[serde(default)]
    pub ram: bool,
    #[serde(default)]
    pub native: bool,
    /// Another build's run (`make bench BASELINE=…`, an earlier commit): never today's numbers.
    #[serde(default)]
    pub baseline: Option<String>,
    #[serde(default)]
    pub planes_per_round: Option<usize>,
}

/// A goal's value from one round's times (bench's `metric::Metric`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub enum Metric {
    Ratio {
        slow: Case,
        fast: Case,
    },
    Efficiency {
        one: Case,
        two: Case,
    },
    Share {
        whole: Case,
        part: Case,
    },
    OverSum {
        case: Case,
        first: Case,
        second: Case,
    },
}

/// The capacity probe at `workers` threads, as bench names it.
fn capacity(workers: usize) -> Case {
    Case {
        program: "capacity".to_owned(),
        n_files: 0,
        size: 0,
        workers: Some(workers),
        ranks: None,
        oversubscribed: false,
        shared_memory: false,
        ram: false,
        native: false,
        baseline: None,
        planes_per_round: None,
    }
}

impl Metric {
    /// Its cases, in the order [`Metric::value`] takes their times.
    fn cases(&self) -> Vec<Case> {
        match self {
            Metric::Ratio { slow, fast } => vec![slow.clone(), fast.clone()],
            Metric::Efficiency { one, two } => {
                vec![one.clone(), two.clone(), capacity(1), capacity(2)]
            }
            Metric::Share { whole, part } => vec![whole.clone(), part.clone()],
            Metric::OverSum {
                case,
                first,
                second,
            } => vec![case.clone(), first.clone(), second.clone()],
        }
    }

    /// One round's value, as bench computes it.
    fn value(&self, t: &[f64]) -> f64 {
        match self {
            Metric::Ratio { .. } => t[0] / t[1],
            Metric::Efficiency { .. } => (t[0] / t[1]) / (2.0 * t[2] / t[3]),
            Metric::Share { .. } => (t[0] - t[1]) / t[0],
            Metric::OverSum { .. } => t[0] / (t[1] + t[2]),
        }
    }
}

/// One goal of the report's targets table.
#[derive(Debug, Clone, Deserialize)]
pub struct Goal {
    pub text: String,
    pub metric: Metric,
}

/// The newest full run in `repo`'s `bench/results/` (files are named `<host>-<date>.json`;
/// `-quick` runs only check the machinery).
pub fn latest(repo: &Path) -> Result<PathBuf> {
    let dir = repo.join("bench/results");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.ends_with(".json") && !name.ends_with("-quick.json")
        })
        .collect();
    runs.sort();
    runs.pop().with_context(|| {
        format!(
            "no benchmark results in {}: run `make bench`",
            dir.display()
        )
    })
}

impl Results {
    pub fn read(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let results: Results = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a benchmark's results", path.display()))?;
        if results.quick {
            bail!(
                "{} is a quick run: its sizes are not the workshop's",
                path.display()
            );
        }
        Ok(results)
    }

    fn samples(&self, case: &Case) -> Option<&[(usize, f64)]> {
        self.measured
            .iter()
            .find(|m| &m.case == case)
            .map(|m| m.samples.as_slice())
    }

    /// The per-round value of `metric`, as the report's targets table computes it.
    pub fn value(&self, metric: &Metric) -> Option<Ratio> {
        let cases = metric.cases();
        let series: Option<Vec<&[(usize, f64)]>> = cases.iter().map(|c| self.samples(c)).collect();
        Ratio::per_round(&series?, |t| metric.value(t))
    }

    /// The goal whose text contains `row` (exactly one must), and its value as a slide shows
    /// it: `44×`, `1.2×`, `87%`.
    pub fn goal(&self, row: &str) -> Result<String> {
        let goals: Vec<&Goal> = self.goals.iter().filter(|g| g.text.contains(row)).collect();
        let [goal] = goals.as_slice() else {
            bail!(
                "{} of the benchmark's goals contain '{row}', not one",
                goals.len()
            );
        };
        let value = self
            .value(&goal.metric)
            .with_context(|| format!("the benchmark did not measure '{}'", goal.text))?;
        Ok(match goal.metric {
            Metric::Share { .. } => format!("{:.0}%", 100.0 * value.median),
            _ => times(value.median),
        })
    }

    /// `step`'s case at the many-small-files size, as the workshop runs it: two workers or two
    /// ranks, on the disk — or on tmpfs, where the benchmark timed it only there (`ram`).
    pub fn case_of(&self, step: &Step, ram: bool) -> Case {
        let (n_files, size) = self.small;
        Case {
            program: step.name.to_owned(),
            n_files,
            size,
            workers: (step.launch == Launch::Threads).then_some(2),
            ranks: (step.launch == Launch::Mpi).then_some(2),
            oversubscribed: false,
            shared_memory: false,
            ram,
            native: false,
            baseline: None,
            planes_per_round: None,
        }
    }

    fn median(&self, case: &Case) -> Option<f64> {
        self.measured
            .iter()
            .find(|m| &m.case == case)
            .map(|m| m.wall.median)
    }

    /// `step` against its predecessor, both at the many-small-files size on the same
    /// filesystem (the disk where both were timed there).
    pub fn before_after(&self, step: &Step) -> Option<BeforeAfter> {
        let pred = step.predecessor_step()?;
        [false, true].into_iter().find_map(|ram| {
            let (before, after) = (self.case_of(pred, ram), self.case_of(step, ram));
            let gain = self.value(&Metric::Ratio {
                slow: before.clone(),
                fast: after.clone(),
            })?;
            Some(BeforeAfter {
                before: self.median(&before)?,
                after: self.median(&after)?,
                gain: gain.median,
                ram,
            })
        })
    }

    /// How many times faster `step` is than its Python version, where the benchmark timed both
    /// at one size on one filesystem (the disk first), and that size.
    pub fn against_python(&self, step: &Step) -> Option<(f64, (usize, usize))> {
        let python = format!("py-{}", step.name);
        self.measured
            .iter()
            .filter(|m| m.case.program == python)
            .filter_map(|m| {
                let fast = Case {
                    program: step.name.to_owned(),
                    ..m.case.clone()
                };
                let ratio = self.value(&Metric::Ratio {
                    slow: m.case.clone(),
                    fast,
                })?;
                Some((m.case.ram, ratio.median, (m.case.n_files, m.case.size)))
            })
            .min_by_key(|(ram, _, _)| *ram)
            .map(|(_, ratio, at)| (ratio, at))
    }

    /// `step`'s time over the file-writing floor's (the same .npy bytes, plain writes), both on
    /// the disk at the many-small-files size.
    pub fn over_floor(&self, step: &Step) -> Option<f64> {
        let mut floor = self.case_of(step, false);
        floor.program = "floor-npy".to_owned();
        (floor.workers, floor.ranks) = (None, None);
        self.value(&Metric::Ratio {
            slow: self.case_of(step, false),
            fast: floor,
        })
        .map(|r| r.median)
    }

    /// The step whose change gained the most against its predecessor.
    pub fn largest_gain(&self) -> Option<(&'static Step, BeforeAfter)> {
        STEPS
            .iter()
            .filter_map(|s| self.before_after(s).map(|b| (s, b)))
            .max_by(|a, b| a.1.gain.total_cmp(&b.1.gain))
    }
}

/// A step's time and its predecessor's, in seconds, and the per-round ratio between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeforeAfter {
    pub before: f64,
    pub after: f64,
    /// How many times faster the step is (below 1: slower).
    pub gain: f64,
    /// Timed on tmpfs (the benchmark timed the pair only there).
    pub ram: bool,
}

/// A ratio as slides show it: `44×` from 10 up, `1.2×` below, `0.31×` below 1.
pub fn times(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}×")
    } else if v >= 1.0 {
        format!("{v:.1}×")
    } else {
        format!("{v:.2}×")
    }
}

/// Seconds as a table shows them: three significant digits.
pub fn seconds(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.3} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(program: &str, n: usize, ram: bool) -> String {
        format!(
            r#"{{"program":"{program}","n_files":{n},"size":100,"workers":null,"ranks":null,"oversubscribed":false,"shared_memory":false,"ram":{ram},"native":false}}"#
        )
    }

    fn measured(program: &str, n: usize, ram: bool, times: &[f64]) -> String {
        let samples: Vec<String> = times
            .iter()
            .enumerate()
            .map(|(i, t)| format!("[{},{t}]", i + 1))
            .collect();
        format!(
            r#"{{"case":{},"wall":{{"median":{}}},"samples":[{}]}}"#,
            case(program, n, ram),
            times[times.len() / 2],
            samples.join(",")
        )
    }

    fn results() -> Results {
        let json = format!(
            r#"{{"machine":{{"date":"2026-12-04","cores":2}},"quick":false,"small":[1000,100],"large":[100,1000],
            "measured":[{},{},{},{},{}],
            "goals":[{{"text":"`write_vectorized` at least 10× faster than Python's","metric":{{"Ratio":{{"slow":{},"fast":{}}}}},"bound":{{"AtLeast":10.0}}}},
                     {{"text":"`write_vectorized_binary`: share computing","metric":{{"Share":{{"whole":{},"part":{}}}}},"bound":"Info"}}]}}"#,
            measured("py-write_vectorized", 1000, false, &[4.0, 4.4, 4.2]),
            measured("write_vectorized", 1000, false, &[0.2, 0.2, 0.2]),
            measured("write_vectorized_binary", 1000, false, &[0.1, 0.1, 0.1]),
            measured("floor-npy", 1000, false, &[0.08, 0.08, 0.08]),
            measured("write", 1000, false, &[0.3, 0.3, 0.3]),
            case("py-write_vectorized", 1000, false),
            case("write_vectorized", 1000, false),
            case("write_vectorized_binary", 1000, false),
            case("floor-npy", 1000, false),
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn goals_are_the_median_of_their_rounds() {
        let r = results();
        assert_eq!(r.goal("at least 10×").unwrap(), "21×");
        assert_eq!(r.goal("share computing").unwrap(), "20%");
        assert!(r.goal("`write").is_err(), "two goals match");
        assert!(r.goal("nothing").is_err());
    }

    #[test]
    fn a_step_is_compared_with_its_predecessor_and_its_python_version() {
        let r = results();
        let binary = steps::find("write_vectorized_binary").unwrap();
        let b = r.before_after(binary).unwrap();
        assert_eq!((b.before, b.after, b.gain, b.ram), (0.2, 0.1, 2.0, false));
        let vectorized = steps::find("write_vectorized").unwrap();
        assert_eq!(r.against_python(vectorized), Some((21.0, (1000, 100))));
        assert!((r.over_floor(binary).unwrap() - 1.25).abs() < 1e-9);
        let (best, _) = r.largest_gain().unwrap();
        assert_eq!(best.name, "write_vectorized_binary");
        assert_eq!(times(44.04), "44×");
        assert_eq!(times(1.14), "1.1×");
        assert_eq!(times(0.314), "0.31×");
    }
}
