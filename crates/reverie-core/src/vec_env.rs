//! [`VecEnv`]: N copies of an env stepped in one call, results in structure-of-arrays
//! buffers (an [`ObsBatch`] of observations, `[num_envs]` rewards and flags).
//!
//! ## Auto-reset (Gymnasium 1.x)
//! - [`AutoresetMode::NextStep`] (Gymnasium's default): when sub-env `i` ends at step `t`
//!   (terminated or truncated), step `t` returns its true final observation; at step `t + 1`
//!   its action is ignored, it is reset, and it returns the reset observation with reward 0
//!   and both flags false. The final observation is therefore the ordinary `obs` of the
//!   ending step, ready for bootstrapping on truncation.
//! - [`AutoresetMode::SameStep`]: sub-env `i` is reset inside the step that ends it; the
//!   returned observation is the reset one and the true final observation is kept in
//!   [`VecEnv::final_observations`] (valid where [`VecEnv::ended`] is true).
//!
//! Seeding follows Gymnasium: `reset(Some(seed))` seeds sub-env `i` with `seed + i`;
//! automatic resets continue each sub-env's own stream.

use crate::act_context::Turns;
use crate::env::{Env, ObsValue};
use crate::error::EnvError;
use crate::obs_batch::ObsBatch;
use crate::space::Space;

/// When a finished sub-env is reset (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AutoresetMode {
    /// Reset on the step after the one that ended the episode (Gymnasium 1.x default).
    #[default]
    NextStep,
    /// Reset within the step that ended the episode; the final observation is kept aside.
    SameStep,
}

/// N copies of an environment stepped together.
#[derive(Debug)]
pub struct VecEnv<E: Env> {
    envs: Vec<E>,
    mode: AutoresetMode,
    obs_dim: usize,
    obs: ObsBatch,
    final_obs: ObsBatch,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    ended: Vec<bool>,
    pending_reset: Vec<bool>,
    turns: Turns,
}

impl<E: Env> VecEnv<E> {
    /// Wraps `envs` (at least one). Call [`VecEnv::reset`] before stepping.
    pub fn new(envs: Vec<E>, mode: AutoresetMode) -> Self {
        assert!(!envs.is_empty(), "VecEnv needs at least one env");
        let space = envs[0].observation_space();
        let obs_dim = space.flat_dim();
        let n = envs.len();
        let turns = Turns::for_space(n, &envs[0].action_space());
        Self {
            envs,
            mode,
            obs_dim,
            obs: ObsBatch::zeros(&space, n),
            final_obs: ObsBatch::zeros(&space, n),
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            ended: vec![false; n],
            pending_reset: vec![false; n],
            turns,
        }
    }

    /// `num_envs` copies built by `make`.
    pub fn from_fn(num_envs: usize, mode: AutoresetMode, mut make: impl FnMut() -> E) -> Self {
        Self::new((0..num_envs).map(|_| make()).collect(), mode)
    }

