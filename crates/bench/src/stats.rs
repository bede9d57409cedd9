//! The few statistics a noisy machine allows: median, min and max of repeated runs.

use serde::{Deserialize, Serialize};

/// Summary of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stats {
    /// `None` for no samples. The median of an even count is the mean of the middle two.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Some(Stats {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            runs: sorted.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn odd_counts_take_the_middle_value() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (2.0, 1.0, 3.0, 3));
    }

    #[test]
    fn even_counts_average_the_middle_two() {
        assert_eq!(Stats::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn one_sample_is_its_own_median_and_none_is_nothing() {
        assert_eq!(Stats::of(&[0.7]).unwrap().median, 0.7);
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn outliers_do_not_move_the_median() {
        let s = Stats::of(&[1.0, 1.1, 0.9, 1.0, 50.0]).unwrap();
        assert_eq!(s.median, 1.0);
        assert_eq!(s.max, 50.0);
    }
}
