//! PPO (Schulman et al. 2017) with clipped surrogate, in the form Stable-Baselines3 and
//! CleanRL share: N parallel envs × `n_steps` rollouts, GAE(λ), per-minibatch advantage
//! normalisation, optional value clipping, entropy bonus, global grad-norm clipping, several
//! epochs of shuffled minibatches, linear learning-rate (and clip-range) annealing, and an
//! approximate-KL early stop.
//!
//! Policies: Categorical over logits for `Discrete` actions; a diagonal Gaussian with a
//! state-independent log-std for Box actions (sampled actions are stored unclipped for
//! their log-probability and clipped to the bounds only for the env). Separate policy and
//! value networks, orthogonally initialised (gains √2, 0.01 for the policy head, 1 for the
//! value head). A truncated episode is bootstrapped by adding γ·V(final observation) to
//! its last reward, as SB3 does.

use candle_core::{Device, Tensor, Var};
use reverie_core::snapshot;
use reverie_core::{
    ActContext, Action, Agent, Carry, Metrics, Mode, ObsBatch, Rng, Space, StepBatch,
};
use reverie_nn::dist::{categorical, Categorical, Distribution};
use reverie_nn::{Activation, Adam, AdamConfig, AdamState, DeviceSpec, Init, Mlp, Parameters};
use serde::{Deserialize, Serialize};

use super::common::{box_obs_dim, load_nets, require_network, rows, ActionKind, RunningMeanStd};
use crate::error::{backend, require};
use crate::{AgentError, Algorithm};

/// PPO hyperparameters (defaults: rl-zoo's CartPole-v1 tuning).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Parallel envs collected from.
    pub num_envs: usize,
    /// Steps per env per rollout (rollout size = `num_envs * n_steps`).
    pub n_steps: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Passes over each rollout.
    pub n_epochs: usize,
    /// Discount γ.
    pub gamma: f64,
    /// GAE λ.
    pub gae_lambda: f64,
    /// Adam learning rate (start value when annealed).
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Surrogate clip ε.
    pub clip_range: f64,
    /// Anneal ε linearly to 0 over the run (rl-zoo's `lin_0.2`).
    pub anneal_clip_range: bool,
    /// Clip the value prediction to ±this around the old value (None: no clipping).
    pub clip_range_vf: Option<f64>,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value-loss coefficient.
    pub vf_coef: f64,
    /// Global gradient-norm clip.
    pub max_grad_norm: f64,
    /// Stop the epoch loop when mean(old_logp − new_logp) of a minibatch exceeds this.
    pub target_kl: Option<f64>,
    /// Normalise advantages per minibatch.
    pub normalize_advantage: bool,
    /// Normalise observations with running statistics (SB3's VecNormalize, obs only).
    pub normalize_obs: bool,
    /// Hidden layer widths of both the policy and the value network.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Orthogonal initialisation (otherwise PyTorch's default).
    pub ortho_init: bool,
    /// Initial log standard deviation of the Gaussian policy (Box actions).
    pub log_std_init: f64,
    /// The device the networks live on; set by the run's top-level `device` key (through
    /// [`crate::AgentConfig::with_device`]), not by the agent table.
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            num_envs: 8,
            n_steps: 32,
            batch_size: 256,
            n_epochs: 20,
            gamma: 0.98,
            gae_lambda: 0.8,
            learning_rate: 1e-3,
            anneal_lr: true,
            clip_range: 0.2,
            anneal_clip_range: true,
            clip_range_vf: None,
            ent_coef: 0.0,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            normalize_advantage: true,
            normalize_obs: false,
            hidden: vec![64, 64],
            activation: Activation::Tanh,
            ortho_init: true,
            log_std_init: 0.0,
            device: DeviceSpec::Cpu,
        }
    }
}

