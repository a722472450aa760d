//! Neural Dyna: DQN plus a learned ensemble model whose imagined transitions also train the
//! Q-network (Sutton's Dyna with function approximation).
//!
//! The DQN learns from real data on its own schedule (every `train_freq` env steps,
//! `gradient_steps` updates). Every `model_train_every` real steps the ensemble is retrained
//! on the newest `model_data_window` real transitions (actions one-hot). After each of DQN's
//! training phases, `rollouts_per_phase` states are drawn from the replay buffer and rolled
//! `horizon` steps through the model (a random elite per step) under the ε-greedy policy;
//! the imagined transitions go to their own buffer (n-step ones when DQN learns from n-step
//! returns, so that imagined and real updates propagate value equally far), and
//! `planning_steps × gradient_steps` extra updates are made on imagined minibatches.
//! `planning_steps = 0` is plain DQN. With `max_disagreement` a rollout stops where the
//! elites disagree (the transition is dropped).

use reverie_core::{
    ActContext, Action, Agent, Batch, Carry, KnownFunctions, Metrics, Mode, ObsBatch, ReplayBuffer,
    ReplayBufferConfig, Rng, Space, StepBatch,
};
use reverie_models::{
    train, EnsembleModel, EnsembleModelConfig, EnsembleState, ModelEnv, ModelEnvConfig, ModelStep,
    Propagation, TrainerConfig,
};
use serde::{Deserialize, Serialize};

use super::validate_model_settings;
use crate::error::{backend, require};
use crate::model_free::dqn::DqnState;
use crate::model_free::{Dqn, DqnConfig};
use crate::AgentError;
use crate::Algorithm;
use reverie_core::snapshot;

/// Neural Dyna hyperparameters (the DQN part defaults to rl-zoo's CartPole-v1 tuning).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct NeuralDynaConfig {
    /// Imagined updates per real update (0: plain DQN).
    pub planning_steps: usize,
    /// Length of each imagined rollout.
    pub horizon: usize,
    /// Branch every start state into every action at the first imagined step (then follow
    /// the ε-greedy policy). Without it the first action is ε-greedy too, so imagination
    /// mostly updates the greedy action's value and leaves the others stale.
    pub branch_all_actions: bool,
    /// Imagined rollouts started after each DQN training phase.
    pub rollouts_per_phase: usize,
    /// Capacity of the imagined-transition buffer.
    pub imagined_capacity: usize,
    /// Retrain the model every this many real steps (after DQN's `learning_starts`).
    pub model_train_every: u64,
    /// The model trains on at most this many of the newest real transitions.
    pub model_data_window: usize,
    /// Stop a rollout where the elites' disagreement exceeds this (none if absent).
    pub max_disagreement: Option<f32>,
    /// Use the env's known reward and termination functions (else the learned heads).
    pub known_functions: bool,
    /// The ensemble (deterministic by default: CartPole is deterministic).
    pub model: EnsembleModelConfig,
    /// How the ensemble is trained.
    pub trainer: TrainerConfig,
    /// The DQN learner.
    pub dqn: DqnConfig,
}

impl Default for NeuralDynaConfig {
    fn default() -> Self {
        Self {
            planning_steps: 5,
            horizon: 1,
            branch_all_actions: false,
            rollouts_per_phase: 4096,
            imagined_capacity: 50_000,
            model_train_every: 5000,
            model_data_window: 10_000,
            max_disagreement: None,
            known_functions: true,
            model: EnsembleModelConfig {
                ensemble_size: 5,
                elites: 5,
                hidden_sizes: vec![200, 200],
                probabilistic: false,
                ..EnsembleModelConfig::default()
            },
            trainer: TrainerConfig {
                max_epochs: 5,
                ..TrainerConfig::default()
            },
            dqn: DqnConfig::default(),
        }
    }
}

