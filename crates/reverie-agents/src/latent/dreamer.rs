//! Dreamer (DreamerV3, Hafner et al. 2023): a world model learned from replayed sequences
//! and an actor-critic trained only on trajectories imagined in its latent space.
//!
//! Every `B·T / train_ratio` env steps one update runs:
//! 1. the world model's loss on `B` windows of `T` steps ([`WorldModel::loss`]);
//! 2. from every posterior state of that batch, `horizon` steps imagined with the actor;
//! 3. λ-returns `R_h = r_{h+1} + γ c_{h+1} ((1 − λ) v_{h+1} + λ R_{h+1})` on the slow
//!    critic's values, normalised by the 5th–95th percentile range `S` (an EMA, at least 1);
//! 4. the actor by REINFORCE, `−w_h [sg((R_h − v_h)/S) ln π(a_h | s_h) + η H(π(s_h))]`, and
//!    the critic by the two-hot log-likelihood of `sg(R_h)` plus a pull towards the slow
//!    critic (DreamerV3's `slowreg`); `w_h` are the imagined continuation weights.
//!
//! Acting threads the RSSM state and the previous action through the agent's [`Carry`],
//! reset where `is_first`.

use std::time::Instant;

use candle_core::{Device, Tensor, D};
use reverie_core::{
    snapshot, ActContext, Action, Agent, Carry, Metrics, Mode, ObsBatch, Rng, SequenceBatch,
    SequenceBuffer, SequenceBufferConfig, Space, StepBatch,
};
use reverie_models::{
    LatentModel, ObsShape, RssmState, SequenceInputs, WorldModel, WorldModelConfig,
};
use reverie_nn::dist::one_hot::DREAMER_UNIMIX;
use reverie_nn::dist::{Distribution, Normal, OneHotCategorical, TwoHot, TwoHotBins};
use reverie_nn::{
    Activation, Adam, AdamConfig, AdamState, DeviceSpec, Init, Mlp, MlpConfig, Parameters,
};
use serde::{Deserialize, Serialize};

use crate::error::{backend, require};
use crate::model_free::common::{load_nets, to_unit, ActionKind};
use crate::{AgentError, Algorithm};

/// Hyperparameters of [`Dreamer`]; the defaults are DreamerV3's where they fit 2 cores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct DreamerConfig {
    /// The world model (RSSM sizes, heads, loss options).
    pub world_model: WorldModelConfig,
    /// Hidden widths of the actor and the critic.
    pub hidden: Vec<usize>,
    /// Sequences per batch (B).
    pub batch_size: usize,
    /// Steps per sequence (T).
    pub seq_len: usize,
    /// Replayed steps per env step (DreamerV3's train ratio): one update per
    /// `batch_size · seq_len / train_ratio` env steps.
    pub train_ratio: f64,
    /// Env steps of uniformly random actions before the first update.
    pub learning_starts: u64,
    /// Steps the replay keeps (memory is reserved for all of them up front: a 64 × 64 RGB
    /// step takes 12 KB, so pixel runs want 100k or less).
    pub buffer_size: usize,
    /// Imagination horizon.
    pub horizon: usize,
    /// Discount γ of imagined rewards.
    pub gamma: f64,
    /// λ of the λ-returns.
    pub lambda: f64,
    /// Learning rate of the world model.
    pub model_lr: f64,
    /// Learning rate of the actor.
    pub actor_lr: f64,
    /// Learning rate of the critic.
    pub critic_lr: f64,
    /// Entropy bonus η of the actor.
    pub entropy: f64,
    /// How the actor learns: `reinforce` (DreamerV3, both action kinds) or `dynamics`
    /// (DreamerV1: the λ-return's gradient back through the imagined trajectory, for
    /// continuous actions; discrete ones pass it straight through).
    pub actor_grad: ActorGrad,
    /// The slow critic moves this fraction towards the critic every update.
    pub slow_critic_rate: f64,
    /// Decay of the EMA of the return percentiles used for normalisation.
    pub return_norm_decay: f64,
    /// Gradient-norm clip of the world model.
    pub model_grad_clip: f64,
    /// Gradient-norm clip of the actor and the critic.
    pub ac_grad_clip: f64,
    /// Evaluation draws actions from the policy instead of taking its most likely one (the
    /// policy as it trains; the default is the deterministic mode).
    pub eval_sample: bool,
    /// Where the networks live (set from the run's top-level `device`).
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for DreamerConfig {
    fn default() -> Self {
        Self {
            world_model: WorldModelConfig::default(),
            hidden: vec![256, 256],
            batch_size: 16,
            seq_len: 64,
            train_ratio: 64.0,
            learning_starts: 1000,
            buffer_size: 1_000_000,
            horizon: 15,
            gamma: 0.985,
            lambda: 0.95,
            model_lr: 1e-4,
            actor_lr: 3e-5,
            critic_lr: 3e-5,
            entropy: 3e-4,
            actor_grad: ActorGrad::Reinforce,
            slow_critic_rate: 0.02,
            return_norm_decay: 0.99,
            model_grad_clip: 1000.0,
            ac_grad_clip: 100.0,
            eval_sample: false,
            device: DeviceSpec::default(),
        }
    }
}

