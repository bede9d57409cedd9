//! The performance targets: each a [`Metric`] of cases measured in the same rounds, and a bound.
//!
//! On a shared machine a single ratio of medians can be the machine's mood. Every goal here is
//! computed round by round (its cases ran minutes apart at most) and reported as the median and
//! interquartile range of those per-round values; a goal whose range is wider than ±10% of its
//! median is "not measurable here", never met. The goals come from the step table's targets
//! (`steps::Target`): no step is named here.

use std::fmt;

use serde::{Deserialize, Serialize};
use steps::{Format, Fs, Launch, Step, Target, STEPS};

use crate::model::{Build, Case, Floor, Program};
use crate::plan::Plan;
use crate::stats::Ratio;

/// A value computed from one round's wall times of the cases it owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// How many times faster `fast` is than `slow`: `t(slow) / t(fast)`.
    Ratio { slow: Case, fast: Case },
    /// The speedup from `one` to `two` (one worker or rank to two) over the speedup the
    /// machine gave two threads of pure CPU work in the same round (the capacity probe).
    Efficiency { one: Case, two: Case },
    /// The share of `whole`'s time that is not `part`'s: `1 − t(part) / t(whole)`.
    Share { whole: Case, part: Case },
    /// `t(case) / (t(first) + t(second))`.
    OverSum {
        case: Case,
        first: Case,
        second: Case,
    },
}

/// The capacity probe at `workers` threads.
pub fn capacity(workers: usize) -> Case {
    Case::new(Program::Capacity, 0, 0).workers(workers)
}

impl Metric {
    /// Its cases, in the order [`Metric::value`] takes their times.
    pub fn cases(&self) -> Vec<Case> {
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

    /// The value of one round, from its cases' times in the order of [`Metric::cases`].
    pub fn value(&self, t: &[f64]) -> f64 {
        match self {
            Metric::Ratio { .. } => t[0] / t[1],
            Metric::Efficiency { .. } => (t[0] / t[1]) / (2.0 * t[2] / t[3]),
            Metric::Share { .. } => (t[0] - t[1]) / t[0],
            Metric::OverSum { .. } => t[0] / (t[1] + t[2]),
        }
    }

    /// Shown as a percentage rather than a ratio.
    pub fn is_share(&self) -> bool {
        matches!(self, Metric::Share { .. })
    }

    /// The same metric with every case marked oversubscribed or not for `cores`.
    fn on_cores(self, cores: usize) -> Metric {
        let c = |case: Case| case.on_cores(cores);
        match self {
            Metric::Ratio { slow, fast } => Metric::Ratio {
                slow: c(slow),
                fast: c(fast),
            },
            Metric::Efficiency { one, two } => Metric::Efficiency {
                one: c(one),
                two: c(two),
            },
            Metric::Share { whole, part } => Metric::Share {
                whole: c(whole),
                part: c(part),
            },
            Metric::OverSum {
                case,
                first,
                second,
            } => Metric::OverSum {
                case: c(case),
                first: c(first),
                second: c(second),
            },
        }
    }
}

/// How a goal's value is judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
    /// Reported, not judged.
    Info,
}

/// One target: what it says, how it is measured, and its bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goal {
    pub text: String,
    pub metric: Metric,
    pub bound: Bound,
}

/// What became of a goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its cases were not all run.
    NotMeasured,
    /// Reported, not judged.
    Reported,
    /// Its rounds disagree too much to judge.
    NotMeasurable,
    Met,
    Missed,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::NotMeasured => "not measured",
            Verdict::Reported => "—",
            Verdict::NotMeasurable => "not measurable here",
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
        })
    }
}

impl Goal {
    /// Rounds it needs before it is judged: [`BASELINE_ROUNDS`] for a step against another
    /// build of itself, whose difference is a few percent at most; else no more than a narrow
    /// ratio has (three).
    pub fn rounds_needed(&self) -> usize {
        let other_build = self
            .metric
            .cases()
            .iter()
            .any(|c| matches!(c.build, Build::Baseline(_)));
        if other_build {
            BASELINE_ROUNDS
        } else {
            0
        }
    }

