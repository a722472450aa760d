//! [`LinearModel`]: the seeds' "start with a linear model" — least squares on
//! `[s, a, 1] → [Δs, r]`, a [`DynamicsModel`] beside the neural ensemble.
//!
//! Fitted in closed form (ridge-regularised normal equations, solved by Cholesky in f64), so
//! it needs no training loop and no random draws; with `probabilistic` it also keeps the
//! residual standard deviation of every output and samples Gaussian noise with it. It is
//! exact on linear systems and a useful baseline for `model-eval` and MPC elsewhere:
//! compounding error that a linear model does not have tells that the network overfits.

use reverie_core::{Batch, Rng};
use serde::{Deserialize, Serialize};

use crate::dynamics::{DynamicsModel, StepOutputs};

/// Settings of [`LinearModel`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct LinearModelConfig {
    /// Ridge penalty on the weights (not the bias): keeps the normal equations solvable when
    /// an input never varies (a one-hot action never taken, a constant observation).
    pub ridge: f64,
    /// Sample Gaussian noise with each output's residual standard deviation when a step is
    /// asked to sample (else the model is deterministic).
    pub probabilistic: bool,
}

impl Default for LinearModelConfig {
    fn default() -> Self {
        Self {
            ridge: 1e-6,
            probabilistic: false,
        }
    }
}

impl LinearModelConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(format!(
                "ridge must be a finite number ≥ 0, got {}",
                self.ridge
            ));
        }
        Ok(())
    }
}

/// `[Δs, r] = [s, a, 1] W`, fitted by least squares.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    obs_dim: usize,
    act_dim: usize,
    /// `[(obs_dim + act_dim + 1), (obs_dim + 1)]`, row-major.
    weights: Vec<f64>,
    /// `[obs_dim + 1]` residual standard deviations (zero when not probabilistic).
    noise_std: Vec<f32>,
    members: [usize; 1],
}

impl LinearModel {
    /// Fits the model to every transition of `data` (rows `obs [N, obs_dim]`,
    /// `actions [N, act_dim]`, `rewards [N]`, `next_obs [N, obs_dim]`).
    pub fn fit(
        config: &LinearModelConfig,
        data: &Batch,
        obs_dim: usize,
        act_dim: usize,
    ) -> Result<Self, String> {
        config.validate()?;
        let n = data.len();
        if n == 0 {
            return Err("cannot fit a linear model to no transitions".into());
        }
        if data.obs.len() != n * obs_dim
            || data.next_obs.len() != n * obs_dim
            || data.actions.len() != n * act_dim
        {
            return Err(format!(
                "data rows do not match obs_dim {obs_dim} and act_dim {act_dim}"
            ));
        }
        let p = obs_dim + act_dim + 1;
        let q = obs_dim + 1;
        let mut xtx = vec![0.0f64; p * p];
        let mut xty = vec![0.0f64; p * q];
        let mut x = vec![0.0f64; p];
        let mut y = vec![0.0f64; q];
        for i in 0..n {
            Self::input_row(data, i, obs_dim, act_dim, &mut x);
            Self::target_row(data, i, obs_dim, &mut y);
            if x.iter().chain(&y).any(|v| !v.is_finite()) {
                return Err(format!("transition {i} has a NaN or infinite value"));
            }
            for r in 0..p {
                for c in 0..p {
                    xtx[r * p + c] += x[r] * x[c];
                }
                for c in 0..q {
                    xty[r * q + c] += x[r] * y[c];
                }
            }
        }
        for r in 0..p - 1 {
            xtx[r * p + r] += config.ridge * n as f64;
        }
        let weights = solve_spd(&xtx, &xty, p, q).ok_or_else(|| {
            "the normal equations are singular (too few distinct transitions); raise `ridge`"
                .to_string()
        })?;
        let mut model = Self {
            obs_dim,
            act_dim,
            weights,
            noise_std: vec![0.0; q],
            members: [0],
        };
        if config.probabilistic {
            let mut sq = vec![0.0f64; q];
            let mut pred = vec![0.0f64; q];
            for i in 0..n {
                Self::input_row(data, i, obs_dim, act_dim, &mut x);
                Self::target_row(data, i, obs_dim, &mut y);
                model.mean(&x, &mut pred);
                for c in 0..q {
                    sq[c] += (y[c] - pred[c]).powi(2);
                }
            }
            let dof = (n.saturating_sub(p)).max(1) as f64;
            model.noise_std = sq.iter().map(|s| (s / dof).sqrt() as f32).collect();
        }
        Ok(model)
    }

