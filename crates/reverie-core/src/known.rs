//! Reward and termination functions an env publishes on its observations, so that a learned
//! model only has to learn the dynamics (as mbrl-lib's and MBPO's "termination_fn" do).
//!
//! Each env builds them from its own options ([`crate::Env::known_functions`]), so a planner
//! optimises exactly the reward and termination the env pays: a table keyed by env id would
//! ignore options such as MountainCar's `goal_velocity` or CartPole's `sutton_barto_reward`.

use std::fmt;
use std::sync::Arc;

/// `reward(obs, action, next_obs)`; `action` is the raw action as the env received it (one-hot
/// for discrete actions).
pub type RewardFn = Arc<dyn Fn(&[f32], &[f32], &[f32]) -> f32 + Send + Sync>;
/// `terminated(obs, action, next_obs)`.
pub type TerminationFn = Arc<dyn Fn(&[f32], &[f32], &[f32]) -> bool + Send + Sync>;

/// The functions known for an env. Either may be absent: then a model's own learned head is
/// used instead.
#[derive(Clone, Default)]
pub struct KnownFunctions {
    /// Reward from the transition.
    pub reward: Option<RewardFn>,
    /// Termination from the transition.
    pub termination: Option<TerminationFn>,
}

impl KnownFunctions {
    /// Both functions known.
    pub fn new(
        reward: impl Fn(&[f32], &[f32], &[f32]) -> f32 + Send + Sync + 'static,
        termination: impl Fn(&[f32], &[f32], &[f32]) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            reward: Some(Arc::new(reward)),
            termination: Some(Arc::new(termination)),
        }
    }

    /// No function known (the default): models predict reward and termination themselves.
    pub fn none() -> Self {
        Self::default()
    }

    /// These functions when `enabled` (an agent's `known_functions` setting), else none, so a
    /// model's learned reward and termination heads are used.
    pub fn only_if(&self, enabled: bool) -> Self {
        if enabled {
            self.clone()
        } else {
            Self::none()
        }
    }

    /// The reward and termination of one imagined transition `(obs, action, next_obs)`:
    /// the known functions where given, else the model's own predictions — its
    /// `learned_reward`, and termination when its `learned_termination_prob` exceeds 0.5
    /// (never, for a model without a termination head). The one place where known and
    /// learned functions are combined, for every imagined rollout and planner.
    #[inline]
    pub fn resolve(
        &self,
        obs: &[f32],
        action: &[f32],
        next_obs: &[f32],
        learned_reward: f32,
        learned_termination_prob: Option<f32>,
    ) -> (f32, bool) {
        let reward = match &self.reward {
            Some(f) => f(obs, action, next_obs),
            None => learned_reward,
        };
        let terminated = match (&self.termination, learned_termination_prob) {
            (Some(f), _) => f(obs, action, next_obs),
            (None, Some(p)) => p > 0.5,
            (None, None) => false,
        };
        (reward, terminated)
    }

    /// Whether neither function is known.
    pub fn is_empty(&self) -> bool {
        self.reward.is_none() && self.termination.is_none()
    }
}

impl fmt::Debug for KnownFunctions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownFunctions")
            .field("reward", &self.reward.is_some())
            .field("termination", &self.termination.is_some())
            .finish()
    }
}
