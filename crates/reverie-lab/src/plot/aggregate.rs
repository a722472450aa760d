//! Runs to one curve: the mean over runs and a band around it.

use super::Curve;

/// Points of an aggregated curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// x value.
    pub x: f64,
    /// Mean over the runs with data at x.
    pub mean: f64,
    /// Half-width of the curve's band (0 with one run).
    pub band: f64,
}

/// The mean of the runs and the curve's band (see [`Band`](super::Band)) on a common grid, at the x
/// values where at least one run has data.
///
/// Raw curves whose runs share their x values (experiments over episodes, seeds, sizes; the
/// evaluations of runs with one schedule) are aggregated point by point. Otherwise the runs
/// are resampled on `grid_points` evenly spaced x values; a smoothed curve averages each run
/// over its last `window` points at or before x (episodic returns are noisy), `window` being
/// 1/20 of the run's points, at least 1.
pub fn aggregate(curve: &Curve, grid_points: usize) -> Vec<Point> {
    let runs: Vec<&Vec<(f64, f64)>> = curve.runs.iter().filter(|r| !r.is_empty()).collect();
    let point = |x: f64, values: &[f64]| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Point {
            x,
            mean,
            band: curve.band.half_width(values, mean),
        }
    };
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    if !curve.smooth
        && runs
            .iter()
            .all(|r| r.len() == first.len() && r.iter().zip(*first).all(|(p, q)| p.0 == q.0))
    {
        return (0..first.len())
            .map(|i| {
                let values: Vec<f64> = runs.iter().map(|r| r[i].1).collect();
                point(first[i].0, &values)
            })
            .collect();
    }
    let min_x = runs.iter().map(|r| r[0].0).fold(f64::INFINITY, f64::min);
    let max_x = runs
        .iter()
        .map(|r| r[r.len() - 1].0)
        .fold(f64::NEG_INFINITY, f64::max);
    // One x value in all (a single evaluation) is one point, not nothing.
    let grid_points = if max_x > min_x { grid_points } else { 1 };
    let mut out = Vec::with_capacity(grid_points);
    for g in 0..grid_points {
        let x = if grid_points > 1 {
            min_x + (max_x - min_x) * g as f64 / (grid_points - 1) as f64
        } else {
            max_x
        };
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|run| {
                let upto = run.partition_point(|p| p.0 <= x);
                if upto == 0 {
                    return None;
                }
                let window = if curve.smooth {
                    (run.len() / 20).max(1)
                } else {
                    1
                };
                let slice = &run[upto.saturating_sub(window)..upto];
                Some(slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64)
            })
            .collect();
        if !values.is_empty() {
            out.push(point(x, &values));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Band;

    fn two_runs() -> Vec<Vec<(f64, f64)>> {
        vec![vec![(1.0, 1.0), (2.0, 1.0)], vec![(1.0, 3.0), (2.0, 3.0)]]
    }

    #[test]
    fn averages_runs_with_a_std_band() {
        let agg = aggregate(&Curve::smoothed("x", two_runs()), 3);
        let last = agg.last().unwrap();
        assert_eq!(last.x, 2.0);
        assert!((last.mean - 2.0).abs() < 1e-12);
        assert!((last.band - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ci95_band_is_the_standard_error_times_1_96() {
        let agg = aggregate(&Curve::raw("x", two_runs()).with_band(Band::Ci95), 3);
        // Sample std of {1, 3} is √2; the standard error √2/√2 = 1.
        assert!((agg[0].band - 1.96).abs() < 1e-12, "{agg:?}");
    }

    #[test]
    fn one_run_has_no_band() {
        let agg = aggregate(&Curve::raw("x", vec![vec![(1.0, 1.0), (2.0, 5.0)]]), 10);
        assert_eq!(agg.len(), 2);
        assert!(agg.iter().all(|p| p.band == 0.0));
    }

    #[test]
    fn a_single_point_survives_both_paths() {
        for curve in [
            Curve::raw("x", vec![vec![(5.0, 0.5)]]),
            Curve::smoothed("x", vec![vec![(5.0, 0.5)], vec![(5.0, 0.7)]]),
        ] {
            let agg = aggregate(&curve, 200);
            assert_eq!(agg.len(), 1, "{curve:?}");
            assert_eq!(agg[0].x, 5.0);
        }
    }

    #[test]
    fn runs_on_different_x_are_resampled() {
        let curve = Curve::raw("x", vec![vec![(0.0, 1.0), (10.0, 2.0)], vec![(5.0, 3.0)]]);
        let agg = aggregate(&curve, 3);
        let xs: Vec<f64> = agg.iter().map(|p| p.x).collect();
        assert_eq!(xs, [0.0, 5.0, 10.0]);
        assert_eq!(agg[0].mean, 1.0);
        assert_eq!(agg[1].mean, 2.0);
    }
}
