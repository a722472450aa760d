//! Prioritized sweeping (Moore & Atkeson 1993; Sutton & Barto 2nd ed. §8.4) for
//! deterministic environments.
//!
//! Planning updates are not spread uniformly: `(s, a)` pairs wait in a priority queue keyed
//! by the size of their pending TD error `|r + γ max Q(s') − Q(s, a)|`, and after updating a
//! pair, its predecessors (pairs the model says lead into `s`) are queued if their own error
//! exceeds θ. As in the book's algorithm, Q changes only through the queue.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use reverie_core::{Action, Observation, PerEnvAgent, Rng, Space, Transition};

use super::model::{DeterministicModel, Outcome};
use super::q_learning::state_index;
use super::{discrete_sizes, linear_epsilon, QTable};
use crate::error::{require, AgentError};
use crate::Algorithm;
use reverie_core::snapshot;

/// Hyperparameters of [`PrioritizedSweeping`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct PrioritizedSweepingConfig {
    /// Step size α, in (0, 1].
    pub alpha: f64,
    /// Discount factor γ, in [0, 1].
    pub gamma: f64,
    /// Exploration rate ε at the first step.
    pub epsilon_start: f64,
    /// Exploration rate ε after `epsilon_decay_steps` steps.
    pub epsilon_end: f64,
    /// Steps over which ε decays linearly (0: constant).
    pub epsilon_decay_steps: u64,
    /// Initial value of every Q entry.
    pub initial_q: f64,
    /// Queue pops (Q updates) per real step at most.
    pub planning_steps: usize,
    /// Priority threshold θ: pairs with a smaller pending TD error are not queued.
    pub theta: f64,
}

impl Default for PrioritizedSweepingConfig {
    fn default() -> Self {
        Self {
            alpha: 0.5,
            gamma: 0.95,
            epsilon_start: 0.1,
            epsilon_end: 0.1,
            epsilon_decay_steps: 0,
            initial_q: 0.0,
            planning_steps: 5,
            theta: 1e-4,
        }
    }
}

impl PrioritizedSweepingConfig {
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
            self.theta >= 0.0 && self.theta.is_finite(),
            "theta",
            self.theta,
            ">= 0",
        )?;
        require(
            self.initial_q.is_finite(),
            "initial_q",
            self.initial_q,
            "finite",
        )?;
        Ok(())
    }

    /// Builds the agent for an env with these spaces.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        rng: Rng,
    ) -> Result<PrioritizedSweeping, AgentError> {
        self.validate()?;
        let (states, actions) =
            discrete_sizes("prioritized-sweeping", observation_space, action_space)?;
        Ok(PrioritizedSweeping::new(self.clone(), states, actions, rng))
    }
}

/// A queue entry; ordered by priority only.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Entry {
    priority: f64,
    pair: usize,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.total_cmp(&other.priority)
    }
}

/// Prioritized sweeping over a deterministic last-outcome model (see the module docs).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PrioritizedSweeping {
    /// Not saved: a checkpoint loads into an agent built from the run's config.
    #[serde(skip)]
    config: PrioritizedSweepingConfig,
    q: QTable,
    model: DeterministicModel,
    /// For each state s', the pairs `(s, a)` (as `s * A + a`) the model says lead to s'.
    predecessors: Vec<Vec<usize>>,
    // Saved in its array order and rebuilt by pushing in that order, which leaves a valid
    // heap's array as it was: equal priorities pop in the same order after a resume.
    queue: BinaryHeap<Entry>,
    /// Highest live priority of each pair in the queue (0: not queued). Lower duplicates in
    /// the heap are stale and skipped when popped.
    queued: Vec<f64>,
    rng: Rng,
    steps: u64,
    updates: u64,
}

impl PrioritizedSweeping {
    /// An agent for `n_states × n_actions` (config assumed valid).
    pub fn new(
        config: PrioritizedSweepingConfig,
        n_states: usize,
        n_actions: usize,
        rng: Rng,
    ) -> Self {
        Self {
            q: QTable::new(n_states, n_actions, config.initial_q),
            model: DeterministicModel::new(n_states, n_actions),
            predecessors: vec![Vec::new(); n_states],
            queue: BinaryHeap::new(),
            queued: vec![0.0; n_states * n_actions],
            config,
            rng,
            steps: 0,
            updates: 0,
        }
    }

    /// The learned action values.
    pub fn q_table(&self) -> &QTable {
        &self.q
    }

