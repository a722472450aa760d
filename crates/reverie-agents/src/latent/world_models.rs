//! World Models (Ha & Schmidhuber 2018): a VAE compresses each observation to z (V), an
//! MDN-RNN learns how z moves under the actions (M), and a linear controller on `[z, h]`
//! (C) is searched by CMA-ES — in the real env, or entirely inside M's dream.
//!
//! The run has the paper's phases, in env steps:
//! 1. `random_steps` of uniformly random actions make the dataset of whole episodes;
//! 2. V trains on its frames (`vae_updates`), every frame is encoded once, then M trains on
//!    the episodes' latent sequences (`rnn_updates`; z drawn afresh from q(z | x) for every
//!    batch, as the paper does). Both are blocking steps inside one `observe`;
//! 3. CMA-ES over C's parameters. `train_in = "real"`: every candidate plays `trials`
//!    episodes in the training envs (N envs play N episodes at once) and scores their mean
//!    return. `train_in = "dream"`: the candidates play `trials` episodes each inside M,
//!    all at once as one batch, starting from the latents of real first frames; z is drawn
//!    at temperature τ, the step's reward is M's, and the episode ends where M's end logit
//!    is positive or after `dream_steps`. A dream generation runs every
//!    `1 / dream_generations_per_step` real steps, while the real envs play the current
//!    controller;
//! 4. with `iterations` > 1 (the paper's section 6, "iterative training"), those real
//!    steps are recorded, and every `iteration_steps` M trains again on all of them: a
//!    controller that found a hole in the dream plays it in reality, and the next M learns
//!    where the dream was wrong. V is not retrained, so z keeps its meaning for the search.
//!    The controller itself never learns from a real step.
//!
//! Acting (and evaluation) uses the CMA-ES mean: the paper's estimate of the optimum. z is
//! the posterior mean of the current frame; h is threaded through the agent's [`Carry`] and
//! reset where `is_first`.

use candle_core::{Device, Tensor};
use reverie_core::{
    snapshot, ActContext, Action, Agent, Carry, Metrics, Mode, ObsBatch, Rng, Space, StepBatch,
};
use reverie_models::{MdnRnn, MdnRnnConfig, MdnSequences, ObsShape, Vae, VaeConfig};
use reverie_nn::{Adam, AdamConfig, DeviceSpec, Parameters};
use reverie_planning::{CmaEs, CmaEsConfig};
use serde::{Deserialize, Serialize};

use crate::error::{backend, require};
use crate::model_free::common::{load_nets, ActionKind};
use crate::{AgentError, Algorithm};

/// Hyperparameters of [`WorldModels`]; sizes are the paper's CarRacing ones unless noted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct WorldModelsConfig {
    /// The vision model V.
    pub vae: VaeConfig,
    /// The memory model M.
    pub rnn: MdnRnnConfig,
    /// Env steps of uniformly random actions that make the dataset.
    pub random_steps: u64,
    /// Updates of V, on batches of `vae_batch` frames drawn uniformly from the dataset.
    pub vae_updates: usize,
    /// Frames per V update.
    pub vae_batch: usize,
    /// Learning rate of V (the paper: 1e-4).
    pub vae_lr: f64,
    /// Updates of M, on batches of `rnn_batch` episodes.
    pub rnn_updates: usize,
    /// Episodes per M update.
    pub rnn_batch: usize,
    /// Steps per training window of M.
    pub rnn_seq_len: usize,
    /// Learning rate of M (the paper: 1e-3).
    pub rnn_lr: f64,
    /// Gradient-norm clip of M (the paper: 1).
    pub rnn_grad_clip: f64,
    /// The controller sees h as well as z (the paper's full agent; false is its "z only"
    /// ablation).
    pub controller_h: bool,
    /// Where CMA-ES scores the candidates: `real` or `dream`.
    pub train_in: TrainIn,
    /// The search (the paper: population 64, σ₀ 0.1).
    pub cmaes: CmaEsConfig,
    /// Episodes per candidate; its score is their mean return (the paper: 16).
    pub trials: usize,
    /// Temperature τ of the dream's draws of z (the paper's VizDoom: 1.15).
    pub temperature: f64,
    /// Longest dream episode.
    pub dream_steps: usize,
    /// Dream generations per real env step once the models are trained (`dream` only).
    pub dream_generations_per_step: f64,
    /// Rounds of the paper's iterative procedure (its section 6): after the first, each
    /// round records `iteration_steps` real steps of the current controller and trains M
    /// again on everything recorded (V stays as trained, so z keeps its meaning). 1: the
    /// paper's experiments, one dataset of random episodes.
    pub iterations: usize,
    /// Real steps recorded per later round.
    pub iteration_steps: u64,
    /// While recording later rounds, the probability of a uniformly random action instead
    /// of the controller's.
    pub collect_random_prob: f64,
    /// Training envs (real-mode episodes run N at a time).
    pub num_envs: usize,
    /// Where the networks live (set from the run's top-level `device`).
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for WorldModelsConfig {
    fn default() -> Self {
        Self {
            vae: VaeConfig::default(),
            rnn: MdnRnnConfig::default(),
            random_steps: 10_000,
            vae_updates: 2_000,
            vae_batch: 64,
            vae_lr: 1e-4,
            rnn_updates: 2_000,
            rnn_batch: 32,
            rnn_seq_len: 200,
            rnn_lr: 1e-3,
            rnn_grad_clip: 1.0,
            controller_h: true,
            train_in: TrainIn::Dream,
            cmaes: CmaEsConfig {
                population: 32,
                sigma: 0.1,
            },
            trials: 4,
            temperature: 1.0,
            dream_steps: 500,
            dream_generations_per_step: 0.05,
            iterations: 1,
            iteration_steps: 5_000,
            collect_random_prob: 0.1,
            num_envs: 4,
            device: DeviceSpec::default(),
        }
    }
}

