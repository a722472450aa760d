//! The cross-entropy method (Rubinstein 1999; as used by PETS, Chua et al. 2018).

use reverie_core::rng::fill_normal;
use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::objective::{sanitize, top_k, ActionBounds, Objective, Optimizer, Plan, WarmStart};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
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

/// The Gaussian that CEM and iCEM refit to their elites: mean μ, variance σ², and the best
/// sample seen so far.
pub(crate) struct EliteGaussian {
    pub(crate) mu: Vec<f32>,
    pub(crate) var: Vec<f32>,
    pub(crate) best: (f32, Vec<f32>),
    elite_mean: Vec<f32>,
    elite_var: Vec<f32>,
}

impl EliteGaussian {
    pub(crate) fn new(mu: Vec<f32>, var: Vec<f32>) -> Self {
        let l = mu.len();
        Self {
            best: (f32::NEG_INFINITY, mu.clone()),
            mu,
            var,
            elite_mean: vec![0.0; l],
            elite_var: vec![0.0; l],
        }
    }

    /// Scores `samples [n, l]`, leaves the indices of the `elites` best in `order` (best
    /// first), remembers the best sample, and moves μ, σ² towards the elites' moments:
    /// `μ, σ² ← α · (μ, σ²) + (1 − α) · (elite mean, elite variance)`.
    pub(crate) fn refit(
        &mut self,
        objective: &mut dyn Objective,
        samples: &[f32],
        scores: &mut [f32],
        order: &mut Vec<usize>,
        elites: usize,
        alpha: f32,
    ) {
        let l = self.mu.len();
        objective.evaluate(samples, scores);
        sanitize(scores);
        top_k(scores, elites, order);
        let top = order[0];
        if scores[top] > self.best.0 {
            self.best = (scores[top], samples[top * l..(top + 1) * l].to_vec());
        }
        let k = order.len() as f32;
        self.elite_mean.fill(0.0);
        self.elite_var.fill(0.0);
        for &i in order.iter() {
            for (m, x) in self.elite_mean.iter_mut().zip(&samples[i * l..(i + 1) * l]) {
                *m += x / k;
            }
        }
        for &i in order.iter() {
            for ((v, m), x) in self
                .elite_var
                .iter_mut()
                .zip(&self.elite_mean)
                .zip(&samples[i * l..(i + 1) * l])
            {
                *v += (x - m) * (x - m) / k;
            }
        }
        for j in 0..l {
            self.mu[j] = alpha * self.mu[j] + (1.0 - alpha) * self.elite_mean[j];
            self.var[j] = alpha * self.var[j] + (1.0 - alpha) * self.elite_var[j];
        }
    }
}

impl Optimizer for Cem {
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan {
        let (l, d) = (self.bounds.len(), self.bounds.dim());
        let n = self.config.population;
        let mut g = EliteGaussian::new(
            self.previous
                .clone()
                .unwrap_or_else(|| self.bounds.midpoint()),
            self.bounds.initial_variance(self.config.init_std),
        );
        self.samples.resize(n * l, 0.0);
        self.noise.resize(n * l, 0.0);
        self.scores.resize(n, 0.0);
        for _ in 0..self.config.iterations {
            fill_normal(rng, &mut self.noise);
            for (idx, (s, z)) in self.samples.iter_mut().zip(&self.noise).enumerate() {
                let j = idx % l;
                *s = draw(
                    self.config.sampling,
                    g.mu[j],
                    g.var[j].sqrt(),
                    self.bounds.low[j % d],
                    self.bounds.high[j % d],
                    *z,
                    rng,
                );
            }
            g.refit(
                objective,
                &self.samples,
                &mut self.scores,
                &mut self.order,
                self.config.elites(),
                self.config.alpha,
            );
        }
        let value = g.best.0;
        let actions = if self.config.return_mean_elites {
            g.mu
        } else {
            g.best.1
        };
        self.previous = Some(actions.clone());
        Plan { actions, value }
    }

    fn advance(&mut self) {
        if let Some(prev) = &mut self.previous {
            self.bounds.shift_warm_start(prev);
        }
    }

    fn reset(&mut self) {
        self.previous = None;
    }

    fn warm_start(&self) -> WarmStart {
        WarmStart {
            previous: self.previous.clone(),
            kept: Vec::new(),
        }
    }

    fn set_warm_start(&mut self, warm: WarmStart) {
        self.previous = warm.previous;
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
