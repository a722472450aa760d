//! Model-error diagnostics: how prediction error compounds over open-loop rollouts, and
//! whether ensemble disagreement tells where the model is wrong.

use reverie_nn::Result;
use serde::Serialize;

use crate::dynamics::{DynamicsModel, StepOutputs};
use crate::ensemble::EnsembleModel;

/// A real trajectory: `obs [T + 1, obs_dim]` and model-encoded `actions [T, act_dim]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trajectory {
    /// Observations, the first being the start.
    pub obs: Vec<f32>,
    /// Actions as model inputs.
    pub actions: Vec<f32>,
}

/// Every `(trajectory, step)` with `horizon` real steps ahead of it, or an error saying
/// that none has.
fn rollout_starts(
    trajectories: &[Trajectory],
    horizon: usize,
    act_dim: usize,
) -> std::result::Result<Vec<(usize, usize)>, String> {
    let mut starts = Vec::new();
    for (i, t) in trajectories.iter().enumerate() {
        let steps = t.actions.len() / act_dim;
        for s in 0..steps.saturating_sub(horizon - 1) {
            starts.push((i, s));
        }
    }
    if starts.is_empty() {
        return Err(format!(
            "no trajectory has {horizon} steps; collect longer episodes or lower the horizon"
        ));
    }
    Ok(starts)
}

/// Open-loop error after `k` model steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HorizonError {
    /// Steps rolled.
    pub k: usize,
    /// Mean over starts of `sqrt(mean_d ((pred − true) / scale_d)²)`.
    pub error_mean: f64,
    /// Standard deviation of that over starts.
    pub error_std: f64,
    /// Mean over starts of `|pred − true| / scale_d`, per dimension.
    pub per_dim: Vec<f64>,
    /// Number of starts.
    pub starts: usize,
}

/// Normalised root-mean-square error of one row: `sqrt(mean_d ((pred − truth) / scale_d)²)`.
pub fn normalized_rmse(pred: &[f32], truth: &[f32], scale: &[f32]) -> f64 {
    let sum: f64 = pred
        .iter()
        .zip(truth)
        .zip(scale)
        .map(|((p, t), s)| (((p - t) / s) as f64).powi(2))
        .sum();
    (sum / pred.len() as f64).sqrt()
}

/// Rolls the model open-loop (mean of the elites) from every start of every trajectory
/// that has `horizon` steps ahead of it, feeding predictions back, and compares with the
/// real observations at k = 1..=horizon. `scale` is a per-dimension spread (e.g. the data's
/// standard deviation) that makes dimensions comparable.
pub fn compounding_error(
    model: &EnsembleModel,
    trajectories: &[Trajectory],
    horizon: usize,
    scale: &[f32],
) -> Result<Vec<HorizonError>> {
    let (o, a) = (model.obs_dim(), model.act_dim());
    let starts = rollout_starts(trajectories, horizon, a).map_err(candle_core::Error::msg)?;
    let p = starts.len();
    let mut current: Vec<f32> = starts
        .iter()
        .flat_map(|&(i, s)| trajectories[i].obs[s * o..(s + 1) * o].to_vec())
        .collect();
    let elites = model.elites().to_vec();
    let mut results = Vec::with_capacity(horizon);
    let mut next = vec![0.0f32; o];
    for k in 1..=horizon {
        let actions: Vec<f32> = starts
            .iter()
            .flat_map(|&(i, s)| trajectories[i].actions[(s + k - 1) * a..(s + k) * a].to_vec())
            .collect();
        let pred = model.predict(&current, &actions)?;
        let mut errors = Vec::with_capacity(p);
        let mut per_dim = vec![0.0f64; o];
        for (row, &(i, s)) in starts.iter().enumerate() {
            pred.mean_next_obs(&elites, row, &mut next);
            let truth = &trajectories[i].obs[(s + k) * o..(s + k + 1) * o];
            errors.push(normalized_rmse(&next, truth, scale));
            for j in 0..o {
                per_dim[j] += ((next[j] - truth[j]) / scale[j]).abs() as f64 / p as f64;
            }
            current[row * o..(row + 1) * o].copy_from_slice(&next);
        }
        let mean = errors.iter().sum::<f64>() / p as f64;
        let std = (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / p as f64).sqrt();
        results.push(HorizonError {
            k,
            error_mean: mean,
            error_std: std,
            per_dim,
            starts: p,
        });
    }
    Ok(results)
}

