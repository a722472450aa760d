//! MuZero (Schrittwieser et al. 2020): a learned latent model searched with Monte Carlo tree
//! search, for single-player envs with vector observations and discrete actions.
//!
//! 1. **Acting.** Every step, `h` encodes each env's observation, `f` evaluates it, and
//!    [`reverie_planning::Mcts`] searches all envs' roots together, expanding the leaves of
//!    each simulation step with one batched `g` + `f` ([`networks::LearnedModel`]). The
//!    action is drawn from the root visit counts at a temperature that falls from 1 to 0.5
//!    to 0.25 over the run (MuZero's schedule); evaluation takes the most visited action
//!    without root noise.
//! 2. **Replay.** Whole games with the search's root values and improved policies,
//!    positions sampled by priority ([`replay`]).
//! 3. **Learning.** From each sampled position, `h` then `K` steps of `g` under the actions
//!    really taken; at every step `f`'s policy learns the search policy (cross-entropy) and
//!    its value the n-step target, `g`'s reward the observed reward, both values and
//!    rewards as cross-entropy on MuZero's scaled categorical support h(x). The unrolled
//!    steps' losses are scaled by 1/K and the gradient entering each dynamics step is
//!    halved (appendix G), so the total gradient on `g` stays that of one step.
//!
//! 4. **Reanalyse** (optional, `reanalyse_fraction`): part of each batch gets fresh
//!    targets from the latest network before the step.
//!
//! 5. **Two players** (`search.two_player`, board games): one agent plays both sides
//!    (self-play). The env's legal actions mask the search's roots (and every node in
//!    AlphaZero mode), rewards are stored from the mover's view, and the n-step targets
//!    alternate sign with the mover (a discount of −γ).
//!
//! Not in this agent yet: image observations.

use candle_core::{Device, Tensor, D};
use reverie_core::snapshot;
use reverie_core::{
    mover_reward, ActContext, Action, Agent, Carry, Metrics, Mode, ObsBatch, Rng, Space, StepBatch,
};
use reverie_envs::EnvRecipe;
use reverie_nn::{Adam, AdamConfig, AdamState, DeviceSpec, Parameters};
use reverie_planning::search::{select_action, Evaluations, Mcts, MctsConfig};
use serde::{Deserialize, Serialize};

use crate::error::{backend, require};
use crate::model_free::common::{box_obs_dim, discrete_actions, require_network};
use crate::{AgentError, Algorithm};

mod networks;
mod replay;
mod simulator;

use networks::{LearnedModel, MuZeroNets, NetSizes};
use replay::{Game, GameBuffer, TargetConfig, Targets};
use simulator::Simulator;

