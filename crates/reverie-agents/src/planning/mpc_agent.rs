//! PETS (Chua et al. 2018) and plain MPC agents: learn an ensemble dynamics model from real
//! transitions, and at every step optimise an action sequence in it, execute the first
//! action, replan.
//!
//! The loop (as mbrl-lib's `pets`): act uniformly at random for `random_steps` steps (the
//! first trial), then train the ensemble every `train_every` steps on everything seen so
//! far, and act by MPC over the model with P particles per candidate. With `oracle = true`
//! the planner scores sequences in a copy of the real env instead (the ceiling without
//! model error); nothing is learned then.

use reverie_core::{
    Action, Batch, KnownFunctions, Metrics, Observation, PerEnvAgent, Rng, Space, Transition,
};
use reverie_envs::EnvRecipe;
use reverie_models::{
    train, DynamicsModel, EnsembleModel, EnsembleModelConfig, EnsembleState, FastDynamics,
    LinearModel, LinearModelConfig, TrainerConfig,
};
use reverie_planning::{
    ActionBounds, Mpc, Objective, OptimizerConfig, OracleObjective, PlanSpace, WarmStart,
};

use super::model_objective::{ActionEncoding, ModelObjective, ModelObjectiveConfig};
use reverie_nn::DeviceSpec;
use serde::{Deserialize, Serialize};

use crate::error::{require, AgentError};
use crate::Algorithm;
use reverie_core::snapshot;

/// Hyperparameters of [`MpcAgent`]. Defaults are mbrl-lib's PETS cart-pole settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct MpcAgentConfig {
    /// Uniformly random steps before the first model is trained (one trial).
    pub random_steps: u64,
    /// Retrain the model every this many real steps.
    pub train_every: u64,
    /// Also retrain when an episode ends (after the random phase).
    pub train_at_episode_end: bool,
    /// Planning horizon.
    pub horizon: usize,
    /// Threads of the planner's model rollouts (candle's kernels, model training included,
    /// use the run's top-level `threads`).
    pub threads: usize,
    /// Use the env's known reward and termination functions (else the model's heads).
    pub known_functions: bool,
    /// Plan in the true simulator instead of a learned model.
    pub oracle: bool,
    /// The trajectory optimiser.
    pub planner: OptimizerConfig,
    /// Particles, discount and propagation of imagined rollouts.
    pub rollouts: ModelObjectiveConfig,
    /// The learned dynamics: `ensemble` (the neural ensemble of `model`, trained by
    /// `trainer`) or `linear` (least squares on `[s, a, 1] → [Δs, r]`, settings in `linear`).
    pub dynamics: DynamicsKind,
    /// The linear model, when `dynamics = "linear"`.
    pub linear: LinearModelConfig,
    /// The ensemble.
    pub model: EnsembleModelConfig,
    /// How the ensemble is trained.
    pub trainer: TrainerConfig,
    /// The device the networks live on; set by the run's top-level `device` key (through
    /// [`crate::AgentConfig::with_device`]), not by the agent table.
    #[serde(skip)]
    pub device: DeviceSpec,
}

impl Default for MpcAgentConfig {
    fn default() -> Self {
        Self {
            random_steps: 200,
            train_every: 200,
            train_at_episode_end: true,
            horizon: 15,
            threads: 2,
            known_functions: true,
            oracle: false,
            planner: OptimizerConfig::Cem(reverie_planning::CemConfig {
                population: 350,
                ..Default::default()
            }),
            rollouts: ModelObjectiveConfig::default(),
            dynamics: DynamicsKind::Ensemble,
            linear: LinearModelConfig::default(),
            device: DeviceSpec::Cpu,
            model: EnsembleModelConfig {
                hidden_sizes: vec![200; 4],
                ..Default::default()
            },
            trainer: TrainerConfig {
                batch_size: 32,
                max_epochs: 50,
                patience: 5,
                holdout_ratio: 0.1,
                lr: 7.5e-4,
                weight_decay: 3e-5,
                ..Default::default()
            },
        }
    }
}

