//! MBPO (Janner et al. 2019): SAC trained mostly on short imagined rollouts branched from
//! real states.
//!
//! After `random_steps` uniformly random steps, every `freq_train_model` real steps the
//! probabilistic ensemble is retrained on all real data (holdout, early stopping, elites)
//! and `rollouts_per_step × freq_train_model` states are drawn from the real buffer and
//! rolled forward `k` steps under the current policy, each step through a random elite
//! (TS1), sampling the predicted Gaussian. `k` follows the schedule
//! `[start_epoch, end_epoch, start_len, end_len]` (linear in the epoch, clamped), an epoch
//! being `epoch_length` real steps. The model buffer holds `model_retain_epochs` epochs of
//! rollouts. Every real step then runs `sac_updates_per_step` SAC updates on minibatches
//! with a `real_ratio` fraction of real transitions. Known reward and termination functions
//! replace the learned reward head where the env has them; with `max_disagreement` a
//! rollout stops where the elites disagree more than that (the transition is discarded).
//!
//! The checkpoint holds the SAC networks (the policy `reverie eval` needs); the model is
//! retrained from data and is not saved.

use std::time::Instant;

use reverie_core::{
    ActContext, Action, Agent, Batch, Carry, KnownFunctions, Metrics, Mode, ObsBatch, ReplayBuffer,
    ReplayBufferConfig, Rng, Space, StepBatch,
};
use reverie_models::{
    train, EnsembleModel, EnsembleModelConfig, EnsembleState, FastDynamics, ModelEnv,
    ModelEnvConfig, Propagation, TrainerConfig,
};
use serde::{Deserialize, Serialize};

use super::{store_imagined_step, validate_model_settings};
use crate::error::{backend, require};
use crate::model_free::common::box_obs_dim;
use crate::model_free::sac::SacState;
use crate::model_free::{Sac, SacConfig};
use crate::AgentError;
use crate::Algorithm;
use reverie_core::snapshot;

/// MBPO hyperparameters (defaults: a CPU-sized version of the paper's, tuned on
/// Pendulum-v1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct MbpoConfig {
    /// Uniformly random real steps before the first model.
    pub random_steps: u64,
    /// Retrain the model and refill the model buffer every this many real steps.
    pub freq_train_model: u64,
    /// Real steps per MBPO epoch (the unit of the rollout schedule and of retention).
    pub epoch_length: u64,
    /// `[start_epoch, end_epoch, start_len, end_len]`: rollout length, linear in the epoch.
    pub rollout_schedule: [f64; 4],
    /// Imagined rollouts started per real step (`× freq_train_model` per refill).
    pub rollouts_per_step: usize,
    /// Epochs of imagined transitions the model buffer keeps.
    pub model_retain_epochs: usize,
    /// Fraction of each SAC minibatch drawn from real transitions.
    pub real_ratio: f64,
    /// SAC updates per real step once the model exists.
    pub sac_updates_per_step: usize,
    /// Stop a rollout where the elites' disagreement exceeds this (none if absent; `inf`
    /// stops nothing but measures the disagreement, logged per refill).
    pub max_disagreement: Option<f32>,
    /// Use the env's known reward and termination functions (else the learned heads).
    pub known_functions: bool,
    /// The ensemble.
    pub model: EnsembleModelConfig,
    /// How the ensemble is trained.
    pub trainer: TrainerConfig,
    /// The SAC learner (its own warm-up and update schedule are not used).
    pub sac: SacConfig,
}

impl Default for MbpoConfig {
    fn default() -> Self {
        Self {
            random_steps: 250,
            freq_train_model: 250,
            epoch_length: 250,
            rollout_schedule: [1.0, 8.0, 1.0, 5.0],
            rollouts_per_step: 100,
            model_retain_epochs: 1,
            real_ratio: 0.05,
            sac_updates_per_step: 10,
            max_disagreement: None,
            known_functions: true,
            model: EnsembleModelConfig {
                hidden_sizes: vec![200, 200, 200],
                ..EnsembleModelConfig::default()
            },
            trainer: TrainerConfig {
                max_epochs: 50,
                ..TrainerConfig::default()
            },
            sac: SacConfig {
                buffer_size: 1,
                ..SacConfig::default()
            },
        }
    }
}