impl PpoConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        require(self.num_envs >= 1, "num_envs", self.num_envs, ">= 1")?;
        require(self.n_steps >= 1, "n_steps", self.n_steps, ">= 1")?;
        require(
            self.batch_size >= 1 && self.batch_size <= self.num_envs * self.n_steps,
            "batch_size",
            self.batch_size,
            "between 1 and num_envs * n_steps",
        )?;
        require(self.n_epochs >= 1, "n_epochs", self.n_epochs, ">= 1")?;
        require(
            (0.0..=1.0).contains(&self.gamma),
            "gamma",
            self.gamma,
            "in [0, 1]",
        )?;
        require(
            (0.0..=1.0).contains(&self.gae_lambda),
            "gae_lambda",
            self.gae_lambda,
            "in [0, 1]",
        )?;
        crate::error::learning_rate(self.learning_rate)?;
        require(self.clip_range > 0.0, "clip_range", self.clip_range, "> 0")?;
        require(
            self.clip_range_vf.is_none_or(|c| c > 0.0),
            "clip_range_vf",
            format!("{:?}", self.clip_range_vf),
            "> 0 or absent",
        )?;
        require(self.ent_coef >= 0.0, "ent_coef", self.ent_coef, ">= 0")?;
        require(self.vf_coef >= 0.0, "vf_coef", self.vf_coef, ">= 0")?;
        require(
            self.max_grad_norm > 0.0,
            "max_grad_norm",
            self.max_grad_norm,
            "> 0",
        )?;
        require(
            self.target_kl.is_none_or(|k| k > 0.0),
            "target_kl",
            format!("{:?}", self.target_kl),
            "> 0 or absent",
        )?;
        require_network(&self.hidden)
    }

    /// Builds the agent; `total_steps` is the run's budget, over which the learning rate
    /// and clip range are annealed.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        mut rng: Rng,
    ) -> Result<Ppo, AgentError> {
        self.validate()?;
        let obs_dim = box_obs_dim(observation_space, "ppo")?;
        let kind = ActionKind::of(action_space, "ppo")?;
        let device = self.device.device().map_err(backend)?;
        let outputs = match &kind {
            ActionKind::Discrete(n) => *n,
            ActionKind::Continuous { low, .. } => low.len(),
        };
        let net = |out: usize, gain: f64, rng: &mut Rng| {
            let mut sizes = vec![obs_dim];
            sizes.extend(&self.hidden);
            sizes.push(out);
            let init = if self.ortho_init {
                Init::Orthogonal {
                    hidden_gain: 2f64.sqrt(),
                    output_gain: gain,
                }
            } else {
                Init::Torch
            };
            Mlp::new(&sizes, self.activation, init, rng, &device)
        };
        let build = || -> candle_core::Result<Ppo> {
            let actor = net(outputs, 0.01, &mut rng)?;
            let critic = net(1, 1.0, &mut rng)?;
            let log_std = match &kind {
                ActionKind::Discrete(_) => None,
                ActionKind::Continuous { .. } => Some(Var::from_tensor(&Tensor::full(
                    self.log_std_init as f32,
                    outputs,
                    &device,
                )?)?),
            };
            let mut vars = actor.vars();
            vars.extend(critic.vars());
            vars.extend(log_std.iter().cloned());
            let adam = Adam::new(
                vars,
                AdamConfig {
                    lr: self.learning_rate,
                    eps: 1e-5,
                    ..Default::default()
                },
            )?;
            let rollout = self.num_envs * self.n_steps;
            Ok(Ppo {
                log_std_values: match &log_std {
                    Some(v) => v.as_tensor().to_vec1::<f32>()?,
                    None => Vec::new(),
                },
                actor,
                critic,
                log_std,
                adam,
                obs_rms: self.normalize_obs.then(|| RunningMeanStd::new(obs_dim)),
                buffer: Rollout::new(rollout, obs_dim, kind.stored_dim()),
                pending: Vec::new(),
                scratch_obs: Vec::new(),
                config: self.clone(),
                obs_dim,
                kind: kind.clone(),
                total_steps: total_steps.max(1),
                steps_done: 0,
                updates: 0,
                rng,
                device: device.clone(),
            })
        };
        build().map_err(|e| AgentError::Backend(e.to_string()))
    }
}

/// One rollout of `num_envs * n_steps` transitions, time-major (`t * num_envs + env`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Rollout {
    obs: Vec<f32>,
    actions: Vec<f32>,
    log_probs: Vec<f32>,
    values: Vec<f32>,
    rewards: Vec<f32>,
    dones: Vec<bool>,
    len: usize,
}