/// MuZero hyperparameters (defaults sized for CartPole-v1 on a CPU).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct MuZeroConfig {
    /// Parallel envs acted in; their searches run as one batch.
    pub num_envs: usize,
    /// Width of the latent state.
    pub latent: usize,
    /// Hidden widths of every network (h, g, the reward head, the policy and value heads).
    pub hidden: Vec<usize>,
    /// S of the value support −S..=S (on h(value): S = 20 covers returns up to ~420).
    pub value_support: usize,
    /// S of the reward support.
    pub reward_support: usize,
    /// K: dynamics steps unrolled per sampled position.
    pub unroll: usize,
    /// n of the n-step value targets (MuZero's Atari: 10; here 50, as muzero-general's
    /// CartPole: with n = 10 and γ = 0.997 the targets lean on biased root values, and
    /// CartPole-v1 seed 0 peaked at 453 then settled near 200 in 50k steps, where n = 50
    /// held 500 from 5k on).
    pub td_steps: usize,
    /// Positions per batch.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    pub max_grad_norm: f64,
    /// Weight of the value loss (MuZero Reanalyse: 0.25).
    pub value_loss_weight: f64,
    /// Weight of EfficientZero's temporal consistency loss (Ye et al. 2021): each unrolled
    /// latent `g(…)` is pulled towards `h` of the observation really reached, with a stop
    /// gradient on `h`'s side (1 − cosine similarity). 0: MuZero as published, where the
    /// latents are shaped by the value, policy and reward losses alone.
    pub consistency_loss_weight: f64,
    /// Replay capacity in positions (env steps).
    pub buffer_size: usize,
    /// Positions in the replay before learning starts.
    pub learning_starts: usize,
    /// Gradient updates per env step (0.25: one every 4 steps).
    pub updates_per_step: f64,
    /// Priority exponent α (0: uniform sampling).
    pub priority_alpha: f64,
    /// Importance-sampling exponent β.
    pub priority_beta: f64,
    /// Fraction of each batch reanalysed with the latest network (MuZero Reanalyse): each
    /// unrolled step's observation searched again for its policy target, and its value
    /// target bootstrapped from the network's value of the bootstrap observation instead of
    /// the stored root value. 0 trains on the targets as they were collected.
    pub reanalyse_fraction: f64,
    /// The tree search: simulations, discount, pUCT or Gumbel selection.
    pub search: MctsConfig,
    /// AlphaZero's rule for board games: while training, the first `explore_moves` moves of
    /// each game are drawn from the root visit counts (at the temperature schedule) and the
    /// later ones take the most visited action (root noise still explores). 0: every move is
    /// drawn. Drawing every move of a short game throws away won positions at random, and
    /// the values learned from such games say a threat wins even where the opponent simply
    /// completes a line first.
    pub explore_moves: usize,
    /// How evaluation acts: `search` (the most visited root action) or `prior` (the argmax
    /// of the policy head, no search: what the search adds is the difference).
    pub eval_by: EvalBy,
    /// The device the networks live on; set by the run's top-level `device` key.
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for MuZeroConfig {
    fn default() -> Self {
        Self {
            num_envs: 1,
            latent: 32,
            hidden: vec![64],
            value_support: 20,
            reward_support: 5,
            unroll: 5,
            td_steps: 50,
            batch_size: 128,
            learning_rate: 3e-3,
            weight_decay: 1e-4,
            max_grad_norm: 10.0,
            value_loss_weight: 0.25,
            consistency_loss_weight: 0.0,
            buffer_size: 100_000,
            learning_starts: 1000,
            updates_per_step: 0.25,
            priority_alpha: 0.6,
            priority_beta: 0.4,
            reanalyse_fraction: 0.0,
            search: MctsConfig {
                simulations: 25,
                ..MctsConfig::default()
            },
            explore_moves: 0,
            eval_by: EvalBy::Search,
            device: DeviceSpec::Cpu,
        }
    }
}

/// How a MuZero agent acts in evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalBy {
    /// Search, then the most visited root action.
    #[default]
    Search,
    /// The policy head's most likely action, without search.
    Prior,
}

impl MuZeroConfig {
    /// Checks every field's range (MuZero's: at least one unrolled step).
    pub fn validate(&self) -> Result<(), AgentError> {
        self.validate_for(false)
    }

    /// Refuses a search whose number of players is not the env's (one that reports
    /// `info["to_play"]` is a two-player game).
    pub fn check_players(&self, env: &EnvRecipe) -> Result<(), AgentError> {
        let mut probe = reverie_envs::make_with(&env.id, &env.options)
            .map_err(|e| AgentError::Env(e.to_string()))?;
        let (_, info) = probe.reset(Some(0));
        let two_player = info.get("to_play").is_some();
        if two_player == self.search.two_player {
            return Ok(());
        }
        Err(AgentError::InvalidConfig {
            key: "search.two_player",
            value: self.search.two_player.to_string(),
            expected: if two_player {
                "true: this env is a two-player game (its info names the player to move)"
            } else {
                "false: this env has one player"
            },
        })
    }

    /// Checks every field's range; AlphaZero learns no dynamics, so it unrolls none.
    fn validate_for(&self, alphazero: bool) -> Result<(), AgentError> {
        require(self.num_envs >= 1, "num_envs", self.num_envs, ">= 1")?;
        require(self.latent >= 2, "latent", self.latent, ">= 2")?;
        require_network(&self.hidden)?;
        require(
            self.value_support >= 1,
            "value_support",
            self.value_support,
            ">= 1",
        )?;
        require(
            self.reward_support >= 1,
            "reward_support",
            self.reward_support,
            ">= 1",
        )?;
        if alphazero {
            require(
                self.unroll == 0,
                "unroll",
                self.unroll,
                "0 for alphazero (the simulator is the dynamics; nothing to unroll)",
            )?;
        } else {
            require(self.unroll >= 1, "unroll", self.unroll, ">= 1")?;
        }
        require(self.td_steps >= 1, "td_steps", self.td_steps, ">= 1")?;
        require(self.batch_size >= 1, "batch_size", self.batch_size, ">= 1")?;
        crate::error::learning_rate(self.learning_rate)?;
        for (key, value) in [
            ("weight_decay", self.weight_decay),
            ("value_loss_weight", self.value_loss_weight),
            ("consistency_loss_weight", self.consistency_loss_weight),
            ("updates_per_step", self.updates_per_step),
            ("priority_alpha", self.priority_alpha),
            ("priority_beta", self.priority_beta),
            ("reanalyse_fraction", self.reanalyse_fraction),
        ] {
            require(
                value.is_finite() && value >= 0.0,
                key,
                value,
                "finite, >= 0",
            )?;
        }
        require(
            self.reanalyse_fraction <= 1.0,
            "reanalyse_fraction",
            self.reanalyse_fraction,
            "in [0, 1]",
        )?;
        require(
            self.max_grad_norm > 0.0,
            "max_grad_norm",
            self.max_grad_norm,
            "> 0",
        )?;
        require(
            self.buffer_size >= 1,
            "buffer_size",
            self.buffer_size,
            ">= 1",
        )?;
        self.search
            .validate()
            .map_err(|m| AgentError::InvalidConfig {
                key: "search",
                value: m,
                expected: "a valid setting",
            })
    }

