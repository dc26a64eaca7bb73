//! Summaries of measured samples: percentiles of one run's latencies, and the median and
//! spread of a figure over repetitions.

use std::time::Duration;

/// The `p`-th quantile (0.0 to 1.0) of `sorted` by the nearest-rank rule; `None` when empty.
pub fn quantile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    let rank = ((last as f64) * p.clamp(0.0, 1.0)).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// Latency percentiles of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latencies {
    /// Samples.
    pub count: usize,
    /// Median, milliseconds.
    pub p50: f64,
    /// 90th percentile, milliseconds.
    pub p90: f64,
    /// 99th percentile, milliseconds.
    pub p99: f64,
    /// Largest, milliseconds.
    pub max: f64,
}

impl Latencies {
    /// The percentiles of `samples`; all zero when there are none.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
        Self {
            count: samples.len(),
            p50: ms(quantile(&samples, 0.5)),
            p90: ms(quantile(&samples, 0.9)),
            p99: ms(quantile(&samples, 0.99)),
            max: ms(samples.last().copied()),
        }
    }
}

/// One figure over repetitions: its median and its smallest and largest value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    /// Median over the repetitions.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Repetitions.
    pub reps: usize,
}

impl Spread {
    /// The spread of `values`; all zero when there are none.
    pub fn of(values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        Self {
            median: quantile(&sorted, 0.5).unwrap_or(0.0),
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
            reps: sorted.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_by_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), Some(51));
        assert_eq!(quantile(&values, 0.99), Some(99));
        assert_eq!(quantile(&values, 1.0), Some(100));
        assert_eq!(quantile::<u32>(&[], 0.5), None);
    }

    #[test]
    fn spread_ignores_order_and_non_numbers() {
        let spread = Spread::of(&[3.0, f64::NAN, 1.0, 2.0]);
        assert_eq!(spread.median, 2.0);
        assert_eq!((spread.min, spread.max, spread.reps), (1.0, 3.0, 3));
        assert_eq!(Spread::of(&[]), Spread::default());
    }

    #[test]
    fn latencies_are_in_milliseconds() {
        let samples = (1..=10).map(Duration::from_millis).collect();
        let l = Latencies::of(samples);
        assert_eq!(l.count, 10);
        assert!((l.max - 10.0).abs() < 1e-9);
        assert!((l.p50 - 6.0).abs() < 1e-9);
    }
}