/// [`compounding_error`] for any [`DynamicsModel`]: each start is rolled through every
/// member and the members' predictions are averaged (the expectation), so a single model
/// such as [`crate::LinearModel`] is judged on the same footing as an ensemble's mean.
pub fn compounding_error_of(
    model: &mut dyn DynamicsModel,
    trajectories: &[Trajectory],
    horizon: usize,
    scale: &[f32],
) -> std::result::Result<Vec<HorizonError>, String> {
    let (o, a) = (model.obs_dim(), model.act_dim());
    let members = model.members().to_vec();
    let m = members.len();
    let starts = rollout_starts(trajectories, horizon, a)?;
    let p = starts.len();
    let mut current: Vec<f32> = starts
        .iter()
        .flat_map(|&(i, s)| trajectories[i].obs[s * o..(s + 1) * o].to_vec())
        .collect();
    // Row r·m + j is start r through member j.
    let member: Vec<usize> = (0..p * m).map(|r| members[r % m]).collect();
    let (mut obs, mut actions) = (vec![0.0f32; p * m * o], vec![0.0f32; p * m * a]);
    let (mut next, mut reward) = (vec![0.0f32; p * m * o], vec![0.0f32; p * m]);
    let mut results = Vec::with_capacity(horizon);
    let mut mean = vec![0.0f32; o];
    for k in 1..=horizon {
        for (row, &(i, s)) in starts.iter().enumerate() {
            let action = &trajectories[i].actions[(s + k - 1) * a..(s + k) * a];
            for j in 0..m {
                let r = row * m + j;
                obs[r * o..(r + 1) * o].copy_from_slice(&current[row * o..(row + 1) * o]);
                actions[r * a..(r + 1) * a].copy_from_slice(action);
            }
        }
        model.step(
            &obs,
            &actions,
            &member,
            None,
            StepOutputs {
                next_obs: &mut next,
                reward: &mut reward,
                termination_prob: None,
            },
        );
        let mut errors = Vec::with_capacity(p);
        let mut per_dim = vec![0.0f64; o];
        for (row, &(i, s)) in starts.iter().enumerate() {
            mean.fill(0.0);
            for j in 0..m {
                let r = row * m + j;
                for (x, y) in mean.iter_mut().zip(&next[r * o..(r + 1) * o]) {
                    *x += y / m as f32;
                }
            }
            let truth = &trajectories[i].obs[(s + k) * o..(s + k + 1) * o];
            errors.push(normalized_rmse(&mean, truth, scale));
            for (d, ((x, t), sc)) in per_dim.iter_mut().zip(mean.iter().zip(truth).zip(scale)) {
                *d += ((x - t) / sc).abs() as f64 / p as f64;
            }
            current[row * o..(row + 1) * o].copy_from_slice(&mean);
        }
        let mean_error = errors.iter().sum::<f64>() / p as f64;
        let std = (errors.iter().map(|e| (e - mean_error).powi(2)).sum::<f64>() / p as f64).sqrt();
        results.push(HorizonError {
            k,
            error_mean: mean_error,
            error_std: std,
            per_dim,
            starts: p,
        });
    }
    Ok(results)
}

/// One-step ensemble disagreement and the normalised error of the elites' mean prediction,
/// for each transition `(obs, actions) → next_obs`.
pub fn disagreement_and_error(
    model: &EnsembleModel,
    obs: &[f32],
    actions: &[f32],
    next_obs: &[f32],
    scale: &[f32],
) -> Result<(Vec<f32>, Vec<f64>)> {
    let o = model.obs_dim();
    let pred = model.predict(obs, actions)?;
    let elites = model.elites().to_vec();
    let mut next = vec![0.0f32; o];
    let mut disagreement = Vec::with_capacity(pred.rows);
    let mut error = Vec::with_capacity(pred.rows);
    for i in 0..pred.rows {
        disagreement.push(pred.disagreement(&elites, i));
        pred.mean_next_obs(&elites, i, &mut next);
        error.push(normalized_rmse(&next, &next_obs[i * o..(i + 1) * o], scale));
    }
    Ok((disagreement, error))
}

/// Ranks with ties sharing their average rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation (Pearson correlation of the ranks; ties averaged).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        return 0.0;
    }
    cov / (va * vb).sqrt()
}

/// Calibration curve: transitions sorted by disagreement into `bins` equal-count bins;
/// returns `(mean disagreement, mean error, count)` per bin.
pub fn calibration_bins(
    disagreement: &[f32],
    error: &[f64],
    bins: usize,
) -> Vec<(f64, f64, usize)> {
    let mut order: Vec<usize> = (0..disagreement.len()).collect();
    order.sort_by(|&i, &j| disagreement[i].total_cmp(&disagreement[j]));
    let per = order.len().div_ceil(bins.max(1)).max(1);
    order
        .chunks(per)
        .map(|chunk| {
            let n = chunk.len() as f64;
            (
                chunk.iter().map(|&i| disagreement[i] as f64).sum::<f64>() / n,
                chunk.iter().map(|&i| error[i]).sum::<f64>() / n,
                chunk.len(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_monotone_and_reversed_and_ties() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((spearman(&a, &[10.0, 20.0, 30.0, 400.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&a, &[4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![1.5, 0.0, 1.5]);
    }

    #[test]
    fn calibration_bins_cover_all_points() {
        let d: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let e: Vec<f64> = (0..100).map(|i| i as f64 * 2.0).collect();
        let bins = calibration_bins(&d, &e, 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.2).sum::<usize>(), 100);
        assert!(bins.windows(2).all(|w| w[0].1 < w[1].1));
    }
}