/// Which learned model an MPC agent plans in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DynamicsKind {
    /// The neural ensemble (deterministic or probabilistic, PETS).
    #[default]
    Ensemble,
    /// A linear model fitted by least squares (the seeds' first model).
    Linear,
}

/// Where plans are scored.
enum Planner {
    /// Not yet trained: act randomly.
    Untrained,
    Model(Box<ModelObjective>),
    Oracle(Box<OracleObjective>),
}

/// A model-predictive-control agent (PETS with the default settings).
pub struct MpcAgent {
    config: MpcAgentConfig,
    env_id: String,
    /// The env's reward and termination functions for planning (none when the model's
    /// learned heads are used).
    known: KnownFunctions,
    observation_space: Space,
    action_space: Space,
    encoding: ActionEncoding,
    obs_width: usize,
    model: Option<EnsembleModel>,
    mpc: Mpc,
    planner: Planner,
    data: Batch,
    /// Transitions the linear model was last fitted on (a refit on them restores it).
    linear_rows: usize,
    steps: u64,
    rng: Rng,
    scratch_obs: Vec<f32>,
    scratch_next: Vec<f32>,
}

/// Writes `obs` as model input: the vector, or one-hot for a discrete observation.
fn encode_obs(space: &Space, obs: &Observation, out: &mut Vec<f32>) {
    out.clear();
    match (space, obs) {
        (Space::Discrete { n, start }, Observation::Discrete(s)) => {
            out.resize(*n as usize, 0.0);
            out[(s - start) as usize] = 1.0;
        }
        (_, obs) => {
            out.resize(obs.flat_len(), 0.0);
            obs.write_f32(out);
        }
    }
}

impl MpcAgentConfig {
    /// Builds the agent for the env built by `env` (its known functions and, for the
    /// oracle, a copy of the simulator with the same options) with these spaces.
    pub fn init(
        self,
        env: &EnvRecipe,
        observation_space: &Space,
        action_space: &Space,
        rng: Rng,
    ) -> Result<MpcAgent, AgentError> {
        require(self.horizon >= 1, "horizon", self.horizon, "≥ 1")?;
        require(self.threads >= 1, "threads", self.threads, "≥ 1")?;
        self.device.device().map_err(crate::error::backend)?;
        require(
            self.train_every >= 1,
            "train_every",
            self.train_every,
            "≥ 1",
        )?;
        let invalid = |key: &'static str, message: String| AgentError::InvalidConfig {
            key,
            value: message,
            expected: "a valid setting",
        };
        self.model.validate().map_err(|m| invalid("model", m))?;
        let (encoding, space) = match action_space {
            Space::Box(b) => (
                ActionEncoding::Continuous {
                    low: b.low.clone(),
                    high: b.high.clone(),
                },
                PlanSpace::Continuous(ActionBounds {
                    horizon: self.horizon,
                    low: b.low.clone(),
                    high: b.high.clone(),
                }),
            ),
            Space::Discrete { n, .. } => (
                ActionEncoding::Discrete { n: *n as usize },
                PlanSpace::Discrete {
                    horizon: self.horizon,
                    n: *n as usize,
                },
            ),
        };
        let mpc = Mpc::new(&self.planner, &space).map_err(|m| invalid("planner", m))?;
        let obs_width = match observation_space {
            Space::Discrete { n, .. } => *n as usize,
            Space::Box(b) if b.dtype == reverie_core::Dtype::F32 => b.dim(),
            Space::Box(_) => {
                return Err(AgentError::UnsupportedSpace {
                    agent: "mpc",
                    needs: "float32 vector or discrete observations (a state-space model of \
                            pixels is not useful; latent-model agents plan from images)",
                    found: observation_space.describe(),
                })
            }
        };
        if !self.oracle && matches!(observation_space, Space::Discrete { .. }) {
            require(
                !self.model.probabilistic,
                "model.probabilistic",
                true,
                "false for discrete observations (one-hot states are predicted deterministically)",
            )?;
        }
        let planner = if self.oracle {
            // The env's own options (goal velocity, gravity, …), without its time limit.
            let mut options = env.options.clone();
            options.insert(
                "max_episode_steps",
                reverie_envs::OptionValue::Int(i64::from(u32::MAX)),
            );
            let simulator = reverie_envs::make_with(&env.id, &options)
                .map_err(|e| invalid("oracle", e.to_string()))?;
            Planner::Oracle(Box::new(
                // Refuses an env whose state cannot be set, here rather than when planning.
                OracleObjective::new(simulator, &env.id, self.horizon, self.rollouts.discount)
                    .map_err(|e| AgentError::Env(e.to_string()))?,
            ))
        } else {
            Planner::Untrained
        };
        let known = env
            .known_functions()
            .map_err(|e| invalid("known_functions", e.to_string()))?
            .only_if(self.known_functions);
        Ok(MpcAgent {
            env_id: env.id.clone(),
            known,
            observation_space: observation_space.clone(),
            action_space: action_space.clone(),
            encoding,
            obs_width,
            model: None,
            mpc,
            planner,
            data: Batch::default(),
            linear_rows: 0,
            steps: 0,
            rng,
            scratch_obs: Vec::new(),
            scratch_next: Vec::new(),
            config: self,
        })
    }
}

