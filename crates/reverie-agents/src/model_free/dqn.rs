//! DQN (Mnih et al. 2015) as Stable-Baselines3 runs it: a replay buffer, uniform random
//! actions for the first `learning_starts` steps, then ε-greedy with ε annealed linearly
//! over `exploration_fraction` of the run; every `train_freq` env steps, `gradient_steps`
//! Adam steps on the Huber TD loss with grad-norm clipping; a target network refreshed
//! every `target_update_interval` env steps (hard copy at `tau = 1`, Polyak otherwise);
//! optional Double DQN targets (van Hasselt et al. 2016), n-step returns and a linearly
//! falling learning rate. Truncated episodes bootstrap from their final observation;
//! terminated ones do not.
//!
//! Each training phase logs what issue 21's collapse analysis reads: the mean and largest
//! Q of the replayed states, the mean |TD error|, the action gap (best minus second-best Q,
//! Bellemare et al. 2016) and the gradient norm before clipping.

use candle_core::{Device, Tensor, D};
use reverie_core::snapshot;
use reverie_core::{
    ActContext, Action, Agent, Batch, Carry, Metrics, Mode, ObsBatch, ReplayBuffer,
    ReplayBufferConfig, Rng, Space, StepBatch,
};
use reverie_nn::{Activation, Adam, AdamConfig, AdamState, DeviceSpec, Init, Mlp, Parameters};
use serde::{Deserialize, Serialize};

use super::common::{box_obs_dim, discrete_actions, load_nets, require_network, rows};
use crate::error::{backend, require};
use crate::AgentError;
use crate::Algorithm;

/// DQN hyperparameters. The defaults are rl-zoo's CartPole-v1 tuning with two changes that
/// keep the agent solved to the end of its run (issue 21, `reverie experiment
/// dqn-collapse`): 5-step returns and a learning rate annealed to 0. With rl-zoo's one-step
/// returns and constant rate, 5 of 10 seeds ended at ≥ 475, their Q-values still rising at
/// the end of the run; with both changes, 10 of 10.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct DqnConfig {
    /// Parallel envs collected from.
    pub num_envs: usize,
    /// Adam learning rate (at the start, when `final_lr_fraction` < 1).
    pub learning_rate: f64,
    /// The learning rate falls linearly over the run to `learning_rate × final_lr_fraction`
    /// (1: constant, rl-zoo's setting; 0: to zero, as PPO's `anneal_lr`, the default).
    pub final_lr_fraction: f64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Replay capacity (transitions).
    pub buffer_size: usize,
    /// Env steps of uniform random actions before learning starts.
    pub learning_starts: u64,
    /// Discount γ.
    pub gamma: f64,
    /// Env steps between target-network updates.
    pub target_update_interval: u64,
    /// Polyak coefficient of the target update (1: hard copy).
    pub tau: f64,
    /// Env steps between training phases.
    pub train_freq: u64,
    /// Gradient steps per training phase.
    pub gradient_steps: usize,
    /// Fraction of the run over which ε falls from its initial to its final value.
    pub exploration_fraction: f64,
    /// ε at the start.
    pub exploration_initial_eps: f64,
    /// ε after the decay.
    pub exploration_final_eps: f64,
    /// Use Double DQN targets (online net picks a', target net values it).
    pub double_dqn: bool,
    /// Steps of real reward summed before bootstrapping (n-step returns; 1: one-step DQN as
    /// rl-zoo runs it). The sum stops at an episode's end.
    pub n_step: usize,
    /// Global gradient-norm clip.
    pub max_grad_norm: f64,
    /// Hidden layer widths of the Q-network.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// The device the networks live on; set by the run's top-level `device` key (through
    /// [`crate::AgentConfig::with_device`]), not by the agent table.
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for DqnConfig {
    fn default() -> Self {
        Self {
            num_envs: 1,
            learning_rate: 2.3e-3,
            final_lr_fraction: 0.0,
            batch_size: 64,
            buffer_size: 100_000,
            learning_starts: 1000,
            gamma: 0.99,
            target_update_interval: 10,
            tau: 1.0,
            train_freq: 256,
            gradient_steps: 128,
            exploration_fraction: 0.16,
            exploration_initial_eps: 1.0,
            exploration_final_eps: 0.04,
            double_dqn: false,
            n_step: 5,
            max_grad_norm: 10.0,
            hidden: vec![256, 256],
            activation: Activation::Relu,
            device: DeviceSpec::Cpu,
        }
    }
}

