//! The [`Agent`] trait the training loop drives.

use crate::space::{Action, Observation};

/// One real transition, as the training loop hands it to an agent.
#[derive(Clone, Copy, Debug)]
pub struct Transition<'a> {
    /// Observation the action was chosen in.
    pub obs: &'a Observation,
    /// Action taken.
    pub action: &'a Action,
    /// Reward received.
    pub reward: f64,
    /// Observation after the step (the final observation if the episode ended).
    pub next_obs: &'a Observation,
    /// `next_obs` is terminal: do not bootstrap from it.
    pub terminated: bool,
    /// The episode was cut (time limit): bootstrap from `next_obs`.
    pub truncated: bool,
}

/// A learning agent: chooses actions and learns from the transitions it is shown.
///
/// Metrics an agent wants logged (losses, ε, ...) are returned from [`Agent::observe`] as
/// `(name, value)` pairs in CleanRL's naming (`losses/td_error`, `charts/epsilon`).
pub trait Agent {
    /// Chooses an action for `obs`; `explore` is false for evaluation (greedy policy).
    fn act(&mut self, obs: &Observation, explore: bool) -> Action;

    /// Learns from one real transition; returns metrics to log.
    fn observe(&mut self, transition: &Transition<'_>) -> Vec<(&'static str, f64)>;

    /// Serialises the learned parameters (tables, weights) for a checkpoint.
    fn save(&self) -> Vec<u8>;

    /// Restores parameters written by [`Agent::save`]; refuses data of the wrong shape.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String>;
}
