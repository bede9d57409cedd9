//! The few statistics a noisy machine allows: median, min and max of repeated runs, and ratios
//! measured round by round (the benchmark and the exercise grader both judge by them).

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

/// A ratio measured round by round (each round's two runs taken minutes apart at most): its
/// median and interquartile range, which says whether the machine let it be measured at all.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub median: f64,
    /// First and third quartile of the per-round ratios.
    pub q1: f64,
    pub q3: f64,
    pub rounds: usize,
}

/// A ratio is trusted when half its rounds lie within ±10% of its median.
pub const NARROW: f64 = 0.10;

impl Ratio {
    /// `None` for no values. Quartiles by linear interpolation between order statistics.
    pub fn of(values: &[f64]) -> Option<Ratio> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let pos = q * (v.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        };
        Some(Ratio {
            median: at(0.5),
            q1: at(0.25),
            q3: at(0.75),
            rounds: v.len(),
        })
    }

    /// The interquartile range within ±10% of the median (and at least three rounds).
    pub fn narrow(&self) -> bool {
        self.rounds >= 3
            && self.q1 >= self.median * (1.0 - NARROW)
            && self.q3 <= self.median * (1.0 + NARROW)
    }

    /// `1.23× (IQR 1.18–1.30, 7 rounds)`.
    pub fn shown(&self) -> String {
        format!(
            "{:.2}× (IQR {:.2}–{:.2}, {} rounds)",
            self.median, self.q1, self.q3, self.rounds
        )
    }

    /// Per-round `value(times)` over the rounds every series has (each `(round, seconds)`
    /// pairs, `times` in the order of `series`).
    pub fn per_round(series: &[&[(usize, f64)]], value: impl Fn(&[f64]) -> f64) -> Option<Ratio> {
        let first = series.first()?;
        let values: Vec<f64> = first
            .iter()
            .filter_map(|(round, _)| {
                let times: Option<Vec<f64>> = series
                    .iter()
                    .map(|s| s.iter().find(|(r, _)| r == round).map(|(_, t)| *t))
                    .collect();
                times.map(|t| value(&t))
            })
            .collect();
        Ratio::of(&values)
    }

    /// Per-round `f(a, b)` over the rounds both series have (`(round, seconds)` pairs).
    pub fn paired(
        a: &[(usize, f64)],
        b: &[(usize, f64)],
        f: impl Fn(f64, f64) -> f64,
    ) -> Option<Ratio> {
        Ratio::per_round(&[a, b], |t| f(t[0], t[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::{Ratio, Stats};

    #[test]
    fn ratios_pair_rounds_and_know_when_they_are_noise() {
        let a = [(0, 2.0), (1, 2.2), (2, 2.0), (3, 1.9)];
        let b = [(0, 1.0), (1, 1.0), (3, 1.0), (4, 9.0)];
        let r = Ratio::paired(&a, &b, |x, y| x / y).unwrap();
        assert_eq!(r.rounds, 3);
        assert_eq!(r.median, 2.0);
        assert!(r.narrow());
        let wide = Ratio::of(&[0.5, 1.0, 2.0, 3.0]).unwrap();
        assert!(!wide.narrow());
        assert_eq!(Ratio::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap().q1, 2.0);
        assert!(
            !Ratio::of(&[1.0, 1.0]).unwrap().narrow(),
            "two rounds prove nothing"
        );
    }

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