    /// Builds the agent for a `Box` observation and `Discrete` actions; `total_steps` sets
    /// the temperature schedule.
    pub fn init(
        &self,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        rng: Rng,
    ) -> Result<MuZero, AgentError> {
        self.build(None, observation_space, action_space, total_steps, rng)
    }

    /// The AlphaZero-mode agent: its search steps a copy of the env `env` builds (see
    /// `simulator.rs`); `unroll` must be 0.
    pub fn init_alphazero(
        &self,
        env: &EnvRecipe,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        rng: Rng,
    ) -> Result<MuZero, AgentError> {
        self.build(Some(env), observation_space, action_space, total_steps, rng)
    }

    fn build(
        &self,
        simulator_of: Option<&EnvRecipe>,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        mut rng: Rng,
    ) -> Result<MuZero, AgentError> {
        self.validate_for(simulator_of.is_some())?;
        let obs_dim = box_obs_dim(observation_space, "muzero")?;
        let actions = discrete_actions(action_space, "muzero")?;
        let device = self.device.device().map_err(backend)?;
        let sizes = NetSizes {
            obs: obs_dim,
            actions,
            latent: self.latent,
            hidden: self.hidden.clone(),
            value_support: self.value_support,
            reward_support: self.reward_support,
        };
        let nets = MuZeroNets::new(&sizes, &mut rng, &device).map_err(backend)?;
        let adam = Adam::new(
            nets.vars(),
            AdamConfig {
                lr: self.learning_rate,
                weight_decay: self.weight_decay,
                ..Default::default()
            },
        )
        .map_err(backend)?;
        let simulator = simulator_of
            .map(|env| Simulator::new(env, &self.search, actions))
            .transpose()?;
        let search = Mcts::new(self.search.clone()).map_err(|m| AgentError::InvalidConfig {
            key: "search",
            value: m,
            expected: "a valid setting",
        })?;
        Ok(MuZero {
            config: self.clone(),
            obs_dim,
            actions,
            nets,
            adam,
            search,
            simulator,
            roots: Evaluations::new(actions),
            buffer: GameBuffer::new(self.buffer_size),
            running: vec![Game::default(); self.num_envs],
            searched: Vec::new(),
            targets: Targets::default(),
            total_steps: total_steps.max(1),
            steps_done: 0,
            update_credit: 0.0,
            updates: 0,
            rng,
            device,
        })
    }
}

/// What the search said at one env's root, kept from `act` for `observe`.
#[derive(Clone, Debug)]
struct Searched {
    policy: Vec<f32>,
    value: f32,
    /// The player to move at the root (two-player games), whose view the reward is stored in.
    mover: Option<u8>,
    /// The root's legal actions, where the env reports them (empty otherwise).
    legal: Vec<bool>,
}

/// MuZero; see the module docs.
pub struct MuZero {
    config: MuZeroConfig,
    obs_dim: usize,
    actions: usize,
    nets: MuZeroNets,
    adam: Adam,
    search: Mcts<Vec<f32>>,
    /// AlphaZero mode: the search over the true simulator, used in place of `search`.
    simulator: Option<Simulator>,
    roots: Evaluations<Vec<f32>>,
    buffer: GameBuffer,
    /// The game each training env is playing.
    running: Vec<Game>,
    /// The last training search of each env.
    searched: Vec<Searched>,
    targets: Targets,
    total_steps: u64,
    steps_done: u64,
    /// Updates owed (fractional `updates_per_step` accumulate).
    update_credit: f64,
    updates: u64,
    rng: Rng,
    device: Device,
}

