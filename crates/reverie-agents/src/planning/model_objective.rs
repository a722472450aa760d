//! Scoring action sequences by imagined rollouts through a learned ensemble.

use reverie_core::Rng;
use reverie_models::{DynamicsModel, KnownFunctions, Propagation, StepOutputs};
use reverie_planning::{Objective, TerminalValue};
use serde::{Deserialize, Serialize};

/// Settings of a [`ModelObjective`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct ModelObjectiveConfig {
    /// Particles per candidate (PETS: 20).
    pub particles: usize,
    /// Discount of imagined rewards (PETS: 1).
    pub discount: f32,
    /// How particles use the members (PETS: TS∞, `fixed-member`).
    pub propagation: Propagation,
    /// Sample next states from a probabilistic model's Gaussian (PETS: yes).
    pub sample: bool,
}

impl Default for ModelObjectiveConfig {
    fn default() -> Self {
        Self {
            particles: 20,
            discount: 1.0,
            propagation: Propagation::FixedMember,
            sample: true,
        }
    }
}

/// How a planned action becomes model input.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionEncoding {
    /// A box action, clipped to `[low, high]` as the env clips it.
    Continuous {
        /// Lower bounds.
        low: Vec<f32>,
        /// Upper bounds.
        high: Vec<f32>,
    },
    /// A discrete action index, one-hot over `n` (with the space's `start` removed).
    Discrete {
        /// Number of actions.
        n: usize,
    },
}

impl ActionEncoding {
    /// Values per planned step.
    pub fn plan_dim(&self) -> usize {
        match self {
            ActionEncoding::Continuous { low, .. } => low.len(),
            ActionEncoding::Discrete { .. } => 1,
        }
    }

    /// Values per model input.
    pub fn model_dim(&self) -> usize {
        match self {
            ActionEncoding::Continuous { low, .. } => low.len(),
            ActionEncoding::Discrete { n } => *n,
        }
    }

    fn encode(&self, planned: &[f32], out: &mut [f32]) {
        match self {
            ActionEncoding::Continuous { low, high } => {
                for (((o, a), l), h) in out.iter_mut().zip(planned).zip(low).zip(high) {
                    *o = a.clamp(*l, *h);
                }
            }
            ActionEncoding::Discrete { n } => {
                out.fill(0.0);
                out[(planned[0].max(0.0) as usize).min(n - 1)] = 1.0;
            }
        }
    }
}

/// Rolls every candidate out with P particles through a [`DynamicsModel`] from a start
/// observation, and scores it by the mean discounted return over its particles.
///
/// Under TS∞ particle p of every candidate uses the same elite (`elites[(p + o) % E]`, `o`
/// drawn per call): the candidates are compared under common random models, which ranks
/// them with less noise than independent draws, and every elite gets an equal share.
pub struct ModelObjective {
    dynamics: Box<dyn DynamicsModel>,
    known: KnownFunctions,
    config: ModelObjectiveConfig,
    encoding: ActionEncoding,
    horizon: usize,
    start: Vec<f32>,
    terminal_value: Option<TerminalValue>,
    one_hot: bool,
    rng: Rng,
    obs: Vec<f32>,
    next: Vec<f32>,
    actions: Vec<f32>,
    member: Vec<usize>,
    reward: Vec<f32>,
    termination: Vec<f32>,
    alive: Vec<bool>,
    returns: Vec<f32>,
    values: Vec<f32>,
}

impl ModelObjective {
    /// An objective over `horizon`-step sequences.
    pub fn new(
        dynamics: Box<dyn DynamicsModel>,
        known: KnownFunctions,
        config: ModelObjectiveConfig,
        encoding: ActionEncoding,
        horizon: usize,
        rng: Rng,
    ) -> Result<Self, String> {
        if config.particles == 0 || horizon == 0 {
            return Err("model objective needs particles ≥ 1 and horizon ≥ 1".into());
        }
        if !(config.discount > 0.0 && config.discount <= 1.0) {
            return Err(format!(
                "discount must be in (0, 1], got {}",
                config.discount
            ));
        }
        if encoding.model_dim() != dynamics.act_dim() {
            return Err(format!(
                "the model takes {}-wide actions but the action encoding gives {}",
                dynamics.act_dim(),
                encoding.model_dim()
            ));
        }
        let start = vec![0.0; dynamics.obs_dim()];
        Ok(Self {
            dynamics,
            known,
            config,
            encoding,
            horizon,
            start,
            terminal_value: None,
            one_hot: false,
            rng,
            obs: Vec::new(),
            next: Vec::new(),
            actions: Vec::new(),
            member: Vec::new(),
            reward: Vec::new(),
            termination: Vec::new(),
            alive: Vec::new(),
            returns: Vec::new(),
            values: Vec::new(),
        })
    }

    /// The generator particles and member choices draw from (for checkpoints).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    /// Restores [`ModelObjective::rng`].
    pub fn set_rng(&mut self, rng: Rng) {
        self.rng = rng;
    }

    /// Replaces the model (after retraining).
    pub fn set_dynamics(&mut self, dynamics: Box<dyn DynamicsModel>) {
        assert_eq!(dynamics.obs_dim(), self.dynamics.obs_dim());
        assert_eq!(dynamics.act_dim(), self.dynamics.act_dim());
        self.dynamics = dynamics;
    }

    /// Sets the real observation rollouts start from.
    pub fn set_start(&mut self, obs: &[f32]) {
        self.start.copy_from_slice(obs);
    }

