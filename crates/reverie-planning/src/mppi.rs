//! Model predictive path integral control (Williams et al. 2017), in the filtered-noise form
//! of PDDM (Nagabandi et al. 2019) that mbrl-lib uses: sample smoothed perturbations of the
//! mean, weight each sample by exp(return / λ), move the mean to the weighted average.

use reverie_core::rng::fill_normal;
use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::objective::{sanitize, ActionBounds, Objective, Optimizer, Plan, WarmStart};

/// Settings of [`Mppi`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct MppiConfig {
    /// Samples per iteration.
    pub population: usize,
    /// Iterations per call.
    pub iterations: usize,
    /// Temperature λ: weights are exp((R − max R) / λ); small λ approaches "take the best".
    pub temperature: f32,
    /// Perturbation σ as a fraction of each dimension's range.
    pub noise_std: f32,
    /// Noise filter β: u_t = β ε_t + (1 − β) u_{t−1} (1 is white noise).
    pub beta: f32,
}

impl Default for MppiConfig {
    fn default() -> Self {
        Self {
            population: 500,
            iterations: 3,
            temperature: 1.0,
            noise_std: 0.25,
            beta: 0.6,
        }
    }
}

/// MPPI over continuous sequences.
#[derive(Clone, Debug)]
pub struct Mppi {
    config: MppiConfig,
    bounds: ActionBounds,
    previous: Option<Vec<f32>>,
    samples: Vec<f32>,
    noise: Vec<f32>,
    scores: Vec<f32>,
}

impl Mppi {
    /// MPPI over sequences within `bounds`.
    pub fn new(config: MppiConfig, bounds: ActionBounds) -> Result<Self, String> {
        bounds.validate()?;
        if config.population == 0 || config.iterations == 0 {
            return Err("mppi needs population ≥ 1 and iterations ≥ 1".into());
        }
        if config.temperature <= 0.0
            || config.noise_std <= 0.0
            || !(0.0..=1.0).contains(&config.beta)
        {
            return Err("mppi needs temperature > 0, noise_std > 0 and beta in [0, 1]".into());
        }
        Ok(Self {
            config,
            bounds,
            previous: None,
            samples: Vec::new(),
            noise: Vec::new(),
            scores: Vec::new(),
        })
    }
}

impl Optimizer for Mppi {
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan {
        let (l, d) = (self.bounds.len(), self.bounds.dim());
        let n = self.config.population;
        let mut mean = self
            .previous
            .clone()
            .unwrap_or_else(|| self.bounds.midpoint());
        let std: Vec<f32> = (0..d)
            .map(|j| self.config.noise_std * (self.bounds.high[j] - self.bounds.low[j]))
            .collect();
        let beta = self.config.beta;
        self.samples.resize(n * l, 0.0);
        self.noise.resize(n * l, 0.0);
        self.scores.resize(n, 0.0);
        let mut best = (f32::NEG_INFINITY, mean.clone());
        for _ in 0..self.config.iterations {
            fill_normal(rng, &mut self.noise);
            for c in 0..n {
                let eps = &mut self.noise[c * l..(c + 1) * l];
                for idx in 0..l {
                    let j = idx % d;
                    let e = eps[idx] * std[j];
                    eps[idx] = if idx < d {
                        beta * e
                    } else {
                        beta * e + (1.0 - beta) * eps[idx - d]
                    };
                }
                let row = &mut self.samples[c * l..(c + 1) * l];
                for idx in 0..l {
                    let j = idx % d;
                    row[idx] =
                        (mean[idx] + eps[idx]).clamp(self.bounds.low[j], self.bounds.high[j]);
                }
            }
            objective.evaluate(&self.samples, &mut self.scores);
            sanitize(&mut self.scores);
            let max = self
                .scores
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            if max == f32::NEG_INFINITY {
                continue;
            }
            let top = (0..n)
                .max_by(|&a, &b| self.scores[a].total_cmp(&self.scores[b]))
                .expect("population ≥ 1");
            if max > best.0 {
                best = (max, self.samples[top * l..(top + 1) * l].to_vec());
            }
            mean.fill(0.0);
            let mut total = 0.0f32;
            for c in 0..n {
                let w = ((self.scores[c] - max) / self.config.temperature).exp();
                total += w;
                for (m, s) in mean.iter_mut().zip(&self.samples[c * l..(c + 1) * l]) {
                    *m += w * s;
                }
            }
            for m in &mut mean {
                *m /= total;
            }
        }
        self.previous = Some(mean.clone());
        Plan {
            actions: mean,
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
        let bounds = ActionBounds::uniform(10, 2, -1.0, 1.0);
        let config = MppiConfig {
            population: 300,
            iterations: 40,
            temperature: 0.05,
            noise_std: 0.05,
            beta: 1.0,
        };
        let mut mppi = Mppi::new(config, bounds).unwrap();
        let mut q = Quadratic {
            target: target(20),
            calls: 0,
        };
        let plan = mppi.optimize(&mut q, &mut Rng::seed_from_u64(1));
        let err = max_error(&plan.actions, &q.target);
        assert!(err < 0.05, "max error {err}");
    }
}