impl DreamerConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self) -> Result<(), AgentError> {
        self.world_model
            .validate()
            .map_err(|e| AgentError::Backend(format!("[agent.world_model]: {e}")))?;
        require(self.batch_size >= 1, "batch_size", self.batch_size, ">= 1")?;
        require(self.seq_len >= 2, "seq_len", self.seq_len, ">= 2")?;
        require(self.horizon >= 1, "horizon", self.horizon, ">= 1")?;
        require(
            self.train_ratio > 0.0 && self.train_ratio.is_finite(),
            "train_ratio",
            self.train_ratio,
            "> 0",
        )?;
        require(
            self.buffer_size >= self.seq_len,
            "buffer_size",
            self.buffer_size,
            ">= seq_len",
        )?;
        for (key, value) in [
            ("gamma", self.gamma),
            ("lambda", self.lambda),
            ("slow_critic_rate", self.slow_critic_rate),
            ("return_norm_decay", self.return_norm_decay),
        ] {
            require((0.0..=1.0).contains(&value), key, value, "in [0, 1]")?;
        }
        require(self.entropy >= 0.0, "entropy", self.entropy, ">= 0")?;
        for lr in [self.model_lr, self.actor_lr, self.critic_lr] {
            crate::error::learning_rate(lr)?;
        }
        Ok(())
    }

    /// Builds the agent for these spaces.
    pub fn init(self, obs: &Space, act: &Space, rng: Rng) -> Result<Dreamer, AgentError> {
        self.validate()?;
        // uint8 [H, W, C] boxes are images (the pixel envs), other boxes vectors.
        let shape = super::obs_shape(obs, "dreamer")?;
        let kind = ActionKind::of(act, "dreamer")?;
        Dreamer::new(self, obs, act, shape, kind, rng)
    }
}

/// How Dreamer's actor learns from imagined trajectories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorGrad {
    /// Likelihood-ratio gradients with normalised advantages (DreamerV3).
    #[default]
    Reinforce,
    /// Backpropagation of the λ-returns through the world model (DreamerV1).
    Dynamics,
}

/// The acting state of every env: the RSSM state and the previous (model-scale) action.
#[derive(Serialize, Deserialize)]
struct DreamerCarry {
    deter: Vec<f32>,
    stoch: Vec<f32>,
    action: Vec<f32>,
}

