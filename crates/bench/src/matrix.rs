//! Which cases `make bench` runs: every step at the workshop's sizes, the worker and rank
//! sweeps, and the floors and probes they are compared with — chosen from the step table by
//! what each step is (how it runs, what it writes), never by name.

use steps::{Format, Launch, Step, Target, STEPS};

use crate::metric::{capacity, goals};
use crate::model::{Case, Floor, Program};
use crate::plan::Plan;

fn serial(keep: impl Fn(&Step) -> bool) -> impl Iterator<Item = &'static Step> {
    STEPS
        .iter()
        .filter(move |s| s.launch == Launch::Serial && keep(s))
}

fn launched(launch: Launch) -> impl Iterator<Item = &'static Step> {
    STEPS.iter().filter(move |s| s.launch == launch)
}

/// The steps held to the time of one plain file: the collective writers, whose batch size the
/// benchmark's curve varies.
pub fn batched() -> impl Iterator<Item = &'static Step> {
    STEPS.iter().filter(|s| {
        s.targets
            .iter()
            .any(|t| matches!(t, Target::NearOneFile { .. }))
    })
}

/// The batch-size curve of `step`: 2 ranks at the collective size on tmpfs, with each of the
/// plan's planes a round.
pub fn batch_cases(plan: &Plan, step: &Step) -> Vec<Case> {
    let (n, s) = plan.collective_size();
    plan.batch_curve
        .iter()
        .map(|&p| Case::of(step, n, s).ranks(2).on_ram().planes_per_round(p))
        .collect()
}

/// The last step of the original workshop started with `launch` that writes `format`s of the
/// given kind: the best the original has of that kind.
pub fn last_original(launch: Launch, one_file: bool) -> Option<&'static Step> {
    STEPS
        .iter()
        .rfind(|s| s.launch == launch && s.original && s.format.one_file() == one_file)
}

/// Every case of a plan, each once, in the order a run's table lists them.
pub fn cases(plan: &Plan) -> Vec<Case> {
    let mut cases = Vec::new();
    serial_cases(plan, &mut cases);
    parallel_cases(plan, &mut cases);
    for r in plan.rank_counts() {
        cases.push(Case::new(Program::Launch, 0, 0).ranks(r));
    }
    // The machine's own parallel capacity, in the same rounds as everything else.
    for w in 1..=plan.workers {
        cases.push(capacity(w));
    }
    // Every case a target compares (some on the RAM-backed folder as well).
    for goal in goals(plan) {
        cases.extend(goal.metric.cases());
    }
    for step in batched() {
        cases.extend(batch_cases(plan, step));
    }
    // The same on one machine with mpirun told to use shared memory only.
    let (n, s) = plan.small;
    cases.push(Case::new(Program::Launch, 0, 0).ranks(2).shared_memory());
    for one_file in [false, true] {
        if let Some(step) = last_original(Launch::Mpi, one_file) {
            cases.push(Case::of(step, n, s).ranks(2).shared_memory());
        }
    }
    let cases = cases.into_iter().map(|c| c.on_cores(plan.cores)).collect();
    dedup(cases)
}

/// The serial steps, their floors and their Python originals.
fn serial_cases(plan: &Plan, cases: &mut Vec<Case>) {
    let ((sn, ss), (ln, ls)) = (plan.small, plan.large);
    let binary = |s: &Step| s.format != Format::Txt;
    // The binary steps over n; the text ones only at the small grid (their 25-byte values make
    // the large case a multi-gigabyte write that teaches nothing new).
    for &n in plan.n_sweep {
        cases.extend(serial(binary).map(|step| Case::of(step, n, ss)));
        cases.push(Case::new(Program::Floor(Floor::Npy), n, ss));
    }
    cases.extend(serial(|s| !binary(s)).map(|step| Case::of(step, sn, ss)));
    cases.push(Case::new(Program::Floor(Floor::Txt), sn, ss));
    // Python, timed in the same run: the loop step on fewer files, the text steps beside it.
    for step in serial(|s| s.predecessor.is_none()) {
        let (pn, ps) = plan.python_size(step);
        cases.push(Case::new(Program::Python(step.name), pn, ps));
        cases.extend(serial(|s| !binary(s)).map(|step| Case::of(step, pn, ps)));
    }
    for step in serial(|s| s.predecessor.is_some()) {
        let (pn, ps) = plan.python_size(step);
        cases.push(Case::new(Program::Python(step.name), pn, ps));
    }
    cases.extend(serial(binary).map(|step| Case::of(step, ln, ls)));
    cases.push(Case::new(Program::Floor(Floor::Npy), ln, ls));
}