    /// `[s, a, 1]` of transition `i`.
    fn input_row(data: &Batch, i: usize, o: usize, a: usize, x: &mut [f64]) {
        for (v, s) in x.iter_mut().zip(&data.obs[i * o..(i + 1) * o]) {
            *v = f64::from(*s);
        }
        for (v, s) in x[o..].iter_mut().zip(&data.actions[i * a..(i + 1) * a]) {
            *v = f64::from(*s);
        }
        x[o + a] = 1.0;
    }

    /// `[Δs, r]` of transition `i`.
    fn target_row(data: &Batch, i: usize, o: usize, y: &mut [f64]) {
        let (obs, next) = (
            &data.obs[i * o..(i + 1) * o],
            &data.next_obs[i * o..(i + 1) * o],
        );
        for ((v, s), n) in y.iter_mut().zip(obs).zip(next) {
            *v = f64::from(*n) - f64::from(*s);
        }
        y[o] = f64::from(data.rewards[i]);
    }

    /// `[Δs, r]` for input `[s, a, 1]`.
    fn mean(&self, x: &[f64], out: &mut [f64]) {
        let q = self.obs_dim + 1;
        out.fill(0.0);
        for (r, xr) in x.iter().enumerate() {
            for (c, o) in out.iter_mut().enumerate() {
                *o += xr * self.weights[r * q + c];
            }
        }
    }

    /// The fitted weights, `[(obs_dim + act_dim + 1), (obs_dim + 1)]` row-major: rows are
    /// the inputs `[s, a, 1]`, columns the outputs `[Δs, r]`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Residual standard deviation of each output `[Δs, r]` (zeros when deterministic).
    pub fn noise_std(&self) -> &[f32] {
        &self.noise_std
    }
}

impl DynamicsModel for LinearModel {
    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn act_dim(&self) -> usize {
        self.act_dim
    }

    fn members(&self) -> &[usize] {
        &self.members
    }

    fn has_termination_head(&self) -> bool {
        false
    }

    fn step(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        member: &[usize],
        mut rng: Option<&mut Rng>,
        out: StepOutputs<'_>,
    ) {
        let (o, a) = (self.obs_dim, self.act_dim);
        let n = member.len();
        assert_eq!(obs.len(), n * o, "obs rows");
        assert_eq!(actions.len(), n * a, "action rows");
        let mut x = vec![0.0f64; o + a + 1];
        let mut y = vec![0.0f64; o + 1];
        for i in 0..n {
            for (v, s) in x.iter_mut().zip(&obs[i * o..(i + 1) * o]) {
                *v = f64::from(*s);
            }
            for (v, s) in x[o..].iter_mut().zip(&actions[i * a..(i + 1) * a]) {
                *v = f64::from(*s);
            }
            x[o + a] = 1.0;
            self.mean(&x, &mut y);
            if let Some(rng) = rng.as_deref_mut() {
                for (v, s) in y.iter_mut().zip(&self.noise_std) {
                    if *s > 0.0 {
                        *v += f64::from(*s) * rng.normal();
                    }
                }
            }
            for j in 0..o {
                out.next_obs[i * o + j] = (x[j] + y[j]) as f32;
            }
            out.reward[i] = y[o] as f32;
        }
    }
}