/// Dreamer (see the module docs).
pub struct Dreamer {
    config: DreamerConfig,
    kind: ActionKind,
    action_space: Space,
    /// Width of a model-scale action (one-hot for discrete, [−1, 1] for continuous).
    act_dim: usize,
    model: WorldModel,
    actor: Mlp,
    critic: Mlp,
    slow_critic: Mlp,
    bins: TwoHotBins,
    model_adam: Adam,
    actor_adam: Adam,
    critic_adam: Adam,
    buffer: SequenceBuffer,
    batch: Option<SequenceBatch>,
    /// EMA of the 5th and 95th percentiles of the imagined returns.
    return_range: Option<(f64, f64)>,
    /// Updates owed (`train_ratio / (B·T)` per env step).
    credit: f64,
    steps: u64,
    rng: Rng,
    device: Device,
}

impl Dreamer {
    fn new(
        config: DreamerConfig,
        obs: &Space,
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
        let model = config
            .world_model
            .init(shape, act_dim, &mut rng, &device)
            .map_err(backend)?;
        let features = config.world_model.rssm.features();
        let bins = TwoHotBins::dreamer_v3(&device).map_err(backend)?;
        let head = |outputs: usize, rng: &mut Rng| {
            let mut sizes = vec![features];
            sizes.extend(&config.hidden);
            sizes.push(outputs);
            MlpConfig {
                sizes,
                activation: Activation::Silu,
                init: Init::Torch,
            }
            .init(rng, &device)
            .map_err(backend)
        };
        let actor_outputs = match &kind {
            ActionKind::Discrete(n) => *n,
            ActionKind::Continuous { .. } => 2 * act_dim,
        };
        let actor = head(actor_outputs, &mut rng)?;
        let critic = head(bins.count(), &mut rng)?;
        let slow_critic = critic.deep_clone().map_err(backend)?;
        let adam = |vars, lr| {
            Adam::new(
                vars,
                AdamConfig {
                    lr,
                    eps: 1e-8,
                    ..Default::default()
                },
            )
            .map_err(backend)
        };
        let buffer_config = SequenceBufferConfig::for_spaces(config.buffer_size, 1, obs, act);
        Ok(Self {
            model_adam: adam(model.vars(), config.model_lr)?,
            actor_adam: adam(actor.vars(), config.actor_lr)?,
            critic_adam: adam(critic.vars(), config.critic_lr)?,
            buffer: crate::error::sequence_buffer(buffer_config, "buffer_size")?,
            batch: None,
            return_range: None,
            credit: 0.0,
            steps: 0,
            kind,
            action_space: act.clone(),
            act_dim,
            model,
            actor,
            critic,
            slow_critic,
            bins,
            config,
            rng,
            device,
        })
    }

    /// Trainable values of the world model, the actor and the critic (the slow critic is a
    /// copy of the critic and not counted).
    pub fn parameter_count(&self) -> usize {
        [self.model.vars(), self.actor.vars(), self.critic.vars()]
            .iter()
            .flatten()
            .map(|v| v.elem_count())
            .sum()
    }

    /// The actor's distribution over model-scale actions for `features` (`[N, F]`).
    fn policy(&self, features: &Tensor) -> candle_core::Result<Policy> {
        self.policy_of(&self.actor.forward(features)?)
    }

    /// The distribution the actor's outputs `out` (`[N, outputs]`) describe.
    fn policy_of(&self, out: &Tensor) -> candle_core::Result<Policy> {
        Ok(match &self.kind {
            ActionKind::Discrete(_) => {
                Policy::Discrete(OneHotCategorical::new(out, DREAMER_UNIMIX)?)
            }
            ActionKind::Continuous { .. } => {
                // DreamerV3's bounded normal: mean tanh(m), std in [0.1, 1].
                let mean = out.narrow(D::Minus1, 0, self.act_dim)?.tanh()?;
                let raw = out.narrow(D::Minus1, self.act_dim, self.act_dim)?;
                let std = ((raw + 2.0)?.neg()?.exp()? + 1.0)?
                    .recip()?
                    .affine(0.9, 0.1)?;
                Policy::Continuous(Normal::from_std(&mean, &std)?)
            }
        })
    }

