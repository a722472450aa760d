//! The one [`Agent`] trait the driver runs, for every algorithm: N ≥ 1 envs, a batch of
//! observations in, one action per env out, an explicit per-env [`Carry`], a [`Mode`],
//! metrics out, and save/load.
//!
//! The carry is DreamerV3's idea (the policy threads its recurrent state explicitly): an
//! RSSM state, MuZero's search statistics or an MPC warm start live in it, the driver owns
//! one per stream of envs (training envs and evaluation envs each have their own, so an
//! evaluation never disturbs training), and each env's slot is reset where `is_first`.

use std::any::Any;

use crate::act_context::ActContext;
use crate::obs_batch::ObsBatch;
use crate::space::{Action, Observation};

/// How an agent acts.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Mode {
    /// Training: explore (ε-greedy, sampled actions, noisy plans).
    Explore,
    /// Evaluation: the deterministic (greedy, mean) policy.
    Evaluate,
}

impl Mode {
    /// Whether the agent should explore.
    pub fn explores(self) -> bool {
        matches!(self, Mode::Explore)
    }
}

/// Per-env state an agent threads between steps, owned by the driver.
///
/// Opaque to the driver: the agent that made it ([`Agent::initial_carry`]) downcasts it to
/// its own type. Agents without recurrent state use [`Carry::none`].
#[derive(Debug, Default)]
pub struct Carry(Option<Box<dyn Any + Send>>);

impl Carry {
    /// No state.
    pub fn none() -> Self {
        Self(None)
    }

    /// A carry holding `state`.
    pub fn new<T: Any + Send>(state: T) -> Self {
        Self(Some(Box::new(state)))
    }

    /// The state, if this carry holds a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_ref().and_then(|b| b.downcast_ref())
    }

    /// The state, mutably, if this carry holds a `T`.
    pub fn get_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.0.as_mut().and_then(|b| b.downcast_mut())
    }

    /// Whether the carry holds nothing.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

/// One step of N envs, as the driver hands it to [`Agent::observe`].
///
/// `terminated` (do not bootstrap) and `truncated` (time limit: bootstrap from `next_obs`)
/// are kept apart.
#[derive(Clone, Copy, Debug)]
pub struct StepBatch<'a> {
    /// `[N]` observations the actions were chosen on.
    pub obs: &'a ObsBatch,
    /// `[N]` actions taken.
    pub actions: &'a [Action],
    /// `[N]` rewards received.
    pub rewards: &'a [f64],
    /// `[N]` observations after the step: the true final observation where an episode
    /// ended (the driver resets those envs itself).
    pub next_obs: &'a ObsBatch,
    /// `[N]` `next_obs` is terminal.
    pub terminated: &'a [bool],
    /// `[N]` the episode was cut (time limit).
    pub truncated: &'a [bool],
}

impl StepBatch<'_> {
    /// Number of envs.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the step has no envs.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// One env's transition, for agents that learn one transition at a time (tabular, MPC).
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

/// Metrics an agent wants logged, `(name, value)` in CleanRL's naming (`losses/td_loss`,
/// `charts/epsilon`); the driver averages each name over its logging window.
pub type Metrics = Vec<(&'static str, f64)>;

/// A learning agent acting in N ≥ 1 envs.
///
/// The driver calls, every step: [`Agent::act`] on the current observations, steps the envs,
/// then [`Agent::observe`] with the transitions (where an env's episode ended, the driver
/// resets it and flags it `is_first` at the next `act`).
pub trait Agent {
    /// How many envs the agent trains on (the driver builds that many).
    fn num_envs(&self) -> usize {
        1
    }

    /// A fresh carry for `envs` envs (the default: no state).
    fn initial_carry(&self, envs: usize) -> Carry {
        let _ = envs;
        Carry::none()
    }

    /// Chooses one action per env into `actions` (cleared first). `ctx.is_first[i]`: env
    /// `i` starts an episode with this observation, so its slot of `carry` must be reset;
    /// `ctx.legal` and `ctx.to_play`: the legal actions and the player to move, where the
    /// env reports them (board games).
    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    );

    /// Learns from one step of every env; returns metrics to log.
    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics;

    /// The agent's whole state as bytes (checkpoint): parameters, optimiser moments,
    /// buffers, generators and counters, sealed by [`crate::snapshot`].
    fn save(&self) -> Vec<u8>;

    /// Restores parameters saved by [`Agent::save`]; refuses other bytes with the reason.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String>;

    /// A carry as bytes, for checkpoints that resume mid-episode. The default serves agents
    /// whose carry holds nothing; an agent that keeps state in its carry saves it here.
    fn save_carry(&self, carry: &Carry) -> Option<Vec<u8>> {
        carry.is_none().then(Vec::new)
    }

    /// Restores [`Agent::save_carry`] bytes as a carry for `envs` envs.
    fn load_carry(&self, bytes: &[u8], envs: usize) -> Result<Carry, String> {
        if bytes.is_empty() {
            Ok(self.initial_carry(envs))
        } else {
            Err("this agent keeps no carry, but the checkpoint holds one".into())
        }
    }
}

/// An agent that acts on one env's observation and learns from one transition at a time
/// (tabular methods, MPC). Every such agent is an [`Agent`]: the blanket implementation
/// below acts and learns env by env, in env order, and keeps no carry.
pub trait PerEnvAgent {
    /// Chooses an action for one env's observation; `explore` is false for evaluation.
    fn act_one(&mut self, obs: &Observation, explore: bool) -> Action;

    /// Learns from one env's transition; returns metrics to log.
    fn observe_one(&mut self, transition: &Transition<'_>) -> Metrics;

    /// The agent's parameters as bytes ([`Agent::save`]).
    fn checkpoint(&self) -> Vec<u8>;

    /// Restores parameters from [`PerEnvAgent::checkpoint`] ([`Agent::load`]).
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String>;
}

impl<T: PerEnvAgent> Agent for T {
    fn act(
        &mut self,
        obs: &ObsBatch,
        _ctx: &ActContext<'_>,
        _carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        actions.clear();
        for i in 0..obs.len() {
            actions.push(self.act_one(&obs.get(i), mode.explores()));
        }
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let mut metrics = Vec::new();
        for i in 0..step.len() {
            let (obs, next_obs) = (step.obs.get(i), step.next_obs.get(i));
            metrics.extend(self.observe_one(&Transition {
                obs: &obs,
                action: &step.actions[i],
                reward: step.rewards[i],
                next_obs: &next_obs,
                terminated: step.terminated[i],
                truncated: step.truncated[i],
            }));
        }
        metrics
    }

    fn save(&self) -> Vec<u8> {
        self.checkpoint()
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.restore(bytes)
    }
}