impl DqnConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        require(self.num_envs >= 1, "num_envs", self.num_envs, ">= 1")?;
        crate::error::learning_rate(self.learning_rate)?;
        require(
            (0.0..=1.0).contains(&self.final_lr_fraction),
            "final_lr_fraction",
            self.final_lr_fraction,
            "in [0, 1]",
        )?;
        require(self.n_step >= 1, "n_step", self.n_step, ">= 1")?;
        require(self.batch_size >= 1, "batch_size", self.batch_size, ">= 1")?;
        require(
            self.buffer_size >= 1,
            "buffer_size",
            self.buffer_size,
            ">= 1",
        )?;
        require(
            (0.0..=1.0).contains(&self.gamma),
            "gamma",
            self.gamma,
            "in [0, 1]",
        )?;
        require(
            self.target_update_interval >= 1,
            "target_update_interval",
            self.target_update_interval,
            ">= 1",
        )?;
        require(
            self.tau > 0.0 && self.tau <= 1.0,
            "tau",
            self.tau,
            "in (0, 1]",
        )?;
        require(self.train_freq >= 1, "train_freq", self.train_freq, ">= 1")?;
        require(
            (0.0..=1.0).contains(&self.exploration_fraction),
            "exploration_fraction",
            self.exploration_fraction,
            "in [0, 1]",
        )?;
        for (key, eps) in [
            ("exploration_initial_eps", self.exploration_initial_eps),
            ("exploration_final_eps", self.exploration_final_eps),
        ] {
            require((0.0..=1.0).contains(&eps), key, eps, "in [0, 1]")?;
        }
        require(
            self.max_grad_norm > 0.0,
            "max_grad_norm",
            self.max_grad_norm,
            "> 0",
        )?;
        require_network(&self.hidden)
    }

    /// Builds the agent for `Discrete` actions; `total_steps` sets the ε schedule.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        mut rng: Rng,
    ) -> Result<Dqn, AgentError> {
        self.validate()?;
        let obs_dim = box_obs_dim(observation_space, "dqn")?;
        let actions = discrete_actions(action_space, "dqn")?;
        let device = self.device.device().map_err(backend)?;
        let mut sizes = vec![obs_dim];
        sizes.extend(&self.hidden);
        sizes.push(actions);
        let buffer = crate::error::replay_buffer(
            ReplayBufferConfig {
                capacity: self.buffer_size,
                obs_dim,
                action_dim: 1,
            },
            "buffer_size",
        )?;
        let build = || -> candle_core::Result<Dqn> {
            let q = Mlp::new(&sizes, self.activation, Init::Torch, &mut rng, &device)?;
            let target = q.deep_clone()?;
            let adam = Adam::new(
                q.vars(),
                AdamConfig {
                    lr: self.learning_rate,
                    ..Default::default()
                },
            )?;
            Ok(Dqn {
                q,
                target,
                adam,
                buffer,
                batch: Batch::default(),
                discounts: Vec::new(),
                config: self.clone(),
                obs_dim,
                actions,
                total_steps: total_steps.max(1),
                steps_done: 0,
                since_train: 0,
                since_target: 0,
                rng,
                device: device.clone(),
            })
        };
        build().map_err(|e| AgentError::Backend(e.to_string()))
    }
}

/// Deep Q-Network; see the module docs.
#[derive(Debug)]
pub struct Dqn {
    config: DqnConfig,
    obs_dim: usize,
    actions: usize,
    q: Mlp,
    target: Mlp,
    adam: Adam,
    buffer: ReplayBuffer,
    batch: Batch,
    /// The bootstrap weights γ^m of `batch`'s rows (n-step returns).
    discounts: Vec<f32>,
    total_steps: u64,
    steps_done: u64,
    since_train: u64,
    since_target: u64,
    rng: Rng,
    device: Device,
}