/// Where the controller's candidates are scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrainIn {
    /// Episodes in the real training envs.
    Real,
    /// Episodes inside the MDN-RNN (the paper's "dream").
    #[default]
    Dream,
}

impl WorldModelsConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self) -> Result<(), AgentError> {
        self.vae
            .validate()
            .map_err(|e| AgentError::Backend(format!("[agent.vae]: {e}")))?;
        for (key, value) in [
            ("vae_updates", self.vae_updates),
            ("vae_batch", self.vae_batch),
            ("rnn_updates", self.rnn_updates),
            ("rnn_batch", self.rnn_batch),
            ("rnn_seq_len", self.rnn_seq_len),
            ("trials", self.trials),
            ("dream_steps", self.dream_steps),
            ("num_envs", self.num_envs),
            ("iterations", self.iterations),
            ("rnn.hidden", self.rnn.hidden),
            ("rnn.mixtures", self.rnn.mixtures),
        ] {
            require(value >= 1, key, value, ">= 1")?;
        }
        require(
            self.random_steps >= 1,
            "random_steps",
            self.random_steps,
            ">= 1",
        )?;
        require(
            self.iteration_steps >= 1,
            "iteration_steps",
            self.iteration_steps,
            ">= 1",
        )?;
        require(
            (0.0..=1.0).contains(&self.collect_random_prob),
            "collect_random_prob",
            self.collect_random_prob,
            "in [0, 1]",
        )?;
        require(
            self.temperature > 0.0 && self.temperature.is_finite(),
            "temperature",
            self.temperature,
            "> 0",
        )?;
        require(
            self.dream_generations_per_step > 0.0 && self.dream_generations_per_step.is_finite(),
            "dream_generations_per_step",
            self.dream_generations_per_step,
            "> 0",
        )?;
        require(
            self.rnn_grad_clip > 0.0,
            "rnn_grad_clip",
            self.rnn_grad_clip,
            "> 0",
        )?;
        require(
            self.cmaes.sigma > 0.0 && self.cmaes.sigma.is_finite(),
            "cmaes.sigma",
            self.cmaes.sigma,
            "> 0",
        )?;
        require(
            self.cmaes.population != 1,
            "cmaes.population",
            self.cmaes.population,
            ">= 2 (or 0 for the default)",
        )?;
        for lr in [self.vae_lr, self.rnn_lr] {
            crate::error::learning_rate(lr)?;
        }
        Ok(())
    }

    /// Builds the agent for these spaces.
    pub fn init(self, obs: &Space, act: &Space, rng: Rng) -> Result<WorldModels, AgentError> {
        self.validate()?;
        let shape = super::obs_shape(obs, "world-models")?;
        let kind = ActionKind::of(act, "world-models")?;
        WorldModels::new(self, act, shape, kind, rng)
    }
}

/// One finished or growing episode of the dataset.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Episode {
    /// `L + 1` observations.
    frames: ObsBatch,
    /// `L` model-scale actions, `act_dim` each.
    actions: Vec<f32>,
    /// `L` rewards.
    rewards: Vec<f32>,
    /// The last observation is terminal (not a time limit).
    terminated: bool,
}

impl Episode {
    fn steps(&self) -> usize {
        self.rewards.len()
    }
}

/// Latents of an episode's frames under the trained V: `[L + 1, latent]` means and
/// standard deviations.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct EncodedEpisode {
    means: Vec<f32>,
    stds: Vec<f32>,
}

/// The search's bookkeeping in `real` mode: which candidate each training env plays.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RealTrials {
    /// Episodes handed out this generation (candidate `k / trials`).
    next: usize,
    /// The episode each env plays, if any, and its return so far.
    playing: Vec<Option<(usize, f64)>>,
    /// Returns per candidate.
    returns: Vec<Vec<f64>>,
}

/// The acting state of every env: the LSTM's `(h, c)`, `[N, hidden]` each, row-major.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct WmCarry {
    h: Vec<f32>,
    c: Vec<f32>,
}