impl MbpoConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        require(
            self.freq_train_model >= 1,
            "freq_train_model",
            self.freq_train_model,
            ">= 1",
        )?;
        require(
            self.epoch_length >= 1,
            "epoch_length",
            self.epoch_length,
            ">= 1",
        )?;
        let [a, b, lo, hi] = self.rollout_schedule;
        require(
            b > a && lo >= 1.0 && hi >= 1.0,
            "rollout_schedule",
            format!("{:?}", self.rollout_schedule),
            "[start_epoch, end_epoch > start_epoch, start_len >= 1, end_len >= 1]",
        )?;
        require(
            self.rollouts_per_step >= 1,
            "rollouts_per_step",
            self.rollouts_per_step,
            ">= 1",
        )?;
        require(
            self.model_retain_epochs >= 1,
            "model_retain_epochs",
            self.model_retain_epochs,
            ">= 1",
        )?;
        require(
            (0.0..=1.0).contains(&self.real_ratio),
            "real_ratio",
            self.real_ratio,
            "in [0, 1]",
        )?;
        validate_model_settings(self.max_disagreement, &self.model)?;
        self.sac.validate()
    }

    /// Builds the agent for bounded Box actions; `known` are the env's reward and
    /// termination functions, used in imagined rollouts when `known_functions` is set.
    pub fn init(
        &self,
        known: &KnownFunctions,
        observation_space: &Space,
        action_space: &Space,
        mut rng: Rng,
    ) -> Result<Mbpo, AgentError> {
        self.validate()?;
        let obs_dim = box_obs_dim(observation_space, "mbpo")?;
        let sac = self.sac.init(observation_space, action_space, rng.fork())?;
        let act_dim = action_space.flat_dim();
        let model = EnsembleModel::new(
            self.model.clone(),
            obs_dim,
            act_dim,
            &mut rng.fork(),
            &self.sac.device.device().map_err(backend)?,
        )
        .map_err(backend)?;
        Ok(Mbpo {
            config: self.clone(),
            known: known.only_if(self.known_functions),
            obs_dim,
            act_dim,
            action_space: action_space.clone(),
            sac,
            model,
            model_ready: false,
            real: ReplayBuffer::new(ReplayBufferConfig {
                capacity: 1_000_000,
                obs_dim,
                action_dim: act_dim,
            }),
            imagined: ReplayBuffer::new(ReplayBufferConfig {
                capacity: 1,
                obs_dim,
                action_dim: act_dim,
            }),
            steps_done: 0,
            timings: [0.0; 3],
            last_disagreement: None,
            disagreement_by_depth: Vec::new(),
            rng,
        })
    }
}

/// The rollout length at `epoch` under `[start_epoch, end_epoch, start_len, end_len]`.
pub fn rollout_length(schedule: [f64; 4], epoch: f64) -> usize {
    let [a, b, lo, hi] = schedule;
    let t = ((epoch - a) / (b - a)).clamp(0.0, 1.0);
    (lo + t * (hi - lo)).floor() as usize
}

/// `(mean, median, 90th percentile)` of `values` (None when empty).
fn quantiles(values: &mut [f32]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize] as f64;
    let mean = values.iter().map(|v| *v as f64).sum::<f64>() / values.len() as f64;
    Some((mean, at(0.5), at(0.9)))
}

/// How many of `batch_size` rows come from real data at `real_ratio` (the rest imagined).
pub fn real_rows(batch_size: usize, real_ratio: f64) -> usize {
    ((batch_size as f64 * real_ratio).round() as usize).min(batch_size)
}

/// Model-Based Policy Optimization; see the module docs.
#[derive(Debug)]
pub struct Mbpo {
    config: MbpoConfig,
    /// The env's reward and termination functions for imagined steps (none when the
    /// learned heads are used).
    known: KnownFunctions,
    obs_dim: usize,
    act_dim: usize,
    action_space: Space,
    sac: Sac,
    model: EnsembleModel,
    model_ready: bool,
    /// Real transitions, actions at the env's scale (the model's inputs).
    real: ReplayBuffer,
    /// Imagined transitions, actions in [−1, 1] (SAC's scale).
    imagined: ReplayBuffer,
    steps_done: u64,
    /// Seconds spent in model training, rollouts and SAC updates.
    timings: [f64; 3],
    /// Disagreement summary of the last refill (see [`Mbpo::last_disagreement`]).
    last_disagreement: Option<(f64, f64, f64)>,
    /// Mean disagreement per rollout depth of the last refill.
    disagreement_by_depth: Vec<f64>,
    rng: Rng,
}