impl std::fmt::Debug for MuZero {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MuZero")
            .field("config", &self.config)
            .field("steps_done", &self.steps_done)
            .field("updates", &self.updates)
            .finish_non_exhaustive()
    }
}

impl MuZero {
    /// The visit-count temperature: 1, then 0.5 after half the run, 0.25 after three
    /// quarters (MuZero's schedule, by env steps here rather than updates).
    fn temperature(&self) -> f32 {
        let progress = self.steps_done as f64 / self.total_steps as f64;
        match progress {
            p if p < 0.5 => 1.0,
            p if p < 0.75 => 0.5,
            _ => 0.25,
        }
    }

    fn target_config(&self) -> TargetConfig {
        TargetConfig {
            unroll: self.config.unroll,
            td_steps: self.config.td_steps,
            discount: self.config.search.discount_sign(),
            actions: self.actions,
            obs_dim: self.obs_dim,
            alpha: self.config.priority_alpha as f32,
            beta: self.config.priority_beta as f32,
        }
    }

    /// MuZero Reanalyse on the first `rows` rows of the sampled batch: fresh policy targets
    /// from a new search (no root noise) of every unrolled step inside its game, and value
    /// targets bootstrapped from the latest network's value of their bootstrap observation
    /// (EfficientZero's cheaper form of the value half: no search there).
    fn reanalyse(&mut self, rows: usize) -> candle_core::Result<()> {
        let (d, a) = (self.obs_dim, self.actions);
        let n = rows * (self.config.unroll + 1);
        let (nets, t, dev) = (&self.nets, &mut self.targets, &self.device);
        let obs = Tensor::from_slice(&t.bootstrap_obs[..n * d], (n, d), dev)?;
        let (_, value) = nets.predict(&nets.represent(&obs)?)?;
        let value = nets.value_support.decode(&value)?.to_vec1::<f32>()?;
        for (j, v) in value.iter().enumerate() {
            if t.bootstrap_scale[j] != 0.0 {
                t.values[j] = t.value_rewards[j] + t.bootstrap_scale[j] * v;
            }
        }
        let inside: Vec<usize> = (0..n).filter(|&j| t.inside[j] > 0.0).collect();
        let obs: Vec<f32> = inside
            .iter()
            .flat_map(|&j| t.step_obs[j * d..(j + 1) * d].iter().copied())
            .collect();
        let legal: Vec<bool> = inside
            .iter()
            .flat_map(|&j| t.step_legal[j * a..(j + 1) * a].iter().copied())
            .collect();
        let outputs = match &mut self.simulator {
            Some(sim) => sim.search(nets, &obs, d, Some(&legal), Mode::Evaluate, &mut self.rng)?,
            None => {
                nets.roots(
                    &Tensor::from_vec(obs, (inside.len(), d), dev)?,
                    Some(&legal),
                    &mut self.roots,
                )?;
                self.search.search(
                    &mut LearnedModel { nets },
                    &mut self.roots,
                    Mode::Evaluate,
                    &mut self.rng,
                )?
            }
        };
        for (o, &j) in outputs.iter().zip(&inside) {
            t.policies[j * a..(j + 1) * a].copy_from_slice(&o.policy);
        }
        Ok(())
    }

