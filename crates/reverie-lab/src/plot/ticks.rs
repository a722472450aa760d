//! Axis ticks: where plotters puts them and how their labels read.
//!
//! plotters picks the tick values itself; we ask it for the same values (same range, same
//! label count) so the formatter knows the step and the layout knows the widest label.

use std::ops::Range;

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;

/// Most tick labels on an axis (plotters' own default).
pub(crate) const MAX_LABELS: usize = 11;

/// How an axis's ticks are placed and written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Axis {
    /// Label count handed to plotters (`x_labels` / `y_labels`).
    pub labels: usize,
    /// The tick values plotters draws with that count.
    pub ticks: Vec<f64>,
    /// Their text.
    pub format: TickFormat,
}

impl Axis {
    /// Ticks for `range`; integer-valued data (steps, episodes, counts) gets integer ticks
    /// only, since "1.5 episodes" reads as a mistake.
    pub fn new(range: Range<f64>, integer: bool) -> Self {
        let mut labels = MAX_LABELS;
        let mut ticks = key_points(range.clone(), labels);
        // Fewer labels means a coarser step; stop at the first count whose step is whole.
        while integer && labels > 1 && step(&ticks).is_some_and(|s| s < 1.0 - 1e-9) {
            labels -= 1;
            ticks = key_points(range.clone(), labels);
        }
        if integer {
            ticks.retain(|t| (t - t.round()).abs() < 1e-9);
        }
        let format = TickFormat::for_ticks(&ticks);
        Self {
            labels,
            ticks,
            format,
        }
    }

    /// The text of every tick.
    pub fn texts(&self) -> impl Iterator<Item = String> + '_ {
        self.ticks.iter().map(|&t| self.format.format(t))
    }
}

/// The tick values plotters draws for `range` with at most `labels` labels.
fn key_points(range: Range<f64>, labels: usize) -> Vec<f64> {
    RangedCoordf64::from(range).key_points(labels)
}

fn step(ticks: &[f64]) -> Option<f64> {
    (ticks.len() >= 2).then(|| ticks[1] - ticks[0])
}

/// Tick text for one axis: every label with the same decimals (enough for the step, so
/// 1.0, 1.2, 1.4 never all read "1"), and thousands or millions written as `k` / `M` so the
/// labels stay narrow ("100k", not "100000").
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TickFormat {
    decimals: usize,
    scale: f64,
    suffix: &'static str,
}

impl TickFormat {
    /// The format for these tick values (ascending, evenly spaced).
    pub fn for_ticks(ticks: &[f64]) -> Self {
        let largest = ticks.iter().fold(0.0_f64, |m, t| m.max(t.abs()));
        let (scale, suffix) = if largest >= 1e7 {
            (1e6, "M")
        } else if largest >= 1e4 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        // A lone tick has no step; its own value says how many decimals it needs.
        let unit = step(ticks).unwrap_or_else(|| ticks.first().copied().unwrap_or(1.0));
        Self {
            decimals: decimals_for(unit / scale),
            scale,
            suffix,
        }
    }

    /// The label of `value`.
    pub fn format(&self, value: f64) -> String {
        let scaled = value / self.scale;
        // Rounding noise around zero would print "-0.0".
        let tolerance = 0.5 * 10f64.powi(-(self.decimals as i32));
        if scaled.abs() < tolerance {
            return if self.suffix.is_empty() {
                format!("{:.*}", self.decimals, 0.0)
            } else {
                "0".to_string()
            };
        }
        format!("{:.*}{}", self.decimals, scaled, self.suffix)
    }
}

/// The fewest decimals that write `step` exactly (0.2 → 1, 0.25 → 2, 5 → 0), at most 9.
fn decimals_for(step: f64) -> usize {
    let step = step.abs();
    if step == 0.0 || !step.is_finite() {
        return 0;
    }
    (0..9)
        .find(|&d| {
            let shifted = step * 10f64.powi(d as i32);
            (shifted - shifted.round()).abs() <= 1e-6 * shifted.max(1.0)
        })
        .unwrap_or(9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(range: Range<f64>, integer: bool) -> Vec<String> {
        Axis::new(range, integer).texts().collect()
    }

    #[test]
    fn decimals_follow_the_step() {
        assert_eq!(decimals_for(0.2), 1);
        assert_eq!(decimals_for(0.25), 2);
        assert_eq!(decimals_for(0.05), 2);
        assert_eq!(decimals_for(5.0), 0);
        assert_eq!(decimals_for(0.1 + 0.2 - 0.1), 1);
    }

    #[test]
    fn small_range_ticks_are_distinct() {
        // The DynaMaze fault: values 1.0..1.8 all labelled "1".
        let labels = texts(0.96..1.84, false);
        assert_eq!(labels.first().map(String::as_str), Some("1.0"));
        assert!(labels.contains(&"1.2".to_string()), "{labels:?}");
        let unique: std::collections::BTreeSet<_> = labels.iter().collect();
        assert_eq!(unique.len(), labels.len(), "{labels:?}");
    }

    #[test]
    fn integer_data_gets_integer_ticks() {
        assert_eq!(texts(0.0..3.0, true), ["0", "1", "2", "3"]);
        // Without the integer rule the same range gets halves.
        assert!(texts(0.0..3.0, false).contains(&"0.5".to_string()));
        assert_eq!(texts(0.5..1.5, true), ["1"]);
        assert_eq!(texts(0.0..50.0, true).last().unwrap(), "50");
    }

    #[test]
    fn large_numbers_use_k_and_m() {
        let labels = texts(0.0..100_000.0, true);
        assert_eq!(labels.first().unwrap(), "0");
        assert_eq!(labels.last().unwrap(), "100k");
        assert!(labels.contains(&"50k".to_string()), "{labels:?}");
        assert_eq!(texts(0.0..15_000.0, true)[1], "2k");
        assert_eq!(texts(0.0..2e7, true).last().unwrap(), "20M");
        assert_eq!(texts(0.0..5000.0, true).last().unwrap(), "5000");
        let half = TickFormat::for_ticks(&[0.0, 500.0, 1000.0, 10_500.0]);
        assert_eq!(half.format(10_500.0), "10.5k");
    }

    #[test]
    fn zero_never_reads_negative() {
        let format = TickFormat::for_ticks(&[-0.2, 0.0, 0.2]);
        assert_eq!(format.format(-1e-17), "0.0");
        assert_eq!(format.format(-0.2), "-0.2");
    }

    #[test]
    fn a_lone_tick_keeps_its_decimals() {
        assert_eq!(TickFormat::for_ticks(&[0.75]).format(0.75), "0.75");
    }
}