    /// A model-scale action row drawn uniformly (the prefill phase).
    fn random_action(&mut self) -> Vec<f32> {
        match &self.kind {
            ActionKind::Discrete(n) => {
                let mut row = vec![0.0; *n];
                row[self.rng.index(*n)] = 1.0;
                row
            }
            ActionKind::Continuous { low, .. } => (0..low.len())
                .map(|_| self.rng.uniform_range(-1.0, 1.0) as f32)
                .collect(),
        }
    }

    fn act_batch(
        &mut self,
        obs: &ObsBatch,
        is_first: &[bool],
        carry: &mut Carry,
        mode: Mode,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let n = obs.len();
        let rssm = self.model.config().rssm.clone();
        let (d, s, a) = (rssm.deter, rssm.stoch(), self.act_dim);
        if carry.get_mut::<DreamerCarry>().is_none() {
            *carry = Carry::new(DreamerCarry {
                deter: vec![0.0; n * d],
                stoch: vec![0.0; n * s],
                action: vec![0.0; n * a],
            });
        }
        let state = carry.get_mut::<DreamerCarry>().expect("set above");
        let dev = &self.device;
        let current = RssmState {
            deter: Tensor::from_slice(&state.deter, (n, d), dev)?,
            stoch: Tensor::from_slice(&state.stoch, (n, s), dev)?,
        };
        // The model starts `is_first` rows from its initial state.
        let previous = state.action.clone();
        let posterior = LatentModel::observe(
            &mut self.model,
            &current,
            &previous,
            obs,
            is_first,
            &mut self.rng,
        )?;
        let prefill = mode.explores() && self.steps < self.config.learning_starts;
        let actions: Vec<Vec<f32>> = if prefill {
            (0..n).map(|_| self.random_action()).collect()
        } else {
            let policy = self.policy(&posterior.features()?)?;
            let chosen = if mode.explores() || self.config.eval_sample {
                policy.sample(&mut self.rng)?
            } else {
                policy.mode()?
            };
            chosen.to_vec2::<f32>()?
        };
        let state = carry.get_mut::<DreamerCarry>().expect("set above");
        state.deter = posterior.deter.flatten_all()?.to_vec1()?;
        state.stoch = posterior.stoch.flatten_all()?.to_vec1()?;
        state.action = actions.concat();
        Ok(actions)
    }

    /// Model-scale actions of a replayed batch: one-hot, or scaled to [−1, 1].
    fn batch_actions(&self, batch: &SequenceBatch) -> Vec<f32> {
        match &self.kind {
            ActionKind::Discrete(n) => {
                let start = match &self.action_space {
                    Space::Discrete { start, .. } => *start,
                    Space::Box(_) => 0,
                };
                batch.one_hot_actions(*n, start)
            }
            ActionKind::Continuous { low, high } => batch
                .actions
                .chunks(low.len())
                .flat_map(|row| {
                    row.iter()
                        .zip(low.iter().zip(high))
                        .map(|(a, (l, h))| to_unit(*a, *l, *h))
                })
                .collect(),
        }
    }

    /// One update of the world model, then of the actor and critic in imagination.
    fn train_step(&mut self) -> candle_core::Result<Vec<(&'static str, f64)>> {
        let (b, t) = (self.config.batch_size, self.config.seq_len);
        // The first batch is allocated in the buffer's observation kind; later ones reuse it.
        let batch = match self.batch.take() {
            Some(mut batch) => self
                .buffer
                .sample_into(b, t, &mut self.rng, &mut batch)
                .map(|()| batch),
            None => self.buffer.sample(b, t, &mut self.rng),
        };
        let batch = batch.map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let actions = self.batch_actions(&batch);
        let inputs = SequenceInputs {
            batch: b,
            steps: t,
            obs: &batch.obs,
            actions: &actions,
            rewards: &batch.rewards,
            is_first: &batch.is_first,
            terminated: &batch.terminated,
        };
        let started = Instant::now();
        let out = self.model.loss(&inputs, &mut self.rng)?;
        self.batch = Some(batch);
        let mut metrics = out.metrics;
        let model_loss = out.loss.to_scalar::<f32>()? as f64;
        self.model_adam.backward_step_taped(
            &out.loss,
            Some(&out.tape),
            Some(self.config.model_grad_clip),
        )?;
        metrics.push(("losses/model_loss", model_loss));
        let world_model_s = started.elapsed().as_secs_f64();
        metrics.extend(self.imagine_and_learn(&out.posteriors)?);
        // Wall-clock (the `time/` metrics runs are compared without).
        metrics.push(("time/world_model_s", world_model_s));
        metrics.push((
            "time/behaviour_s",
            started.elapsed().as_secs_f64() - world_model_s,
        ));
        Ok(metrics)
    }