impl Dqn {
    /// ε at the current step (SB3's linear schedule).
    pub fn epsilon(&self) -> f64 {
        let c = &self.config;
        let progress = self.steps_done as f64 / self.total_steps as f64;
        if c.exploration_fraction == 0.0 || progress >= c.exploration_fraction {
            c.exploration_final_eps
        } else {
            c.exploration_initial_eps
                + progress * (c.exploration_final_eps - c.exploration_initial_eps)
                    / c.exploration_fraction
        }
    }

    /// The real transitions seen so far (actions as indices).
    pub fn replay(&self) -> &ReplayBuffer {
        &self.buffer
    }

    /// The configuration.
    pub fn config(&self) -> &DqnConfig {
        &self.config
    }

    /// Number of discrete actions.
    pub fn action_count(&self) -> usize {
        self.actions
    }

    /// ε-greedy actions at the current ε for rows of observations (imagined rollouts).
    pub fn explore_rows(&mut self, obs: &[f32], out: &mut Vec<usize>) {
        let eps = self.epsilon();
        for row in obs.chunks_exact(self.obs_dim) {
            let a = if self.rng.uniform() < eps {
                self.rng.index(self.actions)
            } else {
                self.greedy(row)
            };
            out.push(a);
        }
    }

    fn greedy(&mut self, row: &[f32]) -> usize {
        let mut q = vec![0.0f32; self.actions];
        self.q.forward_row(row, &mut q).expect("Q-network forward");
        argmax(&q)
    }

    /// The learning rate at the current step: linear from `learning_rate` to
    /// `learning_rate × final_lr_fraction` over the run.
    pub fn learning_rate(&self) -> f64 {
        let c = &self.config;
        let progress = (self.steps_done as f64 / self.total_steps as f64).min(1.0);
        c.learning_rate * (1.0 - progress * (1.0 - c.final_lr_fraction))
    }

    /// One Adam step on a minibatch of n-step transitions from the agent's own replay.
    fn train_step(&mut self) -> candle_core::Result<TdUpdate> {
        let c = &self.config;
        let indices = self.buffer.sample_indices(c.batch_size, &mut self.rng);
        let mut batch = std::mem::take(&mut self.batch);
        let mut discounts = std::mem::take(&mut self.discounts);
        // The envs push their rows in turn, so one env's next step lies `num_envs` rows on.
        self.buffer.gather_n_step(
            &indices,
            c.n_step,
            c.gamma as f32,
            c.num_envs,
            &mut batch,
            &mut discounts,
        );
        let result = self.update_discounted(&batch, &discounts);
        self.batch = batch;
        self.discounts = discounts;
        result
    }

    /// One Adam step on the Huber TD loss of `batch` (actions stored as indices), where row
    /// `i` bootstraps with weight `discounts[i]` (γ^m for an m-step return) unless it
    /// terminated. Neural Dyna calls this with imagined minibatches.
    pub fn update_discounted(
        &mut self,
        batch: &Batch,
        discounts: &[f32],
    ) -> candle_core::Result<TdUpdate> {
        let c = &self.config;
        let b = batch.len();
        let obs = rows(&batch.obs, self.obs_dim, &self.device)?;
        let next_obs = rows(&batch.next_obs, self.obs_dim, &self.device)?;
        let next_q = self.target.forward_frozen(&next_obs)?;
        let next_value = if c.double_dqn {
            let pick = self
                .q
                .forward_frozen(&next_obs)?
                .argmax_keepdim(D::Minus1)?;
            next_q.gather(&pick, 1)?.squeeze(1)?
        } else {
            next_q.max(D::Minus1)?
        };
        let live: Vec<f32> = batch
            .terminated
            .iter()
            .zip(discounts)
            .map(|(t, d)| if *t { 0.0 } else { *d })
            .collect();
        let target = (Tensor::from_slice(&batch.rewards, b, &self.device)?
            + (next_value * Tensor::from_vec(live, b, &self.device)?)?)?;
        let index: Vec<u32> = batch.actions.iter().map(|a| *a as u32).collect();
        let index = Tensor::from_vec(index, (b, 1), &self.device)?;
        let q_all = self.q.forward(&obs)?;
        let q_taken = q_all.gather(&index, 1)?.squeeze(1)?;
        let td = (&q_taken - target)?;
        let loss = huber(&td)?;
        let mut update = TdUpdate {
            loss: loss.to_scalar::<f32>()? as f64,
            q_mean: q_taken.mean_all()?.to_scalar::<f32>()? as f64,
            td_abs: td.abs()?.mean_all()?.to_scalar::<f32>()? as f64,
            ..Default::default()
        };
        (update.q_max, update.action_gap) = value_spread(&q_all.detach().to_vec2::<f32>()?);
        update.grad_norm = self.adam.backward_step(&loss, Some(c.max_grad_norm))?;
        Ok(update)
    }
}

