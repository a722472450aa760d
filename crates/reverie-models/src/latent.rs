//! [`LatentModel`]: the shape every latent world model of the second half takes — an RSSM
//! (Dreamer), MuZero's representation, dynamics and prediction networks, a VAE + MDN-RNN
//! (World Models).
//!
//! Three verbs, named after the maths:
//! - `observe` (the posterior / representation): fold a real observation into the latent
//!   state, restarting rows that begin an episode (`is_first`);
//! - `imagine` (the prior / dynamics): step the latent state under an action, without an
//!   observation;
//! - `features`, `reward`, `continuation` (the heads / prediction): what actors, critics and
//!   planners read off a state.
//!
//! The state is the model's own type (for an RSSM, the deterministic and stochastic parts);
//! an agent keeps the states of its envs in its [`reverie_core::Carry`], so the driver threads
//! them and resets them where `is_first`. [`StateSpaceLatent`] shows the shape on the
//! simplest model there is: the latent state is the observation and imagination is a
//! [`DynamicsModel`].

use reverie_core::{ObsBatch, Rng};

use crate::dynamics::{DynamicsModel, StepOutputs};

/// A latent world model over batches of rows (envs or imagined trajectories).
pub trait LatentModel {
    /// The latent state of a batch of rows.
    type State: Clone;
    /// What the model's computations fail with.
    type Error: std::fmt::Display;

    /// The state before anything was observed, for `rows` rows.
    fn initial(&self, rows: usize) -> Self::State;

    /// The posterior after `obs` was observed, which followed `prev_actions`
    /// (`[rows, act_dim]`) from `state`; rows with `is_first` start from
    /// [`LatentModel::initial`] instead.
    fn observe(
        &mut self,
        state: &Self::State,
        prev_actions: &[f32],
        obs: &ObsBatch,
        is_first: &[bool],
        rng: &mut Rng,
    ) -> Result<Self::State, Self::Error>;

    /// The prior one step after `state` under `actions` (`[rows, act_dim]`).
    fn imagine(
        &mut self,
        state: &Self::State,
        actions: &[f32],
        rng: &mut Rng,
    ) -> Result<Self::State, Self::Error>;

    /// Width of a feature row.
    fn feature_dim(&self) -> usize;

    /// `[rows, feature_dim]` features for actors, critics and planners.
    fn features(&self, state: &Self::State) -> Vec<f32>;

    /// `[rows]` predicted reward of the step that led to `state`.
    fn reward(&self, state: &Self::State) -> Vec<f32>;

    /// `[rows]` predicted probability that the episode goes on from `state`.
    fn continuation(&self, state: &Self::State) -> Vec<f32>;
}

/// The state of a [`StateSpaceLatent`]: the (predicted or observed) observation rows and the
/// reward and continuation that came with them.
#[derive(Clone, Debug, PartialEq)]
pub struct StateSpaceState {
    /// `[rows, obs_dim]`.
    pub obs: Vec<f32>,
    /// `[rows]`.
    pub reward: Vec<f32>,
    /// `[rows]`, 1 or 0 (or the model's continuation probability).
    pub continuation: Vec<f32>,
}

/// A state-space [`DynamicsModel`] seen as a latent model whose latent state is the
/// observation itself: `observe` copies the observation, `imagine` is one model step.
#[derive(Debug)]
pub struct StateSpaceLatent<M> {
    model: M,
}

impl<M: DynamicsModel> StateSpaceLatent<M> {
    /// Wraps `model`.
    pub fn new(model: M) -> Self {
        Self { model }
    }

    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }
}

impl<M: DynamicsModel> LatentModel for StateSpaceLatent<M> {
    type State = StateSpaceState;
    type Error = String;

    fn initial(&self, rows: usize) -> StateSpaceState {
        StateSpaceState {
            obs: vec![0.0; rows * self.model.obs_dim()],
            reward: vec![0.0; rows],
            continuation: vec![1.0; rows],
        }
    }