    /// One gradient step on a prioritised batch; returns its metrics.
    fn train_step(&mut self) -> candle_core::Result<Metrics> {
        let c = self.target_config();
        let (b, k, a) = (self.config.batch_size, c.unroll, self.actions);
        self.buffer.sample(b, &c, &mut self.rng, &mut self.targets);
        let reanalysed = (self.config.reanalyse_fraction * b as f64).ceil() as usize;
        if reanalysed > 0 {
            self.reanalyse(reanalysed.min(b))?;
        }
        let t = &self.targets;
        let dev = &self.device;
        let steps = k + 1;
        let column = |data: &[f32], step: usize| -> candle_core::Result<Tensor> {
            let col: Vec<f32> = (0..b).map(|i| data[i * steps + step]).collect();
            Tensor::from_vec(col, b, dev)
        };
        let obs = Tensor::from_slice(&t.obs, (b, self.obs_dim), dev)?;
        let weights = Tensor::from_slice(&t.weights, b, dev)?;
        let nets = &self.nets;

        let mut latent = nets.represent(&obs)?;
        // h of the observation reached at every unrolled step: the consistency targets.
        let reached = if self.config.consistency_loss_weight > 0.0 && k > 0 {
            let all = Tensor::from_slice(&t.step_obs, (b * steps, self.obs_dim), dev)?;
            Some(
                nets.represent(&all)?
                    .detach()
                    .reshape((b, steps, self.config.latent))?,
            )
        } else {
            None
        };
        let (mut value_loss, mut policy_loss, mut reward_loss) = (None, None, None);
        let mut consistency_loss = None;
        let add = |acc: &mut Option<Tensor>, x: Tensor| -> candle_core::Result<()> {
            *acc = Some(match acc.take() {
                Some(sum) => (sum + x)?,
                None => x,
            });
            Ok(())
        };
        let mut root_value = Vec::new();
        for step in 0..steps {
            // The root's loss counts once; each unrolled step's 1/K (MuZero appendix G).
            let scale = if step == 0 { 1.0 } else { 1.0 / k as f64 };
            let (logits, value) = nets.predict(&latent)?;
            if step == 0 {
                root_value = nets.value_support.decode(&value)?.to_vec1::<f32>()?;
            }
            let v = nets
                .value_support
                .log_prob(&value, &column(&t.values, step)?)?;
            add(&mut value_loss, (v.neg()? * scale)?)?;
            let policy: Vec<f32> = (0..b)
                .flat_map(|i| t.policies[(i * steps + step) * a..(i * steps + step + 1) * a].iter())
                .copied()
                .collect();
            let policy = Tensor::from_vec(policy, (b, a), dev)?;
            let ce = (policy * candle_nn::ops::log_softmax(&logits, D::Minus1)?)?
                .sum(D::Minus1)?
                .neg()?;
            add(
                &mut policy_loss,
                ((ce * column(&t.inside, step)?)? * scale)?,
            )?;
            if step < k {
                let actions: Vec<usize> = (0..b).map(|i| t.actions[i * k + step]).collect();
                let (next, reward) = nets.dynamics(&latent, &nets.one_hot(&actions)?)?;
                let r = nets
                    .reward_support
                    .log_prob(&reward, &column(&t.rewards, step + 1)?)?;
                add(&mut reward_loss, (r.neg()? / k as f64)?)?;
                if let Some(reached) = &reached {
                    let target = reached.narrow(1, step + 1, 1)?.squeeze(1)?;
                    let dissimilarity = (cosine_similarity(&next, &target)?.affine(-1.0, 1.0)?
                        * column(&t.inside, step + 1)?)?;
                    add(&mut consistency_loss, (dissimilarity / k as f64)?)?;
                }
                // Half the gradient into the dynamics step (appendix G).
                latent = ((&next * 0.5)? + (next.detach() * 0.5)?)?;
            }
        }
        let (value_loss, policy_loss) = (
            value_loss.expect("at least one step"),
            policy_loss.expect("at least one step"),
        );
        // AlphaZero unrolls nothing: no reward to learn.
        let reward_loss = match reward_loss {
            Some(loss) => loss,
            None => value_loss.zeros_like()?,
        };
        let per_row = ((&value_loss * self.config.value_loss_weight)? + &policy_loss)?;
        let mut per_row = (per_row + &reward_loss)?;
        if let Some(consistency) = &consistency_loss {
            per_row = (per_row + (consistency * self.config.consistency_loss_weight)?)?;
        }
        let loss = (per_row * &weights)?.mean_all()?;
        let mean = |x: &Tensor| -> candle_core::Result<f64> {
            Ok(x.mean_all()?.to_scalar::<f32>()? as f64)
        };
        let metrics = vec![
            ("losses/value_loss", mean(&value_loss)?),
            ("losses/policy_loss", mean(&policy_loss)?),
            ("losses/reward_loss", mean(&reward_loss)?),
        ];
        let mut metrics = metrics;
        if let Some(consistency) = &consistency_loss {
            metrics.push(("losses/consistency_loss", mean(consistency)?));
        }
        let loss_value = loss.to_scalar::<f32>()? as f64;
        self.adam
            .backward_step(&loss, Some(self.config.max_grad_norm))?;
        // New priorities: |root value − its target| (MuZero's p_i = |ν_i − z_i|).
        let errors: Vec<f32> = root_value
            .iter()
            .enumerate()
            .map(|(i, v)| v - t.values[i * steps])
            .collect();
        let positions = std::mem::take(&mut self.targets.positions);
        self.buffer.update_priorities(&positions, &errors);
        self.updates += 1;
        metrics.push(("losses/loss", loss_value));
        Ok(metrics)
    }
}

