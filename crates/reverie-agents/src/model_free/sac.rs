//! Soft Actor-Critic (Haarnoja et al. 2018, with automatic entropy tuning) as
//! Stable-Baselines3 runs it: twin Q-networks with Polyak-averaged targets, a
//! tanh-squashed Gaussian policy whose log-probability carries the change-of-variables
//! correction −Σ ln(1 − tanh(u)² + 1e-6), a learned temperature α = exp(log α) driven to
//! the target entropy −dim(A), uniform random actions for the first `learning_starts`
//! steps, and `gradient_steps` updates every `train_freq` env steps (the update-to-data
//! ratio). Actions are stored in [−1, 1] and rescaled to the env's bounds.

use candle_core::{Device, Tensor, Var};
use reverie_core::snapshot;
use reverie_core::{
    ActContext, Action, Agent, Batch, Carry, Metrics, Mode, ObsBatch, ReplayBuffer,
    ReplayBufferConfig, Rng, Space, StepBatch,
};
use reverie_nn::dist::TanhNormal;
use reverie_nn::{Activation, Adam, AdamConfig, AdamState, DeviceSpec, Init, Mlp, Parameters};
use serde::{Deserialize, Serialize};

use super::common::{
    box_obs_dim, from_unit, load_nets, require_network, rows, to_unit, ActionKind,
};
use crate::error::{backend, require};
use crate::AgentError;
use crate::Algorithm;

/// SAC hyperparameters (defaults: Stable-Baselines3's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct SacConfig {
    /// Parallel envs collected from.
    pub num_envs: usize,
    /// Adam learning rate of actor, critics and temperature.
    pub learning_rate: f64,
    /// Replay capacity (transitions).
    pub buffer_size: usize,
    /// Env steps of uniform random actions before learning starts.
    pub learning_starts: u64,
    /// Minibatch size.
    pub batch_size: usize,
    /// Polyak coefficient of the target critics.
    pub tau: f64,
    /// Discount γ.
    pub gamma: f64,
    /// Env steps between training phases.
    pub train_freq: u64,
    /// Gradient steps per training phase (update-to-data ratio = gradient_steps / train_freq).
    pub gradient_steps: usize,
    /// Fixed temperature α; absent: learned (automatic entropy tuning).
    pub ent_coef: Option<f64>,
    /// Initial α when it is learned.
    pub init_ent_coef: f64,
    /// Target entropy; absent: −dim(A).
    pub target_entropy: Option<f64>,
    /// Hidden layer widths of the actor and of each critic.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Run each update on a pool of two workers of the agent's own, the twin critics'
    /// passes at once (20k Pendulum steps with `threads = 2`: 46 s; with only the critics
    /// on the pool 50–57 s; on the run's shared pool 52.6 s; without a pool, one critic
    /// after the other, 30% slower).
    pub parallel_critics: bool,
    /// The device the networks live on; set by the run's top-level `device` key (through
    /// [`crate::AgentConfig::with_device`]), not by the agent table.
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for SacConfig {
    fn default() -> Self {
        Self {
            num_envs: 1,
            learning_rate: 3e-4,
            buffer_size: 1_000_000,
            learning_starts: 100,
            batch_size: 256,
            tau: 0.005,
            gamma: 0.99,
            train_freq: 1,
            gradient_steps: 1,
            ent_coef: None,
            init_ent_coef: 1.0,
            target_entropy: None,
            hidden: vec![256, 256],
            activation: Activation::Relu,
            parallel_critics: true,
            device: DeviceSpec::Cpu,
        }
    }
}