/// What one DQN update measured (the collapse diagnostics of the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TdUpdate {
    /// Huber TD loss.
    pub loss: f64,
    /// Mean Q(s, a) of the replayed pairs.
    pub q_mean: f64,
    /// Largest Q(s, ·) in the minibatch.
    pub q_max: f64,
    /// Mean |Q(s, a) − target|.
    pub td_abs: f64,
    /// Mean over states of the best minus the second-best action value.
    pub action_gap: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// The largest value over all rows and the mean action gap (best minus second best).
fn value_spread(q: &[Vec<f32>]) -> (f64, f64) {
    let (mut max, mut gap) = (f64::NEG_INFINITY, 0.0);
    for row in q {
        let (mut first, mut second) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
        for &v in row {
            if v > first {
                (first, second) = (v, first);
            } else if v > second {
                second = v;
            }
        }
        max = max.max(first as f64);
        if second.is_finite() {
            gap += (first - second) as f64;
        }
    }
    (max, gap / q.len().max(1) as f64)
}

/// One training phase's updates: their sums, and the largest Q (in `sums.q_max`).
#[derive(Default)]
struct PhaseStats {
    updates: usize,
    sums: TdUpdate,
}

impl PhaseStats {
    fn add(&mut self, u: &TdUpdate) {
        let s = &mut self.sums;
        s.loss += u.loss;
        s.q_mean += u.q_mean;
        s.q_max = if self.updates == 0 {
            u.q_max
        } else {
            s.q_max.max(u.q_max)
        };
        s.td_abs += u.td_abs;
        s.action_gap += u.action_gap;
        s.grad_norm += u.grad_norm;
        self.updates += 1;
    }

    /// Phase means, and the largest Q seen in the phase.
    fn metrics(&self) -> Vec<(&'static str, f64)> {
        let (s, n) = (&self.sums, self.updates as f64);
        vec![
            ("losses/td_loss", s.loss / n),
            ("losses/q_values", s.q_mean / n),
            ("losses/q_max", s.q_max),
            ("losses/td_error_abs", s.td_abs / n),
            ("losses/action_gap", s.action_gap / n),
            ("losses/grad_norm", s.grad_norm / n),
        ]
    }
}

/// Mean Huber loss with δ = 1 (PyTorch's `smooth_l1_loss`): ½d² inside ±1, |d| − ½ outside.
pub fn huber(d: &Tensor) -> candle_core::Result<Tensor> {
    let a = d.abs()?;
    let inner = a.minimum(1.0)?;
    ((inner.sqr()? * 0.5)? + (a - inner)?)?.mean_all()
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (k, v)| {
            if *v > best.1 {
                (k, *v)
            } else {
                best
            }
        })
        .0
}