impl Agent for MuZero {
    fn num_envs(&self) -> usize {
        self.config.num_envs
    }

    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        _carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        actions.clear();
        let rows = obs.len();
        let temperature = if mode.explores() {
            self.temperature()
        } else {
            0.0
        };
        let a = self.actions;
        if !mode.explores() && self.config.eval_by == EvalBy::Prior {
            let logits = (|| -> candle_core::Result<Vec<Vec<f32>>> {
                let x = Tensor::from_slice(obs.f32_rows(), (rows, self.obs_dim), &self.device)?;
                let (logits, _) = self.nets.predict(&self.nets.represent(&x)?)?;
                logits.to_vec2::<f32>()
            })();
            for i in 0..rows {
                let legal = ctx.legal_row(i, a);
                let action = match &logits {
                    Ok(logits) => best_legal(&logits[i], legal),
                    Err(_) => random_legal(a, legal, &mut self.rng),
                };
                actions.push(Action::Discrete(action as i64));
            }
            return;
        }
        let searched = (|| -> candle_core::Result<Vec<Searched>> {
            let outputs = match &mut self.simulator {
                Some(sim) => sim.search(
                    &self.nets,
                    obs.f32_rows(),
                    self.obs_dim,
                    ctx.legal,
                    mode,
                    &mut self.rng,
                )?,
                None => {
                    let x = Tensor::from_slice(obs.f32_rows(), (rows, self.obs_dim), &self.device)?;
                    self.nets.roots(&x, ctx.legal, &mut self.roots)?;
                    let mut model = LearnedModel { nets: &self.nets };
                    self.search
                        .search(&mut model, &mut self.roots, mode, &mut self.rng)?
                }
            };
            let mut out = Vec::with_capacity(rows);
            for (i, o) in outputs.iter().enumerate() {
                let greedy_now = mode.explores()
                    && self.config.explore_moves > 0
                    && self.running[i].len() >= self.config.explore_moves;
                let temperature = if greedy_now { 0.0 } else { temperature };
                let action = o
                    .action
                    .unwrap_or_else(|| select_action(&o.visits, temperature, &mut self.rng));
                actions.push(Action::Discrete(action as i64));
                out.push(Searched {
                    policy: o.policy.clone(),
                    value: o.value,
                    mover: ctx.to_play.map(|p| p[i]),
                    legal: ctx.legal_row(i, a).map_or_else(Vec::new, <[bool]>::to_vec),
                });
            }
            Ok(out)
        })();
        match searched {
            Ok(searched) => {
                if mode.explores() {
                    self.searched = searched;
                }
            }
            // The networks failed (a non-finite output): act uniformly rather than stop.
            Err(_) => {
                actions.clear();
                self.searched.clear();
                for i in 0..rows {
                    let legal = ctx.legal_row(i, a);
                    let action = random_legal(a, legal, &mut self.rng);
                    actions.push(Action::Discrete(action as i64));
                    let allowed = legal.map_or(a, |l| l.iter().filter(|&&x| x).count());
                    self.searched.push(Searched {
                        policy: (0..a)
                            .map(|j| {
                                if legal.is_none_or(|l| l[j]) {
                                    1.0 / allowed as f32
                                } else {
                                    0.0
                                }
                            })
                            .collect(),
                        value: 0.0,
                        mover: ctx.to_play.map(|p| p[i]),
                        legal: legal.map_or_else(Vec::new, <[bool]>::to_vec),
                    });
                }
            }
        }
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let obs = step.obs.f32_rows();
        let d = self.obs_dim;
        for i in 0..step.len() {
            let game = &mut self.running[i];
            let searched = &self.searched[i];
            game.obs.extend_from_slice(&obs[i * d..(i + 1) * d]);
            game.actions
                .push(step.actions[i].as_discrete().unwrap_or(0) as usize);
            let reward = match searched.mover {
                Some(mover) => mover_reward(step.rewards[i], mover),
                None => step.rewards[i],
            };
            game.rewards.push(reward as f32);
            game.root_values.push(searched.value);
            game.policies.extend_from_slice(&searched.policy);
            game.legal.extend_from_slice(&searched.legal);
            if step.terminated[i] || step.truncated[i] {
                let mut finished = std::mem::take(game);
                finished.terminated = step.terminated[i];
                self.buffer.push(finished);
            }
        }
        self.steps_done += step.len() as u64;
        let mut metrics = Metrics::new();
        if self.buffer.positions() < self.config.learning_starts {
            return metrics;
        }
        self.update_credit += self.config.updates_per_step * step.len() as f64;
        while self.update_credit >= 1.0 {
            self.update_credit -= 1.0;
            match self.train_step() {
                Ok(m) => metrics = m,
                // A non-finite loss or gradient leaves the parameters alone; the NaN loss
                // is what the driver's divergence guard counts.
                Err(_) => metrics = vec![("losses/loss", f64::NAN)],
            }
        }
        metrics.push(("charts/temperature", self.temperature() as f64));
        metrics
    }

    fn save(&self) -> Vec<u8> {
        snapshot::save(Algorithm::MuZero.name(), &self.state())
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: MuZeroState =
            snapshot::load(Algorithm::MuZero.name(), bytes).map_err(|e| e.to_string())?;
        self.restore_state(state)
    }
}