impl MpcAgent {
    /// Real transitions seen.
    pub fn transitions(&self) -> usize {
        self.data.len()
    }

    /// The trained ensemble, once there is one.
    pub fn model(&self) -> Option<&EnsembleModel> {
        self.model.as_ref()
    }

    /// Fits the learned model to all data and hands it to the planner.
    fn train_model(&mut self) -> Vec<(&'static str, f64)> {
        let (dynamics, metrics) = match self.config.dynamics {
            DynamicsKind::Ensemble => match self.train_ensemble() {
                Some(trained) => trained,
                None => return vec![("losses/model_train_failed", 1.0)],
            },
            DynamicsKind::Linear => {
                let act_width = self.encoding.model_dim();
                match LinearModel::fit(&self.config.linear, &self.data, self.obs_width, act_width) {
                    Ok(model) => {
                        self.linear_rows = self.data.len();
                        let fitted: Box<dyn DynamicsModel> = Box::new(model);
                        (
                            fitted,
                            vec![("charts/model_transitions", self.data.len() as f64)],
                        )
                    }
                    Err(_) => return vec![("losses/model_train_failed", 1.0)],
                }
            }
        };
        self.install(dynamics);
        metrics
    }

    /// Hands freshly fitted (or restored) dynamics to the planner.
    fn install(&mut self, dynamics: Box<dyn DynamicsModel>) {
        match &mut self.planner {
            Planner::Model(objective) => objective.set_dynamics(dynamics),
            Planner::Untrained => {
                let known = self.known.clone();
                let mut objective = ModelObjective::new(
                    dynamics,
                    known,
                    self.config.rollouts.clone(),
                    self.encoding.clone(),
                    self.config.horizon,
                    self.rng.fork(),
                )
                .expect("validated at init");
                objective.set_one_hot_observations(matches!(
                    self.observation_space,
                    Space::Discrete { .. }
                ));
                self.planner = Planner::Model(Box::new(objective));
            }
            Planner::Oracle(_) => unreachable!("the oracle trains nothing"),
        }
    }