impl Agent for Dqn {
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
        let eps = self.epsilon();
        let warmup = self.steps_done < self.config.learning_starts;
        for row in obs.chunks_exact(self.obs_dim) {
            let a = if explore && (warmup || self.rng.uniform() < eps) {
                self.rng.index(self.actions)
            } else {
                self.greedy(row)
            };
            actions.push(Action::Discrete(a as i64));
        }
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let (obs_rows, next_rows) = (step.obs.f32_rows(), step.next_obs.f32_rows());
        let d = self.obs_dim;
        for (i, action) in step.actions.iter().enumerate() {
            let a = action.as_discrete().unwrap_or(0) as f32;
            // A non-finite observation is refused by the buffer; the loop stops the run on it.
            let _ = self.buffer.push(
                &obs_rows[i * d..(i + 1) * d],
                &[a],
                step.rewards[i] as f32,
                &next_rows[i * d..(i + 1) * d],
                step.terminated[i],
                step.truncated[i],
            );
        }
        let n = self.config.num_envs as u64;
        self.steps_done += n;
        self.since_train += n;
        self.since_target += n;
        let mut metrics = vec![("charts/epsilon", self.epsilon())];
        if self.since_target >= self.config.target_update_interval {
            self.since_target = 0;
            if let Err(e) = self.target.soft_update_from(&self.q, self.config.tau) {
                panic!("target update failed: {e}");
            }
        }
        if self.since_train >= self.config.train_freq
            && self.steps_done > self.config.learning_starts
        {
            self.since_train = 0;
            let lr = self.learning_rate();
            self.adam.set_lr(lr);
            let mut phase = PhaseStats::default();
            for _ in 0..self.config.gradient_steps {
                match self.train_step() {
                    Ok(update) => phase.add(&update),
                    Err(_) => metrics.push(("losses/skipped_update", 1.0)),
                }
            }
            if phase.updates > 0 {
                metrics.extend(phase.metrics());
                metrics.push(("charts/learning_rate", lr));
            }
        }
        metrics
    }

    fn save(&self) -> Vec<u8> {
        snapshot::save(Algorithm::Dqn.name(), &self.state())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: DqnState =
            snapshot::load(Algorithm::Dqn.name(), bytes).map_err(|e| e.to_string())?;
        self.restore_state(state)
    }
}

/// Everything a DQN needs to continue exactly: both networks, Adam's moments, the replay
/// buffer, the step counters and the generator.
#[derive(Serialize, Deserialize)]
pub(crate) struct DqnState {
    nets: Vec<u8>,
    adam: AdamState,
    buffer: ReplayBuffer,
    steps_done: u64,
    since_train: u64,
    since_target: u64,
    rng: Rng,
}

impl Dqn {
    pub(crate) fn state(&self) -> DqnState {
        let mut tensors = self.q.named_tensors("q");
        tensors.extend(self.target.named_tensors("target"));
        DqnState {
            nets: reverie_nn::checkpoint::to_bytes(&tensors, &serde_json::json!({}))
                .expect("parameters serialise"),
            adam: self.adam.state().expect("optimiser moments are readable"),
            buffer: self.buffer.clone(),
            steps_done: self.steps_done,
            since_train: self.since_train,
            since_target: self.since_target,
            rng: self.rng.clone(),
        }
    }

