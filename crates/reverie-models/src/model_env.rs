//! [`ModelEnv`]: an imagined environment that steps many particles at once through the
//! ensemble.
//!
//! Every step runs all members on all particles in one batch, then picks each particle's
//! prediction by the propagation mode (Chua et al. 2018):
//! - [`Propagation::RandomMember`] (TS1): a uniformly random elite per particle per step;
//! - [`Propagation::FixedMember`] (TS∞): each particle keeps the elite drawn at `reset`;
//! - [`Propagation::Expectation`]: the mean of the elites' means (no sampling).
//!
//! Probabilistic models add Gaussian noise with the chosen member's variance when `sample`
//! is on. Each step also reports the particle's ensemble disagreement: the standard
//! deviation over elites of the predicted (normalised) state change, averaged over
//! dimensions. With `max_disagreement` set, particles whose disagreement exceeds it are
//! truncated: a way to stop imagined rollouts where the model is guessing.

use reverie_core::Rng;
use reverie_nn::Result;
use serde::{Deserialize, Serialize};

use crate::ensemble::EnsembleModel;
use reverie_core::KnownFunctions;

/// How a particle's next state is chosen among the members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Propagation {
    /// TS1: a random elite per particle per step.
    RandomMember,
    /// TS∞: a fixed elite per particle for the whole rollout.
    #[default]
    FixedMember,
    /// The mean over elites.
    Expectation,
}

/// Settings of a [`ModelEnv`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelEnvConfig {
    /// Propagation mode.
    pub propagation: Propagation,
    /// Sample from the predicted Gaussian (probabilistic models); otherwise use its mean.
    pub sample: bool,
    /// Truncate particles whose disagreement exceeds this (none if absent).
    pub max_disagreement: Option<f32>,
}

impl Default for ModelEnvConfig {
    fn default() -> Self {
        Self {
            propagation: Propagation::FixedMember,
            sample: true,
            max_disagreement: None,
        }
    }
}

/// One imagined step for P particles.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelStep {
    /// `[P, obs_dim]`
    pub next_obs: Vec<f32>,
    /// `[P]`
    pub rewards: Vec<f32>,
    /// `[P]` (known function, learned head, or false)
    pub terminated: Vec<bool>,
    /// `[P]` disagreement above `max_disagreement`
    pub truncated: Vec<bool>,
    /// `[P]` ensemble disagreement
    pub disagreement: Vec<f32>,
}

/// The learned model seen as a batched environment.
#[derive(Debug)]
pub struct ModelEnv<'a> {
    model: &'a EnsembleModel,
    config: ModelEnvConfig,
    known: KnownFunctions,
    member_of: Vec<usize>,
    rng: Rng,
}

impl<'a> ModelEnv<'a> {
    /// A model env over `model`, with known reward/termination functions where available.
    pub fn new(
        model: &'a EnsembleModel,
        config: ModelEnvConfig,
        known: KnownFunctions,
        rng: Rng,
    ) -> Self {
        Self {
            model,
            config,
            known,
            member_of: Vec::new(),
            rng,
        }
    }

    /// Starts `particles` rollouts: draws each particle's elite (used by TS∞).
    pub fn reset(&mut self, particles: usize) {
        let elites = self.model.elites();
        self.member_of = (0..particles)
            .map(|_| elites[self.rng.index(elites.len())])
            .collect();
    }

    /// Steps every particle: `obs [P, obs_dim]`, `actions [P, act_dim]`.
    pub fn step(&mut self, obs: &[f32], actions: &[f32]) -> Result<ModelStep> {
        let o = self.model.obs_dim();
        let a = self.model.act_dim();
        let p = obs.len() / o;
        if self.member_of.len() != p {
            self.reset(p);
        }
        let pred = self.model.predict(obs, actions)?;
        let elites = self.model.elites().to_vec();
        let n = pred.rows;
        let d = o + 1;
        let mut out = ModelStep {
            next_obs: Vec::with_capacity(p * o),
            rewards: Vec::with_capacity(p),
            terminated: Vec::with_capacity(p),
            truncated: Vec::with_capacity(p),
            disagreement: Vec::with_capacity(p),
        };
        let mut next = vec![0.0f32; o];
        for i in 0..p {
            let disagreement = pred.disagreement(&elites, i);
            let mut reward;
            match self.config.propagation {
                Propagation::Expectation => {
                    pred.mean_next_obs(&elites, i, &mut next);
                    reward = elites.iter().map(|&e| pred.reward[e * n + i]).sum::<f32>()
                        / elites.len() as f32;
                }
                mode => {
                    let e = if mode == Propagation::RandomMember {
                        elites[self.rng.index(elites.len())]
                    } else {
                        self.member_of[i]
                    };
                    next.copy_from_slice(&pred.next_obs[(e * n + i) * o..(e * n + i + 1) * o]);
                    reward = pred.reward[e * n + i];
                    if let (true, Some(var)) = (self.config.sample, &pred.variance) {
                        for (j, x) in next.iter_mut().enumerate() {
                            *x += var[(e * n + i) * d + j].sqrt() * self.rng.normal() as f32;
                        }
                        reward += var[(e * n + i) * d + o].sqrt() * self.rng.normal() as f32;
                    }
                }
            }
            let (oi, ai) = (&obs[i * o..(i + 1) * o], &actions[i * a..(i + 1) * a]);
            let termination_prob = pred.termination_prob.as_ref().map(|prob| {
                elites.iter().map(|&e| prob[e * n + i]).sum::<f32>() / elites.len() as f32
            });
            let terminated;
            (reward, terminated) = self.known.resolve(oi, ai, &next, reward, termination_prob);
            out.next_obs.extend_from_slice(&next);
            out.rewards.push(reward);
            out.terminated.push(terminated);
            out.truncated.push(
                self.config
                    .max_disagreement
                    .is_some_and(|m| disagreement > m),
            );
            out.disagreement.push(disagreement);
        }
        Ok(out)
    }
}
