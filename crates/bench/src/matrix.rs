//! Which cases `make bench` runs: every step at the workshop's sizes, the worker and rank
//! sweeps, and the floors they are compared with.

use crate::program::{Floor, Program};
use crate::runner::Case;

/// The sizes of one benchmark run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Many small files: the slides' "write size 100" case, (n, s).
    pub small: (usize, usize),
    /// Few large files: the "write size 1000" case.
    pub large: (usize, usize),
    /// The .npy-vs-HDF5 sweep over n, at the small grid size.
    pub n_sweep: &'static [usize],
    /// Worker counts: 1 … 2 × cores.
    pub workers: usize,
    /// Rank counts: 1 … cores, then one oversubscribed point.
    pub cores: usize,
    /// File counts at which the two parallel-HDF5 layouts are compared (small grid size).
    pub collective_n: &'static [usize],
    /// Files for the Python loop step, whose minute-long runs at the small case's n would
    /// dominate the benchmark.
    pub python_loop_files: usize,
    /// Also the steps built for this machine's CPU (`make bench NATIVE=1`).
    pub native: bool,
}

impl Plan {
    pub fn full(cores: usize) -> Plan {
        Plan {
            small: (1000, 100),
            large: (100, 1000),
            n_sweep: &[10, 100, 1000],
            workers: 2 * cores,
            cores,
            collective_n: &[1000, 10_000],
            python_loop_files: 100,
            native: false,
        }
    }

    /// About a minute or less: small sizes, for `make bench-quick` and the tests.
    pub fn quick(cores: usize) -> Plan {
        Plan {
            small: (20, 32),
            large: (6, 128),
            n_sweep: &[5, 20],
            workers: 2,
            cores,
            collective_n: &[20],
            python_loop_files: 5,
            native: false,
        }
    }

    pub fn rank_counts(&self) -> Vec<usize> {
        let mut ranks: Vec<usize> = (1..=self.cores).collect();
        ranks.push(self.cores + 2); // oversubscribed, marked as such in the report
        ranks
    }

    pub fn cases(&self) -> Vec<Case> {
        let mut cases = Vec::new();
        let (sn, ss) = self.small;
        // Every serial step, text ones only at the small grid (their 25-byte values make the
        // large case a multi-gigabyte write that teaches nothing new).
        for &n in self.n_sweep {
            for step in ["write_vectorized_binary", "write_hdf5"] {
                cases.push(Case::step(step, n, ss));
            }
            cases.push(Case::new(Program::Floor(Floor::Npy), n, ss));
        }
        for step in ["write", "write_vectorized"] {
            cases.push(Case::step(step, sn, ss));
        }
        cases.push(Case::new(Program::Floor(Floor::Txt), sn, ss));
        // Python, timed in the same run: the loop step on fewer files, with `write` beside it.
        let pn = self.python_loop_files;
        cases.push(Case::new(Program::python("write"), pn, ss));
        cases.push(Case::step("write", pn, ss));
        cases.push(Case::step("write_vectorized", pn, ss));
        for step in ["write_vectorized", "write_vectorized_binary", "write_hdf5"] {
            cases.push(Case::new(Program::python(step), sn, ss));
        }
        let (ln, ls) = self.large;
        for program in [
            Program::step("write_vectorized_binary"),
            Program::step("write_hdf5"),
            Program::Floor(Floor::Npy),
        ] {
            cases.push(Case::new(program, ln, ls));
        }
        for (n, s) in [self.small, self.large] {
            for step in [
                "write_multiprocessing",
                "write_multiprocessing_queue",
                "write_rayon",
            ] {
                for w in 1..=self.workers {
                    cases.push(Case::step(step, n, s).workers(w));
                }
            }
            for step in [
                "write_mpi",
                "write_mpi_scatter",
                "write_final",
                "write_final_collective",
            ] {
                for r in self.rank_counts() {
                    cases.push(Case::step(step, n, s).ranks(r));
                }
            }
        }
        // One dataset against one per file: the gap that opens as n grows is the per-dataset
        // metadata write_final_collective does not have.
        for &n in self.collective_n {
            for step in ["write_final", "write_final_collective"] {
                for r in [1, 2, 4] {
                    cases.push(Case::step(step, n, ss).ranks(r));
                }
            }
        }
        for r in self.rank_counts() {
            cases.push(Case::new(Program::Launch, 0, 0).ranks(r));
        }
        // The machine's own parallel capacity, in the same rounds as everything else.
        for w in 1..=self.workers {
            cases.push(Case::new(Program::Capacity, 0, 0).workers(w));
        }
        // Every case a target compares (some on the RAM-backed folder as well).
        for goal in crate::goals::goals(self) {
            cases.extend(goal.cases);
        }
        // The same on one machine with mpirun told to use shared memory only.
        cases.push(Case::new(Program::Launch, 0, 0).ranks(2).shared_memory());
        for step in ["write_mpi_scatter", "write_final"] {
            cases.push(Case::step(step, sn, ss).ranks(2).shared_memory());
        }
        let cases = cases.into_iter().map(|c| c.on_cores(self.cores)).collect();
        dedup(cases)
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
    use super::Plan;
    use crate::program::{Floor, Program};

    #[test]
    fn the_full_plan_covers_every_step_and_both_floors() {
        let cases = Plan::full(2).cases();
        for step in tools::STEPS {
            assert!(
                cases.iter().any(|c| c.program == Program::step(step.name)),
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
        let queue: Vec<_> = cases
            .iter()
            .filter(|c| c.program == Program::step("write_multiprocessing_queue") && c.size == 100)
            .map(|c| c.workers.unwrap())
            .collect();
        assert_eq!(queue, [1, 2, 3, 4]);
        assert!(cases.iter().any(|c| c.oversubscribed && c.ranks == Some(4)));
        assert!(
            cases.iter().any(|c| c.ram),
            "nothing on the RAM-backed folder"
        );
        assert!(!cases.iter().any(|c| c.native), "native cases unasked");
        let mut plan = Plan::full(2);
        plan.native = true;
        let native: Vec<_> = plan.cases().into_iter().filter(|c| c.native).collect();
        assert_eq!(native.len(), 3, "{native:?}");
        assert!(native.iter().all(|c| c.ram));
    }

    #[test]
    fn every_goal_compares_cases_the_plan_runs() {
        for plan in [Plan::full(2), Plan::quick(2)] {
            let cases = plan.cases();
            for goal in crate::goals::goals(&plan) {
                for c in &goal.cases {
                    assert!(
                        cases.contains(c),
                        "{}: {} is not run",
                        goal.text,
                        c.command_line()
                    );
                }
            }
        }
    }
}