impl Mbpo {
    /// The imagined-transition buffer (for tests and diagnostics).
    pub fn imagined(&self) -> &ReplayBuffer {
        &self.imagined
    }

    /// The current epoch (real steps / epoch_length).
    fn epoch(&self) -> f64 {
        (self.steps_done / self.config.epoch_length) as f64
    }

    /// Grows (or shrinks) the model buffer to hold `model_retain_epochs` epochs of
    /// rollouts of length `k`, keeping the newest transitions.
    fn resize_imagined(&mut self, k: usize) {
        let refills_per_epoch = (self.config.epoch_length / self.config.freq_train_model).max(1);
        let capacity = self.config.model_retain_epochs
            * refills_per_epoch as usize
            * self.config.rollouts_per_step
            * self.config.freq_train_model as usize
            * k;
        if capacity == self.imagined.config().capacity {
            return;
        }
        let old = self.imagined.all();
        let mut next = ReplayBuffer::new(ReplayBufferConfig {
            capacity,
            ..self.imagined.config()
        });
        let d = self.obs_dim;
        let start = old.len().saturating_sub(capacity);
        for i in start..old.len() {
            let _ = next.push(
                &old.obs[i * d..(i + 1) * d],
                &old.actions[i * self.act_dim..(i + 1) * self.act_dim],
                old.rewards[i],
                &old.next_obs[i * d..(i + 1) * d],
                old.terminated[i],
                old.truncated[i],
            );
        }
        self.imagined = next;
    }

    /// Rolls `starts` real states forward `k` steps in the model under the current policy
    /// and stores the imagined transitions; returns `(stored, stopped by disagreement)`.
    /// With a disagreement threshold, the disagreement of every imagined step is also
    /// summarised in [`Mbpo::last_disagreement`].
    pub fn imagine(&mut self, starts: usize, k: usize) -> candle_core::Result<(usize, usize)> {
        let indices = self.real.sample_indices(starts, &mut self.rng);
        let mut batch = Batch::default();
        self.real.gather(&indices, &mut batch);
        let mut obs = batch.obs;
        let known = self.known.clone();
        // With a disagreement threshold every member must see every row (ModelEnv);
        // otherwise each row goes through its own random elite only (FastDynamics), the
        // same TS1 sample at 1/E of the work.
        let mut judged = self.config.max_disagreement.map(|m| {
            ModelEnv::new(
                &self.model,
                ModelEnvConfig {
                    propagation: Propagation::RandomMember,
                    sample: true,
                    max_disagreement: Some(m),
                },
                known.clone(),
                self.rng.fork(),
            )
        });
        let mut fast = match judged {
            Some(_) => None,
            None => Some(FastDynamics::new(&self.model, 2)?),
        };
        let elites = self.model.elites().to_vec();
        let d = self.obs_dim;
        let mut counts = (0, 0);
        let mut disagreements: Vec<f32> = Vec::new();
        let mut depth_means: Vec<f64> = Vec::new();
        let mut actions = Vec::new();
        for _ in 0..k {
            if obs.is_empty() {
                break;
            }
            actions.clear();
            self.sac.sample_actions(&obs, &mut actions);
            let mut env_actions = actions.clone();
            self.sac.scale_to_env(&mut env_actions);
            let step = match (&mut judged, &mut fast) {
                (Some(env), _) => env.step(&obs, &env_actions)?,
                (None, Some(fast)) => {
                    let rows = obs.len() / d;
                    let members: Vec<usize> = (0..rows)
                        .map(|_| elites[self.rng.index(elites.len())])
                        .collect();
                    fast.sample_step(&obs, &env_actions, &members, &mut self.rng, &known)
                }
                (None, None) => unreachable!("one of the two is built"),
            };
            if !step.disagreement.is_empty() {
                let sum: f64 = step.disagreement.iter().map(|v| *v as f64).sum();
                depth_means.push(sum / step.disagreement.len() as f64);
            }
            disagreements.extend_from_slice(&step.disagreement);
            obs = store_imagined_step(&mut self.imagined, &obs, &actions, &step, &mut counts);
        }
        self.last_disagreement = quantiles(&mut disagreements);
        self.disagreement_by_depth = depth_means;
        Ok(counts)
    }

