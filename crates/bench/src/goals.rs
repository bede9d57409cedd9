//! The performance targets, each a ratio of cases measured in the same rounds, and the cases
//! whose ratios decide whether `make bench` runs more rounds.
//!
//! On a shared machine a single ratio of medians can be the machine's mood. Every goal here is
//! computed round by round (its cases ran minutes apart at most) and reported as the median and
//! interquartile range of those per-round values; a goal whose range is wider than ±10% of its
//! median is "not measurable here", never met.

use crate::matrix::Plan;
use crate::program::{Floor, Program};
use crate::results::Results;
use crate::runner::{Case, Watched};
use crate::stats::Ratio;

/// How a goal's value is judged.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
    /// Reported, not judged.
    Info,
}

/// One target: its cases, how one round's wall times combine into its value, and its bound.
pub struct Goal {
    pub text: String,
    pub cases: Vec<Case>,
    pub value: fn(&[f64]) -> f64,
    pub bound: Bound,
    /// The value is a share (shown as a percentage), not a ratio.
    pub share: bool,
}

impl Goal {
    /// A goal that is the ratio of its first case's time to its second's.
    fn ratio(text: String, cases: Vec<Case>, bound: Bound) -> Goal {
        Goal {
            text,
            cases,
            value: ratio,
            bound,
            share: false,
        }
    }
}

fn ratio(t: &[f64]) -> f64 {
    t[0] / t[1]
}
/// Speedup of cases 0 → 1 (one worker or rank → two) over what the machine gave two threads of
/// pure CPU work in the same round (cases 2 and 3: the capacity probe at 1 and 2 threads).
fn efficiency(t: &[f64]) -> f64 {
    let speedup = t[0] / t[1];
    let capacity = 2.0 * t[2] / t[3];
    speedup / capacity
}
fn over_sum(t: &[f64]) -> f64 {
    t[0] / (t[1] + t[2])
}
fn code_share(t: &[f64]) -> f64 {
    (t[0] - t[1]) / t[0]
}

/// Every goal of a plan, in the report's order. Their cases are all in [`Plan::cases`] (a test
/// checks it).
pub fn goals(plan: &Plan) -> Vec<Goal> {
    let mut out = Vec::new();
    python_goals(plan, &mut out);
    floor_goals(plan, &mut out);
    scaling_goals(plan, &mut out);
    collective_goals(plan, &mut out);
    native_goals(plan, &mut out);
    launch_goals(plan, &mut out);
    for goal in &mut out {
        for case in &mut goal.cases {
            *case = case.clone().on_cores(plan.cores);
        }
    }
    out
}

fn case(step: &str, (n, size): (usize, usize)) -> Case {
    Case::step(step, n, size)
}

fn of(program: Program, (n, size): (usize, usize)) -> Case {
    Case::new(program, n, size)
}

fn cap(workers: usize) -> Case {
    Case::new(Program::Capacity, 0, 0).workers(workers)
}

/// Rust against Python's version of the same step, on the disk and on tmpfs.
fn python_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let s = plan.small;
    let py_n = (plan.python_loop_files, s.1);
    for ram in [false, true] {
        let fs = if ram { "tmpfs" } else { "disk" };
        let on = |c: Case| if ram { c.on_ram() } else { c };
        for (step, at, min) in [
            ("write", py_n, 10.0),
            ("write_vectorized", s, 10.0),
            ("write_hdf5", s, 5.0),
        ] {
            out.push(Goal::ratio(
                format!(
                    "`{step}` at least {min}× faster than Python's {step} (n={}, size {}; {fs})",
                    at.0, at.1
                ),
                vec![on(of(Program::python(step), at)), on(case(step, at))],
                Bound::AtLeast(min),
            ));
        }
    }
}

/// The serial steps against the floors: what writing the same bytes costs at least.
fn floor_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let s = plan.small;
    out.push(Goal::ratio(
        format!(
            "`write_vectorized` within 2.0× of the text floor (n={}, size {}; tmpfs)",
            s.0, s.1
        ),
        vec![
            case("write_vectorized", s).on_ram(),
            of(Program::Floor(Floor::Txt), s).on_ram(),
        ],
        Bound::AtMost(2.0),
    ));
    out.push(Goal::ratio(
        format!(
            "`write_vectorized_binary` within 1.2× of the file-writing floor (n={}, size {}; disk)",
            s.0, s.1
        ),
        vec![
            case("write_vectorized_binary", s),
            of(Program::Floor(Floor::Npy), s),
        ],
        Bound::AtMost(1.2),
    ));
    out.push(Goal {
        text: format!(
            "`write_vectorized_binary`: share of its time that is computing, not writing (n={}, size {}; tmpfs; 1 − floor ÷ step)",
            s.0, s.1
        ),
        cases: vec![case("write_vectorized_binary", s).on_ram(), of(Program::Floor(Floor::Npy), s).on_ram()],
        value: code_share,
        bound: Bound::Info,
        share: true,
    });
}

