//! The cross-entropy method (Rubinstein 1999; as used by PETS, Chua et al. 2018).

use reverie_core::Rng;
use reverie_models::fast::fill_normal;
use serde::{Deserialize, Serialize};

use crate::objective::{sanitize, top_k, ActionBounds, Objective, Optimizer, Plan};

/// How CEM keeps samples inside the action bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// mbrl-lib's: shrink σ so that μ ± 2σ stays inside the bounds, and draw from the
    /// Gaussian truncated at ±2σ.
    #[default]
    Truncated,
    /// Draw from the Gaussian and clip to the bounds.
    Clipped,
}

/// Settings of [`Cem`]. Defaults are PETS' (mbrl-lib's cartpole: population 350/500,
/// 5 iterations, elite ratio 0.1, α 0.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CemConfig {
    /// Samples per iteration.
    pub population: usize,
    /// Fraction of the population kept as elites.
    pub elite_ratio: f64,
    /// Iterations per call.
    pub iterations: usize,
    /// Momentum: new μ, σ² = α · old + (1 − α) · elites'.
    pub alpha: f32,
    /// Initial σ as a fraction of each dimension's range (mbrl-lib: 1/4).
    pub init_std: f32,
    /// How samples respect the bounds.
    pub sampling: Sampling,
    /// Return the final mean (true, mbrl-lib's default) or the best sample seen.
    pub return_mean_elites: bool,
}

impl Default for CemConfig {
    fn default() -> Self {
        Self {
            population: 500,
            elite_ratio: 0.1,
            iterations: 5,
            alpha: 0.1,
            init_std: 0.25,
            sampling: Sampling::Truncated,
            return_mean_elites: true,
        }
    }
}

impl CemConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.population < 2 || self.iterations == 0 {
            return Err("cem needs population ≥ 2 and iterations ≥ 1".into());
        }
        if !(self.elite_ratio > 0.0 && self.elite_ratio <= 1.0) {
            return Err(format!(
                "cem elite_ratio must be in (0, 1], got {}",
                self.elite_ratio
            ));
        }
        if !(0.0..1.0).contains(&self.alpha) || self.init_std <= 0.0 {
            return Err("cem needs 0 ≤ alpha < 1 and init_std > 0".into());
        }
        Ok(())
    }

    /// Number of elites.
    pub fn elites(&self) -> usize {
        ((self.population as f64 * self.elite_ratio).round() as usize).max(1)
    }
}

/// Draws one value of N(μ, σ²) under `sampling`, inside `[lo, hi]`.
#[inline]
pub(crate) fn draw(
    sampling: Sampling,
    mu: f32,
    std: f32,
    lo: f32,
    hi: f32,
    z: f32,
    rng: &mut Rng,
) -> f32 {
    match sampling {
        Sampling::Clipped => (mu + std * z).clamp(lo, hi),
        Sampling::Truncated => {
            let std = std.min((mu - lo) / 2.0).min((hi - mu) / 2.0).max(0.0);
            let mut z = z;
            while z.abs() > 2.0 {
                z = rng.normal() as f32;
            }
            (mu + std * z).clamp(lo, hi)
        }
    }
}

/// Cross-entropy method over continuous sequences.
#[derive(Clone, Debug)]
pub struct Cem {
    config: CemConfig,
    bounds: ActionBounds,
    previous: Option<Vec<f32>>,
    samples: Vec<f32>,
    noise: Vec<f32>,
    scores: Vec<f32>,
    order: Vec<usize>,
}

impl Cem {
    /// CEM over sequences within `bounds`.
    pub fn new(config: CemConfig, bounds: ActionBounds) -> Result<Self, String> {
        config.validate()?;
        bounds.validate()?;
        Ok(Self {
            config,
            bounds,
            previous: None,
            samples: Vec::new(),
            noise: Vec::new(),
            scores: Vec::new(),
            order: Vec::new(),
        })
    }
}

/// Element-wise mean and variance of the rows `order` of `samples [n, l]`.
pub(crate) fn elite_moments(
    samples: &[f32],
    l: usize,
    order: &[usize],
    mean: &mut [f32],
    var: &mut [f32],
) {
    mean.fill(0.0);
    var.fill(0.0);
    let k = order.len() as f32;
    for &i in order {
        for (m, x) in mean.iter_mut().zip(&samples[i * l..(i + 1) * l]) {
            *m += x / k;
        }
    }
    for &i in order {
        for ((v, m), x) in var.iter_mut().zip(&*mean).zip(&samples[i * l..(i + 1) * l]) {
            *v += (x - m) * (x - m) / k;
        }
    }
}

