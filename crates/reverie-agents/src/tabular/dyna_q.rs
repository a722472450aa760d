//! Dyna-Q and Dyna-Q+ (Sutton 1990, 1991; Sutton & Barto 2nd ed. §8.2–8.3).
//!
//! After every real step: one Q-learning update from the real transition, a model update,
//! then `planning_steps` updates on transitions replayed from the learned model. With
//! `model = "distribution"` the model counts outcomes and planning makes expected updates
//! (correct in stochastic envs such as slippery FrozenLake, where a last-outcome model is
//! wrong). With `kappa > 0` it is Dyna-Q+: planning adds the bonus `κ √τ` to the reward of
//! `(s, a)` not tried for `τ` real steps, and actions never tried in a visited state are
//! modelled as leading back to it with reward 0.

use serde::{Deserialize, Serialize};

use reverie_core::{Action, Observation, PerEnvAgent, Rng, Space, Transition};

use super::model::{CountModel, DeterministicModel, Outcome};
use super::q_learning::state_index;
use super::{discrete_sizes, linear_epsilon, QTable};
use crate::error::{require, AgentError};
use crate::Algorithm;
use reverie_core::snapshot;

/// Which model planning replays from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The last outcome of each `(s, a)`: exact for deterministic envs.
    #[default]
    Deterministic,
    /// Outcome counts with expected updates: right for stochastic envs.
    Distribution,
}

/// Hyperparameters of [`DynaQ`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct DynaQConfig {
    /// Step size α, in (0, 1].
    pub alpha: f64,
    /// Discount factor γ, in [0, 1].
    pub gamma: f64,
    /// Exploration rate ε at the first step.
    pub epsilon_start: f64,
    /// Exploration rate ε after `epsilon_decay_steps` steps.
    pub epsilon_end: f64,
    /// Steps over which ε decays linearly (0: ε stays at `epsilon_start`).
    pub epsilon_decay_steps: u64,
    /// Initial value of every Q entry.
    pub initial_q: f64,
    /// Model updates per real step (n; 0 is plain Q-learning).
    pub planning_steps: usize,
    /// `"deterministic"` (last outcome) or `"distribution"` (counts, expected updates).
    pub model: ModelKind,
    /// Dyna-Q+ exploration bonus κ (0: plain Dyna-Q). Needs the deterministic model.
    pub kappa: f64,
}

impl Default for DynaQConfig {
    fn default() -> Self {
        // Sutton & Barto's Figure 8.2 settings.
        Self {
            alpha: 0.1,
            gamma: 0.95,
            epsilon_start: 0.1,
            epsilon_end: 0.1,
            epsilon_decay_steps: 0,
            initial_q: 0.0,
            planning_steps: 5,
            model: ModelKind::Deterministic,
            kappa: 0.0,
        }
    }
}

impl DynaQConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        require(
            self.alpha > 0.0 && self.alpha <= 1.0,
            "alpha",
            self.alpha,
            "in (0, 1]",
        )?;
        require(
            (0.0..=1.0).contains(&self.gamma),
            "gamma",
            self.gamma,
            "in [0, 1]",
        )?;
        for (key, eps) in [
            ("epsilon_start", self.epsilon_start),
            ("epsilon_end", self.epsilon_end),
        ] {
            require((0.0..=1.0).contains(&eps), key, eps, "in [0, 1]")?;
        }
        require(
            self.initial_q.is_finite(),
            "initial_q",
            self.initial_q,
            "finite",
        )?;
        require(
            self.kappa >= 0.0 && self.kappa.is_finite(),
            "kappa",
            self.kappa,
            ">= 0",
        )?;
        require(
            self.kappa == 0.0 || self.model == ModelKind::Deterministic,
            "kappa",
            self.kappa,
            "0 with model = \"distribution\" (Dyna-Q+ needs the deterministic model)",
        )?;
        Ok(())
    }

    /// Builds the agent for an env with these spaces.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        rng: Rng,
    ) -> Result<DynaQ, AgentError> {
        self.validate()?;
        let name = if self.kappa > 0.0 {
            "dyna-q-plus"
        } else {
            "dyna-q"
        };
        let (states, actions) = discrete_sizes(name, observation_space, action_space)?;
        Ok(DynaQ::new(self.clone(), states, actions, rng))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum TabularModel {
    Deterministic(DeterministicModel),
    Distribution(CountModel),
}

/// Dyna-Q / Dyna-Q+ over a Q-table (see the module docs).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DynaQ {
    /// Not saved: a checkpoint loads into an agent built from the run's config.
    #[serde(skip)]
    config: DynaQConfig,
    q: QTable,
    model: TabularModel,
    /// Real step at which each `(s, a)` was last tried (Dyna-Q+).
    last_tried: Vec<u64>,
    rng: Rng,
    steps: u64,
    updates: u64,
}