impl SacConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        require(self.num_envs >= 1, "num_envs", self.num_envs, ">= 1")?;
        crate::error::learning_rate(self.learning_rate)?;
        require(
            self.buffer_size >= 1,
            "buffer_size",
            self.buffer_size,
            ">= 1",
        )?;
        require(self.batch_size >= 1, "batch_size", self.batch_size, ">= 1")?;
        require(
            self.tau > 0.0 && self.tau <= 1.0,
            "tau",
            self.tau,
            "in (0, 1]",
        )?;
        require(
            (0.0..=1.0).contains(&self.gamma),
            "gamma",
            self.gamma,
            "in [0, 1]",
        )?;
        require(self.train_freq >= 1, "train_freq", self.train_freq, ">= 1")?;
        require(
            self.ent_coef.is_none_or(|a| a >= 0.0),
            "ent_coef",
            format!("{:?}", self.ent_coef),
            ">= 0 or absent (learned)",
        )?;
        require(
            self.init_ent_coef > 0.0,
            "init_ent_coef",
            self.init_ent_coef,
            "> 0",
        )?;
        require_network(&self.hidden)
    }

    /// Builds the agent for bounded Box actions.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        mut rng: Rng,
    ) -> Result<Sac, AgentError> {
        self.validate()?;
        let obs_dim = box_obs_dim(observation_space, "sac")?;
        let (low, high) = match ActionKind::of(action_space, "sac")? {
            ActionKind::Continuous { low, high } => (low, high),
            ActionKind::Discrete(_) => {
                return Err(AgentError::UnsupportedSpace {
                    agent: "sac",
                    needs: "bounded Box actions",
                    found: action_space.describe(),
                })
            }
        };
        let act_dim = low.len();
        let device = self.device.device().map_err(backend)?;
        let sizes = |inputs: usize, outputs: usize| {
            let mut s = vec![inputs];
            s.extend(&self.hidden);
            s.push(outputs);
            s
        };
        let buffer = crate::error::replay_buffer(
            ReplayBufferConfig {
                capacity: self.buffer_size,
                obs_dim,
                action_dim: act_dim,
            },
            "buffer_size",
        )?;
        let build = || -> candle_core::Result<Sac> {
            let mut net = |i, o| {
                Mlp::new(
                    &sizes(i, o),
                    self.activation,
                    Init::Torch,
                    &mut rng,
                    &device,
                )
            };
            let actor = net(obs_dim, 2 * act_dim)?;
            let q1 = net(obs_dim + act_dim, 1)?;
            let q2 = net(obs_dim + act_dim, 1)?;
            let (q1_target, q2_target) = (q1.deep_clone()?, q2.deep_clone()?);
            let adam = |vars| {
                Adam::new(
                    vars,
                    AdamConfig {
                        lr: self.learning_rate,
                        ..Default::default()
                    },
                )
            };
            let log_alpha = Var::new(&[self.init_ent_coef.ln() as f32], &device)?;
            Ok(Sac {
                actor_adam: adam(actor.vars())?,
                critic_adams: [adam(q1.vars())?, adam(q2.vars())?],
                pool: self.parallel_critics.then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(2)
                        .build()
                        .expect("a 2-thread pool")
                }),
                alpha_adam: adam(vec![log_alpha.clone()])?,
                actor,
                q1,
                q2,
                q1_target,
                q2_target,
                log_alpha,
                buffer,
                batch: Batch::default(),
                target_entropy: self.target_entropy.unwrap_or(-(act_dim as f64)),
                config: self.clone(),
                obs_dim,
                act_dim,
                low,
                high,
                pending: Vec::new(),
                steps_done: 0,
                since_train: 0,
                rng,
                device: device.clone(),
            })
        };
        build().map_err(|e| AgentError::Backend(e.to_string()))
    }
}

/// Soft Actor-Critic; see the module docs.
#[derive(Debug)]
pub struct Sac {
    config: SacConfig,
    obs_dim: usize,
    act_dim: usize,
    low: Vec<f32>,
    high: Vec<f32>,
    actor: Mlp,
    q1: Mlp,
    q2: Mlp,
    q1_target: Mlp,
    q2_target: Mlp,
    log_alpha: Var,
    target_entropy: f64,
    actor_adam: Adam,
    /// One optimiser per critic (Adam is per-parameter, so this equals one over both).
    critic_adams: [Adam; 2],
    /// Workers for the twin critics (None with `threads = 1`).
    pool: Option<rayon::ThreadPool>,
    alpha_adam: Adam,
    buffer: ReplayBuffer,
    batch: Batch,
    /// Actions in [−1, 1] chosen by the last exploring `act_batch`.
    pending: Vec<f32>,
    steps_done: u64,
    since_train: u64,
    rng: Rng,
    device: Device,
}

impl Sac {
    /// Current temperature α.
    pub fn alpha(&self) -> f64 {
        match self.config.ent_coef {
            Some(a) => a,
            None => (self
                .log_alpha
                .as_tensor()
                .to_vec1::<f32>()
                .map(|v| v[0])
                .unwrap_or(0.0) as f64)
                .exp(),
        }
    }

    /// `(actions in [−1, 1], log-probs)` for a batch of observations; with `frozen` no
    /// gradient graph is kept (target computation).
    fn sample(&mut self, obs: &Tensor, frozen: bool) -> candle_core::Result<(Tensor, Tensor)> {
        let out = if frozen {
            self.actor.forward_frozen(obs)?
        } else {
            self.actor.forward(obs)?
        };
        let mean = out.narrow(1, 0, self.act_dim)?;
        let log_std = out
            .narrow(1, self.act_dim, self.act_dim)?
            .clamp(-20.0, 2.0)?;
        TanhNormal::new(&mean, &log_std).rsample_with_log_prob(&mut self.rng)
    }