impl NeuralDynaConfig {
    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), AgentError> {
        require(self.horizon >= 1, "horizon", self.horizon, ">= 1")?;
        require(
            self.rollouts_per_phase >= 1,
            "rollouts_per_phase",
            self.rollouts_per_phase,
            ">= 1",
        )?;
        require(
            self.imagined_capacity >= 1,
            "imagined_capacity",
            self.imagined_capacity,
            ">= 1",
        )?;
        require(
            self.model_train_every >= 1,
            "model_train_every",
            self.model_train_every,
            ">= 1",
        )?;
        require(
            self.model_data_window >= 2,
            "model_data_window",
            self.model_data_window,
            ">= 2",
        )?;
        validate_model_settings(self.max_disagreement, &self.model)?;
        self.dqn.validate()
    }

    /// Builds the agent for `Discrete` actions; `total_steps` sets DQN's ε schedule.
    pub fn init(
        &self,
        known: &KnownFunctions,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        mut rng: Rng,
    ) -> Result<NeuralDyna, AgentError> {
        self.validate()?;
        let dqn = self
            .dqn
            .init(observation_space, action_space, total_steps, rng.fork())?;
        let obs_dim = observation_space.flat_dim();
        let model = EnsembleModel::new(
            self.model.clone(),
            obs_dim,
            dqn.action_count(),
            &mut rng.fork(),
            &self.dqn.device.device().map_err(backend)?,
        )
        .map_err(backend)?;
        let imagined = crate::error::replay_buffer(
            ReplayBufferConfig {
                capacity: self.imagined_capacity,
                obs_dim,
                action_dim: 1,
            },
            "imagined_capacity",
        )?;
        Ok(NeuralDyna {
            imagined,
            config: self.clone(),
            known: known.only_if(self.known_functions),
            obs_dim,
            dqn,
            model,
            model_ready: false,
            steps_done: 0,
            rng,
        })
    }
}

/// DQN with Dyna-style planning in a learned model; see the module docs.
#[derive(Debug)]
pub struct NeuralDyna {
    config: NeuralDynaConfig,
    /// The env's reward and termination functions for imagined steps (none when the
    /// learned heads are used).
    known: KnownFunctions,
    obs_dim: usize,
    dqn: Dqn,
    model: EnsembleModel,
    model_ready: bool,
    imagined: ReplayBuffer,
    steps_done: u64,
    rng: Rng,
}

/// One depth of a batch of imagined rollouts: the rows still running, what they did and
/// what the model answered.
struct ImaginedDepth {
    obs: Vec<f32>,
    actions: Vec<f32>,
    /// The rollout of each row (rows keep the rollouts' order).
    rollout: Vec<usize>,
    step: ModelStep,
}

/// Stores the n-step transitions starting at depths `0..horizon` of `depths`, depth by
/// depth (for n = 1, every imagined step in the order it was taken); returns `(stored,
/// rows cut by disagreement)`.
fn store_n_step(
    buffer: &mut ReplayBuffer,
    depths: &[ImaginedDepth],
    horizon: usize,
    n: usize,
    gamma: f32,
) -> (usize, usize) {
    let stopped = depths
        .iter()
        .map(|depth| depth.step.truncated.iter().filter(|t| **t).count())
        .sum();
    // `row[t][k]`: rollout k's row at depth t.
    let rollouts = depths.first().map_or(0, |first| first.rollout.len());
    let row: Vec<Vec<Option<usize>>> = depths
        .iter()
        .map(|depth| {
            let mut rows = vec![None; rollouts];
            for (i, &k) in depth.rollout.iter().enumerate() {
                rows[k] = Some(i);
            }
            rows
        })
        .collect();
    let obs_dim = depths
        .first()
        .map_or(0, |first| first.obs.len() / first.rollout.len().max(1));
    let mut stored = 0;
    for (t, start) in depths.iter().enumerate().take(horizon) {
        for (i, &k) in start.rollout.iter().enumerate() {
            let (mut reward, mut discount) = (0.0f32, 1.0f32);
            let mut end = None;
            for (u, depth) in depths.iter().enumerate().skip(t).take(n) {
                let Some(j) = row[u][k] else { break };
                if depth.step.truncated[j] {
                    break;
                }
                reward += discount * depth.step.rewards[j];
                discount *= gamma;
                if depth.step.terminated[j] || u == t + n - 1 {
                    end = Some((u, j));
                    break;
                }
            }
            let Some((u, j)) = end else { continue };
            let last = &depths[u].step;
            let pushed = buffer.push(
                &start.obs[i * obs_dim..(i + 1) * obs_dim],
                &start.actions[i..i + 1],
                reward,
                &last.next_obs[j * obs_dim..(j + 1) * obs_dim],
                last.terminated[j],
                false,
            );
            stored += pushed.is_ok() as usize;
        }
    }
    (stored, stopped)
}

/// `batch` with its index actions replaced by one-hot rows of width `n` (model inputs).
pub fn one_hot_actions(batch: &mut Batch, n: usize) {
    let indices = std::mem::take(&mut batch.actions);
    batch.actions = one_hot(indices.iter().map(|a| *a as usize), n);
}

/// One-hot rows of width `n`, one per action index.
fn one_hot(indices: impl Iterator<Item = usize>, n: usize) -> Vec<f32> {
    indices
        .flat_map(|a| (0..n).map(move |k| (k == a) as u8 as f32))
        .collect()
}