/// Solves `A X = B` for symmetric positive definite `A [p, p]` and `B [p, q]` by Cholesky;
/// `None` when `A` is not positive definite.
fn solve_spd(a: &[f64], b: &[f64], p: usize, q: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut sum = a[i * p + j];
            for k in 0..j {
                sum -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if sum <= 0.0 || !sum.is_finite() {
                    return None;
                }
                l[i * p + i] = sum.sqrt();
            } else {
                l[i * p + j] = sum / l[j * p + j];
            }
        }
    }
    let mut x = b.to_vec();
    for c in 0..q {
        // Forward: L z = b.
        for i in 0..p {
            let mut sum = x[i * q + c];
            for k in 0..i {
                sum -= l[i * p + k] * x[k * q + c];
            }
            x[i * q + c] = sum / l[i * p + i];
        }
        // Backward: Lᵀ x = z.
        for i in (0..p).rev() {
            let mut sum = x[i * q + c];
            for k in i + 1..p {
                sum -= l[k * p + i] * x[k * q + c];
            }
            x[i * q + c] = sum / l[i * p + i];
        }
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Data from s' = A s + B a + c, r = w·s − a²-free linear reward.
    fn linear_system(n: usize, rng: &mut Rng) -> Batch {
        let mut data = Batch::default();
        for _ in 0..n {
            let s = [rng.normal() as f32, rng.normal() as f32];
            let a = [rng.uniform_range(-1.0, 1.0) as f32];
            let next = [
                s[0] + 0.1 * s[1],
                0.9 * s[1] - 0.2 * s[0] + 0.5 * a[0] + 0.05,
            ];
            data.obs.extend_from_slice(&s);
            data.actions.extend_from_slice(&a);
            data.next_obs.extend_from_slice(&next);
            data.rewards.push(1.0 - 2.0 * s[0] + 0.3 * a[0]);
            data.terminated.push(false);
            data.truncated.push(false);
        }
        data
    }

    #[test]
    fn recovers_a_linear_system_and_predicts_it() {
        let mut rng = Rng::seed_from_u64(0);
        let data = linear_system(200, &mut rng);
        let mut model = LinearModel::fit(&LinearModelConfig::default(), &data, 2, 1).unwrap();
        let (obs, act) = ([0.3f32, -0.7], [0.4f32]);
        let (mut next, mut reward) = ([0.0f32; 2], [0.0f32]);
        model.step(
            &obs,
            &act,
            &[0],
            None,
            StepOutputs {
                next_obs: &mut next,
                reward: &mut reward,
                termination_prob: None,
            },
        );
        let truth = [0.3 + 0.1 * -0.7, 0.9 * -0.7 - 0.2 * 0.3 + 0.5 * 0.4 + 0.05];
        for (p, t) in next.iter().zip(truth) {
            assert!((p - t).abs() < 1e-4, "{next:?} vs {truth:?}");
        }
        assert!((reward[0] - (1.0 - 0.6 + 0.12)).abs() < 1e-4, "{reward:?}");
    }

    #[test]
    fn residual_noise_is_sampled_only_when_asked() {
        let mut rng = Rng::seed_from_u64(1);
        let mut data = linear_system(300, &mut rng);
        for r in &mut data.rewards {
            *r += rng.normal() as f32 * 0.5;
        }
        let config = LinearModelConfig {
            probabilistic: true,
            ..Default::default()
        };
        let model = LinearModel::fit(&config, &data, 2, 1).unwrap();
        let std = model.noise_std()[2];
        assert!((std - 0.5).abs() < 0.08, "reward noise {std}");
        assert!(model.noise_std()[0] < 1e-4, "exact dimension has no noise");
    }

    #[test]
    fn bad_data_and_settings_are_refused() {
        let mut rng = Rng::seed_from_u64(2);
        let mut data = linear_system(10, &mut rng);
        data.rewards[3] = f32::NAN;
        let err = LinearModel::fit(&LinearModelConfig::default(), &data, 2, 1).unwrap_err();
        assert!(err.contains("transition 3"), "{err}");
        let bad = LinearModelConfig {
            ridge: -1.0,
            ..Default::default()
        };
        assert!(LinearModel::fit(&bad, &linear_system(5, &mut rng), 2, 1).is_err());
        assert!(LinearModel::fit(&LinearModelConfig::default(), &Batch::default(), 2, 1).is_err());
    }
}