    /// Narrow, and over as many rounds as it needs.
    pub fn settled(&self, q: &Ratio) -> bool {
        q.narrow() && q.rounds >= self.rounds_needed()
    }

    /// The verdict on a measured ratio (`None`: not measured).
    pub fn judge(&self, ratio: Option<&Ratio>) -> Verdict {
        match (ratio, self.bound) {
            (None, _) => Verdict::NotMeasured,
            (Some(_), Bound::Info) => Verdict::Reported,
            (Some(q), _) if !self.settled(q) => Verdict::NotMeasurable,
            (Some(q), Bound::AtLeast(min)) if q.median >= min => Verdict::Met,
            (Some(q), Bound::AtMost(max)) if q.median <= max => Verdict::Met,
            _ => Verdict::Missed,
        }
    }
}

/// Every goal of a plan, in the report's order: against Python, against the floors, scaling,
/// the collective layout, the native build, the MPI launch. Their cases are all in the plan's
/// cases (a test checks it).
pub fn goals(plan: &Plan) -> Vec<Goal> {
    let mut out = Vec::new();
    python_goals(plan, &mut out);
    floor_goals(plan, &mut out);
    scaling_goals(plan, &mut out);
    collective_goals(plan, &mut out);
    native_goals(plan, &mut out);
    baseline_goals(plan, &mut out);
    launch_goals(plan, &mut out);
    kernel_goals(plan, &mut out);
    for goal in &mut out {
        goal.metric = goal.metric.clone().on_cores(plan.cores);
    }
    out
}

/// Each step's targets of one kind, in table order: `(step, target)`.
fn targeted(kind: impl Fn(&Target) -> bool) -> Vec<(&'static Step, Target)> {
    STEPS
        .iter()
        .flat_map(|step| step.targets.iter().map(move |t| (step, *t)))
        .filter(|(_, t)| kind(t))
        .collect()
}

fn fs_name(fs: Fs) -> &'static str {
    match fs {
        Fs::Disk => "disk",
        Fs::Tmpfs => "tmpfs",
    }
}

/// Rust against Python's version of the same step, on the disk and on tmpfs. The baseline's
/// Python (its loops) is timed on fewer files.
fn python_goals(plan: &Plan, out: &mut Vec<Goal>) {
    for fs in [Fs::Disk, Fs::Tmpfs] {
        for (step, target) in targeted(|t| matches!(t, Target::FasterThanPython { .. })) {
            let Target::FasterThanPython { times } = target else {
                continue;
            };
            let at = plan.python_size(step);
            out.push(Goal {
                text: format!(
                    "`{}` at least {times}× faster than Python's {} (n={}, size {}; {})",
                    step.name,
                    step.name,
                    at.0,
                    at.1,
                    fs_name(fs)
                ),
                metric: Metric::Ratio {
                    slow: Case::new(Program::Python(step.name), at.0, at.1).on(fs),
                    fast: Case::of(step, at.0, at.1).on(fs),
                },
                bound: Bound::AtLeast(times),
            });
        }
    }
}

/// The serial steps against the floors: what writing the same bytes costs at least.
fn floor_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let (n, s) = plan.small;
    for (step, target) in targeted(|t| matches!(t, Target::NearFloor { .. } | Target::ComputeShare))
    {
        let floor = Floor::of(step.format);
        let floor_case = |fs| Case::new(Program::Floor(floor), n, s).on(fs);
        out.push(match target {
            Target::NearFloor { times, on } => Goal {
                text: format!(
                    "`{}` within {times:.1}× of {} (n={n}, size {s}; {})",
                    step.name,
                    floor.described(),
                    fs_name(on)
                ),
                metric: Metric::Ratio {
                    slow: Case::of(step, n, s).on(on),
                    fast: floor_case(on),
                },
                bound: Bound::AtMost(times),
            },
            _ => Goal {
                text: format!(
                    "`{}`: share of its time that is computing, not writing (n={n}, size {s}; tmpfs; 1 − floor ÷ step)",
                    step.name
                ),
                metric: Metric::Share {
                    whole: Case::of(step, n, s).on_ram(),
                    part: floor_case(Fs::Tmpfs),
                },
                bound: Bound::Info,
            },
        });
    }
}