impl NeuralDyna {
    /// The imagined-transition buffer.
    pub fn imagined(&self) -> &ReplayBuffer {
        &self.imagined
    }

    /// Retrains the model on the newest real transitions.
    fn train_model(&mut self, metrics: &mut Vec<(&'static str, f64)>) {
        let replay = self.dqn.replay();
        let all = replay.all();
        let keep = all.len().min(self.config.model_data_window);
        let start = all.len() - keep;
        let d = self.obs_dim;
        let mut data = Batch {
            obs: all.obs[start * d..].to_vec(),
            actions: all.actions[start..].to_vec(),
            rewards: all.rewards[start..].to_vec(),
            next_obs: all.next_obs[start * d..].to_vec(),
            terminated: all.terminated[start..].to_vec(),
            truncated: all.truncated[start..].to_vec(),
        };
        one_hot_actions(&mut data, self.dqn.action_count());
        let mut train_rng = self.rng.fork();
        match train(&mut self.model, &data, &self.config.trainer, &mut train_rng) {
            Ok(report) => {
                let mse = report
                    .elites
                    .iter()
                    .map(|&e| report.member_val_mse[e])
                    .sum::<f64>()
                    / report.elites.len().max(1) as f64;
                metrics.push(("model/val_mse_elites", mse));
                self.model_ready = true;
            }
            Err(_) => metrics.push(("model/train_failed", 1.0)),
        }
    }

    /// Rolls `starts` replayed states forward under the ε-greedy policy and stores
    /// `horizon` imagined transitions per rollout; returns `(stored, stopped by
    /// disagreement)`. With DQN's `n_step = n` each stored transition is an n-step one, as
    /// DQN's real ones are: the rollout runs `horizon + n − 1` steps, and the transition
    /// starting at depth t sums the rewards of t..t+n (or up to a termination) and ends in
    /// the state n steps on, so every row that did not terminate bootstraps with γⁿ. A
    /// window that reaches a step cut by disagreement is dropped.
    pub fn imagine(&mut self, starts: usize) -> candle_core::Result<(usize, usize)> {
        let indices = self.dqn.replay().sample_indices(starts, &mut self.rng);
        let mut batch = Batch::default();
        self.dqn.replay().gather(&indices, &mut batch);
        let mut obs = batch.obs;
        let known = self.known.clone();
        let mut env = ModelEnv::new(
            &self.model,
            ModelEnvConfig {
                propagation: Propagation::RandomMember,
                sample: self.config.model.probabilistic,
                max_disagreement: self.config.max_disagreement,
            },
            known,
            self.rng.fork(),
        );
        let (n, d) = (self.dqn.action_count(), self.obs_dim);
        let n_step = self.dqn.config().n_step;
        let gamma = self.dqn.config().gamma as f32;
        // Which rollout each row of the current depth belongs to.
        let mut rollout: Vec<usize> = (0..obs.len() / d).collect();
        let mut depths: Vec<ImaginedDepth> = Vec::new();
        let mut actions = Vec::new();
        for depth in 0..self.config.horizon + n_step - 1 {
            if obs.is_empty() {
                break;
            }
            actions.clear();
            if depth == 0 && self.config.branch_all_actions {
                // Each start state once per action: counterfactual actions the replay
                // buffer has not got for that state.
                let starts = std::mem::take(&mut obs);
                rollout.clear();
                for row in starts.chunks_exact(d) {
                    for a in 0..n {
                        obs.extend_from_slice(row);
                        actions.push(a);
                        rollout.push(rollout.len());
                    }
                }
            } else {
                self.dqn.explore_rows(&obs, &mut actions);
            }
            let step = env.step(&obs, &one_hot(actions.iter().copied(), n))?;
            let (mut next_obs, mut next_rollout) = (Vec::new(), Vec::new());
            for (i, &k) in rollout.iter().enumerate() {
                if !step.terminated[i] && !step.truncated[i] {
                    next_obs.extend_from_slice(&step.next_obs[i * d..(i + 1) * d]);
                    next_rollout.push(k);
                }
            }
            depths.push(ImaginedDepth {
                obs: std::mem::replace(&mut obs, next_obs),
                actions: actions.iter().map(|a| *a as f32).collect(),
                rollout: std::mem::replace(&mut rollout, next_rollout),
                step,
            });
        }
        Ok(store_n_step(
            &mut self.imagined,
            &depths,
            self.config.horizon,
            n_step,
            gamma,
        ))
    }

    /// Imagined rollouts, then `planning_steps × gradient_steps` updates on imagined data.
    fn plan(&mut self, metrics: &mut Vec<(&'static str, f64)>) {
        match self.imagine(self.config.rollouts_per_phase) {
            Ok((stored, stopped)) => {
                metrics.push(("model/imagined_stored", stored as f64));
                metrics.push(("model/rollouts_stopped_by_disagreement", stopped as f64));
            }
            Err(_) => metrics.push(("model/rollout_failed", 1.0)),
        }
        if self.imagined.is_empty() {
            return;
        }
        let updates = self.config.planning_steps * self.dqn.config().gradient_steps;
        let batch_size = self.dqn.config().batch_size;
        let (mut loss, mut done) = (0.0, 0);
        let mut batch = Batch::default();
        // Every imagined row that did not terminate ran the full n steps (see `imagine`).
        let dqn = self.dqn.config();
        let discounts = vec![(dqn.gamma as f32).powi(dqn.n_step as i32); batch_size];
        for _ in 0..updates {
            let indices = self.imagined.sample_indices(batch_size, &mut self.rng);
            self.imagined.gather(&indices, &mut batch);
            if let Ok(update) = self.dqn.update_discounted(&batch, &discounts) {
                loss += update.loss;
                done += 1;
            }
        }
        if done > 0 {
            metrics.push(("losses/imagined_td_loss", loss / done as f64));
        }
    }
}

impl Agent for NeuralDyna {
    fn num_envs(&self) -> usize {
        self.dqn.num_envs()
    }

    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        self.dqn.act(obs, ctx, carry, mode, actions);
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        let mut metrics = self.dqn.observe(step);
        let n = step.actions.len() as u64;
        let before = self.steps_done;
        self.steps_done += n;
        let starts = self.dqn.config().learning_starts;
        let every = self.config.model_train_every;
        // Plain DQN (planning 0) needs no model.
        if self.config.planning_steps > 0
            && self.steps_done > starts
            && (before.saturating_sub(starts) / every != (self.steps_done - starts) / every
                || !self.model_ready)
            && self.dqn.replay().len() >= 2
        {
            self.train_model(&mut metrics);
        }
        let trained_now = metrics.iter().any(|(name, _)| *name == "losses/td_loss");
        if trained_now && self.model_ready && self.config.planning_steps > 0 {
            self.plan(&mut metrics);
        }
        metrics
    }

    fn save(&self) -> Vec<u8> {
        let state = NeuralDynaState {
            dqn: self.dqn.state(),
            model: self.model.state().expect("parameters serialise"),
            model_ready: self.model_ready,
            imagined: self.imagined.clone(),
            steps_done: self.steps_done,
            rng: self.rng.clone(),
        };
        snapshot::save(Algorithm::NeuralDyna.name(), &state)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: NeuralDynaState =
            snapshot::load(Algorithm::NeuralDyna.name(), bytes).map_err(|e| e.to_string())?;
        if state.imagined.config() != self.imagined.config() {
            return Err("the saved imagined buffer has another shape or capacity".into());
        }
        self.dqn.restore_state(state.dqn)?;
        self.model.load_state(&state.model)?;
        self.model_ready = state.model_ready;
        self.imagined = state.imagined;
        self.steps_done = state.steps_done;
        self.rng = state.rng;
        Ok(())
    }
}

/// Everything neural Dyna needs to continue exactly: the DQN's whole state, the ensemble,
/// the imagined buffer, counters and the generator.
#[derive(Serialize, Deserialize)]
struct NeuralDynaState {
    dqn: DqnState,
    model: EnsembleState,
    model_ready: bool,
    imagined: ReplayBuffer,
    steps_done: u64,
    rng: Rng,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cartpole_dyna(config: NeuralDynaConfig) -> NeuralDyna {
        let obs = Space::boxed(vec![-4.8, -1e9, -0.42, -1e9], vec![4.8, 1e9, 0.42, 1e9]);
        config
            .init(
                &reverie_envs::known_functions("CartPole-v1", &Default::default()).unwrap(),
                &obs,
                &Space::discrete(2),
                10_000,
                Rng::seed_from_u64(0),
            )
            .unwrap()
    }

