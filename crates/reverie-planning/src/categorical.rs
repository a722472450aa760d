//! CEM over discrete action sequences: a categorical distribution per step, refit to the
//! elites' action frequencies (mbrl-lib has no discrete planner).

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::objective::{sanitize, top_k, Objective, Optimizer, Plan, WarmStart};

/// Settings of [`CategoricalCem`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct CategoricalCemConfig {
    /// Samples per iteration.
    pub population: usize,
    /// Fraction of the population kept as elites.
    pub elite_ratio: f64,
    /// Iterations per call.
    pub iterations: usize,
    /// Momentum: p = α · p + (1 − α) · elite frequencies.
    pub alpha: f32,
    /// Weight of the uniform distribution mixed into the warm start, so that a shifted
    /// solution can still be abandoned.
    pub warm_start_mix: f32,
}

impl Default for CategoricalCemConfig {
    fn default() -> Self {
        Self {
            population: 200,
            elite_ratio: 0.1,
            iterations: 5,
            alpha: 0.1,
            warm_start_mix: 0.3,
        }
    }
}

/// CEM over sequences of `horizon` discrete actions in `0..actions`. Candidates hand the
/// objective one value per step: the action index as `f32`.
#[derive(Clone, Debug)]
pub struct CategoricalCem {
    config: CategoricalCemConfig,
    horizon: usize,
    actions: usize,
    /// `[H, actions]` warm-start probabilities.
    previous: Option<Vec<f32>>,
    samples: Vec<f32>,
    scores: Vec<f32>,
    order: Vec<usize>,
}

impl CategoricalCem {
    /// Categorical CEM over `horizon` steps of `actions` choices.
    pub fn new(
        config: CategoricalCemConfig,
        horizon: usize,
        actions: usize,
    ) -> Result<Self, String> {
        if horizon == 0 || actions < 2 || config.population < 2 || config.iterations == 0 {
            return Err(
                "categorical cem needs horizon ≥ 1, ≥ 2 actions, population ≥ 2, iterations ≥ 1"
                    .into(),
            );
        }
        let valid = config.elite_ratio > 0.0
            && config.elite_ratio <= 1.0
            && (0.0..1.0).contains(&config.alpha)
            && (0.0..=1.0).contains(&config.warm_start_mix);
        if !valid {
            return Err("categorical cem needs elite_ratio in (0, 1], 0 ≤ alpha < 1, warm_start_mix in [0, 1]".into());
        }
        Ok(Self {
            config,
            horizon,
            actions,
            previous: None,
            samples: Vec::new(),
            scores: Vec::new(),
            order: Vec::new(),
        })
    }
}

impl Optimizer for CategoricalCem {
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan {
        let (h, k, n) = (self.horizon, self.actions, self.config.population);
        let uniform = 1.0 / k as f32;
        let mut probs = match &self.previous {
            Some(p) => {
                let w = self.config.warm_start_mix;
                p.iter().map(|p| (1.0 - w) * p + w * uniform).collect()
            }
            None => vec![uniform; h * k],
        };
        let elites = ((n as f64 * self.config.elite_ratio).round() as usize).max(1);
        self.samples.resize(n * h, 0.0);
        self.scores.resize(n, 0.0);
        let mut best = (f32::NEG_INFINITY, vec![0.0; h]);
        let mut freq = vec![0.0f32; h * k];
        for _ in 0..self.config.iterations {
            for c in 0..n {
                for t in 0..h {
                    let p = &probs[t * k..(t + 1) * k];
                    let u = rng.uniform_f32() * p.iter().sum::<f32>();
                    let mut acc = 0.0;
                    let mut choice = k - 1;
                    for (a, pa) in p.iter().enumerate() {
                        acc += pa;
                        if u < acc {
                            choice = a;
                            break;
                        }
                    }
                    self.samples[c * h + t] = choice as f32;
                }
            }
            objective.evaluate(&self.samples, &mut self.scores);
            sanitize(&mut self.scores);
            top_k(&self.scores, elites, &mut self.order);
            let top = self.order[0];
            if self.scores[top] > best.0 {
                best = (
                    self.scores[top],
                    self.samples[top * h..(top + 1) * h].to_vec(),
                );
            }
            freq.fill(0.0);
            for &i in &self.order {
                for t in 0..h {
                    freq[t * k + self.samples[i * h + t] as usize] += 1.0 / self.order.len() as f32;
                }
            }
            let a = self.config.alpha;
            for (p, f) in probs.iter_mut().zip(&freq) {
                *p = a * *p + (1.0 - a) * f;
            }
        }
        self.previous = Some(probs);
        Plan {
            actions: best.1,
            value: best.0,
        }
    }

    fn advance(&mut self) {
        let k = self.actions;
        if let Some(p) = &mut self.previous {
            crate::objective::shift(p, k, &vec![1.0 / k as f32; k]);
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

    /// A sequence score with interactions between steps, so greedy per-step choice fails.
    struct Puzzle;

    impl Puzzle {
        fn score(seq: &[usize]) -> f32 {
            let target = [1, 2, 0, 2, 1, 0];
            let mut s = seq.iter().zip(target).filter(|(a, t)| **a == *t).count() as f32;
            // A combination worth more than matching the target at steps 0 and 5.
            if seq[0] == 2 && seq[5] == 2 {
                s += 3.0;
            }
            s
        }
    }

    impl Objective for Puzzle {
        fn evaluate(&mut self, candidates: &[f32], scores: &mut [f32]) {
            for (c, s) in candidates.chunks_exact(6).zip(scores.iter_mut()) {
                let seq: Vec<usize> = c.iter().map(|&a| a as usize).collect();
                *s = Self::score(&seq);
            }
        }
    }

    #[test]
    fn finds_the_best_discrete_sequence() {
        // Brute force over 3^6 sequences.
        let mut best = f32::NEG_INFINITY;
        for code in 0..729usize {
            let seq: Vec<usize> = (0..6).map(|t| (code / 3usize.pow(t)) % 3).collect();
            best = best.max(Puzzle::score(&seq));
        }
        let mut cem = CategoricalCem::new(CategoricalCemConfig::default(), 6, 3).unwrap();
        let plan = cem.optimize(&mut Puzzle, &mut Rng::seed_from_u64(5));
        assert_eq!(plan.value, best);
        assert_eq!(plan.actions[0], 2.0);
        assert_eq!(plan.actions[5], 2.0);
    }
}
