//! Q-learning (Watkins 1989): off-policy TD control with an ε-greedy behaviour policy.

use serde::{Deserialize, Serialize};

use reverie_core::{Action, Observation, PerEnvAgent, Rng, Space, Transition};

use super::{discrete_sizes, QTable};
use crate::error::{require, AgentError};
use crate::Algorithm;
use reverie_core::snapshot;

/// Hyperparameters of [`QLearning`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct QLearningConfig {
    /// Step size α of the TD update, in (0, 1].
    pub alpha: f64,
    /// Discount factor γ, in [0, 1].
    pub gamma: f64,
    /// Exploration rate ε at the first step.
    pub epsilon_start: f64,
    /// Exploration rate ε after `epsilon_decay_steps` steps.
    pub epsilon_end: f64,
    /// Steps over which ε decays linearly from start to end (0: ε stays at `epsilon_start`).
    pub epsilon_decay_steps: u64,
    /// Initial value of every Q entry (optimism drives exploration).
    pub initial_q: f64,
}

impl Default for QLearningConfig {
    fn default() -> Self {
        Self {
            alpha: 0.1,
            gamma: 0.99,
            epsilon_start: 1.0,
            epsilon_end: 0.05,
            epsilon_decay_steps: 10_000,
            initial_q: 0.0,
        }
    }
}

impl QLearningConfig {
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
        Ok(())
    }

    /// ε after `step` steps of training.
    pub fn epsilon(&self, step: u64) -> f64 {
        super::linear_epsilon(
            self.epsilon_start,
            self.epsilon_end,
            self.epsilon_decay_steps,
            step,
        )
    }

    /// Builds the agent for an env with these spaces.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        rng: Rng,
    ) -> Result<QLearning, AgentError> {
        self.validate()?;
        let (states, actions) = discrete_sizes("q-learning", observation_space, action_space)?;
        Ok(QLearning {
            config: self.clone(),
            q: QTable::new(states, actions, self.initial_q),
            rng,
            steps: 0,
        })
    }
}

/// Tabular Q-learning: `Q(s,a) += α [r + γ max_a' Q(s',a') − Q(s,a)]`, bootstrapping
/// through truncation but not through termination.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QLearning {
    /// Not saved: a checkpoint loads into an agent built from the run's config.
    #[serde(skip)]
    config: QLearningConfig,
    q: QTable,
    rng: Rng,
    steps: u64,
}

impl QLearning {
    /// The learned action values.
    pub fn q_table(&self) -> &QTable {
        &self.q
    }

    /// Current exploration rate.
    pub fn epsilon(&self) -> f64 {
        self.config.epsilon(self.steps)
    }

    /// The TD update for one transition; returns the TD error.
    pub fn update(
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
        td
    }
}

/// The state index of a discrete observation.
pub(crate) fn state_index(obs: &Observation) -> usize {
    obs.as_discrete()
        .expect("tabular agents are built only for Discrete observation spaces") as usize
}

impl PerEnvAgent for QLearning {
    fn act_one(&mut self, obs: &Observation, explore: bool) -> Action {
        let s = state_index(obs);
        let a = if explore && self.rng.bernoulli(self.epsilon()) {
            self.rng.index(self.q.n_actions())
        } else {
            self.q.greedy(s, &mut self.rng)
        };
        Action::Discrete(a as i64)
    }

    fn observe_one(&mut self, t: &Transition<'_>) -> Vec<(&'static str, f64)> {
        let a = t.action.as_discrete().expect("discrete action") as usize;
        let td = self.update(
            state_index(t.obs),
            a,
            t.reward,
            state_index(t.next_obs),
            t.terminated,
        );
        self.steps += 1;
        vec![
            ("losses/td_error", td.abs()),
            ("charts/epsilon", self.epsilon()),
        ]
    }

    fn checkpoint(&self) -> Vec<u8> {
        snapshot::save(Algorithm::QLearning.name(), self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let saved: QLearning =
            snapshot::load(Algorithm::QLearning.name(), bytes).map_err(|e| e.to_string())?;
        self.q.check_same_shape(&saved.q)?;
        *self = Self {
            config: self.config.clone(),
            ..saved
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_matches_hand_computation() {
        let config = QLearningConfig {
            alpha: 0.5,
            gamma: 0.9,
            ..Default::default()
        };
        let mut agent = config
            .init(
                &Space::discrete(2),
                &Space::discrete(2),
                Rng::seed_from_u64(0),
            )
            .unwrap();
        *agent.q.get_mut(1, 0) = 2.0;
        // target = 1 + 0.9 * 2 = 2.8; Q = 0 + 0.5 * 2.8 = 1.4
        let td = agent.update(0, 1, 1.0, 1, false);
        assert!((td - 2.8).abs() < 1e-12);
        assert!((agent.q.get(0, 1) - 1.4).abs() < 1e-12);
        // Terminal: no bootstrap.
        agent.update(0, 0, 1.0, 1, true);
        assert!((agent.q.get(0, 0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ties_are_broken_randomly() {
        let q = QTable::new(1, 4, 0.0);
        let mut rng = Rng::seed_from_u64(3);
        let mut seen = [false; 4];
        for _ in 0..200 {
            seen[q.greedy(0, &mut rng)] = true;
        }
        assert_eq!(seen, [true; 4]);
    }

    #[test]
    fn refuses_box_spaces_and_bad_hyperparameters() {
        let boxed = Space::boxed(vec![-1.0], vec![1.0]);
        let err = QLearningConfig::default()
            .init(&boxed, &Space::discrete(2), Rng::seed_from_u64(0))
            .unwrap_err();
        assert!(
            err.to_string().contains("Discrete(n) observation space"),
            "{err}"
        );
        let bad = QLearningConfig {
            alpha: 1.5,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("alpha"));
    }

    #[test]
    fn checkpoint_round_trip_and_shape_check() {
        let config = QLearningConfig::default();
        let mut a = config
            .init(
                &Space::discrete(3),
                &Space::discrete(2),
                Rng::seed_from_u64(0),
            )
            .unwrap();
        a.update(0, 1, 1.0, 2, false);
        let bytes = a.checkpoint();
        let mut b = config
            .init(
                &Space::discrete(3),
                &Space::discrete(2),
                Rng::seed_from_u64(1),
            )
            .unwrap();
        b.restore(&bytes).unwrap();
        assert_eq!(a.q_table(), b.q_table());
        let mut c = config
            .init(
                &Space::discrete(4),
                &Space::discrete(2),
                Rng::seed_from_u64(1),
            )
            .unwrap();
        assert!(c.restore(&bytes).unwrap_err().contains("3×2"));
        assert!(b.restore(&bytes[..20]).is_err());
        // Flipped bytes are caught by the checksum, not loaded as other values.
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(b.restore(&flipped).unwrap_err().contains("checksum"));
        // The generator and the step count come back too: both agents act alike.
        let obs = Observation::Discrete(1);
        let acts = |agent: &mut QLearning| -> Vec<Action> {
            (0..20).map(|_| agent.act_one(&obs, true)).collect()
        };
        assert_eq!(acts(&mut a), acts(&mut b));
    }
}