    /// `(mean, median, 90th percentile)` of the ensemble disagreement over the imagined
    /// steps of the last refill (None without a disagreement threshold, whose fast path
    /// does not compute it): the scale to set `max_disagreement` against.
    pub fn last_disagreement(&self) -> Option<(f64, f64, f64)> {
        self.last_disagreement
    }

    /// Mean disagreement at each rollout depth of the last refill (empty without a
    /// threshold): how fast imagined states leave the data the model was trained on.
    pub fn disagreement_by_depth(&self) -> &[f64] {
        &self.disagreement_by_depth
    }

    /// A SAC minibatch: `real_rows` real transitions (actions rescaled to [−1, 1]) then
    /// imagined ones.
    pub fn mixed_batch(&mut self, batch_size: usize) -> Batch {
        let n_real = if self.imagined.is_empty() {
            batch_size
        } else {
            real_rows(batch_size, self.config.real_ratio)
        };
        let mut batch = Batch::default();
        let indices = self.real.sample_indices(n_real, &mut self.rng);
        self.real.gather(&indices, &mut batch);
        self.sac.scale_from_env(&mut batch.actions);
        if n_real < batch_size {
            let mut imagined = Batch::default();
            let indices = self
                .imagined
                .sample_indices(batch_size - n_real, &mut self.rng);
            self.imagined.gather(&indices, &mut imagined);
            batch.obs.extend(imagined.obs);
            batch.actions.extend(imagined.actions);
            batch.rewards.extend(imagined.rewards);
            batch.next_obs.extend(imagined.next_obs);
            batch.terminated.extend(imagined.terminated);
            batch.truncated.extend(imagined.truncated);
        }
        batch
    }