/// The thread and rank steps' speedup from 1 to 2, against what the machine gave: the thread
/// steps first.
fn scaling_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let (n, s) = plan.large;
    let mut scaling = targeted(|t| matches!(t, Target::Scales { .. }));
    scaling.sort_by_key(|(step, _)| step.launch != Launch::Threads);
    for (step, target) in scaling {
        let Target::Scales { efficiency } = target else {
            continue;
        };
        let (unit, one, two) = if step.launch == Launch::Threads {
            (
                "w",
                Case::of(step, n, s).workers(1),
                Case::of(step, n, s).workers(2),
            )
        } else {
            (
                "np",
                Case::of(step, n, s).ranks(1),
                Case::of(step, n, s).ranks(2),
            )
        };
        out.push(Goal {
            text: format!(
                "`{}` -{unit} 2 efficiency ≥ {efficiency}: speedup over -{unit} 1 ÷ the machine's capacity for 2 threads (n={n}, size {s}; tmpfs)",
                step.name
            ),
            metric: Metric::Efficiency {
                one: one.on_ram(),
                two: two.on_ram(),
            },
            bound: Bound::AtLeast(efficiency),
        });
    }
}

/// One (n, s, s) dataset written collectively against one dataset per file, and against the
/// floors of one file.
fn collective_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let at = plan.collective_size();
    let (n, s) = at;
    let launch = Case::new(Program::Launch, 0, 0).ranks(2);
    for (step, target) in
        targeted(|t| matches!(t, Target::AgainstPredecessor | Target::NearOneFile { .. }))
    {
        match target {
            Target::AgainstPredecessor => {
                let Some(pred) = step.predecessor_step() else {
                    continue;
                };
                for fs in [Fs::Tmpfs, Fs::Disk] {
                    out.push(Goal {
                        text: format!(
                            "`{}` -np 2: how many times faster than `{}` -np 2 (n={n}, size {s}; {})",
                            step.name,
                            pred.name,
                            if fs == Fs::Tmpfs { "tmpfs" } else { "disk" }
                        ),
                        metric: Metric::Ratio {
                            slow: Case::of(pred, n, s).ranks(2).on(fs),
                            fast: Case::of(step, n, s).ranks(2).on(fs),
                        },
                        bound: Bound::Info,
                    });
                }
            }
            Target::NearOneFile { times } => out.push(Goal {
                text: format!(
                    "`{}` -np 2 within {times}× of one plain file of the same bytes + the launch floor (n={n}, size {s}; tmpfs)",
                    step.name
                ),
                metric: Metric::OverSum {
                    case: Case::of(step, n, s).ranks(2).on_ram(),
                    first: Case::new(Program::Floor(Floor::One), n, s).on_ram(),
                    second: launch.clone(),
                },
                bound: Bound::AtMost(times),
            }),
            _ => {}
        }
    }
}

/// `make bench NATIVE=1`: the steps built for this CPU.
fn native_goals(plan: &Plan, out: &mut Vec<Goal>) {
    if !plan.native {
        return;
    }
    for (step, target) in targeted(|t| matches!(t, Target::Native { .. })) {
        let Target::Native { large } = target else {
            continue;
        };
        let sizes = if large {
            vec![plan.small, plan.large]
        } else {
            vec![plan.small]
        };
        for (n, s) in sizes {
            out.push(Goal {
                text: format!(
                    "`{}` built for this CPU (`-C target-cpu=native`) ÷ the portable build (n={n}, size {s}; tmpfs)",
                    step.name
                ),
                metric: Metric::Ratio {
                    slow: Case::of(step, n, s).on_ram().native(),
                    fast: Case::of(step, n, s).on_ram(),
                },
                bound: Bound::Info,
            });
        }
    }
}

