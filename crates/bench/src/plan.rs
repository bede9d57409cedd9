//! The sizes of one benchmark run: plain data, which the goals and the cases are made from.

use steps::Step;

/// Another build of the steps, timed beside today's (`make bench BASELINE=DIR`).
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// How the report names it: `before`.
    pub label: String,
    /// The steps it has, in the table's order.
    pub steps: Vec<&'static str>,
}

/// The sizes of one benchmark run.
#[derive(Debug, Clone)]
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
    /// Planes a round for the collective step's batch-size curve (`PLANES_PER_ROUND`), beside
    /// its memory budget's own batch.
    pub batch_curve: &'static [usize],
    /// Also the steps built for this machine's CPU (`make bench NATIVE=1`).
    pub native: bool,
    /// Other builds of the steps to time beside today's (`make bench BASELINE=DIR`).
    pub baselines: Vec<Baseline>,
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
            batch_curve: &[1, 8, 64, 512],
            native: false,
            baselines: Vec::new(),
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
            batch_curve: &[1, 4],
            native: false,
            baselines: Vec::new(),
        }
    }

    /// 1 … cores ranks, then one oversubscribed point.
    pub fn rank_counts(&self) -> Vec<usize> {
        let mut ranks: Vec<usize> = (1..=self.cores).collect();
        ranks.push(self.cores + 2); // oversubscribed, marked as such in the report
        ranks
    }

    /// Where a step is timed against its Python original: the baseline (the loops, whose
    /// Python version is slow) on fewer files, every other step at the small case.
    pub fn python_size(&self, step: &Step) -> (usize, usize) {
        if step.predecessor.is_none() {
            (self.python_loop_files, self.small.1)
        } else {
            self.small
        }
    }

    /// Where a step is timed against another build of itself: the small case, and the loop
    /// step also where its Python original is timed (few files, where start-up counts most).
    pub fn baseline_sizes(&self, step: &Step) -> Vec<(usize, usize)> {
        let python = self.python_size(step);
        if python == self.small {
            vec![self.small]
        } else {
            vec![python, self.small]
        }
    }

    /// The largest file count the parallel-HDF5 layouts are compared at.
    pub fn collective_size(&self) -> (usize, usize) {
        (
            *self.collective_n.last().unwrap_or(&self.small.0),
            self.small.1,
        )
    }
}
