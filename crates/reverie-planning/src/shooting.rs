//! Random shooting: uniform random sequences, keep the best.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::objective::{sanitize, ActionBounds, Objective, Optimizer, Plan, WarmStart};

/// Settings of [`RandomShooting`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct RandomShootingConfig {
    /// Sequences sampled per call.
    pub population: usize,
}

impl Default for RandomShootingConfig {
    fn default() -> Self {
        Self { population: 1000 }
    }
}

/// Samples `population` uniform sequences (plus the shifted previous best) and returns the
/// best.
#[derive(Clone, Debug)]
pub struct RandomShooting {
    config: RandomShootingConfig,
    bounds: ActionBounds,
    previous: Option<Vec<f32>>,
    samples: Vec<f32>,
    scores: Vec<f32>,
}

impl RandomShooting {
    /// A random-shooting optimiser over sequences within `bounds`.
    pub fn new(config: RandomShootingConfig, bounds: ActionBounds) -> Result<Self, String> {
        bounds.validate()?;
        if config.population == 0 {
            return Err("random shooting needs population ≥ 1".into());
        }
        Ok(Self {
            config,
            bounds,
            previous: None,
            samples: Vec::new(),
            scores: Vec::new(),
        })
    }
}

impl Optimizer for RandomShooting {
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan {
        let (l, d) = (self.bounds.len(), self.bounds.dim());
        let n = self.config.population + self.previous.is_some() as usize;
        self.samples.resize(n * l, 0.0);
        for (i, v) in self.samples[..self.config.population * l]
            .iter_mut()
            .enumerate()
        {
            let (lo, hi) = (self.bounds.low[i % d], self.bounds.high[i % d]);
            *v = lo + (hi - lo) * rng.uniform_f32();
        }
        if let Some(prev) = &self.previous {
            self.samples[self.config.population * l..].copy_from_slice(prev);
        }
        self.scores.resize(n, 0.0);
        objective.evaluate(&self.samples, &mut self.scores);
        sanitize(&mut self.scores);
        let best = (0..n)
            .max_by(|&a, &b| self.scores[a].total_cmp(&self.scores[b]))
            .expect("population ≥ 1");
        let actions = self.samples[best * l..(best + 1) * l].to_vec();
        self.previous = Some(actions.clone());
        Plan {
            actions,
            value: self.scores[best],
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
    use crate::objective::test_objectives::{target, Quadratic};

    #[test]
    fn finds_a_good_sequence_on_a_short_horizon() {
        let bounds = ActionBounds::uniform(2, 1, -1.0, 1.0);
        let mut rs =
            RandomShooting::new(RandomShootingConfig { population: 5000 }, bounds).unwrap();
        let mut q = Quadratic {
            target: target(2),
            calls: 0,
        };
        let plan = rs.optimize(&mut q, &mut Rng::seed_from_u64(0));
        assert!(plan.value > -0.01, "{}", plan.value);
    }
}