/// Row-wise cosine similarity of `[B, D]` tensors (ε keeps an all-zero row finite).
fn cosine_similarity(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let dot = (a * b)?.sum(D::Minus1)?;
    let norms = (a.sqr()?.sum(D::Minus1)?.sqrt()? * b.sqr()?.sum(D::Minus1)?.sqrt()?)?;
    dot / (norms + 1e-8)?
}

/// The legal action with the highest logit (the first on ties); every action when `legal`
/// is `None`.
fn best_legal(logits: &[f32], legal: Option<&[bool]>) -> usize {
    (0..logits.len())
        .filter(|&j| legal.is_none_or(|l| l[j]))
        .fold(None, |best: Option<usize>, j| match best {
            Some(b) if logits[b] >= logits[j] => Some(b),
            _ => Some(j),
        })
        .unwrap_or(0)
}

/// A uniformly drawn legal action (any of `actions` when `legal` is `None`).
fn random_legal(actions: usize, legal: Option<&[bool]>, rng: &mut Rng) -> usize {
    match legal {
        Some(l) => {
            let allowed: Vec<usize> = (0..actions).filter(|&j| l[j]).collect();
            if allowed.is_empty() {
                0
            } else {
                allowed[rng.index(allowed.len())]
            }
        }
        None => rng.index(actions),
    }
}

/// Everything MuZero needs to continue exactly.
#[derive(Serialize, Deserialize)]
struct MuZeroState {
    nets: Vec<u8>,
    adam: AdamState,
    buffer: GameBuffer,
    running: Vec<Game>,
    steps_done: u64,
    update_credit: f64,
    updates: u64,
    rng: Rng,
}

impl MuZero {
    fn state(&self) -> MuZeroState {
        MuZeroState {
            nets: reverie_nn::checkpoint::to_bytes(
                &self.nets.named_tensors("muzero"),
                &serde_json::json!({}),
            )
            .expect("parameters serialise"),
            adam: self.adam.state().expect("optimiser moments are readable"),
            buffer: self.buffer.clone(),
            running: self.running.clone(),
            steps_done: self.steps_done,
            update_credit: self.update_credit,
            updates: self.updates,
            rng: self.rng.clone(),
        }
    }