impl Rollout {
    fn new(capacity: usize, obs_dim: usize, action_dim: usize) -> Self {
        Self {
            obs: Vec::with_capacity(capacity * obs_dim),
            actions: Vec::with_capacity(capacity * action_dim),
            log_probs: Vec::with_capacity(capacity),
            values: Vec::with_capacity(capacity),
            rewards: Vec::with_capacity(capacity),
            dones: Vec::with_capacity(capacity),
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.obs.clear();
        self.actions.clear();
        self.log_probs.clear();
        self.values.clear();
        self.rewards.clear();
        self.dones.clear();
        self.len = 0;
    }
}

/// Generalised advantage estimation over a time-major rollout of `num_envs` columns.
/// `dones[t]` marks that the episode ended at step t (no bootstrapping past it);
/// `last_values` are V(s_T) for the step after the rollout. Returns `(advantages, returns)`.
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[bool],
    last_values: &[f32],
    num_envs: usize,
    gamma: f64,
    lambda: f64,
) -> (Vec<f32>, Vec<f32>) {
    let steps = rewards.len() / num_envs;
    let mut advantages = vec![0.0f32; rewards.len()];
    let (gamma, lambda) = (gamma as f32, lambda as f32);
    for (env, last_value) in last_values.iter().enumerate().take(num_envs) {
        let mut running = 0.0f32;
        for t in (0..steps).rev() {
            let i = t * num_envs + env;
            let next_value = if t + 1 == steps {
                *last_value
            } else {
                values[i + num_envs]
            };
            let live = if dones[i] { 0.0 } else { 1.0 };
            let delta = rewards[i] + gamma * next_value * live - values[i];
            running = delta + gamma * lambda * live * running;
            advantages[i] = running;
        }
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

/// Proximal Policy Optimization; see the module docs.
#[derive(Debug)]
pub struct Ppo {
    config: PpoConfig,
    obs_dim: usize,
    kind: ActionKind,
    actor: Mlp,
    critic: Mlp,
    log_std: Option<Var>,
    adam: Adam,
    log_std_values: Vec<f32>,
    obs_rms: Option<RunningMeanStd>,
    buffer: Rollout,
    /// `(stored action row, log-prob, value)` of the actions chosen in the last
    /// exploring `act_batch`, consumed by the next `observe_batch`.
    pending: Vec<(Vec<f32>, f32, f32)>,
    scratch_obs: Vec<f32>,
    total_steps: u64,
    steps_done: u64,
    updates: u64,
    rng: Rng,
    device: Device,
}

/// What one update did (also returned as metrics).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PpoUpdate {
    /// Clipped surrogate loss (mean over minibatches).
    pub policy_loss: f64,
    /// Value loss.
    pub value_loss: f64,
    /// Mean policy entropy.
    pub entropy: f64,
    /// mean(old_logp − new_logp) of the last minibatch.
    pub approx_kl: f64,
    /// Fraction of samples whose ratio left [1 − ε, 1 + ε].
    pub clip_fraction: f64,
    /// Epochs started before the KL stop (n_epochs when it did not fire).
    pub epochs_run: usize,
    /// Whether the KL early stop fired.
    pub kl_stopped: bool,
    /// Learning rate used.
    pub learning_rate: f64,
    /// 1 − Var(returns − values)/Var(returns) of the rollout (1: the critic explains all).
    pub explained_variance: f64,
}

impl Ppo {
    /// The configuration.
    pub fn config(&self) -> &PpoConfig {
        &self.config
    }

    fn normalized(&mut self, obs: &[f32], update: bool) -> Vec<f32> {
        let mut x = obs.to_vec();
        if let Some(rms) = &mut self.obs_rms {
            if update {
                rms.update(obs);
            }
            rms.normalize(&mut x);
        }
        x
    }

    fn value_of(&mut self, row: &[f32]) -> f32 {
        let mut v = [0.0f32];
        self.critic
            .forward_row(row, &mut v)
            .expect("critic forward");
        v[0]
    }

    /// Samples (or picks the mode of) the policy for one normalised row: `(stored action
    /// row, log-prob)`.
    fn policy_row(&mut self, row: &[f32], explore: bool) -> (Vec<f32>, f32) {
        let mut out = vec![0.0f32; self.actor.outputs()];
        self.actor
            .forward_row(row, &mut out)
            .expect("actor forward");
        match &self.kind {
            ActionKind::Discrete(_) => {
                let log_z = categorical::log_normalizer(&out);
                let a = if explore {
                    categorical::sample_index(&out, log_z, &mut self.rng)
                } else {
                    categorical::argmax_index(&out)
                };
                (vec![a as f32], out[a] - log_z)
            }
            ActionKind::Continuous { .. } => {
                if !explore {
                    return (out, 0.0);
                }
                let mut logp = 0.0f32;
                let half_log_2pi = 0.5 * (2.0 * std::f32::consts::PI).ln();
                for (m, log_std) in out.iter_mut().zip(&self.log_std_values) {
                    let eps = self.rng.normal() as f32;
                    *m += log_std.exp() * eps;
                    logp += -0.5 * eps * eps - log_std - half_log_2pi;
                }
                (out, logp)
            }
        }
    }

    /// `(log-probs [B], entropies [B])` of stored `actions` under the current policy.
    fn evaluate(&self, obs: &Tensor, actions: &[f32]) -> candle_core::Result<(Tensor, Tensor)> {
        let out = self.actor.forward(obs)?;
        let batch = out.dim(0)?;
        match &self.log_std {
            None => {
                let policy = Categorical::from_logits(&out)?;
                let index: Vec<u32> = actions.iter().map(|a| *a as u32).collect();
                let index = Tensor::from_vec(index, batch, &self.device)?;
                Ok((policy.log_prob(&index)?, policy.entropy()?))
            }
            Some(log_std) => {
                let dims = out.dim(1)?;
                let a = Tensor::from_slice(actions, (batch, dims), &self.device)?;
                let log_std = log_std.as_tensor().unsqueeze(0)?;
                let z = (a - &out)?.broadcast_div(&log_std.exp()?)?;
                let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
                let log_probs =
                    ((z.sqr()? * -0.5)?.broadcast_sub(&log_std)? - half_log_2pi)?.sum(1)?;
                let entropy = (log_std.sum_all()? + dims as f64 * (0.5 + half_log_2pi))?
                    .broadcast_as(batch)?
                    .contiguous()?;
                Ok((log_probs, entropy))
            }
        }
    }

    /// Runs the PPO epochs over the full rollout in the buffer.
    fn update(&mut self, last_values: &[f32]) -> candle_core::Result<PpoUpdate> {
        let c = self.config.clone();
        let n = self.buffer.len;
        let (advantages, returns) = gae(
            &self.buffer.rewards,
            &self.buffer.values,
            &self.buffer.dones,
            last_values,
            c.num_envs,
            c.gamma,
            c.gae_lambda,
        );
        // CleanRL's schedule: the first update uses the full rate, the fraction left of
        // the budget before this rollout scales later ones.
        let frac =
            1.0 - (self.steps_done.saturating_sub(n as u64)) as f64 / self.total_steps as f64;
        let frac = frac.clamp(0.0, 1.0);
        let lr = if c.anneal_lr {
            c.learning_rate * frac
        } else {
            c.learning_rate
        };
        let clip = if c.anneal_clip_range {
            c.clip_range * frac
        } else {
            c.clip_range
        };
        self.adam.set_lr(lr);
        let action_dim = self.kind.stored_dim();
        let mut order: Vec<usize> = (0..n).collect();
        let mut result = PpoUpdate {
            explained_variance: explained_variance(&self.buffer.values, &returns),
            learning_rate: lr,
            epochs_run: c.n_epochs,
            ..Default::default()
        };
        let (mut sums, mut count) = ([0.0f64; 4], 0usize);
        let mut mb_obs = Vec::new();
        let mut mb_actions = Vec::new();
        'epochs: for epoch in 0..c.n_epochs {
            self.rng.shuffle(&mut order);
            for chunk in order.chunks(c.batch_size) {
                let b = chunk.len();
                mb_obs.clear();
                mb_actions.clear();
                for &i in chunk {
                    mb_obs.extend_from_slice(
                        &self.buffer.obs[i * self.obs_dim..(i + 1) * self.obs_dim],
                    );
                    mb_actions.extend_from_slice(
                        &self.buffer.actions[i * action_dim..(i + 1) * action_dim],
                    );
                }
                let mut adv: Vec<f32> = chunk.iter().map(|&i| advantages[i]).collect();
                if c.normalize_advantage && b > 1 {
                    let mean = adv.iter().sum::<f32>() / b as f32;
                    // torch.std is the unbiased estimate.
                    let std = (adv.iter().map(|a| (a - mean).powi(2)).sum::<f32>()
                        / (b - 1) as f32)
                        .sqrt();
                    for a in adv.iter_mut() {
                        *a = (*a - mean) / (std + 1e-8);
                    }
                }
                let col = |v: Vec<f32>| Tensor::from_vec(v, b, &self.device);
                let old_logp = col(chunk.iter().map(|&i| self.buffer.log_probs[i]).collect())?;
                let old_values = col(chunk.iter().map(|&i| self.buffer.values[i]).collect())?;
                let ret = col(chunk.iter().map(|&i| returns[i]).collect())?;
                let adv = col(adv)?;
                let obs = rows(&mb_obs, self.obs_dim, &self.device)?;

                let (logp, entropy) = self.evaluate(&obs, &mb_actions)?;
                let log_ratio = (&logp - &old_logp)?;
                let ratio = log_ratio.exp()?;
                let policy_loss = clipped_surrogate(&ratio, &adv, clip)?;
                let values = self.critic.forward(&obs)?.squeeze(1)?;
                let values = match c.clip_range_vf {
                    Some(cv) => (&old_values + (&values - &old_values)?.clamp(-cv, cv)?)?,
                    None => values,
                };
                let value_loss = (ret - values)?.sqr()?.mean_all()?;
                let entropy_mean = entropy.mean_all()?;
                let loss =
                    ((&policy_loss - (&entropy_mean * c.ent_coef)?)? + (&value_loss * c.vf_coef)?)?;

                let approx_kl = log_ratio.neg()?.mean_all()?.to_scalar::<f32>()? as f64;
                let clipped: f32 = ratio
                    .to_vec1::<f32>()?
                    .iter()
                    .map(|r| {
                        if (r - 1.0).abs() as f64 > clip {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .sum();
                result.approx_kl = approx_kl;
                if c.target_kl.is_some_and(|k| approx_kl > k) {
                    result.epochs_run = epoch + 1;
                    result.kl_stopped = true;
                    break 'epochs;
                }
                self.adam.backward_step(&loss, Some(c.max_grad_norm))?;
                sums[0] += policy_loss.to_scalar::<f32>()? as f64;
                sums[1] += value_loss.to_scalar::<f32>()? as f64;
                sums[2] += entropy_mean.to_scalar::<f32>()? as f64;
                sums[3] += clipped as f64 / b as f64;
                count += 1;
            }
        }
        let k = count.max(1) as f64;
        result.policy_loss = sums[0] / k;
        result.value_loss = sums[1] / k;
        result.entropy = sums[2] / k;
        result.clip_fraction = sums[3] / k;
        if let Some(log_std) = &self.log_std {
            self.log_std_values = log_std.as_tensor().to_vec1::<f32>()?;
        }
        self.updates += 1;
        Ok(result)
    }
}

/// PPO's clipped surrogate loss, −mean(min(r·A, clip(r, 1 − ε, 1 + ε)·A)).
pub fn clipped_surrogate(
    ratio: &Tensor,
    advantages: &Tensor,
    clip: f64,
) -> candle_core::Result<Tensor> {
    let unclipped = (ratio * advantages)?;
    let clipped = (ratio.clamp(1.0 - clip, 1.0 + clip)? * advantages)?;
    unclipped.minimum(&clipped)?.mean_all()?.neg()
}

impl Agent for Ppo {
    fn num_envs(&self) -> usize {
        self.config.num_envs
    }

    fn act(
        &mut self,
        obs: &ObsBatch,
        _ctx: &ActContext<'_>,
        _carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        let (obs, explore) = (obs.f32_rows(), mode.explores());
        actions.clear();
        let x = self.normalized(obs, explore);
        if explore {
            self.pending.clear();
            self.scratch_obs = x.clone();
        }
        for row in x.chunks_exact(self.obs_dim) {
            let (stored, logp) = self.policy_row(row, explore);
            actions.push(self.kind.to_action(&stored));
            if explore {
                let value = self.value_of(row);
                self.pending.push((stored, logp, value));
            }
        }
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let next_rows = step.next_obs.f32_rows();
        let n = self.config.num_envs;
        assert_eq!(
            self.pending.len(),
            n,
            "observe_batch must follow an exploring act_batch over all sub-envs"
        );
        let obs = std::mem::take(&mut self.scratch_obs);
        self.buffer.obs.extend_from_slice(&obs);
        let pending = std::mem::take(&mut self.pending);
        let gamma = self.config.gamma as f32;
        for (i, (stored, logp, value)) in pending.into_iter().enumerate() {
            let mut reward = step.rewards[i] as f32;
            if step.truncated[i] && !step.terminated[i] {
                let next =
                    self.normalized(&next_rows[i * self.obs_dim..(i + 1) * self.obs_dim], false);
                reward += gamma * self.value_of(&next);
            }
            self.buffer.actions.extend_from_slice(&stored);
            self.buffer.log_probs.push(logp);
            self.buffer.values.push(value);
            self.buffer.rewards.push(reward);
            self.buffer
                .dones
                .push(step.terminated[i] || step.truncated[i]);
            self.buffer.len += 1;
        }
        self.steps_done += n as u64;
        if self.buffer.len < n * self.config.n_steps {
            return Vec::new();
        }
        let next = self.normalized(next_rows, false);
        let last_values: Vec<f32> = next
            .chunks_exact(self.obs_dim)
            .map(|row| self.value_of(row))
            .collect();
        let update = self.update(&last_values);
        self.buffer.clear();
        match update {
            Ok(u) => vec![
                ("losses/policy_loss", u.policy_loss),
                ("losses/value_loss", u.value_loss),
                ("losses/entropy", u.entropy),
                ("losses/approx_kl", u.approx_kl),
                ("losses/clipfrac", u.clip_fraction),
                ("charts/epochs_run", u.epochs_run as f64),
                ("charts/kl_stopped", if u.kl_stopped { 1.0 } else { 0.0 }),
                ("charts/learning_rate", u.learning_rate),
                ("losses/explained_variance", u.explained_variance),
            ],
            // A non-finite loss leaves the parameters as they were; the run goes on with
            // the next rollout and the metric shows it.
            Err(_) => vec![("losses/skipped_update", 1.0)],
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut tensors = self.actor.named_tensors("actor");
        tensors.extend(self.critic.named_tensors("critic"));
        if let Some(log_std) = &self.log_std {
            tensors.insert("log_std".into(), log_std.as_tensor().clone());
        }
        let state = PpoState {
            nets: reverie_nn::checkpoint::to_bytes(&tensors, &serde_json::json!({}))
                .expect("parameters serialise"),
            adam: self.adam.state().expect("optimiser moments are readable"),
            obs_rms: self.obs_rms.clone(),
            rollout: self.buffer.clone(),
            steps_done: self.steps_done,
            updates: self.updates,
            rng: self.rng.clone(),
        };
        snapshot::save(Algorithm::Ppo.name(), &state)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: PpoState =
            snapshot::load(Algorithm::Ppo.name(), bytes).map_err(|e| e.to_string())?;
        let (tensors, _) = reverie_nn::checkpoint::from_bytes(&state.nets, &self.device)?;
        load_nets(
            &tensors,
            &[("actor", &self.actor), ("critic", &self.critic)],
        )?;
        if let Some(log_std) = &self.log_std {
            let t = tensors.get("log_std").ok_or("missing log_std")?;
            if t.dims() != log_std.dims() {
                return Err("log_std has the wrong shape".into());
            }
            log_std.set(t).map_err(|e| e.to_string())?;
            self.log_std_values = t.to_vec1::<f32>().map_err(|e| e.to_string())?;
        }
        self.adam
            .load_state(&state.adam)
            .map_err(|e| e.to_string())?;
        if state.obs_rms.as_ref().map(|r| r.dim()) != self.obs_rms.as_ref().map(|r| r.dim()) {
            return Err("the saved observation statistics do not fit this agent".into());
        }
        self.obs_rms = state.obs_rms;
        self.buffer = state.rollout;
        self.steps_done = state.steps_done;
        self.updates = state.updates;
        self.rng = state.rng;
        Ok(())
    }
}

/// Everything PPO needs to continue exactly: actor, critic, log-std, Adam's moments, the
/// observation statistics, the rollout collected so far, counters and generator.
#[derive(Serialize, Deserialize)]
struct PpoState {
    nets: Vec<u8>,
    adam: AdamState,
    obs_rms: Option<RunningMeanStd>,
    rollout: Rollout,
    steps_done: u64,
    updates: u64,
    rng: Rng,
}

/// 1 − Var(targets − values)/Var(targets) (NaN when the targets are constant).
fn explained_variance(values: &[f32], targets: &[f32]) -> f64 {
    let n = values.len().max(1) as f64;
    let mean = |x: &mut dyn Iterator<Item = f64>| x.sum::<f64>() / n;
    let mt = mean(&mut targets.iter().map(|v| *v as f64));
    let var_t = mean(&mut targets.iter().map(|v| (*v as f64 - mt).powi(2)));
    let diffs: Vec<f64> = targets
        .iter()
        .zip(values)
        .map(|(t, v)| (*t - *v) as f64)
        .collect();
    let md = diffs.iter().sum::<f64>() / n;
    let var_d = diffs.iter().map(|d| (d - md).powi(2)).sum::<f64>() / n;
    if var_t == 0.0 {
        f64::NAN
    } else {
        1.0 - var_d / var_t
    }
}

#[cfg(test)]
mod tests;