    /// Trains (or continues training) the ensemble on all data; returns its inference
    /// snapshot and the training metrics, or `None` when the data is unusable (NaN from the
    /// env), leaving the previous model in place.
    fn train_ensemble(&mut self) -> Option<(Box<dyn DynamicsModel>, Metrics)> {
        let act_width = self.encoding.model_dim();
        if self.model.is_none() {
            let mut init_rng = self.rng.fork();
            let device = self
                .config
                .device
                .device()
                .expect("opened when the agent was built");
            match EnsembleModel::new(
                self.config.model.clone(),
                self.obs_width,
                act_width,
                &mut init_rng,
                &device,
            ) {
                Ok(m) => self.model = Some(m),
                Err(e) => panic!("model construction failed after validation: {e}"),
            }
        }
        let model = self.model.as_mut().expect("built above");
        let mut train_rng = self.rng.fork();
        let report = train(model, &self.data, &self.config.trainer, &mut train_rng).ok()?;
        let dynamics = FastDynamics::new(model, self.config.threads).expect("snapshot");
        let best = &report.epochs[report.best_epoch.min(report.epochs.len() - 1)];
        let metrics = vec![
            ("losses/model_train_loss", best.train_loss),
            ("losses/model_val_mse", best.val_mse),
            ("charts/model_epochs", report.epochs.len() as f64),
        ];
        Some((Box::new(dynamics), metrics))
    }

    fn action_from_plan(&self, first: &[f32]) -> Action {
        match &self.action_space {
            Space::Discrete { start, n } => {
                Action::Discrete(start + (first[0].max(0.0) as i64).min(*n as i64 - 1))
            }
            Space::Box(b) => Action::Vector(
                first
                    .iter()
                    .zip(b.low.iter().zip(&b.high))
                    .map(|(a, (l, h))| a.clamp(*l, *h))
                    .collect(),
            ),
        }
    }
}

impl PerEnvAgent for MpcAgent {
    fn act_one(&mut self, obs: &Observation, explore: bool) -> Action {
        let random_phase = explore && !self.config.oracle && self.steps < self.config.random_steps;
        if random_phase {
            return self.action_space.sample(&mut self.rng);
        }
        let mut obs_row = std::mem::take(&mut self.scratch_obs);
        encode_obs(&self.observation_space, obs, &mut obs_row);
        let objective: &mut dyn Objective = match &mut self.planner {
            Planner::Untrained => {
                self.scratch_obs = obs_row;
                return self.action_space.sample(&mut self.rng);
            }
            Planner::Model(objective) => {
                objective.set_start(&obs_row);
                objective.as_mut()
            }
            Planner::Oracle(objective) => {
                // The env recovers the state behind its observation (checked at init).
                assert!(
                    objective.set_start_from_observation(obs),
                    "{}: no state behind observation {obs:?}",
                    self.env_id
                );
                objective.as_mut()
            }
        };
        let (first, _) = self.mpc.act(objective, &mut self.rng);
        self.scratch_obs = obs_row;
        self.action_from_plan(&first)
    }

    fn observe_one(&mut self, t: &Transition<'_>) -> Vec<(&'static str, f64)> {
        if t.terminated || t.truncated {
            self.mpc.reset();
        }
        if self.config.oracle {
            return Vec::new();
        }
        let mut obs = std::mem::take(&mut self.scratch_obs);
        let mut next = std::mem::take(&mut self.scratch_next);
        encode_obs(&self.observation_space, t.obs, &mut obs);
        encode_obs(&self.observation_space, t.next_obs, &mut next);
        self.data.obs.extend_from_slice(&obs);
        self.data.next_obs.extend_from_slice(&next);
        let mut action = Vec::new();
        reverie_models::encode_action(&self.action_space, t.action, &mut action);
        self.data.actions.extend_from_slice(&action);
        self.data.rewards.push(t.reward as f32);
        self.data.terminated.push(t.terminated);
        self.data.truncated.push(t.truncated);
        self.scratch_obs = obs;
        self.scratch_next = next;
        self.steps += 1;
        let since = self.steps.saturating_sub(self.config.random_steps);
        let periodic =
            self.steps >= self.config.random_steps && since.is_multiple_of(self.config.train_every);
        // As mbrl-lib: also retrain at the start of every trial after the random one, so a
        // failed episode's data is used at once.
        let trial_start = self.config.train_at_episode_end
            && (t.terminated || t.truncated)
            && self.steps > self.config.random_steps;
        let due = periodic || trial_start;
        if due {
            self.train_model()
        } else {
            Vec::new()
        }
    }