    fn small() -> NeuralDynaConfig {
        NeuralDynaConfig {
            model: EnsembleModelConfig {
                ensemble_size: 2,
                elites: 2,
                hidden_sizes: vec![8],
                probabilistic: false,
                ..EnsembleModelConfig::default()
            },
            dqn: DqnConfig {
                hidden: vec![8],
                ..DqnConfig::default()
            },
            ..NeuralDynaConfig::default()
        }
    }

    #[test]
    fn one_hot_encoding_of_index_actions() {
        let mut batch = Batch {
            actions: vec![1.0, 0.0, 2.0],
            ..Batch::default()
        };
        one_hot_actions(&mut batch, 3);
        assert_eq!(batch.actions, vec![0., 1., 0., 1., 0., 0., 0., 0., 1.]);
    }

    #[test]
    fn imagined_rollouts_follow_the_horizon_and_known_termination() {
        let mut dyna = cartpole_dyna(one_step(NeuralDynaConfig {
            horizon: 3,
            ..small()
        }));
        fill_replay(&mut dyna);
        let (stored, stopped) = dyna.imagine(10).unwrap();
        assert_eq!(stopped, 0);
        // Each rollout stores 1 to 3 transitions (fewer when the known termination fires).
        assert!((10..=30).contains(&stored), "{stored}");
        let all = dyna.imagined().all();
        assert!(
            all.rewards.iter().all(|r| *r == 1.0),
            "CartPole's known reward"
        );
        assert!(all.actions.iter().all(|a| *a == 0.0 || *a == 1.0));
    }