/// The thread and rank steps' speedup from 1 to 2, against what the machine gave.
fn scaling_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let l = plan.large;
    for (step, unit) in [
        ("write_multiprocessing_queue", "w"),
        ("write_rayon", "w"),
        ("write_mpi_scatter", "np"),
    ] {
        let (one, two) = if unit == "w" {
            (case(step, l).workers(1), case(step, l).workers(2))
        } else {
            (case(step, l).ranks(1), case(step, l).ranks(2))
        };
        out.push(Goal {
            text: format!(
                "`{step}` -{unit} 2 efficiency ≥ 0.8: speedup over -{unit} 1 ÷ the machine's capacity for 2 threads (n={}, size {}; tmpfs)",
                l.0, l.1
            ),
            cases: vec![one.on_ram(), two.on_ram(), cap(1), cap(2)],
            value: efficiency,
            bound: Bound::AtLeast(0.8),
            share: false,
        });
    }
}

/// One (n, s, s) dataset written collectively against one dataset per file, and against the
/// floors of one file.
fn collective_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let s = plan.small;
    let n_big = (*plan.collective_n.last().unwrap_or(&s.0), s.1);
    for (ram, bound) in [(true, Bound::AtLeast(3.0)), (false, Bound::Info)] {
        let on = |c: Case| if ram { c.on_ram() } else { c };
        out.push(Goal::ratio(
            format!(
                "`write_final_collective` -np 2 at least 3× faster than `write_final` -np 2 (n={}, size {}; {})",
                n_big.0,
                n_big.1,
                if ram { "tmpfs" } else { "disk, for reference" }
            ),
            vec![on(case("write_final", n_big).ranks(2)), on(case("write_final_collective", n_big).ranks(2))],
            bound,
        ));
    }
    out.push(Goal {
        text: format!(
            "`write_final_collective` -np 2 within 1.5× of one plain file of the same bytes + the launch floor (n={}, size {}; tmpfs)",
            n_big.0, n_big.1
        ),
        cases: vec![
            case("write_final_collective", n_big).ranks(2).on_ram(),
            of(Program::Floor(Floor::One), n_big).on_ram(),
            Case::new(Program::Launch, 0, 0).ranks(2),
        ],
        value: over_sum,
        bound: Bound::AtMost(1.5),
        share: false,
    });
}

/// `make bench NATIVE=1`: the field and formatter steps built for this CPU.
fn native_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let (s, l) = (plan.small, plan.large);
    if plan.native {
        for (step, at) in [
            ("write_vectorized", s),
            ("write_vectorized_binary", s),
            ("write_vectorized_binary", l),
        ] {
            out.push(Goal::ratio(
                format!(
                    "`{step}` built for this CPU (`-C target-cpu=native`) ÷ the portable build (n={}, size {}; tmpfs)",
                    at.0, at.1
                ),
                vec![case(step, at).on_ram().native(), case(step, at).on_ram()],
                Bound::Info,
            ));
        }
    }
}

/// An MPI step against what starting MPI and writing the files cost at least.
fn launch_goals(plan: &Plan, out: &mut Vec<Goal>) {
    let s = plan.small;
    out.push(Goal {
        text: format!(
            "`write_mpi_scatter` -np 2 within 1.5× of launch floor + file-writing floor (n={}, size {}; disk)",
            s.0, s.1
        ),
        cases: vec![
            case("write_mpi_scatter", s).ranks(2),
            Case::new(Program::Launch, 0, 0).ranks(2),
            of(Program::Floor(Floor::Npy), s),
        ],
        value: |t| t[0] / (t[1] + t[2]),
        bound: Bound::AtMost(1.5),
        share: false,
    });
}

/// What a goal measured: its per-round value, and the verdict.
pub struct Outcome {
    pub ratio: Option<Ratio>,
    pub verdict: &'static str,
}

impl Goal {
    pub fn outcome(&self, r: &Results) -> Outcome {
        let series: Option<Vec<&[(usize, f64)]>> = self
            .cases
            .iter()
            .map(|c| r.find_case(c).map(|m| m.samples.as_slice()))
            .collect();
        let ratio = series.and_then(|series| Ratio::per_round(&series, self.value));
        let verdict = match (&ratio, self.bound) {
            (None, _) => "not measured",
            (Some(_), Bound::Info) => "—",
            (Some(q), _) if !q.narrow() => "not measurable here",
            (Some(q), Bound::AtLeast(min)) if q.median >= min => "met",
            (Some(q), Bound::AtMost(max)) if q.median <= max => "met",
            _ => "**missed**",
        };
        Outcome { ratio, verdict }
    }

    /// The goal as the runner watches it: its cases as indices into `cases`.
    pub fn watched(&self, cases: &[Case]) -> Option<Watched> {
        let indices: Option<Vec<usize>> = self
            .cases
            .iter()
            .map(|c| cases.iter().position(|x| x == c))
            .collect();
        Some(Watched {
            cases: indices?,
            value: self.value,
        })
    }
}