    fn checkpoint(&self) -> Vec<u8> {
        let objective_rng = match &self.planner {
            Planner::Model(objective) => Some(objective.rng().clone()),
            Planner::Untrained | Planner::Oracle(_) => None,
        };
        let state = MpcState {
            steps: self.steps,
            rng: self.rng.clone(),
            data: self.data.clone(),
            model: self
                .model
                .as_ref()
                .map(|m| m.state().expect("parameters serialise")),
            objective_rng,
            linear_rows: self.linear_rows,
            warm_start: self.mpc.warm_start(),
        };
        snapshot::save(Algorithm::Mpc.name(), &state)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        let state: MpcState =
            snapshot::load(Algorithm::Mpc.name(), bytes).map_err(|e| e.to_string())?;
        let act_width = self.encoding.model_dim();
        if state.data.obs.len() != state.data.len() * self.obs_width
            || state.data.actions.len() != state.data.len() * act_width
        {
            return Err("the saved transitions do not fit this env".into());
        }
        self.data = state.data;
        self.steps = state.steps;
        if let Some(objective_rng) = state.objective_rng {
            let dynamics: Box<dyn DynamicsModel> = match (&self.config.dynamics, &state.model) {
                (DynamicsKind::Ensemble, Some(saved)) => {
                    let device = self.config.device.device().map_err(|e| e.to_string())?;
                    let mut model = EnsembleModel::new(
                        self.config.model.clone(),
                        self.obs_width,
                        act_width,
                        &mut Rng::seed_from_u64(0),
                        &device,
                    )
                    .map_err(|e| e.to_string())?;
                    model.load_state(saved)?;
                    let fast = FastDynamics::new(&model, self.config.threads)
                        .map_err(|e| e.to_string())?;
                    self.model = Some(model);
                    Box::new(fast)
                }
                // The least-squares fit is a function of the data: refitting restores it.
                (DynamicsKind::Linear, _) => {
                    self.linear_rows = state.linear_rows;
                    let fitted =
                        first_rows(&self.data, state.linear_rows, self.obs_width, act_width);
                    Box::new(
                        LinearModel::fit(&self.config.linear, &fitted, self.obs_width, act_width)
                            .map_err(|e| e.to_string())?,
                    )
                }
                (DynamicsKind::Ensemble, None) => {
                    return Err("the checkpoint has a planner but no model".into())
                }
            };
            self.install(dynamics);
            if let Planner::Model(objective) = &mut self.planner {
                objective.set_rng(objective_rng);
            }
        }
        self.rng = state.rng;
        self.mpc.set_warm_start(state.warm_start);
        Ok(())
    }
}

/// Everything an MPC agent needs to continue exactly: its transitions, the learned
/// ensemble (parameters, normalisers, elites), the planner's warm start and generators.
#[derive(Serialize, Deserialize)]
struct MpcState {
    steps: u64,
    rng: Rng,
    data: Batch,
    model: Option<EnsembleState>,
    objective_rng: Option<Rng>,
    linear_rows: usize,
    warm_start: WarmStart,
}

/// The first `n` transitions of `data`.
fn first_rows(data: &Batch, n: usize, obs_width: usize, act_width: usize) -> Batch {
    let n = n.min(data.len());
    Batch {
        obs: data.obs[..n * obs_width].to_vec(),
        actions: data.actions[..n * act_width].to_vec(),
        rewards: data.rewards[..n].to_vec(),
        next_obs: data.next_obs[..n * obs_width].to_vec(),
        terminated: data.terminated[..n].to_vec(),
        truncated: data.truncated[..n].to_vec(),
    }
}