    /// Retrains the model and refills the model buffer.
    fn refresh_model(&mut self, metrics: &mut Vec<(&'static str, f64)>) {
        let start = Instant::now();
        let data = self.real.all();
        let mut train_rng = self.rng.fork();
        match train(&mut self.model, &data, &self.config.trainer, &mut train_rng) {
            Ok(report) => {
                let elites = &report.elites;
                let mse = elites
                    .iter()
                    .map(|&e| report.member_val_mse[e])
                    .sum::<f64>()
                    / elites.len().max(1) as f64;
                metrics.push(("model/val_mse_elites", mse));
                metrics.push(("model/epochs", report.epochs.len() as f64));
                self.model_ready = true;
            }
            Err(_) => metrics.push(("model/train_failed", 1.0)),
        }
        self.timings[0] += start.elapsed().as_secs_f64();
        if !self.model_ready {
            return;
        }
        let start = Instant::now();
        let k = rollout_length(self.config.rollout_schedule, self.epoch());
        self.resize_imagined(k);
        let starts = self.config.rollouts_per_step * self.config.freq_train_model as usize;
        match self.imagine(starts, k) {
            Ok((stored, stopped)) => {
                if let Some((mean, median, p90)) = self.last_disagreement {
                    metrics.push(("model/disagreement_mean", mean));
                    metrics.push(("model/disagreement_median", median));
                    metrics.push(("model/disagreement_p90", p90));
                }
                if let (Some(first), Some(last)) = (
                    self.disagreement_by_depth.first(),
                    self.disagreement_by_depth.last(),
                ) {
                    metrics.push(("model/disagreement_first_step_mean", *first));
                    metrics.push(("model/disagreement_last_step_mean", *last));
                }
                metrics.push(("charts/rollout_length", k as f64));
                metrics.push(("model/imagined_stored", stored as f64));
                metrics.push(("model/rollouts_stopped_by_disagreement", stopped as f64));
            }
            Err(_) => metrics.push(("model/rollout_failed", 1.0)),
        }
        self.timings[1] += start.elapsed().as_secs_f64();
        metrics.push(("time/model_train_s", self.timings[0]));
        metrics.push(("time/rollout_s", self.timings[1]));
    }
}

impl Agent for Mbpo {
    fn num_envs(&self) -> usize {
        1
    }

    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        if !mode.explores() {
            return self.sac.act(obs, ctx, carry, mode, actions);
        }
        let obs = obs.f32_rows();
        actions.clear();
        for row in obs.chunks_exact(self.obs_dim) {
            let action = if !self.model_ready {
                self.action_space.sample(&mut self.rng)
            } else {
                let mut a = Vec::with_capacity(self.act_dim);
                self.sac.sample_actions(row, &mut a);
                self.sac.scale_to_env(&mut a);
                Action::Vector(a)
            };
            actions.push(action);
        }
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let (obs_rows, next_rows) = (step.obs.f32_rows(), step.next_obs.f32_rows());
        let action = step.actions[0].as_vector().unwrap_or(&[]).to_vec();
        let _ = self.real.push(
            obs_rows,
            &action,
            step.rewards[0] as f32,
            next_rows,
            step.terminated[0],
            step.truncated[0],
        );
        self.steps_done += 1;
        let mut metrics = Vec::new();
        let c = &self.config;
        if self.steps_done >= c.random_steps
            && (self.steps_done - c.random_steps).is_multiple_of(c.freq_train_model)
        {
            self.refresh_model(&mut metrics);
        }
        if !self.model_ready {
            return metrics;
        }
        let start = Instant::now();
        let (mut sums, mut done) = ([0.0; 3], 0);
        for _ in 0..self.config.sac_updates_per_step {
            let batch = self.mixed_batch(self.config.sac.batch_size);
            match self.sac.update(&batch) {
                Ok((q, pi, alpha)) => {
                    sums[0] += q;
                    sums[1] += pi;
                    sums[2] += alpha;
                    done += 1;
                }
                Err(_) => metrics.push(("losses/skipped_update", 1.0)),
            }
        }
        self.timings[2] += start.elapsed().as_secs_f64();
        if done > 0 {
            let k = done as f64;
            metrics.push(("losses/qf_loss", sums[0] / k));
            metrics.push(("losses/actor_loss", sums[1] / k));
            metrics.push(("losses/alpha", sums[2] / k));
        }
        metrics.push(("time/sac_s", self.timings[2]));
        metrics
    }

    fn save(&self) -> Vec<u8> {
        let state = MbpoState {
            sac: self.sac.state(),
            model: self.model.state().expect("parameters serialise"),
            model_ready: self.model_ready,
            real: self.real.clone(),
            imagined: self.imagined.clone(),
            steps_done: self.steps_done,
            last_disagreement: self.last_disagreement,
            disagreement_by_depth: self.disagreement_by_depth.clone(),
            rng: self.rng.clone(),
        };
        snapshot::save(Algorithm::Mbpo.name(), &state)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: MbpoState =
            snapshot::load(Algorithm::Mbpo.name(), bytes).map_err(|e| e.to_string())?;
        // The imagined buffer's capacity follows the rollout schedule; only widths must fit.
        let widths = |b: &ReplayBuffer| (b.config().obs_dim, b.config().action_dim);
        if state.real.config() != self.real.config()
            || widths(&state.imagined) != widths(&self.imagined)
        {
            return Err("the saved buffers have another shape or capacity".into());
        }
        self.sac.restore_state(state.sac)?;
        self.model.load_state(&state.model)?;
        self.model_ready = state.model_ready;
        self.real = state.real;
        self.imagined = state.imagined;
        self.steps_done = state.steps_done;
        self.last_disagreement = state.last_disagreement;
        self.disagreement_by_depth = state.disagreement_by_depth;
        self.rng = state.rng;
        Ok(())
    }
}

/// Everything MBPO needs to continue exactly: the SAC agent's whole state, the ensemble,
/// the real and imagined buffers, counters and the generator.
#[derive(Serialize, Deserialize)]
struct MbpoState {
    sac: SacState,
    model: EnsembleState,
    model_ready: bool,
    real: ReplayBuffer,
    imagined: ReplayBuffer,
    steps_done: u64,
    last_disagreement: Option<(f64, f64, f64)>,
    disagreement_by_depth: Vec<f64>,
    rng: Rng,
}

#[cfg(test)]
mod tests;
