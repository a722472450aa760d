//! Gradient-based planning: Adam ascent on a few action sequences at once, through an
//! objective that can differentiate its score with respect to the actions.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::objective::{sanitize, ActionBounds, Objective, Plan};

/// An objective that also returns d score / d actions.
pub trait DifferentiableObjective: Objective {
    /// Writes scores `[n]` and gradients `[n, H, A]` (the layout of `candidates`).
    fn value_and_grad(&mut self, candidates: &[f32], scores: &mut [f32], grads: &mut [f32]);
}

/// Settings of [`GradientPlanner`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct GradientPlannerConfig {
    /// Sequences optimised in parallel (the first starts at the warm start).
    pub candidates: usize,
    /// Adam steps per call.
    pub steps: usize,
    /// Adam step size as a fraction of each dimension's range.
    pub lr: f32,
    /// Spread of the other starting sequences, as a fraction of the range.
    pub init_std: f32,
}

impl Default for GradientPlannerConfig {
    fn default() -> Self {
        Self {
            candidates: 16,
            steps: 50,
            lr: 0.02,
            init_std: 0.25,
        }
    }
}

/// Adam on action sequences, projected onto the bounds after every step.
#[derive(Clone, Debug)]
pub struct GradientPlanner {
    config: GradientPlannerConfig,
    bounds: ActionBounds,
    previous: Option<Vec<f32>>,
}

impl GradientPlanner {
    /// A gradient planner over sequences within `bounds`.
    pub fn new(config: GradientPlannerConfig, bounds: ActionBounds) -> Result<Self, String> {
        bounds.validate()?;
        if config.candidates == 0 || config.steps == 0 || config.lr <= 0.0 {
            return Err("gradient planner needs candidates ≥ 1, steps ≥ 1 and lr > 0".into());
        }
        Ok(Self {
            config,
            bounds,
            previous: None,
        })
    }

    /// Optimises through `objective`'s gradients.
    pub fn optimize_differentiable(
        &mut self,
        objective: &mut dyn DifferentiableObjective,
        rng: &mut Rng,
    ) -> Plan {
        let (l, d) = (self.bounds.len(), self.bounds.dim());
        let n = self.config.candidates;
        let start = self
            .previous
            .clone()
            .unwrap_or_else(|| self.bounds.midpoint());
        let range: Vec<f32> = (0..l)
            .map(|j| self.bounds.high[j % d] - self.bounds.low[j % d])
            .collect();
        let mut x = Vec::with_capacity(n * l);
        for c in 0..n {
            for j in 0..l {
                let noise = if c == 0 {
                    0.0
                } else {
                    self.config.init_std * range[j] * rng.normal() as f32
                };
                x.push(start[j] + noise);
            }
        }
        self.bounds.clamp(&mut x);
        let (mut m, mut v) = (vec![0.0f32; n * l], vec![0.0f32; n * l]);
        let (mut scores, mut grads) = (vec![0.0f32; n], vec![0.0f32; n * l]);
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let mut best = (f32::NEG_INFINITY, start.clone());
        for step in 1..=self.config.steps {
            objective.value_and_grad(&x, &mut scores, &mut grads);
            sanitize(&mut scores);
            for c in 0..n {
                if scores[c] > best.0 {
                    best = (scores[c], x[c * l..(c + 1) * l].to_vec());
                }
            }
            let (c1, c2) = (1.0 - b1.powi(step as i32), 1.0 - b2.powi(step as i32));
            for i in 0..n * l {
                let g = if grads[i].is_finite() { grads[i] } else { 0.0 };
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                // Ascent: the score is maximised.
                x[i] += self.config.lr * range[i % l] * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
            }
            self.bounds.clamp(&mut x);
        }
        objective.evaluate(&x, &mut scores);
        sanitize(&mut scores);
        for c in 0..n {
            if scores[c] > best.0 {
                best = (scores[c], x[c * l..(c + 1) * l].to_vec());
            }
        }
        self.previous = Some(best.1.clone());
        Plan {
            actions: best.1,
            value: best.0,
        }
    }

    /// Shifts the kept solution one step.
    pub fn advance(&mut self) {
        if let Some(prev) = &mut self.previous {
            self.bounds.shift_warm_start(prev);
        }
    }

    /// Forgets the kept solution.
    pub fn reset(&mut self) {
        self.previous = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::test_objectives::{max_error, target, Quadratic};

    impl DifferentiableObjective for Quadratic {
        fn value_and_grad(&mut self, candidates: &[f32], scores: &mut [f32], grads: &mut [f32]) {
            self.evaluate(candidates, scores);
            for (g, (c, t)) in grads
                .iter_mut()
                .zip(candidates.iter().zip(self.target.iter().cycle()))
            {
                *g = -2.0 * (c - t);
            }
        }
    }

    #[test]
    fn reaches_the_optimum_of_a_quadratic() {
        let bounds = ActionBounds::uniform(10, 2, -1.0, 1.0);
        let config = GradientPlannerConfig {
            candidates: 4,
            steps: 300,
            ..Default::default()
        };
        let mut planner = GradientPlanner::new(config, bounds).unwrap();
        let mut q = Quadratic {
            target: target(20),
            calls: 0,
        };
        let plan = planner.optimize_differentiable(&mut q, &mut Rng::seed_from_u64(1));
        let err = max_error(&plan.actions, &q.target);
        assert!(err < 0.01, "max error {err}");
    }
}