impl DynaQ {
    /// An agent for `n_states × n_actions` (config assumed valid).
    pub fn new(config: DynaQConfig, n_states: usize, n_actions: usize, rng: Rng) -> Self {
        let model = match config.model {
            ModelKind::Deterministic => {
                TabularModel::Deterministic(DeterministicModel::new(n_states, n_actions))
            }
            ModelKind::Distribution => {
                TabularModel::Distribution(CountModel::new(n_states, n_actions))
            }
        };
        Self {
            q: QTable::new(n_states, n_actions, config.initial_q),
            last_tried: vec![0; n_states * n_actions],
            config,
            model,
            rng,
            steps: 0,
            updates: 0,
        }
    }

    /// The learned action values.
    pub fn q_table(&self) -> &QTable {
        &self.q
    }

    /// Q-value updates made so far, real and planned.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Current exploration rate.
    pub fn epsilon(&self) -> f64 {
        linear_epsilon(
            self.config.epsilon_start,
            self.config.epsilon_end,
            self.config.epsilon_decay_steps,
            self.steps,
        )
    }

    /// The count model (only with `model = "distribution"`).
    pub fn count_model(&self) -> Option<&CountModel> {
        match &self.model {
            TabularModel::Distribution(m) => Some(m),
            TabularModel::Deterministic(_) => None,
        }
    }

    /// ε-greedy (or greedy when `explore` is false) action in state `s`.
    #[inline]
    pub fn act_index(&mut self, s: usize, explore: bool) -> usize {
        if explore && self.rng.bernoulli(self.epsilon()) {
            self.rng.index(self.q.n_actions())
        } else {
            self.q.greedy(s, &mut self.rng)
        }
    }

    #[inline]
    fn sample_update(
        &mut self,
        s: usize,
        a: usize,
        reward: f64,
        next: usize,
        terminated: bool,
    ) -> f64 {
        let target = if terminated {
            reward
        } else {
            reward + self.config.gamma * self.q.max(next)
        };
        let q = self.q.get_mut(s, a);
        let td = target - *q;
        *q += self.config.alpha * td;
        self.updates += 1;
        td
    }

    /// One real transition: direct update, model update, then planning. Returns the real
    /// TD error.
    pub fn learn(&mut self, s: usize, a: usize, reward: f64, next: usize, terminated: bool) -> f64 {
        self.steps += 1;
        let td = self.sample_update(s, a, reward, next, terminated);
        let outcome = Outcome {
            next,
            reward,
            terminated,
        };
        match &mut self.model {
            TabularModel::Deterministic(m) => m.record(s, a, outcome),
            TabularModel::Distribution(m) => m.record(s, a, outcome),
        }
        self.last_tried[s * self.q.n_actions() + a] = self.steps;
        self.plan(self.config.planning_steps);
        td
    }

    /// `n` planning updates from the model.
    pub fn plan(&mut self, n: usize) {
        for _ in 0..n {
            match &self.model {
                TabularModel::Deterministic(model) if self.config.kappa > 0.0 => {
                    let s = model.sample_state(&mut self.rng);
                    let a = self.rng.index(self.q.n_actions());
                    // Never-tried actions are modelled as "stay, reward 0" (Dyna-Q+).
                    let o = model.outcome(s, a).unwrap_or(Outcome {
                        next: s,
                        reward: 0.0,
                        terminated: false,
                    });
                    let tau = (self.steps - self.last_tried[s * self.q.n_actions() + a]) as f64;
                    let reward = o.reward + self.config.kappa * tau.sqrt();
                    self.sample_update(s, a, reward, o.next, o.terminated);
                }
                TabularModel::Deterministic(model) => {
                    let (s, a, o) = model.sample(&mut self.rng);
                    self.sample_update(s, a, o.reward, o.next, o.terminated);
                }
                TabularModel::Distribution(model) => {
                    let (s, a) = model.sample(&mut self.rng);
                    let q = &self.q;
                    let target = model.expected_target(s, a, self.config.gamma, |n| q.max(n));
                    let entry = self.q.get_mut(s, a);
                    *entry += self.config.alpha * (target - *entry);
                    self.updates += 1;
                }
            }
        }
    }
}

impl PerEnvAgent for DynaQ {
    fn act_one(&mut self, obs: &Observation, explore: bool) -> Action {
        Action::Discrete(self.act_index(state_index(obs), explore) as i64)
    }

    fn observe_one(&mut self, t: &Transition<'_>) -> Vec<(&'static str, f64)> {
        let a = t.action.as_discrete().expect("discrete action") as usize;
        let td = self.learn(
            state_index(t.obs),
            a,
            t.reward,
            state_index(t.next_obs),
            t.terminated,
        );
        vec![
            ("losses/td_error", td.abs()),
            ("charts/epsilon", self.epsilon()),
        ]
    }

    fn checkpoint(&self) -> Vec<u8> {
        // Dyna-Q+ is Dyna-Q with κ > 0: one struct, one kind of checkpoint.
        snapshot::save(Algorithm::DynaQ.name(), self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let saved: DynaQ =
            snapshot::load(Algorithm::DynaQ.name(), bytes).map_err(|e| e.to_string())?;
        self.q.check_same_shape(&saved.q)?;
        if std::mem::discriminant(&saved.model) != std::mem::discriminant(&self.model) {
            return Err("the saved model is of another kind (deterministic / distribution)".into());
        }
        *self = Self {
            config: self.config.clone(),
            ..saved
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests;