    /// Runs `a` and `b` at once when the critics run in parallel (inside the agent's pool,
    /// see [`Sac::update`]; the twin critics are independent until their minimum), else one
    /// after the other.
    fn join<A: Send, B: Send>(
        parallel: bool,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        if parallel {
            rayon::join(a, b)
        } else {
            (a(), b())
        }
    }

    /// One SAC update on a minibatch from the agent's own replay buffer.
    fn train_step(&mut self) -> candle_core::Result<(f64, f64, f64)> {
        let indices = self
            .buffer
            .sample_indices(self.config.batch_size, &mut self.rng);
        let mut batch = std::mem::take(&mut self.batch);
        self.buffer.gather(&indices, &mut batch);
        let result = self.update(&batch);
        self.batch = batch;
        result
    }

    /// One SAC update (temperature, critics, actor, targets) on `batch`, whose actions are
    /// in [−1, 1]; returns `(critic loss, actor loss, α)`. MBPO calls this with minibatches
    /// mixing real and imagined transitions.
    pub fn update(&mut self, batch: &Batch) -> candle_core::Result<(f64, f64, f64)> {
        // The whole update runs on the agent's pool, so that the matmul kernel's threading
        // and the critics' join share its two workers (no second pool spinning beside it).
        match self.pool.take() {
            Some(pool) => {
                let result = pool.install(|| self.update_on(batch));
                self.pool = Some(pool);
                result
            }
            None => self.update_on(batch),
        }
    }

    fn update_on(&mut self, batch: &Batch) -> candle_core::Result<(f64, f64, f64)> {
        let b = batch.len();
        let obs = rows(&batch.obs, self.obs_dim, &self.device)?;
        let next_obs = rows(&batch.next_obs, self.obs_dim, &self.device)?;
        let act = rows(&batch.actions, self.act_dim, &self.device)?;

        let (a_pi, logp_pi) = self.sample(&obs, false)?;
        if self.config.ent_coef.is_none() {
            let alpha_loss = (self
                .log_alpha
                .as_tensor()
                .broadcast_mul(&(logp_pi.detach() + self.target_entropy)?)?)
            .mean_all()?
            .neg()?;
            self.alpha_adam.backward_step(&alpha_loss, None)?;
        }
        let alpha = self.alpha();

        // Soft Bellman targets, without gradients.
        let (a_next, logp_next) = self.sample(&next_obs, true)?;
        let x_next = Tensor::cat(&[&next_obs, &a_next], 1)?;
        let (t1, t2) = Self::join(
            self.config.parallel_critics,
            || self.q1_target.forward_frozen(&x_next),
            || self.q2_target.forward_frozen(&x_next),
        );
        let q_next = (t1?.minimum(&t2?)?.squeeze(1)? - (logp_next * alpha)?)?;
        let live: Vec<f32> = batch
            .terminated
            .iter()
            .map(|t| if *t { 0.0 } else { self.config.gamma as f32 })
            .collect();
        let y = (Tensor::from_slice(&batch.rewards, b, &self.device)?
            + (q_next * Tensor::from_vec(live, b, &self.device)?)?)?;

        // The twin critics' losses are independent: back-propagate them concurrently.
        let x = Tensor::cat(&[&obs, &act], 1)?;
        let critic = |q: &Mlp| -> candle_core::Result<(candle_core::backprop::GradStore, f64)> {
            let loss = (q.forward(&x)?.squeeze(1)? - &y)?.sqr()?.mean_all()?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                candle_core::bail!("critic loss is {value}; parameters left unchanged");
            }
            Ok((loss.backward()?, value))
        };
        let (c1, c2) = Self::join(
            self.config.parallel_critics,
            || critic(&self.q1),
            || critic(&self.q2),
        );
        let ((g1, l1), (g2, l2)) = (c1?, c2?);
        self.critic_adams[0].step(&g1)?;
        self.critic_adams[1].step(&g2)?;

        // The actor's loss sees the updated critics as constants.
        let x_pi = Tensor::cat(&[&obs, &a_pi], 1)?;
        let (p1, p2) = Self::join(
            self.config.parallel_critics,
            || self.q1.forward_frozen(&x_pi),
            || self.q2.forward_frozen(&x_pi),
        );
        let q_pi = p1?.minimum(&p2?)?.squeeze(1)?;
        let actor_loss = ((logp_pi * alpha)? - q_pi)?.mean_all()?;
        self.actor_adam.backward_step(&actor_loss, None)?;

