//! iCEM (Pinneri et al. 2020): CEM with temporally coloured sampling noise, elites carried
//! over between iterations and between steps, a population that shrinks every iteration,
//! and the best sequence ever seen returned. It needs far fewer model evaluations than CEM.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::cem::EliteGaussian;
use crate::objective::{ActionBounds, Objective, Optimizer, Plan, WarmStart};

/// Settings of [`ICem`] (defaults follow the paper's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct ICemConfig {
    /// Samples in the first iteration.
    pub population: usize,
    /// Population divides by this each iteration (γ), down to 2 × elites.
    pub population_decay: f64,
    /// Number of elites (K).
    pub elites: usize,
    /// Iterations per call.
    pub iterations: usize,
    /// Momentum on μ and σ², as in CEM.
    pub alpha: f32,
    /// Initial σ as a fraction of each dimension's range.
    pub init_std: f32,
    /// Noise colour β: power spectrum ∝ 1/f^β (0 white; 2 to 3 suit smooth control).
    pub noise_beta: f32,
    /// Fraction of the elites carried into the next iteration (and, shifted, the next step).
    pub keep_elites: f64,
}

impl Default for ICemConfig {
    fn default() -> Self {
        Self {
            population: 150,
            population_decay: 1.25,
            elites: 10,
            iterations: 3,
            alpha: 0.1,
            init_std: 0.25,
            noise_beta: 2.0,
            keep_elites: 0.3,
        }
    }
}

/// Generates unit-variance noise sequences whose power spectrum falls as 1/f^β.
#[derive(Clone, Debug)]
pub(crate) struct ColoredNoise {
    horizon: usize,
    /// `[k, t]`: S_k cos(2πkt/H) / norm and S_k sin(2πkt/H) / norm.
    cos: Vec<f32>,
    sin: Vec<f32>,
    coefficients: Vec<f32>,
}

impl ColoredNoise {
    pub(crate) fn new(horizon: usize, beta: f32) -> Self {
        let freqs = horizon / 2 + 1;
        let scale: Vec<f32> = (0..freqs)
            .map(|k| {
                // The zero frequency gets the lowest resolvable one's weight.
                let f = (k.max(1) as f32) / horizon as f32;
                f.powf(-beta / 2.0)
            })
            .collect();
        // Each frequency adds S_k² to the variance of every step.
        let norm = scale.iter().map(|s| s * s).sum::<f32>().sqrt();
        let (mut cos, mut sin) = (Vec::new(), Vec::new());
        for (k, s) in scale.iter().enumerate() {
            for t in 0..horizon {
                let phase = std::f32::consts::TAU * (k * t) as f32 / horizon as f32;
                cos.push(s * phase.cos() / norm);
                sin.push(s * phase.sin() / norm);
            }
        }
        Self {
            horizon,
            cos,
            sin,
            coefficients: vec![0.0; 2 * freqs],
        }
    }

    /// Writes one sequence into `out[t * stride]` for t < H.
    pub(crate) fn sample(&mut self, rng: &mut Rng, out: &mut [f32], stride: usize) {
        let h = self.horizon;
        reverie_core::rng::fill_normal(rng, &mut self.coefficients);
        for t in 0..h {
            out[t * stride] = 0.0;
        }
        let freqs = self.coefficients.len() / 2;
        for k in 0..freqs {
            let (a, b) = (self.coefficients[2 * k], self.coefficients[2 * k + 1]);
            let (c, s) = (&self.cos[k * h..(k + 1) * h], &self.sin[k * h..(k + 1) * h]);
            for t in 0..h {
                out[t * stride] += a * c[t] + b * s[t];
            }
        }
    }
}

/// iCEM over continuous sequences.
#[derive(Clone, Debug)]
pub struct ICem {
    config: ICemConfig,
    bounds: ActionBounds,
    noise: ColoredNoise,
    previous: Option<Vec<f32>>,
    /// Elites of the last call, `[k, l]`, shifted on `advance`.
    carried: Vec<f32>,
    samples: Vec<f32>,
    scores: Vec<f32>,
    order: Vec<usize>,
}

impl ICem {
    /// iCEM over sequences within `bounds`.
    pub fn new(config: ICemConfig, bounds: ActionBounds) -> Result<Self, String> {
        bounds.validate()?;
        if config.elites == 0 || config.population < 2 * config.elites || config.iterations == 0 {
            return Err("icem needs elites ≥ 1, population ≥ 2·elites and iterations ≥ 1".into());
        }
        if config.population_decay < 1.0 || !(0.0..=1.0).contains(&config.keep_elites) {
            return Err("icem needs population_decay ≥ 1 and keep_elites in [0, 1]".into());
        }
        Ok(Self {
            noise: ColoredNoise::new(bounds.horizon, config.noise_beta),
            config,
            bounds,
            previous: None,
            carried: Vec::new(),
            samples: Vec::new(),
            scores: Vec::new(),
            order: Vec::new(),
        })
    }