    /// Steps 2–4 of the module docs from `starts` (detached posterior states).
    fn imagine_and_learn(
        &mut self,
        starts: &RssmState,
    ) -> candle_core::Result<Vec<(&'static str, f64)>> {
        let h = self.config.horizon;
        let (gamma, lambda) = (self.config.gamma, self.config.lambda);
        // REINFORCE needs no gradient through the imagined trajectory; dynamics
        // backpropagation keeps it, drawing actions with reparameterised samples.
        let backprop = self.config.actor_grad == ActorGrad::Dynamics;
        let mut states = vec![starts.clone()];
        let mut actions = Vec::with_capacity(h);
        // The actor's outputs at each imagined state, kept with their graph for the actor's
        // loss: computing them again over all H·N states would cost a second actor forward.
        let mut outputs = Vec::with_capacity(h);
        for step in 0..h {
            let out = self.actor.forward(&states[step].features()?)?;
            let policy = self.policy_of(&out)?;
            let action = if backprop {
                policy.rsample(&mut self.rng)?
            } else {
                policy.sample(&mut self.rng)?
            };
            let next = self
                .model
                .rssm()
                .imagine(&states[step], &action, &mut self.rng)?;
            actions.push(if backprop { action.detach() } else { action });
            states.push(if backprop { next } else { next.detach() });
            outputs.push(out);
        }
        let outputs = Tensor::cat(&outputs, 0)?; // [H·N, outputs], step-major
        let features: Vec<Tensor> = states
            .iter()
            .map(|s| s.features().map(|f| f.detach()))
            .collect::<candle_core::Result<_>>()?;
        let all = Tensor::stack(&features, 0)?; // [H+1, N, F]
        let (steps, n, width) = all.dims3()?;
        let flat = all.reshape((steps * n, width))?;
        // Rewards and continuations of the states reached (1..=H); values of all H+1.
        let reached = all.narrow(0, 1, h)?.reshape((h * n, width))?;
        let reward = self.model.reward(&reached)?.detach().reshape((h, n))?;
        let cont = self
            .model
            .continuation(&reached)?
            .detach()
            .reshape((h, n))?;
        let slow = TwoHot::new(&self.slow_critic.forward(&flat)?, &self.bins)?
            .mean()?
            .detach()
            .reshape((steps, n))?;
        let reward = reward.to_vec2::<f32>()?;
        let cont = cont.to_vec2::<f32>()?;
        let values = slow.to_vec2::<f32>()?;

        // λ-returns and continuation weights, on the CPU (H × N scalars); `reward[k]` and
        // `cont[k]` belong to state k + 1.
        let mut returns = vec![vec![0.0f32; n]; h + 1];
        returns[h] = values[h].clone();
        for k in (0..h).rev() {
            for i in 0..n {
                let discount = gamma as f32 * cont[k][i];
                returns[k][i] = reward[k][i]
                    + discount
                        * ((1.0 - lambda as f32) * values[k + 1][i]
                            + lambda as f32 * returns[k + 1][i]);
            }
        }
        let mut weights = vec![vec![1.0f32; n]; h];
        for k in 1..h {
            for i in 0..n {
                weights[k][i] = weights[k - 1][i] * gamma as f32 * cont[k - 1][i];
            }
        }
        let flat_returns: Vec<f32> = returns[..h].concat();
        let (lo, hi) = percentiles(&flat_returns);
        let decay = self.config.return_norm_decay;
        let (lo, hi) = match self.return_range {
            None => (lo, hi),
            Some((l, u)) => (
                decay * l + (1.0 - decay) * lo,
                decay * u + (1.0 - decay) * hi,
            ),
        };
        self.return_range = Some((lo, hi));
        let scale = (hi - lo).max(1.0);

        // The dynamics actor steps first: it reads the slow critic, which the critic's
        // update below moves.
        let backprop_actor = if backprop {
            Some(self.dynamics_actor_step(&states, &outputs, scale, &weights)?)
        } else {
            None
        };

        let dev = self.device.clone();
        let head = all.narrow(0, 0, h)?.reshape((h * n, width))?;
        let target = Tensor::from_vec(flat_returns.clone(), h * n, &dev)?;
        let w = Tensor::from_vec(weights.concat(), h * n, &dev)?;

        // Critic: two-hot likelihood of the returns and of the slow critic's values.
        let critic = TwoHot::new(&self.critic.forward(&head)?, &self.bins)?;
        let slow_head = Tensor::from_vec(values[..h].concat(), h * n, &dev)?;
        let critic_loss = ((critic.log_prob(&target)? + critic.log_prob(&slow_head)?)?.neg()?
            * &w)?
            .mean_all()?;
        let critic_value = critic_loss.to_scalar::<f32>()? as f64;
        let value = critic.mean()?.detach().to_vec1::<f32>()?;
        self.critic_adam
            .backward_step(&critic_loss, Some(self.config.ac_grad_clip))?;
        self.slow_critic
            .soft_update_from(&self.critic, self.config.slow_critic_rate)?;

        if let Some((actor_value, entropy)) = backprop_actor {
            return Ok(vec![
                ("losses/actor_loss", actor_value),
                ("losses/critic_loss", critic_value),
                ("charts/imagined_return", mean(&flat_returns)),
                ("charts/return_scale", scale),
                ("charts/policy_entropy", entropy),
            ]);
        }

        // Actor: REINFORCE with normalised advantages, and an entropy bonus.
        let advantage: Vec<f32> = flat_returns
            .iter()
            .zip(&value)
            .map(|(r, v)| ((r - v) as f64 / scale) as f32)
            .collect();
        let advantage = Tensor::from_vec(advantage, h * n, &dev)?;
        let taken = Tensor::stack(&actions, 0)?;
        let taken = taken.reshape((h * n, taken.dim(D::Minus1)?))?;
        let policy = self.policy_of(&outputs)?;
        let log_prob = policy.log_prob(&taken)?;
        let entropy = policy.entropy()?;
        let objective = ((log_prob * &advantage)? + (entropy.clone() * self.config.entropy)?)?;
        let actor_loss = (objective * &w)?.neg()?.mean_all()?;
        let actor_value = actor_loss.to_scalar::<f32>()? as f64;
        self.actor_adam
            .backward_step(&actor_loss, Some(self.config.ac_grad_clip))?;
        Ok(vec![
            ("losses/actor_loss", actor_value),
            ("losses/critic_loss", critic_value),
            ("charts/imagined_return", mean(&flat_returns)),
            ("charts/return_scale", scale),
            (
                "charts/policy_entropy",
                entropy.mean_all()?.to_scalar::<f32>()? as f64,
            ),
        ])
    }
}