/// The thread and MPI steps over their worker and rank counts, and the parallel HDF5 steps
/// over n.
fn parallel_cases(plan: &Plan, cases: &mut Vec<Case>) {
    for (n, s) in [plan.small, plan.large] {
        for step in launched(Launch::Threads) {
            cases.extend((1..=plan.workers).map(|w| Case::of(step, n, s).workers(w)));
        }
        for step in launched(Launch::Mpi) {
            cases.extend(
                plan.rank_counts()
                    .into_iter()
                    .map(|r| Case::of(step, n, s).ranks(r)),
            );
        }
    }
    // One dataset against one per file: the gap that opens as n grows is the per-dataset
    // metadata that the collective layout does not have.
    for &n in plan.collective_n {
        for step in launched(Launch::Mpi).filter(|s| s.format.one_file()) {
            for r in [1, 2, 4] {
                cases.push(Case::of(step, n, plan.small.1).ranks(r));
            }
        }
    }
}

fn dedup(cases: Vec<Case>) -> Vec<Case> {
    let mut unique: Vec<Case> = Vec::new();
    for c in cases {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Build;
    use crate::plan::Baseline;

    #[test]
    fn the_full_plan_covers_every_step_and_both_floors() {
        let cases = cases(&Plan::full(2));
        for step in STEPS {
            assert!(
                cases.iter().any(|c| c.program == Program::Step(step.name)),
                "{} missing",
                step.name
            );
        }
        for floor in [
            Program::Floor(Floor::Npy),
            Program::Floor(Floor::Txt),
            Program::Floor(Floor::One),
            Program::Launch,
            Program::Capacity,
        ] {
            assert!(cases.iter().any(|c| c.program == floor), "{floor} missing");
        }
        let queue = launched(Launch::Threads).nth(1).unwrap();
        let workers: Vec<_> = cases
            .iter()
            .filter(|c| c.program == Program::Step(queue.name) && c.size == 100)
            .map(|c| c.workers.unwrap())
            .collect();
        assert_eq!(workers, [1, 2, 3, 4]);
        assert!(cases.iter().any(|c| c.oversubscribed && c.ranks == Some(4)));
        assert!(
            cases.iter().any(|c| c.ram),
            "nothing on the RAM-backed folder"
        );
        assert!(
            cases.iter().all(|c| c.build == Build::Today),
            "other builds unasked"
        );
        let mut plan = Plan::full(2);
        plan.native = true;
        let native: Vec<_> = super::cases(&plan)
            .into_iter()
            .filter(|c| c.build == Build::Native)
            .collect();
        assert_eq!(native.len(), 3, "{native:?}");
        assert!(native.iter().all(|c| c.ram));
    }

    #[test]
    fn another_build_is_timed_beside_today_for_each_step_it_has() {
        let mut plan = Plan::full(2);
        let (serial, mpi) = (&STEPS[0], launched(Launch::Mpi).next().unwrap());
        plan.baselines.push(Baseline {
            label: "before".into(),
            steps: vec![serial.name, mpi.name],
        });
        let all = cases(&plan);
        let before = Build::Baseline("before".into());
        let theirs: Vec<&Case> = all.iter().filter(|c| c.build == before).collect();
        // The loop step at the small case and at its Python size, the MPI step at the small one.
        assert_eq!(theirs.len(), 3, "{theirs:?}");
        for case in theirs {
            assert!(case.ram);
            let today = case.clone().built(Build::Today);
            assert!(all.contains(&today), "{} has no twin", case.command_line());
            assert!(case.command_line().ends_with("[tmpfs] [before]"));
        }
        assert!(all
            .iter()
            .any(|c| c.build == before && c.ranks == Some(2) && !c.oversubscribed));
    }

    #[test]
    fn every_goal_compares_cases_the_plan_runs() {
        for plan in [Plan::full(2), Plan::quick(2)] {
            let all = cases(&plan);
            for goal in goals(&plan) {
                for c in goal.metric.cases() {
                    assert!(
                        all.contains(&c.clone().on_cores(plan.cores)),
                        "{}: {} is not run",
                        goal.text,
                        c.command_line()
                    );
                }
            }
        }
    }
}