/// How much slower than another build a step may time and still count as "not slower": a
/// little room for the noise of a ratio of medians, no more.
pub const NOT_SLOWER: f64 = 1.03;

/// The rounds a step's goal against another build of itself is judged over at least: five
/// rounds can agree by chance within the ±10% that makes a ratio narrow, and such a goal looks
/// for a few percent.
pub const BASELINE_ROUNDS: usize = 15;

/// A step's case as it is timed against another build of itself: on tmpfs (the code, not the
/// disk), with 2 workers or ranks where it takes them.
pub fn against_baseline(step: &Step, (n, s): (usize, usize)) -> Case {
    let case = Case::of(step, n, s).on_ram();
    match step.launch {
        Launch::Threads => case.workers(2),
        Launch::Mpi => case.ranks(2),
        Launch::Serial | Launch::Python => case,
    }
}

/// `make bench BASELINE=DIR`: every step that build has, today's ÷ that build's, in the same
/// rounds. A goal of the benchmark only: no test times it.
fn baseline_goals(plan: &Plan, out: &mut Vec<Goal>) {
    for baseline in &plan.baselines {
        let label = &baseline.label;
        for step in baseline.steps.iter().filter_map(|name| steps::find(name)) {
            for (n, s) in plan.baseline_sizes(step) {
                let today = against_baseline(step, (n, s));
                let parallel = match (today.workers, today.ranks) {
                    (Some(w), _) => format!(", -w {w}"),
                    (_, Some(r)) => format!(", -np {r}"),
                    _ => String::new(),
                };
                out.push(Goal {
                    text: format!(
                        "`{}` not slower than {label}: today ÷ {label} ≤ {NOT_SLOWER} (n={n}, size {s}{parallel}; tmpfs)",
                        step.name
                    ),
                    metric: Metric::Ratio {
                        slow: today.clone(),
                        fast: today.built(Build::Baseline(label.clone())),
                    },
                    bound: Bound::AtMost(NOT_SLOWER),
                });
            }
        }
    }
}

/// The goals that time today's build against the build labelled `label`: (goal, today's case,
/// that build's case).
pub fn against<'a>(goals: &'a [Goal], label: &str) -> Vec<(&'a Goal, &'a Case, &'a Case)> {
    goals
        .iter()
        .filter_map(|g| match &g.metric {
            Metric::Ratio { slow, fast } if fast.build == Build::Baseline(label.to_owned()) => {
                Some((g, slow, fast))
            }
            _ => None,
        })
        .collect()
}

/// An MPI step against what starting MPI and writing the files cost at least.
fn launch_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let (n, s) = plan.small;
    for (step, target) in targeted(|t| matches!(t, Target::NearLaunchAndFloor { .. })) {
        let Target::NearLaunchAndFloor { times } = target else {
            continue;
        };
        out.push(Goal {
            text: format!(
                "`{}` -np 2 within {times}× of launch floor + file-writing floor (n={n}, size {s}; disk)",
                step.name
            ),
            metric: Metric::OverSum {
                case: Case::of(step, n, s).ranks(2),
                first: Case::new(Program::Launch, 0, 0).ranks(2),
                second: Case::new(Program::Floor(Floor::of(step.format)), n, s),
            },
            bound: Bound::AtMost(times),
        });
    }
}

/// A Python step's script with its Rust kernel against the same script with numpy's (tmpfs),
/// and the Rust step it came from against it.
fn kernel_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let (n, s) = plan.small;
    for (step, target) in targeted(|t| matches!(t, Target::KernelInPython { .. })) {
        let Target::KernelInPython { times } = target else {
            continue;
        };
        let script = Case::of(step, n, s).on_ram();
        out.push(Goal {
            text: format!(
                "`{}` at least {times}× faster than the same script with numpy's kernel (n={n}, size {s}; tmpfs)",
                step.name
            ),
            metric: Metric::Ratio {
                slow: Case::new(Program::Python(step.name), n, s).on_ram(),
                fast: script.clone(),
            },
            bound: Bound::AtLeast(times),
        });
        if let Some(rust) = step.predecessor_step() {
            out.push(Goal {
                text: format!(
                    "`{}` (all Rust): how many times faster than `{}` (n={n}, size {s}; tmpfs)",
                    rust.name, step.name
                ),
                metric: Metric::Ratio {
                    slow: script,
                    fast: Case::of(rust, n, s).on_ram(),
                },
                bound: Bound::Info,
            });
        }
    }
}