impl Dreamer {
    /// DreamerV1's actor update: maximise the normalised λ-returns of the imagined
    /// trajectory `states` (with its gradient graph), back through the rewards, the
    /// continuations, the slow critic's values and the model, plus the entropy bonus.
    /// Returns the loss and the mean entropy.
    fn dynamics_actor_step(
        &mut self,
        states: &[RssmState],
        outputs: &Tensor,
        scale: f64,
        weights: &[Vec<f32>],
    ) -> candle_core::Result<(f64, f64)> {
        let h = states.len() - 1;
        let (gamma, lambda) = (self.config.gamma, self.config.lambda);
        let features: Vec<Tensor> = states
            .iter()
            .map(RssmState::features)
            .collect::<candle_core::Result<_>>()?;
        let all = Tensor::stack(&features, 0)?;
        let (steps, n, width) = all.dims3()?;
        let flat = all.reshape((steps * n, width))?;
        let reached = all.narrow(0, 1, h)?.reshape((h * n, width))?;
        let reward = self.model.reward(&reached)?.reshape((h, n))?;
        let cont = self.model.continuation(&reached)?.reshape((h, n))?;
        let value = TwoHot::new(&self.slow_critic.forward(&flat)?, &self.bins)?
            .mean()?
            .reshape((steps, n))?;
        let mut ret = value.get(h)?;
        let mut returns = Vec::with_capacity(h);
        for k in (0..h).rev() {
            let bootstrap = ((value.get(k + 1)? * (1.0 - lambda))? + (ret * lambda)?)?;
            ret = (reward.get(k)? + ((cont.get(k)? * gamma)? * bootstrap)?)?;
            returns.push(ret.clone());
        }
        returns.reverse();
        let returns = Tensor::stack(&returns, 0)?.reshape(h * n)?;
        let entropy = self.policy_of(outputs)?.entropy()?;
        let w = Tensor::from_vec(weights.concat(), h * n, &self.device)?;
        let objective = ((returns / scale)? + (entropy.clone() * self.config.entropy)?)?;
        let loss = (objective * &w)?.neg()?.mean_all()?;
        let value = loss.to_scalar::<f32>()? as f64;
        self.actor_adam
            .backward_step(&loss, Some(self.config.ac_grad_clip))?;
        Ok((value, entropy.mean_all()?.to_scalar::<f32>()? as f64))
    }
}

