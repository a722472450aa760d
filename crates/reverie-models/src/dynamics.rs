//! [`DynamicsModel`]: the seam between state-space models and the planners and imagined
//! rollouts that use them.
//!
//! A model predicts `(s', r, P(terminated))` for rows of `(s, a)`. Ensembles route each row
//! through one member (`member[i]`, which the caller picks by its propagation mode: TS1,
//! TS∞, expectation); single models have one member, `0`. Probabilistic models sample from
//! their predictive distribution when given a random generator, and return their mean
//! otherwise. Known reward and termination functions are not the model's business: callers
//! combine them with the model's outputs through [`reverie_core::KnownFunctions::resolve`].

use reverie_core::Rng;

/// Where [`DynamicsModel::step`] writes its predictions (caller-owned buffers, so a step
/// allocates nothing).
pub struct StepOutputs<'a> {
    /// `[N, obs_dim]` predicted next observations.
    pub next_obs: &'a mut [f32],
    /// `[N]` predicted rewards.
    pub reward: &'a mut [f32],
    /// `[N]` predicted termination probabilities, written only by models with a termination
    /// head ([`DynamicsModel::has_termination_head`]).
    pub termination_prob: Option<&'a mut [f32]>,
}

/// A learned model of `(s, a) → (s', r, P(terminated))` on flat f32 rows.
pub trait DynamicsModel: Send {
    /// Length of an observation row.
    fn obs_dim(&self) -> usize;

    /// Length of an action row (one-hot width for discrete actions).
    fn act_dim(&self) -> usize;

    /// The members predictions may come from (an ensemble's elites; `[0]` for a single
    /// model).
    fn members(&self) -> &[usize];

    /// Whether the model predicts termination probabilities.
    fn has_termination_head(&self) -> bool;

    /// Predicts one step for rows `obs [N, obs_dim]`, `actions [N, act_dim]`, row `i`
    /// through member `member[i]` (an element of [`DynamicsModel::members`]); with `rng`, a
    /// probabilistic model samples, otherwise it returns its mean.
    fn step(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        member: &[usize],
        rng: Option<&mut Rng>,
        out: StepOutputs<'_>,
    );
}