    /// Q-value updates made so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// ε-greedy (or greedy) action in `s`.
    #[inline]
    pub fn act_index(&mut self, s: usize, explore: bool) -> usize {
        let eps = linear_epsilon(
            self.config.epsilon_start,
            self.config.epsilon_end,
            self.config.epsilon_decay_steps,
            self.steps,
        );
        if explore && self.rng.bernoulli(eps) {
            self.rng.index(self.q.n_actions())
        } else {
            self.q.greedy(s, &mut self.rng)
        }
    }

    fn pending_error(&self, s: usize, a: usize, o: Outcome) -> f64 {
        let target = if o.terminated {
            o.reward
        } else {
            o.reward + self.config.gamma * self.q.max(o.next)
        };
        (target - self.q.get(s, a)).abs()
    }

    fn push(&mut self, pair: usize, priority: f64) {
        if priority > self.config.theta && priority > self.queued[pair] {
            self.queued[pair] = priority;
            self.queue.push(Entry { priority, pair });
        }
    }

    /// One real transition: model update, queueing, then up to `planning_steps` sweeps.
    /// Returns the transition's TD error before any update.
    pub fn learn(&mut self, s: usize, a: usize, reward: f64, next: usize, terminated: bool) -> f64 {
        self.steps += 1;
        let n_actions = self.q.n_actions();
        let outcome = Outcome {
            next,
            reward,
            terminated,
        };
        if let Some(old) = self.model.outcome(s, a) {
            if old.next != next {
                self.predecessors[old.next].retain(|&p| p != s * n_actions + a);
            }
        }
        if self.model.outcome(s, a).map(|o| o.next) != Some(next) {
            self.predecessors[next].push(s * n_actions + a);
        }
        self.model.record(s, a, outcome);
        let error = self.pending_error(s, a, outcome);
        self.push(s * n_actions + a, error);
        let mut sweeps = 0;
        while sweeps < self.config.planning_steps {
            let Some(entry) = self.queue.pop() else { break };
            if entry.priority != self.queued[entry.pair] {
                continue; // stale duplicate
            }
            self.queued[entry.pair] = 0.0;
            let (ps, pa) = (entry.pair / n_actions, entry.pair % n_actions);
            let o = self
                .model
                .outcome(ps, pa)
                .expect("queued pairs were observed");
            let target = if o.terminated {
                o.reward
            } else {
                o.reward + self.config.gamma * self.q.max(o.next)
            };
            let q = self.q.get_mut(ps, pa);
            *q += self.config.alpha * (target - *q);
            self.updates += 1;
            sweeps += 1;
            for i in 0..self.predecessors[ps].len() {
                let pred = self.predecessors[ps][i];
                let (bs, ba) = (pred / n_actions, pred % n_actions);
                let bo = self
                    .model
                    .outcome(bs, ba)
                    .expect("predecessors were observed");
                let p = self.pending_error(bs, ba, bo);
                self.push(pred, p);
            }
        }
        error
    }
}

impl PerEnvAgent for PrioritizedSweeping {
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
            ("losses/td_error", td),
            ("charts/queue_length", self.queue.len() as f64),
        ]
    }

    fn checkpoint(&self) -> Vec<u8> {
        snapshot::save(Algorithm::PrioritizedSweeping.name(), self)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let saved: PrioritizedSweeping =
            snapshot::load(Algorithm::PrioritizedSweeping.name(), bytes)
                .map_err(|e| e.to_string())?;
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
    fn one_goal_visit_sweeps_value_back_along_the_chain() {
        let config = PrioritizedSweepingConfig {
            alpha: 1.0,
            gamma: 0.9,
            planning_steps: 100,
            ..Default::default()
        };
        let mut agent = config
            .init(
                &Space::discrete(5),
                &Space::discrete(1),
                Rng::seed_from_u64(0),
            )
            .unwrap();
        agent.learn(0, 0, 0.0, 1, false);
        agent.learn(1, 0, 0.0, 2, false);
        agent.learn(2, 0, 0.0, 3, false);
        assert_eq!(agent.updates(), 0, "no error to sweep before the reward");
        agent.learn(3, 0, 1.0, 4, true);
        // Exactly one update per state on the chain: 3, then 2, 1, 0 through predecessors.
        assert_eq!(agent.updates(), 4);
        assert!((agent.q_table().get(0, 0) - 0.729).abs() < 1e-12);
    }

    #[test]
    fn threshold_keeps_small_errors_out() {
        let config = PrioritizedSweepingConfig {
            theta: 0.5,
            ..Default::default()
        };
        let mut agent = config
            .init(
                &Space::discrete(2),
                &Space::discrete(1),
                Rng::seed_from_u64(0),
            )
            .unwrap();
        agent.learn(0, 0, 0.1, 1, true);
        assert_eq!(agent.updates(), 0);
    }
}