/// What a [`WorldModels`] run has gathered and where it stands (V's and M's weights apart):
/// kept in one place so that a checkpoint saves and restores it whole.
#[derive(Clone, Serialize, Deserialize)]
struct Progress {
    /// Finished episodes, kept until the models are trained.
    episodes: Vec<Episode>,
    /// Each training env's episode in progress.
    open: Vec<Option<Episode>>,
    /// V's latents of the dataset's episodes, in order (their frames are dropped once
    /// encoded); their first rows are the dream's start states.
    encoded: Vec<EncodedEpisode>,
    /// M trainings so far (the first comes with V's).
    memory_trainings: usize,
    /// Env steps at the last training.
    steps_at_training: u64,
    /// Per-dimension mean and standard deviation of the dataset's vector observations, which
    /// V sees standardised (set when the models train; images are not rescaled).
    obs_scale: Option<(Vec<f32>, Vec<f32>)>,
    /// The search, once V and M are trained.
    es: Option<CmaEs>,
    /// The current generation's candidates.
    candidates: Vec<Vec<f64>>,
    /// Real-mode trials of the current generation.
    real: RealTrials,
    /// Dream generations owed.
    credit: f64,
    /// Env steps observed.
    steps: u64,
    /// The agent's generator.
    rng: Rng,
}

/// World Models (see the module docs).
pub struct WorldModels {
    config: WorldModelsConfig,
    kind: ActionKind,
    action_space: Space,
    act_dim: usize,
    vae: Vae,
    rnn: MdnRnn,
    /// Everything that changes as the run goes, and is checkpointed whole.
    progress: Progress,
    device: Device,
}

impl WorldModels {
    fn new(
        config: WorldModelsConfig,
        act: &Space,
        shape: ObsShape,
        kind: ActionKind,
        mut rng: Rng,
    ) -> Result<Self, AgentError> {
        let device = config.device.device().map_err(backend)?;
        let act_dim = match &kind {
            ActionKind::Discrete(n) => *n,
            ActionKind::Continuous { low, .. } => low.len(),
        };
        let vae = config.vae.init(shape, &mut rng, &device).map_err(backend)?;
        let rnn = config
            .rnn
            .init(config.vae.latent, act_dim, &mut rng, &device)
            .map_err(backend)?;
        Ok(Self {
            progress: Progress {
                episodes: Vec::new(),
                open: vec![None; config.num_envs],
                encoded: Vec::new(),
                memory_trainings: 0,
                steps_at_training: 0,
                obs_scale: None,
                es: None,
                candidates: Vec::new(),
                real: RealTrials::default(),
                credit: 0.0,
                steps: 0,
                rng,
            },
            kind,
            action_space: act.clone(),
            act_dim,
            vae,
            rnn,
            device,
            config,
        })
    }

    /// Inputs of the controller: z, then h when `controller_h`.
    fn controller_inputs(&self) -> usize {
        self.config.vae.latent
            + if self.config.controller_h {
                self.rnn.hidden()
            } else {
                0
            }
    }

    /// Outputs of the controller: one logit per discrete action, or one value per action
    /// dimension.
    fn controller_outputs(&self) -> usize {
        self.act_dim
    }

    /// Parameters of the controller: `W [outputs, inputs]` then `b [outputs]`.
    pub fn controller_parameters(&self) -> usize {
        self.controller_outputs() * (self.controller_inputs() + 1)
    }

    /// Trainable values of V and M.
    pub fn parameter_count(&self) -> usize {
        [self.vae.vars(), self.rnn.vars()]
            .iter()
            .flatten()
            .map(|v| v.elem_count())
            .sum()
    }

    /// `obs` as V sees it: vector rows standardised by the dataset's statistics. Without
    /// this, V spends its few nats on the widest dimensions: on CartPole-v1 it reconstructed
    /// the cart's velocity and lost the pole's angle (σ ≈ 0.05 rad), and a linear controller
    /// on z alone, searched in the real env, stalled near 60.
    fn scaled(&self, obs: &ObsBatch) -> ObsBatch {
        Self::standardise(&self.progress.obs_scale, obs)
    }

    /// [`WorldModels::scaled`] with the statistics passed in.
    fn standardise(scale: &Option<(Vec<f32>, Vec<f32>)>, obs: &ObsBatch) -> ObsBatch {
        match (scale, obs) {
            (Some((mean, std)), ObsBatch::F32 { data, dim }) => ObsBatch::F32 {
                data: data
                    .iter()
                    .enumerate()
                    .map(|(k, v)| (v - mean[k % dim]) / std[k % dim])
                    .collect(),
                dim: *dim,
            },
            _ => obs.clone(),
        }
    }