    fn observe(
        &mut self,
        state: &StateSpaceState,
        _prev_actions: &[f32],
        obs: &ObsBatch,
        is_first: &[bool],
        _rng: &mut Rng,
    ) -> Result<StateSpaceState, String> {
        let rows = obs.len();
        if obs.dim() != self.model.obs_dim() || is_first.len() != rows {
            return Err(format!(
                "expected {rows} rows of {} values and {rows} is_first flags",
                self.model.obs_dim()
            ));
        }
        let mut next = state.clone();
        next.obs.clear();
        obs.extend_f32(&mut next.obs);
        // An observed step's reward was paid by the env, not predicted; a new episode has
        // none and goes on.
        for (i, first) in is_first.iter().enumerate() {
            if *first {
                next.reward[i] = 0.0;
                next.continuation[i] = 1.0;
            }
        }
        Ok(next)
    }

    fn imagine(
        &mut self,
        state: &StateSpaceState,
        actions: &[f32],
        rng: &mut Rng,
    ) -> Result<StateSpaceState, String> {
        let rows = state.reward.len();
        if actions.len() != rows * self.model.act_dim() {
            return Err(format!(
                "expected {rows} action rows of {}",
                self.model.act_dim()
            ));
        }
        let members = self.model.members().to_vec();
        let member: Vec<usize> = (0..rows)
            .map(|_| members[rng.index(members.len())])
            .collect();
        let mut next = StateSpaceState {
            obs: vec![0.0; state.obs.len()],
            reward: vec![0.0; rows],
            continuation: vec![1.0; rows],
        };
        let mut termination = self.model.has_termination_head().then(|| vec![0.0; rows]);
        self.model.step(
            &state.obs,
            actions,
            &member,
            None,
            StepOutputs {
                next_obs: &mut next.obs,
                reward: &mut next.reward,
                termination_prob: termination.as_deref_mut(),
            },
        );
        if let Some(p) = termination {
            next.continuation = p.iter().map(|p| 1.0 - p).collect();
        }
        Ok(next)
    }

    fn feature_dim(&self) -> usize {
        self.model.obs_dim()
    }

    fn features(&self, state: &StateSpaceState) -> Vec<f32> {
        state.obs.clone()
    }

    fn reward(&self, state: &StateSpaceState) -> Vec<f32> {
        state.reward.clone()
    }

    fn continuation(&self, state: &StateSpaceState) -> Vec<f32> {
        state.continuation.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::{LinearModel, LinearModelConfig};
    use reverie_core::Batch;

    /// s' = 0.5 s + a, r = s.
    fn fitted() -> LinearModel {
        let mut data = Batch::default();
        let mut rng = Rng::seed_from_u64(0);
        for _ in 0..50 {
            let (s, a) = (rng.normal() as f32, rng.normal() as f32);
            data.obs.push(s);
            data.actions.push(a);
            data.next_obs.push(0.5 * s + a);
            data.rewards.push(s);
            data.terminated.push(false);
            data.truncated.push(false);
        }
        LinearModel::fit(&LinearModelConfig::default(), &data, 1, 1).unwrap()
    }

    #[test]
    fn observe_then_imagine_follows_the_dynamics_and_is_first_resets() {
        let mut latent = StateSpaceLatent::new(fitted());
        let mut rng = Rng::seed_from_u64(1);
        let state = latent.initial(2);
        let obs = ObsBatch::from_f32(vec![2.0, -4.0], 1);
        let state = latent
            .observe(&state, &[0.0, 0.0], &obs, &[true, true], &mut rng)
            .unwrap();
        let state = latent.imagine(&state, &[1.0, 0.0], &mut rng).unwrap();
        assert!((state.obs[0] - 2.0).abs() < 1e-4 && (state.obs[1] + 2.0).abs() < 1e-4);
        assert!(
            (latent.reward(&state)[0] - 2.0).abs() < 1e-4,
            "r = s before the step"
        );
        let state = latent.imagine(&state, &[0.0, 0.0], &mut rng).unwrap();
        assert!((latent.features(&state)[0] - 1.0).abs() < 1e-4);
        // Row 1 starts a new episode: its imagined reward is dropped.
        let obs = ObsBatch::from_f32(vec![1.0, 3.0], 1);
        let state = latent
            .observe(&state, &[0.0, 0.0], &obs, &[false, true], &mut rng)
            .unwrap();
        assert_eq!(state.obs, vec![1.0, 3.0]);
        assert_eq!(state.reward[1], 0.0);
        assert_eq!(latent.continuation(&state), vec![1.0, 1.0]);
        assert!(
            latent.imagine(&state, &[0.0], &mut rng).is_err(),
            "wrong rows"
        );
    }
}