    /// Population of iteration `i`.
    fn population(&self, i: usize) -> usize {
        let n = self.config.population as f64 / self.config.population_decay.powi(i as i32);
        (n as usize).max(2 * self.config.elites)
    }
}

impl Optimizer for ICem {
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan {
        let (l, d) = (self.bounds.len(), self.bounds.dim());
        let mut g = EliteGaussian::new(
            self.previous
                .clone()
                .unwrap_or_else(|| self.bounds.midpoint()),
            self.bounds.initial_variance(self.config.init_std),
        );
        let keep = (self.config.elites as f64 * self.config.keep_elites).round() as usize;
        let iterations = self.config.iterations;
        for it in 0..iterations {
            let fresh = self.population(it);
            let carried = (self.carried.len() / l).min(keep);
            let add_mean = it + 1 == iterations;
            let n = fresh + carried + add_mean as usize;
            self.samples.resize(n * l, 0.0);
            for c in 0..fresh {
                for j in 0..d {
                    let row = &mut self.samples[c * l..(c + 1) * l];
                    self.noise.sample(rng, &mut row[j..], d);
                }
            }
            for (idx, s) in self.samples[..fresh * l].iter_mut().enumerate() {
                let j = idx % l;
                *s = (g.mu[j] + g.var[j].sqrt() * *s)
                    .clamp(self.bounds.low[j % d], self.bounds.high[j % d]);
            }
            self.samples[fresh * l..(fresh + carried) * l]
                .copy_from_slice(&self.carried[..carried * l]);
            if add_mean {
                self.samples[(n - 1) * l..].copy_from_slice(&g.mu);
            }
            self.scores.resize(n, 0.0);
            g.refit(
                objective,
                &self.samples,
                &mut self.scores,
                &mut self.order,
                self.config.elites,
                self.config.alpha,
            );
            self.carried.clear();
            for &i in &self.order {
                self.carried
                    .extend_from_slice(&self.samples[i * l..(i + 1) * l]);
            }
        }
        self.previous = Some(g.mu);
        Plan {
            actions: g.best.1,
            value: g.best.0,
        }
    }

    fn advance(&mut self) {
        if let Some(prev) = &mut self.previous {
            self.bounds.shift_warm_start(prev);
        }
        for e in self.carried.chunks_exact_mut(self.bounds.len()) {
            self.bounds.shift_warm_start(e);
        }
    }

    fn reset(&mut self) {
        self.previous = None;
        self.carried.clear();
    }

    fn warm_start(&self) -> WarmStart {
        WarmStart {
            previous: self.previous.clone(),
            kept: self.carried.clone(),
        }
    }

    fn set_warm_start(&mut self, warm: WarmStart) {
        self.previous = warm.previous;
        self.carried = warm.kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::test_objectives::{max_error, target, Quadratic};

    #[test]
    fn colored_noise_has_unit_variance_and_is_smooth() {
        let (h, n) = (30, 4000);
        let mut gen = ColoredNoise::new(h, 2.0);
        let mut white = ColoredNoise::new(h, 0.0);
        let mut rng = Rng::seed_from_u64(3);
        let mut seq = vec![0.0f32; h];
        let (mut var, mut lag1_colored, mut lag1_white) = (0.0f64, 0.0f64, 0.0f64);
        for _ in 0..n {
            gen.sample(&mut rng, &mut seq, 1);
            var += seq.iter().map(|x| (x * x) as f64).sum::<f64>() / h as f64;
            lag1_colored +=
                seq.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>() / (h - 1) as f64;
            white.sample(&mut rng, &mut seq, 1);
            lag1_white +=
                seq.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>() / (h - 1) as f64;
        }
        let var = var / n as f64;
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        // Pink-ish noise is strongly correlated step to step; white noise is not.
        assert!(lag1_colored / n as f64 > 0.7, "{}", lag1_colored / n as f64);
        assert!(
            (lag1_white / n as f64).abs() < 0.1,
            "{}",
            lag1_white / n as f64
        );
    }

    #[test]
    fn reaches_the_optimum_of_a_quadratic() {
        let bounds = ActionBounds::uniform(5, 2, -1.0, 1.0);
        let config = ICemConfig {
            population: 400,
            iterations: 20,
            population_decay: 1.25,
            noise_beta: 0.0,
            ..Default::default()
        };
        let mut icem = ICem::new(config, bounds).unwrap();
        let mut q = Quadratic {
            target: target(10),
            calls: 0,
        };
        let plan = icem.optimize(&mut q, &mut Rng::seed_from_u64(1));
        let err = max_error(&plan.actions, &q.target);
        assert!(err < 0.05, "max error {err}");
        // Fewer evaluations than CEM's 200 × 25.
        assert!(q.calls < 400 * 20 / 2, "{}", q.calls);
    }
}