        let tau = self.config.tau;
        self.q1_target.soft_update_from(&self.q1, tau)?;
        self.q2_target.soft_update_from(&self.q2, tau)?;
        Ok((
            0.5 * (l1 + l2),
            actor_loss.to_scalar::<f32>()? as f64,
            alpha,
        ))
    }

    /// Exploring actions in [−1, 1] for rows of observations `[rows * obs_dim]`, appended
    /// to `out` (the policy used inside imagined rollouts).
    pub fn sample_actions(&mut self, obs: &[f32], out: &mut Vec<f32>) {
        let mut head = vec![0.0f32; 2 * self.act_dim];
        for row in obs.chunks_exact(self.obs_dim) {
            self.actor
                .forward_row(row, &mut head)
                .expect("actor forward");
            let (mean, log_std) = head.split_at(self.act_dim);
            for (m, s) in mean.iter().zip(log_std) {
                let u = m + s.clamp(-20.0, 2.0).exp() * self.rng.normal() as f32;
                out.push(u.tanh());
            }
        }
    }

    /// Maps actions in [−1, 1] to the env's bounds, in place.
    pub fn scale_to_env(&self, actions: &mut [f32]) {
        for row in actions.chunks_exact_mut(self.act_dim) {
            for (a, (l, h)) in row.iter_mut().zip(self.low.iter().zip(&self.high)) {
                *a = from_unit(*a, *l, *h);
            }
        }
    }

    /// Maps env-bounded actions to [−1, 1], in place.
    pub fn scale_from_env(&self, actions: &mut [f32]) {
        for row in actions.chunks_exact_mut(self.act_dim) {
            for (a, (l, h)) in row.iter_mut().zip(self.low.iter().zip(&self.high)) {
                *a = to_unit(*a, *l, *h);
            }
        }
    }

    fn to_env(&self, a: &[f32]) -> Action {
        Action::Vector(
            a.iter()
                .zip(self.low.iter().zip(&self.high))
                .map(|(a, (l, h))| from_unit(*a, *l, *h))
                .collect(),
        )
    }
}

impl Agent for Sac {
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
        if explore {
            self.pending.clear();
        }
        let warmup = self.steps_done < self.config.learning_starts;
        let mut out = vec![0.0f32; 2 * self.act_dim];
        for row in obs.chunks_exact(self.obs_dim) {
            let a: Vec<f32> = if explore && warmup {
                (0..self.act_dim)
                    .map(|_| self.rng.uniform_range(-1.0, 1.0) as f32)
                    .collect()
            } else {
                self.actor
                    .forward_row(row, &mut out)
                    .expect("actor forward");
                let (mean, log_std) = out.split_at(self.act_dim);
                mean.iter()
                    .zip(log_std)
                    .map(|(m, s)| {
                        let u = if explore {
                            m + s.clamp(-20.0, 2.0).exp() * self.rng.normal() as f32
                        } else {
                            *m
                        };
                        u.tanh()
                    })
                    .collect()
            };
            actions.push(self.to_env(&a));
            if explore {
                self.pending.extend_from_slice(&a);
            }
        }
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let (obs_rows, next_rows) = (step.obs.f32_rows(), step.next_obs.f32_rows());
        let (d, k) = (self.obs_dim, self.act_dim);
        assert_eq!(
            self.pending.len(),
            self.config.num_envs * k,
            "observe_batch must follow an exploring act_batch over all sub-envs"
        );
        for i in 0..self.config.num_envs {
            let _ = self.buffer.push(
                &obs_rows[i * d..(i + 1) * d],
                &self.pending[i * k..(i + 1) * k],
                step.rewards[i] as f32,
                &next_rows[i * d..(i + 1) * d],
                step.terminated[i],
                step.truncated[i],
            );
        }
        let n = self.config.num_envs as u64;
        self.steps_done += n;
        self.since_train += n;
        let mut metrics = Vec::new();
        if self.since_train >= self.config.train_freq
            && self.steps_done > self.config.learning_starts
        {
            self.since_train = 0;
            let mut sums = [0.0; 3];
            let mut done = 0;
            for _ in 0..self.config.gradient_steps {
                match self.train_step() {
                    Ok((c, a, alpha)) => {
                        sums[0] += c;
                        sums[1] += a;
                        sums[2] += alpha;
                        done += 1;
                    }
                    Err(_) => metrics.push(("losses/skipped_update", 1.0)),
                }
            }
            if done > 0 {
                let k = done as f64;
                metrics.push(("losses/qf_loss", sums[0] / k));
                metrics.push(("losses/actor_loss", sums[1] / k));
                metrics.push(("losses/alpha", sums[2] / k));
            }
        }
        metrics
    }

    fn save(&self) -> Vec<u8> {
        snapshot::save(Algorithm::Sac.name(), &self.state())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: SacState =
            snapshot::load(Algorithm::Sac.name(), bytes).map_err(|e| e.to_string())?;
        self.restore_state(state)
    }
}