impl Floor {
    /// The floor of the files a step of `format` writes: its own for text, the .npy one for
    /// binary files (an HDF5 step's data is the same bytes).
    pub fn of(format: Format) -> Floor {
        match format {
            Format::Txt => Floor::Txt,
            Format::Npy | Format::H5 => Floor::Npy,
        }
    }

    /// "the text floor", as a goal names it.
    fn described(self) -> &'static str {
        match self {
            Floor::Txt => "the text floor",
            Floor::Npy => "the file-writing floor",
            Floor::One => "one plain file",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_compute_their_values() {
        let c = Case::new(Program::Launch, 0, 0);
        let ratio = Metric::Ratio {
            slow: c.clone(),
            fast: c.clone(),
        };
        assert_eq!(ratio.value(&[4.0, 2.0]), 2.0);
        let share = Metric::Share {
            whole: c.clone(),
            part: c.clone(),
        };
        assert_eq!(share.value(&[4.0, 1.0]), 0.75);
        assert!(share.is_share());
        let eff = Metric::Efficiency {
            one: c.clone(),
            two: c.clone(),
        };
        assert_eq!(eff.cases().len(), 4);
        // Speedup 2 where the machine gave 2: efficiency 1.
        assert_eq!(eff.value(&[2.0, 1.0, 1.0, 1.0]), 1.0);
        assert_eq!(Verdict::Missed.to_string(), "**missed**");
    }

    #[test]
    fn a_step_against_another_build_is_judged_over_enough_rounds() {
        let mut plan = Plan::full(2);
        plan.baselines.push(crate::plan::Baseline {
            label: "before".into(),
            steps: vec![STEPS[1].name],
        });
        let goals = goals(&plan);
        let [goal] = goals
            .as_slice()
            .iter()
            .filter(|g| g.rounds_needed() > 0)
            .collect::<Vec<_>>()[..]
        else {
            panic!("not one goal against the other build");
        };
        assert_eq!(goal.bound, Bound::AtMost(NOT_SLOWER));
        let slower = |rounds| Ratio::of(&vec![1.2; rounds]).unwrap();
        assert_eq!(goal.judge(Some(&slower(5))), Verdict::NotMeasurable);
        assert_eq!(goal.judge(Some(&slower(BASELINE_ROUNDS))), Verdict::Missed);
        let even = Ratio::of(&[1.0; BASELINE_ROUNDS]).unwrap();
        assert_eq!(goal.judge(Some(&even)), Verdict::Met);
        // Every other goal asks only for a narrow ratio.
        assert!(goals.iter().filter(|g| g.rounds_needed() == 0).count() == goals.len() - 1);
    }

    #[test]
    fn every_target_of_the_table_becomes_a_goal() {
        let mut plan = Plan::full(2);
        plan.native = true;
        let goals = goals(&plan);
        let targets: usize = STEPS
            .iter()
            .flat_map(|s| s.targets)
            .map(|t| match t {
                Target::FasterThanPython { .. } | Target::AgainstPredecessor => 2,
                Target::KernelInPython { .. } => 2,
                Target::Native { large: true } => 2,
                _ => 1,
            })
            .sum();
        assert_eq!(goals.len(), targets);
        for step in STEPS.iter().filter(|s| !s.targets.is_empty()) {
            assert!(
                goals
                    .iter()
                    .any(|g| g.text.starts_with(&format!("`{}`", step.name))),
                "{}",
                step.name
            );
        }
    }
}