    pub(crate) fn restore_state(&mut self, state: DqnState) -> Result<(), String> {
        let (tensors, _) = reverie_nn::checkpoint::from_bytes(&state.nets, &self.device)?;
        load_nets(&tensors, &[("q", &self.q), ("target", &self.target)])?;
        self.adam
            .load_state(&state.adam)
            .map_err(|e| e.to_string())?;
        if state.buffer.config() != self.buffer.config() {
            return Err("the saved replay buffer has another shape or capacity".into());
        }
        self.buffer = state.buffer;
        self.steps_done = state.steps_done;
        self.since_train = state.since_train;
        self.since_target = state.since_target;
        self.rng = state.rng;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(config: DqnConfig) -> Dqn {
        let obs = Space::boxed(vec![-1.0; 2], vec![1.0; 2]);
        config
            .init(&obs, &Space::discrete(2), 1000, Rng::seed_from_u64(0))
            .unwrap()
    }

    fn step(dqn: &mut Dqn) -> Metrics {
        let obs = [0.1f32, 0.2];
        dqn.observe(&StepBatch {
            obs: &ObsBatch::from_f32(obs.to_vec(), obs.len()),
            actions: &[Action::Discrete(1)],
            rewards: &[1.0],
            next_obs: &ObsBatch::from_f32(obs.to_vec(), obs.len()),
            terminated: &[false],
            truncated: &[false],
        })
    }

    fn first_weight(net: &Mlp) -> Vec<f32> {
        net.vars()[0]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    }

    #[test]
    fn hard_target_update_happens_every_interval_and_only_then() {
        let mut dqn = agent(DqnConfig {
            learning_starts: 0,
            train_freq: 1,
            gradient_steps: 1,
            batch_size: 1,
            target_update_interval: 3,
            ..Default::default()
        });
        let initial = first_weight(&dqn.target);
        step(&mut dqn); // trains; target untouched (1 < 3)
        step(&mut dqn);
        assert_eq!(first_weight(&dqn.target), initial);
        assert_ne!(first_weight(&dqn.q), initial, "the online net trained");
        step(&mut dqn); // 3rd step: target ← online before this step's training
        let online_before_third_training = first_weight(&dqn.target);
        assert_ne!(online_before_third_training, initial);
        step(&mut dqn);
        assert_eq!(first_weight(&dqn.target), online_before_third_training);
    }

    #[test]
    fn polyak_target_update_moves_by_tau() {
        let mut dqn = agent(DqnConfig {
            learning_starts: 10_000,
            target_update_interval: 1,
            tau: 0.25,
            ..Default::default()
        });
        // Make the online net differ from the target without training.
        dqn.q = {
            let other = DqnConfig::default()
                .init(
                    &Space::boxed(vec![-1.0; 2], vec![1.0; 2]),
                    &Space::discrete(2),
                    1000,
                    Rng::seed_from_u64(99),
                )
                .unwrap();
            other.q
        };
        let (t0, q0) = (first_weight(&dqn.target), first_weight(&dqn.q));
        step(&mut dqn);
        let t1 = first_weight(&dqn.target);
        for ((a, b), c) in t1.iter().zip(&t0).zip(&q0) {
            assert!((a - (0.75 * b + 0.25 * c)).abs() < 1e-6);
        }
    }

    #[test]
    fn epsilon_falls_linearly_then_stays() {
        let mut dqn = agent(DqnConfig::default());
        assert_eq!(dqn.epsilon(), 1.0);
        dqn.steps_done = 80; // half of 0.16 · 1000
        assert!((dqn.epsilon() - 0.52).abs() < 1e-9);
        dqn.steps_done = 900;
        assert_eq!(dqn.epsilon(), 0.04);
    }

    #[test]
    fn learning_rate_falls_linearly_to_its_final_fraction() {
        let mut dqn = agent(DqnConfig {
            learning_rate: 1e-3,
            final_lr_fraction: 0.2,
            ..Default::default()
        });
        assert_eq!(dqn.learning_rate(), 1e-3);
        dqn.steps_done = 500; // half of the 1,000-step run
        assert!((dqn.learning_rate() - 6e-4).abs() < 1e-12);
        dqn.steps_done = 5000;
        assert!((dqn.learning_rate() - 2e-4).abs() < 1e-12);
    }

    #[test]
    fn value_spread_reads_the_largest_value_and_the_mean_action_gap() {
        let (max, gap) = value_spread(&[vec![1.0, 3.0, 2.0], vec![5.0, 5.0, 0.0]]);
        assert_eq!(max, 5.0);
        assert_eq!(gap, 0.5, "gaps 1 and 0");
    }

    #[test]
    fn a_training_phase_logs_the_collapse_diagnostics() {
        let mut dqn = agent(DqnConfig {
            learning_starts: 0,
            train_freq: 2,
            gradient_steps: 3,
            batch_size: 2,
            ..Default::default()
        });
        step(&mut dqn);
        let metrics = step(&mut dqn);
        for name in [
            "losses/td_loss",
            "losses/q_max",
            "losses/td_error_abs",
            "losses/action_gap",
            "losses/grad_norm",
            "charts/learning_rate",
        ] {
            let value = metrics.iter().find(|(n, _)| *n == name).map(|m| m.1);
            assert!(value.is_some_and(f64::is_finite), "{name}: {value:?}");
        }
    }

    #[test]
    fn huber_is_quadratic_inside_and_linear_outside() {
        let d = Tensor::new(&[0.5f32, -3.0], &Device::Cpu).unwrap();
        let l = huber(&d).unwrap().to_scalar::<f32>().unwrap();
        assert!((l - (0.125 + 2.5) / 2.0).abs() < 1e-6);
    }
}