    /// Adds `V(s_H)` to returns (value bootstrap: short horizon + value).
    pub fn set_terminal_value(&mut self, value: Option<TerminalValue>) {
        self.terminal_value = value;
    }

    /// Treats observations as one-hot codes of a discrete state: every predicted next
    /// observation is snapped to the one-hot vector of its largest entry, so errors cannot
    /// accumulate between discrete states.
    pub fn set_one_hot_observations(&mut self, one_hot: bool) {
        self.one_hot = one_hot;
    }

    /// The model used.
    pub fn dynamics(&self) -> &dyn DynamicsModel {
        self.dynamics.as_ref()
    }

    fn assign_members(&mut self, rows: usize, per_candidate: usize) {
        let elites = self.dynamics.members();
        let e = elites.len();
        self.member.resize(rows, 0);
        match self.config.propagation {
            Propagation::FixedMember => {
                let offset = self.rng.index(e);
                for (r, m) in self.member.iter_mut().enumerate() {
                    *m = elites[(r % per_candidate + offset) % e];
                }
            }
            Propagation::RandomMember => {
                for m in self.member.iter_mut() {
                    *m = elites[self.rng.index(e)];
                }
            }
            Propagation::Expectation => {
                // Each particle is one row per elite; their predictions are averaged.
                for (r, m) in self.member.iter_mut().enumerate() {
                    *m = elites[r % e];
                }
            }
        }
    }
}

impl Objective for ModelObjective {
    fn evaluate(&mut self, candidates: &[f32], scores: &mut [f32]) {
        let (o, pa, ma) = (
            self.dynamics.obs_dim(),
            self.encoding.plan_dim(),
            self.encoding.model_dim(),
        );
        let h = self.horizon;
        let n = scores.len();
        assert_eq!(candidates.len(), n * h * pa, "candidates [n, H, A]");
        let expectation = self.config.propagation == Propagation::Expectation;
        let group = if expectation {
            self.dynamics.members().len()
        } else {
            1
        };
        let particles = if expectation {
            1
        } else {
            self.config.particles
        };
        let per_candidate = particles * group;
        let rows = n * per_candidate;
        self.obs.resize(rows * o, 0.0);
        for row in self.obs.chunks_exact_mut(o) {
            row.copy_from_slice(&self.start);
        }
        self.next.resize(rows * o, 0.0);
        self.actions.resize(rows * ma, 0.0);
        self.reward.resize(rows, 0.0);
        self.termination.resize(rows, 0.0);
        self.alive.clear();
        self.alive.resize(rows, true);
        self.returns.clear();
        self.returns.resize(rows, 0.0);
        self.assign_members(rows, per_candidate);
        let sample = self.config.sample && !expectation;
        let learned_done = self.dynamics.has_termination_head();
        let mut discount = 1.0f32;
        for t in 0..h {
            for r in 0..rows {
                let c = r / per_candidate;
                let planned = &candidates[(c * h + t) * pa..(c * h + t + 1) * pa];
                self.encoding
                    .encode(planned, &mut self.actions[r * ma..(r + 1) * ma]);
            }
            self.dynamics.step(
                &self.obs,
                &self.actions,
                &self.member,
                if sample { Some(&mut self.rng) } else { None },
                StepOutputs {
                    next_obs: &mut self.next,
                    reward: &mut self.reward,
                    termination_prob: if learned_done {
                        Some(&mut self.termination)
                    } else {
                        None
                    },
                },
            );
            if expectation {
                for g in 0..rows / group {
                    let span = g * group..(g + 1) * group;
                    for j in 0..o {
                        let mean =
                            span.clone().map(|r| self.next[r * o + j]).sum::<f32>() / group as f32;
                        for r in span.clone() {
                            self.next[r * o + j] = mean;
                        }
                    }
                    for v in [&mut self.reward, &mut self.termination] {
                        let mean = span.clone().map(|r| v[r]).sum::<f32>() / group as f32;
                        for r in span.clone() {
                            v[r] = mean;
                        }
                    }
                }
            }
            if self.one_hot {
                for row in self.next.chunks_exact_mut(o) {
                    let best = (0..o)
                        .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                        .unwrap_or(0);
                    row.fill(0.0);
                    row[best] = 1.0;
                }
            }
            for r in 0..rows {
                if !self.alive[r] {
                    continue;
                }
                let (s, a, s2) = (
                    &self.obs[r * o..(r + 1) * o],
                    &self.actions[r * ma..(r + 1) * ma],
                    &self.next[r * o..(r + 1) * o],
                );
                let learned_prob = learned_done.then(|| self.termination[r]);
                let (reward, done) = self.known.resolve(s, a, s2, self.reward[r], learned_prob);
                self.returns[r] += discount * reward;
                if done {
                    self.alive[r] = false;
                }
            }
            std::mem::swap(&mut self.obs, &mut self.next);
            discount *= self.config.discount;
        }
        if let Some(v) = &mut self.terminal_value {
            self.values.resize(rows, 0.0);
            v(&self.obs, &mut self.values);
            for r in 0..rows {
                if self.alive[r] {
                    self.returns[r] += discount * self.values[r];
                }
            }
        }
        for (c, s) in scores.iter_mut().enumerate() {
            let total: f32 = self.returns[c * per_candidate..(c + 1) * per_candidate]
                .iter()
                .sum();
            let mean = total / per_candidate as f32;
            *s = if mean.is_finite() {
                mean
            } else {
                f32::NEG_INFINITY
            };
        }
    }
}