    /// Sets [`WorldModels::scaled`]'s statistics from the dataset (vector observations).
    fn fit_scale(&mut self) {
        let ObsBatch::F32 { dim, .. } = &self.progress.episodes[0].frames else {
            return;
        };
        let dim = *dim;
        let (mut sum, mut sq, mut count) = (vec![0.0f64; dim], vec![0.0f64; dim], 0.0);
        for episode in &self.progress.episodes {
            for row in episode.frames.f32_rows().chunks(dim) {
                for (k, v) in row.iter().enumerate() {
                    sum[k] += *v as f64;
                    sq[k] += (*v as f64).powi(2);
                }
                count += 1.0;
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| ((q / count - m * m).max(0.0).sqrt().max(1e-6)) as f32)
            .collect();
        self.progress.obs_scale = Some((mean.iter().map(|m| *m as f32).collect(), std));
    }

    /// Whether V and M are trained (the search has started).
    fn trained(&self) -> bool {
        self.progress.es.is_some()
    }

    /// The model-scale action (one-hot, or in [−1, 1]) of controller `params` on `x`.
    fn control(&self, params: &[f64], x: &[f32], out: &mut Vec<f32>) {
        let (inputs, outputs) = (self.controller_inputs(), self.controller_outputs());
        let bias = &params[outputs * inputs..];
        let y: Vec<f64> = (0..outputs)
            .map(|o| {
                let w = &params[o * inputs..(o + 1) * inputs];
                bias[o] + w.iter().zip(x).map(|(w, x)| w * *x as f64).sum::<f64>()
            })
            .collect();
        match self.kind {
            ActionKind::Discrete(n) => {
                let best = (0..n).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap_or(0);
                out.extend((0..n).map(|k| if k == best { 1.0 } else { 0.0 }));
            }
            ActionKind::Continuous { .. } => out.extend(y.iter().map(|v| v.tanh() as f32)),
        }
    }

    /// The model-scale row of an env action.
    fn model_action(&self, action: &Action) -> Vec<f32> {
        match (&self.kind, &self.action_space, action) {
            (ActionKind::Discrete(n), Space::Discrete { start, .. }, Action::Discrete(a)) => {
                let mut row = vec![0.0; *n];
                row[(a - start) as usize] = 1.0;
                row
            }
            (ActionKind::Continuous { low, high }, _, Action::Vector(v)) => v
                .iter()
                .zip(low.iter().zip(high))
                .map(|(a, (l, h))| crate::model_free::common::to_unit(*a, *l, *h))
                .collect(),
            _ => unreachable!("actions come from the action space"),
        }
    }

    /// The parameters env `i` plays in `mode`: the candidate of its trial when searching in
    /// the real env, else the CMA-ES mean.
    fn params_for(&self, i: usize, mode: Mode) -> &[f64] {
        let es = self.progress.es.as_ref().expect("trained");
        if mode.explores() && self.config.train_in == TrainIn::Real {
            if let Some(Some((trial, _))) = self.progress.real.playing.get(i) {
                return &self.progress.candidates[trial / self.config.trials];
            }
        }
        es.mean()
    }

    fn act_batch(
        &mut self,
        obs: &ObsBatch,
        is_first: &[bool],
        carry: &mut Carry,
        mode: Mode,
    ) -> candle_core::Result<Vec<Action>> {
        let n = obs.len();
        let hidden = self.rnn.hidden();
        if carry
            .get::<WmCarry>()
            .is_none_or(|c| c.h.len() != n * hidden)
        {
            *carry = Carry::new(WmCarry {
                h: vec![0.0; n * hidden],
                c: vec![0.0; n * hidden],
            });
        }
        let state = carry.get_mut::<WmCarry>().expect("sized above");
        for (i, _) in is_first.iter().enumerate().filter(|(_, f)| **f) {
            state.h[i * hidden..(i + 1) * hidden].fill(0.0);
            state.c[i * hidden..(i + 1) * hidden].fill(0.0);
        }
        if !self.trained() && mode.explores() {
            // The dataset is made of uniformly random actions.
            return Ok((0..n)
                .map(|_| self.action_space.sample(&mut self.progress.rng))
                .collect());
        }
        if mode.explores() && self.config.train_in == TrainIn::Real && self.trained() {
            self.hand_out_trials(is_first);
        }
        let z = self
            .vae
            .posterior(&self.vae.input(&self.scaled(obs), &self.device)?)?
            .mean()
            .to_vec2::<f32>()?;
        let state = carry.get::<WmCarry>().expect("sized above");
        // Before the search starts, evaluation plays the zero controller (CMA-ES's start).
        let zero = (!self.trained()).then(|| vec![0.0; self.controller_parameters()]);
        let mut rows = Vec::with_capacity(n * self.act_dim);
        let mut x = Vec::with_capacity(self.controller_inputs());
        for (i, z) in z.iter().enumerate() {
            x.clear();
            x.extend_from_slice(z);
            if self.config.controller_h {
                x.extend_from_slice(&state.h[i * hidden..(i + 1) * hidden]);
            }
            let params = match &zero {
                Some(zero) => zero.as_slice(),
                None => self.params_for(i, mode),
            };
            self.control(params, &x, &mut rows);
            if mode.explores()
                && self.trained()
                && self.progress.memory_trainings < self.config.iterations
                && self.progress.rng.bernoulli(self.config.collect_random_prob)
            {
                let random = self.action_space.sample(&mut self.progress.rng);
                let at = rows.len() - self.act_dim;
                rows[at..].copy_from_slice(&self.model_action(&random));
            }
        }
        if self.config.controller_h {
            let t = |v: &[f32], w: usize| Tensor::from_slice(v, (n, w), &self.device);
            let (h, c) = self.rnn.step(
                &t(&z.concat(), self.config.vae.latent)?,
                &t(&rows, self.act_dim)?,
                (&t(&state.h, hidden)?, &t(&state.c, hidden)?),
            )?;
            *carry = Carry::new(WmCarry {
                h: h.flatten_all()?.to_vec1()?,
                c: c.flatten_all()?.to_vec1()?,
            });
        }
        Ok(rows
            .chunks(self.act_dim)
            .map(|row| super::env_action(&self.kind, &self.action_space, row))
            .collect())
    }

    /// Gives each training env that starts an episode the next unplayed trial, if any.
    fn hand_out_trials(&mut self, is_first: &[bool]) {
        let total = self.progress.candidates.len() * self.config.trials;
        if self.progress.real.playing.len() != is_first.len() {
            self.progress.real.playing = vec![None; is_first.len()];
        }
        for (i, &first) in is_first.iter().enumerate() {
            if first && self.progress.real.playing[i].is_none() && self.progress.real.next < total {
                self.progress.real.playing[i] = Some((self.progress.real.next, 0.0));
                self.progress.real.next += 1;
            }
        }
    }

    /// Adds one step of every training env to the dataset.
    fn record(&mut self, step: &StepBatch<'_>) {
        for i in 0..step.len() {
            let action = self.model_action(&step.actions[i]);
            let episode = self.progress.open[i].get_or_insert_with(|| {
                let mut frames = step.obs.empty_like();
                frames.push_row(step.obs, i);
                Episode {
                    frames,
                    actions: Vec::new(),
                    rewards: Vec::new(),
                    terminated: false,
                }
            });
            episode.actions.extend(action);
            episode.rewards.push(step.rewards[i] as f32);
            episode.frames.push_row(step.next_obs, i);
            if step.terminated[i] || step.truncated[i] {
                let mut done = self.progress.open[i].take().expect("inserted above");
                done.terminated = step.terminated[i];
                self.progress.episodes.push(done);
            }
        }
    }

    /// Moves the training envs' unfinished episodes into the dataset, cut where they are
    /// (their steps so far count as time-limited).
    fn close_open_episodes(&mut self) {
        for slot in &mut self.progress.open {
            if let Some(episode) = slot.take() {
                if episode.steps() > 0 {
                    self.progress.episodes.push(episode);
                }
            }
        }
    }

    /// Phase 2: V on the dataset's frames, every frame encoded, M on the latent episodes,
    /// then the search starts. Returns the last 10% of updates' mean losses.
    fn train_models(&mut self) -> candle_core::Result<Metrics> {
        self.close_open_episodes();
        if self.progress.episodes.is_empty() {
            candle_core::bail!("world models collected no complete step");
        }
        self.fit_scale();
        // V.
        let frame_index: Vec<(usize, usize)> = self
            .progress
            .episodes
            .iter()
            .enumerate()
            .flat_map(|(e, ep)| (0..ep.frames.len()).map(move |f| (e, f)))
            .collect();
        let mut vae_adam = adam(self.vae.vars(), self.config.vae_lr)?;
        let tail = (self.config.vae_updates / 10).max(1);
        let (mut recon, mut kl) = (0.0, 0.0);
        for update in 0..self.config.vae_updates {
            let mut batch = self.progress.episodes[0].frames.empty_like();
            for _ in 0..self.config.vae_batch {
                let (e, f) = frame_index[self.progress.rng.index(frame_index.len())];
                batch.push_row(&self.progress.episodes[e].frames, f);
            }
            let loss = self
                .vae
                .loss(&self.scaled(&batch), &mut self.progress.rng)?;
            vae_adam.backward_step(&loss.loss, None)?;
            if update + tail >= self.config.vae_updates {
                recon += loss.reconstruction / tail as f64;
                kl += loss.kl / tail as f64;
            }
        }
        let mut metrics = vec![("losses/vae_reconstruction", recon), ("losses/vae_kl", kl)];
        metrics.extend(self.train_memory()?);
        let es = CmaEs::new(vec![0.0; self.controller_parameters()], &self.config.cmaes)
            .map_err(candle_core::Error::Msg)?;
        self.progress.es = Some(es);
        self.next_generation();
        Ok(metrics)
    }

    /// Encodes the episodes V has not seen (then drops their frames: V does not train
    /// again), and trains M for `rnn_updates` on every encoded episode, continuing from its
    /// current weights. Returns the last 10% of updates' mean losses.
    fn train_memory(&mut self) -> candle_core::Result<Metrics> {
        self.close_open_episodes();
        for episode in &mut self.progress.episodes[self.progress.encoded.len()..] {
            let frames = std::mem::replace(&mut episode.frames, ObsBatch::Discrete(Vec::new()));
            let input = Self::standardise(&self.progress.obs_scale, &frames);
            let q = self.vae.posterior(&self.vae.input(&input, &self.device)?)?;
            self.progress.encoded.push(EncodedEpisode {
                means: q.mean().flatten_all()?.to_vec1()?,
                stds: q.std().flatten_all()?.to_vec1()?,
            });
            episode.frames = frames.empty_like();
        }
        if self.progress.encoded.is_empty() {
            candle_core::bail!("world models has no episode to train M on");
        }
        // Episodes are drawn in proportion to their steps, so every step is equally likely
        // to be trained on.
        let ends_at: Vec<usize> = self
            .progress
            .episodes
            .iter()
            .scan(0, |total, e| {
                *total += e.steps();
                Some(*total)
            })
            .collect();
        let total_steps = *ends_at.last().expect("checked non-empty");
        let mut rnn_adam = adam(self.rnn.vars(), self.config.rnn_lr)?;
        let tail = (self.config.rnn_updates / 10).max(1);
        let mut parts = [0.0; 3];
        for update in 0..self.config.rnn_updates {
            let picks: Vec<usize> = (0..self.config.rnn_batch)
                .map(|_| {
                    let step = self.progress.rng.index(total_steps);
                    ends_at.partition_point(|&end| end <= step)
                })
                .collect();
            let seq = self.sequences(&picks)?;
            let (loss, p) = self.rnn.loss(&seq)?;
            rnn_adam.backward_step(&loss, Some(self.config.rnn_grad_clip))?;
            if update + tail >= self.config.rnn_updates {
                for (acc, v) in parts.iter_mut().zip(p) {
                    *acc += v / tail as f64;
                }
            }
        }
        self.progress.memory_trainings += 1;
        self.progress.steps_at_training = self.progress.steps;
        if let Some(es) = &self.progress.es {
            // The dream changed under the search: it restarts from its mean with a fresh
            // covariance and σ₀ times the mean's RMS (at least σ₀). Kept as it was, a search
            // that had converged onto a hole of the last dream (σ 0.16 → 0.03 on CartPole
            // seed 1) found every candidate scoring the same in the corrected one, and σ
            // shrank on to 0.003. A plain σ₀ fails the other way: where σ had grown to 280
            // in an easy dream, steps of 0.1 on weights of that size never changed the
            // argmax controller's actions, and its real return stayed at 53.6 for 300
            // generations.
            let mean = es.mean().to_vec();
            let rms = (mean.iter().map(|v| v * v).sum::<f64>() / mean.len() as f64).sqrt();
            let restart = CmaEsConfig {
                sigma: self.config.cmaes.sigma * rms.max(1.0),
                ..self.config.cmaes.clone()
            };
            self.progress.es = Some(CmaEs::new(mean, &restart).map_err(candle_core::Error::Msg)?);
            self.next_generation();
        }
        Ok(vec![
            ("losses/mdn_nll", parts[0]),
            ("losses/mdn_reward", parts[1]),
            ("losses/mdn_end", parts[2]),
            (
                "charts/dataset_episodes",
                self.progress.encoded.len() as f64,
            ),
        ])
    }

    /// [`MdnSequences`] of windows of `rnn_seq_len` steps (or the whole episode, if shorter)
    /// at uniform offsets in the `picks` episodes, z drawn from their posteriors. M starts
    /// each window from zeros, as Dreamer's replay does: training on whole episodes of 500
    /// steps (a good CartPole controller's) cost ten times as much per update.
    fn sequences(&mut self, picks: &[usize]) -> candle_core::Result<MdnSequences> {
        let latent = self.config.vae.latent;
        let a = self.act_dim;
        let t = picks
            .iter()
            .map(|&e| self.progress.episodes[e].steps())
            .max()
            .unwrap_or(1)
            .min(self.config.rnn_seq_len);
        let b = picks.len();
        let mut z = vec![0.0f32; b * (t + 1) * latent];
        let mut actions = vec![0.0f32; b * t * a];
        let mut rewards = vec![0.0f32; b * t];
        let mut ends = vec![0.0f32; b * t];
        let mut mask = vec![0.0f32; b * t];
        for (row, &e) in picks.iter().enumerate() {
            let (episode, code) = (&self.progress.episodes[e], &self.progress.encoded[e]);
            let len = episode.steps().min(t);
            let offset = self.progress.rng.index(episode.steps() - len + 1);
            for f in 0..=len {
                for d in 0..latent {
                    let k = (offset + f) * latent + d;
                    z[(row * (t + 1) + f) * latent + d] =
                        code.means[k] + code.stds[k] * self.progress.rng.normal() as f32;
                }
            }
            for s in 0..len {
                let (at, from) = (row * t + s, offset + s);
                actions[at * a..(at + 1) * a]
                    .copy_from_slice(&episode.actions[from * a..(from + 1) * a]);
                rewards[at] = episode.rewards[from];
                mask[at] = 1.0;
            }
            if episode.terminated && offset + len == episode.steps() {
                ends[row * t + len - 1] = 1.0;
            }
        }
        let d = &self.device;
        Ok(MdnSequences {
            z: Tensor::from_vec(z, (b, t + 1, latent), d)?,
            actions: Tensor::from_vec(actions, (b, t, a), d)?,
            rewards: Tensor::from_vec(rewards, (b, t), d)?,
            ends: Tensor::from_vec(ends, (b, t), d)?,
            mask: Tensor::from_vec(mask, (b, t), d)?,
        })
    }

    /// Draws the next generation's candidates and clears the trials.
    fn next_generation(&mut self) {
        let es = self.progress.es.as_mut().expect("trained");
        self.progress.candidates = es.ask(&mut self.progress.rng);
        self.progress.real = RealTrials {
            next: 0,
            playing: vec![None; self.config.num_envs],
            returns: vec![Vec::new(); self.progress.candidates.len()],
        };
    }

    /// Scores the candidates by their mean returns and moves the search.
    fn tell(&mut self, scores: &[f64]) -> candle_core::Result<Metrics> {
        let es = self.progress.es.as_mut().expect("trained");
        es.tell(&self.progress.candidates, scores)
            .map_err(candle_core::Error::Msg)?;
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let best = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let metrics = vec![
            ("cmaes/mean_score", mean),
            ("cmaes/best_score", best),
            ("cmaes/sigma", es.sigma()),
            ("cmaes/generation", es.generation() as f64),
        ];
        self.next_generation();
        Ok(metrics)
    }

    /// Real mode: adds each playing env's reward; a finished trial records its return, and
    /// when every trial of the generation is in, the search moves.
    fn score_real(&mut self, step: &StepBatch<'_>) -> candle_core::Result<Metrics> {
        for i in 0..step.len() {
            let Some(Some((trial, ret))) = self.progress.real.playing.get_mut(i) else {
                continue;
            };
            *ret += step.rewards[i];
            if step.terminated[i] || step.truncated[i] {
                let (trial, ret) = (*trial, *ret);
                self.progress.real.returns[trial / self.config.trials].push(ret);
                self.progress.real.playing[i] = None;
            }
        }
        if self
            .progress
            .real
            .returns
            .iter()
            .all(|r| r.len() == self.config.trials)
        {
            let scores: Vec<f64> = self
                .progress
                .real
                .returns
                .iter()
                .map(|r| r.iter().sum::<f64>() / r.len() as f64)
                .collect();
            return self.tell(&scores);
        }
        Ok(Vec::new())
    }

    /// Dream mode: every candidate plays `trials` episodes inside M at once.
    fn dream_generation(&mut self) -> candle_core::Result<Metrics> {
        let (latent, a) = (self.config.vae.latent, self.act_dim);
        let trials = self.config.trials;
        // The candidates, then the CMA-ES mean (the controller that acts), `trials` rows
        // each; the mean's dream return is logged, not told to the search.
        let mut players = self.progress.candidates.clone();
        players.push(self.progress.es.as_ref().expect("trained").mean().to_vec());
        let rows = players.len() * trials;
        // Each row starts from a real first frame's z, drawn from its posterior.
        let mut z = Vec::with_capacity(rows * latent);
        for _ in 0..rows {
            let start =
                &self.progress.encoded[self.progress.rng.index(self.progress.encoded.len())];
            for d in 0..latent {
                z.push(start.means[d] + start.stds[d] * self.progress.rng.normal() as f32);
            }
        }
        let mut z = Tensor::from_vec(z, (rows, latent), &self.device)?;
        let (mut h, mut c) = self.rnn.initial_state(rows)?;
        let mut alive: Vec<usize> = (0..rows).collect();
        let mut returns = vec![0.0f64; rows];
        let mut lengths = vec![0usize; rows];
        let mut x = Vec::with_capacity(self.controller_inputs());
        for _ in 0..self.config.dream_steps {
            let z_rows = z.to_vec2::<f32>()?;
            let h_rows = if self.config.controller_h {
                h.to_vec2::<f32>()?
            } else {
                Vec::new()
            };
            let mut act = Vec::with_capacity(alive.len() * a);
            for (k, &row) in alive.iter().enumerate() {
                x.clear();
                x.extend_from_slice(&z_rows[k]);
                if self.config.controller_h {
                    x.extend_from_slice(&h_rows[k]);
                }
                self.control(&players[row / trials], &x, &mut act);
            }
            let act = Tensor::from_vec(act, (alive.len(), a), &self.device)?;
            (h, c) = self.rnn.step(&z, &act, (&h, &c))?;
            let pred = self.rnn.predict(&h)?;
            z = pred
                .next_z
                .sample_with_temperature(&mut self.progress.rng, self.config.temperature)?
                .squeeze(2)?;
            let rewards = pred.reward.to_vec1::<f32>()?;
            let ends = pred.end_logit.to_vec1::<f32>()?;
            let mut keep = Vec::with_capacity(alive.len());
            for (k, &row) in alive.iter().enumerate() {
                returns[row] += rewards[k] as f64;
                lengths[row] += 1;
                if ends[k] <= 0.0 {
                    keep.push(k as u32);
                }
            }
            if keep.is_empty() {
                break;
            }
            if keep.len() < alive.len() {
                let index = Tensor::new(keep.as_slice(), &self.device)?;
                z = z.index_select(&index, 0)?;
                h = h.index_select(&index, 0)?;
                c = c.index_select(&index, 0)?;
                alive = keep.iter().map(|&k| alive[k as usize]).collect();
            }
        }
        let mut scores: Vec<f64> = returns
            .chunks(trials)
            .map(|r| r.iter().sum::<f64>() / trials as f64)
            .collect();
        let mean_return = scores.pop().expect("the mean's row");
        let searched = rows - trials;
        let mean_length = lengths[..searched].iter().sum::<usize>() as f64 / searched as f64;
        let mut metrics = self.tell(&scores)?;
        metrics.push(("dream/episode_length", mean_length));
        metrics.push(("dream/mean_controller_return", mean_return));
        Ok(metrics)
    }
}

fn adam(vars: Vec<candle_core::Var>, lr: f64) -> candle_core::Result<Adam> {
    Adam::new(
        vars,
        AdamConfig {
            lr,
            ..Default::default()
        },
    )
}

impl Agent for WorldModels {
    fn num_envs(&self) -> usize {
        self.config.num_envs
    }

    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        let chosen = self
            .act_batch(obs, ctx.is_first, carry, mode)
            .expect("World Models' acting pass runs on finite inputs");
        actions.clear();
        actions.extend(chosen);
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        self.progress.steps += step.len() as u64;
        if !self.trained() {
            self.record(step);
            if self.progress.steps < self.config.random_steps {
                return Vec::new();
            }
            return self
                .train_models()
                .expect("World Models' training runs on finite data");
        }
        let mut extra = Vec::new();
        if self.progress.memory_trainings < self.config.iterations {
            self.record(step);
            if self.progress.steps - self.progress.steps_at_training >= self.config.iteration_steps
            {
                match self.train_memory() {
                    Ok(m) => extra = m,
                    Err(_) => extra.push(("losses/skipped_update", 1.0)),
                }
            }
        }
        let result = match self.config.train_in {
            TrainIn::Real => self.score_real(step),
            TrainIn::Dream => {
                self.progress.credit += self.config.dream_generations_per_step * step.len() as f64;
                let mut metrics = Vec::new();
                while self.progress.credit >= 1.0 {
                    self.progress.credit -= 1.0;
                    match self.dream_generation() {
                        Ok(m) => metrics.extend(m),
                        Err(_) => {
                            metrics.push(("losses/skipped_update", 1.0));
                            break;
                        }
                    }
                }
                Ok(metrics)
            }
        };
        let mut metrics = result.unwrap_or_else(|_| vec![("losses/skipped_update", 1.0)]);
        metrics.extend(extra);
        metrics
    }