/// Everything a SAC agent needs to continue exactly: actor, critics and their targets, the
/// temperature, the three optimisers' moments, the replay buffer, counters and generator.
#[derive(Serialize, Deserialize)]
pub(crate) struct SacState {
    nets: Vec<u8>,
    actor_adam: AdamState,
    critic_adams: [AdamState; 2],
    alpha_adam: AdamState,
    buffer: ReplayBuffer,
    steps_done: u64,
    since_train: u64,
    rng: Rng,
}

impl Sac {
    pub(crate) fn state(&self) -> SacState {
        let mut tensors = self.actor.named_tensors("actor");
        for (name, net) in [
            ("q1", &self.q1),
            ("q2", &self.q2),
            ("q1_target", &self.q1_target),
            ("q2_target", &self.q2_target),
        ] {
            tensors.extend(net.named_tensors(name));
        }
        tensors.insert("log_alpha".into(), self.log_alpha.as_tensor().clone());
        let adam = |a: &Adam| a.state().expect("optimiser moments are readable");
        SacState {
            nets: reverie_nn::checkpoint::to_bytes(&tensors, &serde_json::json!({}))
                .expect("parameters serialise"),
            actor_adam: adam(&self.actor_adam),
            critic_adams: [adam(&self.critic_adams[0]), adam(&self.critic_adams[1])],
            alpha_adam: adam(&self.alpha_adam),
            buffer: self.buffer.clone(),
            steps_done: self.steps_done,
            since_train: self.since_train,
            rng: self.rng.clone(),
        }
    }

    pub(crate) fn restore_state(&mut self, state: SacState) -> Result<(), String> {
        let (tensors, _) = reverie_nn::checkpoint::from_bytes(&state.nets, &self.device)?;
        load_nets(
            &tensors,
            &[
                ("actor", &self.actor),
                ("q1", &self.q1),
                ("q2", &self.q2),
                ("q1_target", &self.q1_target),
                ("q2_target", &self.q2_target),
            ],
        )?;
        let log_alpha = tensors.get("log_alpha").ok_or("missing log_alpha")?;
        self.log_alpha.set(log_alpha).map_err(|e| e.to_string())?;
        let adams = [
            (&mut self.actor_adam, &state.actor_adam),
            (&mut self.alpha_adam, &state.alpha_adam),
        ];
        for (adam, saved) in adams {
            adam.load_state(saved).map_err(|e| e.to_string())?;
        }
        for (adam, saved) in self.critic_adams.iter_mut().zip(&state.critic_adams) {
            adam.load_state(saved).map_err(|e| e.to_string())?;
        }
        if state.buffer.config() != self.buffer.config() {
            return Err("the saved replay buffer has another shape or capacity".into());
        }
        self.buffer = state.buffer;
        self.steps_done = state.steps_done;
        self.since_train = state.since_train;
        self.rng = state.rng;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_critics_track_the_critics_by_tau() {
        let obs = Space::boxed(vec![-1.0; 3], vec![1.0; 3]);
        let act = Space::boxed(vec![-2.0], vec![2.0]);
        let mut sac = SacConfig {
            learning_starts: 0,
            batch_size: 4,
            hidden: vec![8],
            ..Default::default()
        }
        .init(&obs, &act, Rng::seed_from_u64(1))
        .unwrap();
        let w = |net: &Mlp| {
            net.vars()[0]
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        let mut actions = Vec::new();
        let o = [0.1f32, 0.2, 0.3];
        for _ in 0..3 {
            sac.act(
                &ObsBatch::from_f32(o.to_vec(), 3),
                &ActContext::new(&[false]),
                &mut Carry::none(),
                Mode::Explore,
                &mut actions,
            );
            let before = w(&sac.q1_target);
            sac.observe(&StepBatch {
                obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                actions: &actions,
                rewards: &[1.0],
                next_obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                terminated: &[false],
                truncated: &[false],
            });
            let (after, online) = (w(&sac.q1_target), w(&sac.q1));
            for ((t1, t0), q) in after.iter().zip(&before).zip(&online) {
                assert!((t1 - (0.995 * t0 + 0.005 * q)).abs() < 1e-6);
            }
        }
        match &actions[0] {
            Action::Vector(v) => assert!(v[0].abs() <= 2.0),
            other => panic!("{other:?}"),
        }
    }
}