    fn restore_state(&mut self, state: MuZeroState) -> Result<(), String> {
        let (tensors, _) = reverie_nn::checkpoint::from_bytes(&state.nets, &self.device)?;
        self.nets
            .load_named("muzero", &tensors)
            .map_err(|e| e.to_string())?;
        self.adam
            .load_state(&state.adam)
            .map_err(|e| e.to_string())?;
        if state.running.len() != self.running.len() {
            return Err("the checkpoint was saved with another number of envs".into());
        }
        self.buffer = state.buffer;
        self.running = state.running;
        self.steps_done = state.steps_done;
        self.update_credit = state.update_credit;
        self.updates = state.updates;
        self.rng = state.rng;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use reverie_core::space::BoxSpace;

    use super::*;

    fn spaces() -> (Space, Space) {
        (
            Space::Box(BoxSpace::new(vec![-1.0; 4], vec![1.0; 4])),
            Space::Discrete { n: 2, start: 0 },
        )
    }

    #[test]
    fn bad_settings_are_refused_with_their_key() {
        let (obs, act) = spaces();
        let refused = |config: MuZeroConfig| {
            config
                .init(&obs, &act, 100, Rng::seed_from_u64(0))
                .unwrap_err()
                .to_string()
        };
        let no_unroll = MuZeroConfig {
            unroll: 0,
            ..MuZeroConfig::default()
        };
        assert!(refused(no_unroll).contains("unroll"));
        let no_simulations = MuZeroConfig {
            search: MctsConfig {
                simulations: 0,
                ..MctsConfig::default()
            },
            ..MuZeroConfig::default()
        };
        assert!(refused(no_simulations).contains("search"));
    }

    #[test]
    fn the_search_must_have_as_many_players_as_the_env() {
        let two = MuZeroConfig {
            search: MctsConfig {
                two_player: true,
                discount: 1.0,
                ..MctsConfig::default()
            },
            ..MuZeroConfig::default()
        };
        assert!(two.check_players(&EnvRecipe::new("TicTacToe-v0")).is_ok());
        let one_player = two.check_players(&EnvRecipe::new("CartPole-v1"));
        assert!(one_player.unwrap_err().to_string().contains("one player"));
        let board = MuZeroConfig::default().check_players(&EnvRecipe::new("ConnectFour-v0"));
        assert!(board.unwrap_err().to_string().contains("two-player"));
    }

    #[test]
    fn alphazero_needs_no_unroll_and_a_simulator_it_can_read() {
        let (obs, act) = spaces();
        let cartpole = EnvRecipe::new("CartPole-v1");
        let alphazero = |unroll: usize, env: &EnvRecipe| {
            MuZeroConfig {
                unroll,
                ..MuZeroConfig::default()
            }
            .init_alphazero(env, &obs, &act, 100, Rng::seed_from_u64(0))
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        assert!(alphazero(0, &cartpole).is_ok());
        assert!(alphazero(5, &cartpole).unwrap_err().contains("unroll"));
        // Frames do not give the simulator's state back.
        let pixels = EnvRecipe::new("CartPolePixels-v1");
        assert!(alphazero(0, &pixels)
            .unwrap_err()
            .contains("SimulatorState"));
    }

    #[test]
    fn reanalyse_replaces_policy_targets_and_bootstrapped_values() {
        let (obs, act) = spaces();
        let mut agent = MuZeroConfig {
            td_steps: 2,
            ..MuZeroConfig::default()
        }
        .init(&obs, &act, 100, Rng::seed_from_u64(0))
        .unwrap();
        // One 12-step game whose stored policies (always action 0) and root values (1000)
        // no network would give.
        let steps = 12;
        agent.buffer.push(Game {
            obs: (0..steps * 4).map(|i| (i as f32 * 0.01).sin()).collect(),
            actions: vec![0; steps],
            rewards: vec![1.0; steps],
            root_values: vec![1000.0; steps],
            policies: [1.0, 0.0].repeat(steps),
            priorities: vec![],
            legal: vec![],
            terminated: true,
        });
        let c = agent.target_config();
        agent
            .buffer
            .sample(4, &c, &mut agent.rng.clone(), &mut agent.targets);
        let stored = (agent.targets.policies.clone(), agent.targets.values.clone());
        agent.reanalyse(4).unwrap();
        let t = &agent.targets;
        for (j, inside) in t.inside.iter().enumerate() {
            let policy = &t.policies[2 * j..2 * j + 2];
            assert!((policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            if *inside > 0.0 {
                assert_ne!(policy, &stored.0[2 * j..2 * j + 2], "searched again");
            }
            if t.bootstrap_scale[j] > 0.0 {
                // The untrained network's value is nowhere near the stored 1000.
                assert!(t.values[j] < stored.1[j] - 100.0);
            } else {
                assert_eq!(t.values[j], stored.1[j]);
            }
        }
    }

    #[test]
    fn the_learned_model_expands_every_leaf_in_one_batch() {
        let (obs, act) = spaces();
        let mut agent = MuZeroConfig::default()
            .init(&obs, &act, 100, Rng::seed_from_u64(0))
            .unwrap();
        let x = Tensor::zeros((3, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        agent.nets.roots(&x, None, &mut agent.roots).unwrap();
        assert_eq!(agent.roots.len(), 3);
        let mut model = LearnedModel { nets: &agent.nets };
        let outputs = agent
            .search
            .search(&mut model, &mut agent.roots, Mode::Evaluate, &mut agent.rng)
            .unwrap();
        for o in outputs {
            assert_eq!(o.visits.iter().sum::<u32>(), 25);
            assert!((o.policy.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }
}