    fn save_carry(&self, carry: &Carry) -> Option<Vec<u8>> {
        snapshot::save_carry::<WmCarry>(carry)
    }

    fn load_carry(&self, bytes: &[u8], _envs: usize) -> Result<Carry, String> {
        snapshot::load_carry::<WmCarry>("world-models carry", bytes)
    }

    fn save(&self) -> Vec<u8> {
        let mut tensors = self.vae.named_tensors("vae");
        tensors.extend(self.rnn.named_tensors("rnn"));
        let state = WorldModelsState {
            nets: reverie_nn::checkpoint::to_bytes(&tensors, &serde_json::json!({}))
                .expect("parameters serialise"),
            progress: self.progress.clone(),
        };
        snapshot::save(Algorithm::WorldModels.name(), &state)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: WorldModelsState =
            snapshot::load(Algorithm::WorldModels.name(), bytes).map_err(|e| e.to_string())?;
        let (tensors, _) = reverie_nn::checkpoint::from_bytes(&state.nets, &self.device)?;
        load_nets(&tensors, &[("vae", &self.vae), ("rnn", &self.rnn)])?;
        let progress = state.progress;
        if progress.open.len() != self.config.num_envs {
            return Err(format!(
                "the checkpoint has {} training envs, the config {}",
                progress.open.len(),
                self.config.num_envs
            ));
        }
        if let Some(es) = &progress.es {
            if es.dim() != self.controller_parameters() {
                return Err("the saved search has another controller size".into());
            }
        }
        self.progress = progress;
        Ok(())
    }
}

/// Everything World Models needs to continue: V's and M's weights and the run's
/// [`Progress`] (the dataset until the models are trained, the latents, the search and its
/// trials, counters, the generator).
#[derive(Serialize, Deserialize)]
struct WorldModelsState {
    nets: Vec<u8>,
    progress: Progress,
}