/// The actor's distribution.
enum Policy {
    Discrete(OneHotCategorical),
    Continuous(Normal),
}

impl Policy {
    /// A draw with gradients: straight-through one-hot, or the reparameterised normal
    /// clipped to the action range with a straight-through gradient. A plain clamp passes
    /// no gradient to draws beyond ±1, and with σ near 1 early on most of a saturating
    /// policy's draws are there (Pendulum's best torques are ±1).
    fn rsample(&self, rng: &mut Rng) -> candle_core::Result<Tensor> {
        match self {
            Policy::Discrete(d) => d.rsample(rng),
            Policy::Continuous(d) => {
                let draw = d.rsample(rng)?;
                &draw + (draw.clamp(-1.0, 1.0)? - &draw)?.detach()
            }
        }
    }

    fn sample(&self, rng: &mut Rng) -> candle_core::Result<Tensor> {
        match self {
            Policy::Discrete(d) => d.sample(rng),
            Policy::Continuous(d) => d.sample(rng)?.clamp(-1.0, 1.0),
        }
    }

    fn mode(&self) -> candle_core::Result<Tensor> {
        match self {
            Policy::Discrete(d) => d.mode(),
            Policy::Continuous(d) => d.mode(),
        }
    }

    fn log_prob(&self, value: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Policy::Discrete(d) => d.log_prob(value),
            Policy::Continuous(d) => d.log_prob(value),
        }
    }

    fn entropy(&self) -> candle_core::Result<Tensor> {
        match self {
            Policy::Discrete(d) => d.entropy(),
            Policy::Continuous(d) => d.entropy(),
        }
    }
}

/// The 5th and 95th percentiles (nearest rank).
fn percentiles(values: &[f32]) -> (f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64;
    (at(0.05), at(0.95))
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|v| *v as f64).sum::<f64>() / values.len().max(1) as f64
}