    /// Number of sub-envs.
    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }

    /// Length of one flattened observation.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// The sub-envs' observation space.
    pub fn single_observation_space(&self) -> Space {
        self.envs[0].observation_space()
    }

    /// The sub-envs' action space.
    pub fn single_action_space(&self) -> Space {
        self.envs[0].action_space()
    }

    /// The sub-envs.
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    /// Every sub-env's state ([`Env::save_state`]) with the current observations, for a
    /// checkpoint that resumes mid-episode; `None` when a sub-env cannot save its state.
    pub fn save_state(&self) -> Option<Vec<u8>> {
        let envs = self
            .envs
            .iter()
            .map(|e| e.save_state())
            .collect::<Option<Vec<_>>>()?;
        Some(crate::snapshot::encode(&(
            envs,
            &self.obs,
            &self.pending_reset,
            &self.turns,
        )))
    }

    /// Restores [`VecEnv::save_state`] bytes into envs built with the same options.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let (envs, obs, pending, turns): (Vec<Vec<u8>>, ObsBatch, Vec<bool>, Turns) =
            crate::env::decode_state("vectorised envs", bytes)?;
        if envs.len() != self.envs.len() || obs.len() != self.envs.len() {
            return Err(EnvError::InvalidState {
                env: "vectorised envs".into(),
                reason: format!(
                    "saved for {} envs, this run has {}",
                    envs.len(),
                    self.envs.len()
                ),
            });
        }
        for (env, state) in self.envs.iter_mut().zip(&envs) {
            env.load_state(state)?;
        }
        self.obs = obs;
        self.pending_reset = pending;
        self.turns = turns;
        Ok(())
    }

    /// Resets every sub-env (`seed + i` for sub-env `i`) and returns the observations
    /// (one row per sub-env).
    pub fn reset(&mut self, seed: Option<u64>) -> &ObsBatch {
        for (i, env) in self.envs.iter_mut().enumerate() {
            let (obs, info) = env.reset(seed.map(|s| s.wrapping_add(i as u64)));
            obs.write_row(&mut self.obs, i);
            self.turns.record(i, &info);
        }
        self.rewards.fill(0.0);
        self.terminated.fill(false);
        self.truncated.fill(false);
        self.ended.fill(false);
        self.pending_reset.fill(false);
        &self.obs
    }

    /// Steps every sub-env with its action (`actions.len() == num_envs`), auto-resetting as
    /// the mode says. On an invalid action the error names the sub-env; sub-envs before it
    /// have already stepped, so reset before continuing.
    #[inline]
    pub fn step(&mut self, actions: &[E::Action]) -> Result<(), EnvError> {
        assert_eq!(actions.len(), self.envs.len(), "one action per sub-env");
        for (i, (env, action)) in self.envs.iter_mut().zip(actions).enumerate() {
            if self.pending_reset[i] {
                let (obs, info) = env.reset(None);
                obs.write_row(&mut self.obs, i);
                self.turns.record(i, &info);
                self.rewards[i] = 0.0;
                self.terminated[i] = false;
                self.truncated[i] = false;
                self.ended[i] = false;
                self.pending_reset[i] = false;
                continue;
            }
            let step = env.step(action).map_err(|e| match e {
                EnvError::InvalidAction { action, reason } => EnvError::InvalidAction {
                    action,
                    reason: format!("sub-env {i}: {reason}"),
                },
                other => other,
            })?;
            let done = step.terminated || step.truncated;
            self.rewards[i] = step.reward;
            self.terminated[i] = step.terminated;
            self.truncated[i] = step.truncated;
            self.ended[i] = done;
            match (self.mode, done) {
                (AutoresetMode::SameStep, true) => {
                    step.obs.write_row(&mut self.final_obs, i);
                    let (obs, info) = env.reset(None);
                    obs.write_row(&mut self.obs, i);
                    self.turns.record(i, &info);
                }
                (AutoresetMode::NextStep, true) => {
                    step.obs.write_row(&mut self.obs, i);
                    self.turns.record(i, &step.info);
                    self.pending_reset[i] = true;
                }
                (_, false) => {
                    step.obs.write_row(&mut self.obs, i);
                    self.turns.record(i, &step.info);
                }
            }
        }
        Ok(())
    }

    /// Observations after the last call, one row per sub-env.
    pub fn observations(&self) -> &ObsBatch {
        &self.obs
    }

    /// The legal actions and players to move that the sub-envs reported with the current
    /// observations (from the reset's info where a sub-env was reset).
    pub fn turns(&self) -> &Turns {
        &self.turns
    }

    /// Rewards of the last step, `[num_envs]`.
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    /// Terminated flags of the last step, `[num_envs]`.
    pub fn terminated(&self) -> &[bool] {
        &self.terminated
    }

    /// Truncated flags of the last step, `[num_envs]`.
    pub fn truncated(&self) -> &[bool] {
        &self.truncated
    }

    /// Which sub-envs ended an episode in the last step.
    pub fn ended(&self) -> &[bool] {
        &self.ended
    }

    /// [`AutoresetMode::SameStep`] only: final observations of the sub-envs that ended in the
    /// last step, one row per sub-env (rows of other sub-envs are stale).
    pub fn final_observations(&self) -> &ObsBatch {
        &self.final_obs
    }
}

#[cfg(test)]
mod tests;