/// `μ, σ² ← α · (μ, σ²) + (1 − α) · (elite mean, elite variance)`.
pub(crate) fn momentum_update(
    alpha: f32,
    (mu, var): (&mut [f32], &mut [f32]),
    (elite_mean, elite_var): (&[f32], &[f32]),
) {
    for j in 0..mu.len() {
        mu[j] = alpha * mu[j] + (1.0 - alpha) * elite_mean[j];
        var[j] = alpha * var[j] + (1.0 - alpha) * elite_var[j];
    }
}

impl Optimizer for Cem {
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan {
        let (l, d) = (self.bounds.len(), self.bounds.dim());
        let n = self.config.population;
        let mut mu = self
            .previous
            .clone()
            .unwrap_or_else(|| self.bounds.midpoint());
        let mut var = self.bounds.initial_variance(self.config.init_std);
        let (mut elite_mean, mut elite_var) = (vec![0.0; l], vec![0.0; l]);
        let mut best = (f32::NEG_INFINITY, mu.clone());
        self.samples.resize(n * l, 0.0);
        self.noise.resize(n * l, 0.0);
        self.scores.resize(n, 0.0);
        for _ in 0..self.config.iterations {
            fill_normal(rng, &mut self.noise);
            for (idx, (s, z)) in self.samples.iter_mut().zip(&self.noise).enumerate() {
                let j = idx % l;
                *s = draw(
                    self.config.sampling,
                    mu[j],
                    var[j].sqrt(),
                    self.bounds.low[j % d],
                    self.bounds.high[j % d],
                    *z,
                    rng,
                );
            }
            objective.evaluate(&self.samples, &mut self.scores);
            sanitize(&mut self.scores);
            top_k(&self.scores, self.config.elites(), &mut self.order);
            let top = self.order[0];
            if self.scores[top] > best.0 {
                best = (
                    self.scores[top],
                    self.samples[top * l..(top + 1) * l].to_vec(),
                );
            }
            elite_moments(
                &self.samples,
                l,
                &self.order,
                &mut elite_mean,
                &mut elite_var,
            );
            momentum_update(
                self.config.alpha,
                (&mut mu, &mut var),
                (&elite_mean, &elite_var),
            );
        }
        let actions = if self.config.return_mean_elites {
            mu
        } else {
            best.1
        };
        self.previous = Some(actions.clone());
        Plan {
            actions,
            value: best.0,
        }
    }

    fn advance(&mut self) {
        if let Some(prev) = &mut self.previous {
            self.bounds.shift_warm_start(prev);
        }
    }

    fn reset(&mut self) {
        self.previous = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::test_objectives::{max_error, target, Quadratic};

    #[test]
    fn reaches_the_optimum_of_a_quadratic() {
        for sampling in [Sampling::Truncated, Sampling::Clipped] {
            let bounds = ActionBounds::uniform(5, 2, -1.0, 1.0);
            let config = CemConfig {
                population: 400,
                iterations: 20,
                sampling,
                ..Default::default()
            };
            let mut cem = Cem::new(config, bounds).unwrap();
            let mut q = Quadratic {
                target: target(10),
                calls: 0,
            };
            let plan = cem.optimize(&mut q, &mut Rng::seed_from_u64(1));
            let err = max_error(&plan.actions, &q.target);
            assert!(err < 0.05, "{sampling:?}: max error {err}");
            assert_eq!(q.calls, 400 * 20);
        }
    }

    #[test]
    fn warm_start_shifts_the_solution() {
        let bounds = ActionBounds::uniform(3, 1, -1.0, 1.0);
        let mut cem = Cem::new(CemConfig::default(), bounds).unwrap();
        let mut q = Quadratic {
            target: vec![0.5, -0.5, 0.9],
            calls: 0,
        };
        let first = cem.optimize(&mut q, &mut Rng::seed_from_u64(2));
        cem.advance();
        assert_eq!(cem.previous.as_ref().unwrap()[..2], first.actions[1..]);
        assert_eq!(cem.previous.as_ref().unwrap()[2], 0.0);
    }
}