impl Agent for Dreamer {
    // The carry starts empty (the trait's default) and `act_batch` sizes it on first use.
    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        let rows = self
            .act_batch(obs, ctx.is_first, carry, mode)
            .expect("Dreamer's acting pass runs on finite inputs");
        actions.clear();
        actions.extend(
            rows.iter()
                .map(|row| super::env_action(&self.kind, &self.action_space, row)),
        );
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let mut metrics = Vec::new();
        if let Err(e) = self.buffer.add_step(step) {
            // A non-finite observation or reward is refused by the buffer; the driver stops
            // on non-finite observations, so this is a reward.
            let _ = e;
            metrics.push(("losses/skipped_update", 1.0));
            return metrics;
        }
        self.steps += step.len() as u64;
        if self.steps < self.config.learning_starts {
            return metrics;
        }
        let per_update = (self.config.batch_size * self.config.seq_len) as f64;
        self.credit += self.config.train_ratio * step.len() as f64 / per_update;
        while self.credit >= 1.0 {
            self.credit -= 1.0;
            match self.train_step() {
                Ok(m) => metrics.extend(m),
                Err(_) => metrics.push(("losses/skipped_update", 1.0)),
            }
        }
        metrics
    }

    fn save_carry(&self, carry: &Carry) -> Option<Vec<u8>> {
        snapshot::save_carry::<DreamerCarry>(carry)
    }

    fn load_carry(&self, bytes: &[u8], _envs: usize) -> Result<Carry, String> {
        snapshot::load_carry::<DreamerCarry>("dreamer carry", bytes)
    }

    fn save(&self) -> Vec<u8> {
        let mut tensors = self.model.named_tensors("model");
        tensors.extend(self.actor.named_tensors("actor"));
        tensors.extend(self.critic.named_tensors("critic"));
        tensors.extend(self.slow_critic.named_tensors("slow_critic"));
        let adam = |a: &Adam| a.state().expect("optimiser moments are readable");
        let state = DreamerState {
            nets: reverie_nn::checkpoint::to_bytes(&tensors, &serde_json::json!({}))
                .expect("parameters serialise"),
            adams: [
                adam(&self.model_adam),
                adam(&self.actor_adam),
                adam(&self.critic_adam),
            ],
            buffer: self.buffer.clone(),
            return_range: self.return_range,
            credit: self.credit,
            steps: self.steps,
            rng: self.rng.clone(),
        };
        snapshot::save(Algorithm::Dreamer.name(), &state)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: DreamerState =
            snapshot::load(Algorithm::Dreamer.name(), bytes).map_err(|e| e.to_string())?;
        let (tensors, _) = reverie_nn::checkpoint::from_bytes(&state.nets, &self.device)?;
        load_nets(
            &tensors,
            &[
                ("model", &self.model),
                ("actor", &self.actor),
                ("critic", &self.critic),
                ("slow_critic", &self.slow_critic),
            ],
        )?;
        for (adam, saved) in [
            &mut self.model_adam,
            &mut self.actor_adam,
            &mut self.critic_adam,
        ]
        .into_iter()
        .zip(&state.adams)
        {
            adam.load_state(saved).map_err(|e| e.to_string())?;
        }
        if state.buffer.config() != self.buffer.config() {
            return Err("the saved replay has another shape or capacity".into());
        }
        self.buffer = state.buffer;
        self.return_range = state.return_range;
        self.credit = state.credit;
        self.steps = state.steps;
        self.rng = state.rng;
        Ok(())
    }
}

/// Everything Dreamer needs to continue: networks, optimisers, replay, the return
/// normaliser, counters and the generator (the acting carry is the driver's).
#[derive(Serialize, Deserialize)]
struct DreamerState {
    nets: Vec<u8>,
    adams: [AdamState; 3],
    buffer: SequenceBuffer,
    return_range: Option<(f64, f64)>,
    credit: f64,
    steps: u64,
    rng: Rng,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f32> = (0..101).map(|v| v as f32).collect();
        assert_eq!(percentiles(&values), (5.0, 95.0));
    }
}
