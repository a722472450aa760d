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

/// One step of N sub-envs, as the vectorised training loop hands it to a [`VecAgent`].
/// Observations are flattened f32 rows, `[num_envs * obs_dim]`.
#[derive(Clone, Copy, Debug)]
pub struct VecTransition<'a> {
    /// Observations the actions were chosen in.
    pub obs: &'a [f32],
    /// One action per sub-env.
    pub actions: &'a [Action],
    /// Rewards, `[num_envs]`.
    pub rewards: &'a [f64],
    /// The true next observations: the final observation where a sub-env's episode ended
    /// (for bootstrapping on truncation), otherwise the observation it continues from.
    pub next_obs: &'a [f32],
    /// `next_obs` is terminal: do not bootstrap from it.
    pub terminated: &'a [bool],
    /// The episode was cut (time limit): bootstrap from `next_obs`.
    pub truncated: &'a [bool],
}

/// A learning agent that acts in N copies of an env at once (PPO's parallel rollouts,
/// DQN's and SAC's vectorised collection).
///
/// Metrics are returned from [`VecAgent::observe_batch`] as for [`Agent::observe`].
pub trait VecAgent {
    /// How many sub-envs the agent collects from (its configured `num_envs`).
    fn num_envs(&self) -> usize;

    /// Chooses one action per row of `obs` (`[rows * obs_dim]`, any number of rows) into
    /// `actions`; `explore` is false for evaluation (deterministic policy).
    fn act_batch(&mut self, obs: &[f32], explore: bool, actions: &mut Vec<Action>);

    /// Learns from one step of every sub-env; returns metrics to log.
    fn observe_batch(&mut self, step: &VecTransition<'_>) -> Vec<(&'static str, f64)>;

    /// Serialises the learned parameters for a checkpoint.
    fn save(&self) -> Vec<u8>;

    /// Restores parameters written by [`VecAgent::save`]; refuses data of the wrong shape.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String>;
}