    #[test]
    fn imagined_n_step_transitions_sum_n_rewards_or_end_at_a_termination() {
        let mut dyna = cartpole_dyna(NeuralDynaConfig {
            horizon: 2,
            dqn: DqnConfig {
                n_step: 3,
                ..small().dqn
            },
            ..small()
        });
        fill_replay(&mut dyna);
        let (stored, _) = dyna.imagine(10).unwrap();
        // Rollouts of 2 + 3 − 1 steps; the windows start at depths 0 and 1.
        assert!((10..=20).contains(&stored), "{stored}");
        let all = dyna.imagined().all();
        let g = dyna.dqn.config().gamma as f32;
        for (reward, terminated) in all.rewards.iter().zip(&all.terminated) {
            if *terminated {
                assert!([1.0, 1.0 + g, 1.0 + g + g * g].contains(reward), "{reward}");
            } else {
                assert_eq!(*reward, 1.0 + g + g * g, "a full window sums 3 rewards");
            }
        }
    }

    /// The DQN learns from one-step returns.
    fn one_step(config: NeuralDynaConfig) -> NeuralDynaConfig {
        NeuralDynaConfig {
            dqn: DqnConfig {
                n_step: 1,
                ..config.dqn.clone()
            },
            ..config
        }
    }

    /// 20 real transitions from states well inside CartPole's limits.
    fn fill_replay(dyna: &mut NeuralDyna) {
        for i in 0..20 {
            let o = [0.01 * i as f32, 0.0, 0.0, 0.0];
            let a = [Action::Discrete(0)];
            dyna.dqn.observe(&StepBatch {
                obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                actions: &a,
                rewards: &[1.0],
                next_obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                terminated: &[false],
                truncated: &[false],
            });
        }
    }

    #[test]
    fn branching_imagines_every_action_from_every_start_state() {
        let mut dyna = cartpole_dyna(NeuralDynaConfig {
            branch_all_actions: true,
            ..small()
        });
        for i in 0..20 {
            let o = [0.01 * i as f32, 0.0, 0.0, 0.0];
            dyna.dqn.observe(&StepBatch {
                obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                actions: &[Action::Discrete(0)],
                rewards: &[1.0],
                next_obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                terminated: &[false],
                truncated: &[false],
            });
        }
        // Horizon 1: 10 start states × 2 actions, although every real action was 0.
        assert_eq!(dyna.imagine(10).unwrap(), (20, 0));
        let all = dyna.imagined().all();
        for pair in 0..10 {
            assert_eq!(all.actions[2 * pair..2 * pair + 2], [0.0, 1.0]);
            assert_eq!(
                all.obs[8 * pair..8 * pair + 4],
                all.obs[8 * pair + 4..8 * pair + 8]
            );
        }
    }

    #[test]
    fn disagreement_threshold_zero_stores_nothing() {
        let mut dyna = cartpole_dyna(NeuralDynaConfig {
            max_disagreement: Some(0.0),
            ..small()
        });
        let o = [0.0f32, 0.0, 0.0, 0.0];
        for _ in 0..5 {
            dyna.dqn.observe(&StepBatch {
                obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                actions: &[Action::Discrete(1)],
                rewards: &[1.0],
                next_obs: &ObsBatch::from_f32(o.to_vec(), o.len()),
                terminated: &[false],
                truncated: &[false],
            });
        }
        let (stored, stopped) = dyna.imagine(8).unwrap();
        assert_eq!((stored, stopped), (0, 8));
    }
}
