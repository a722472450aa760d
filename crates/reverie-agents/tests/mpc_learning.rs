//! Learning tests for model predictive control: the oracle planner balances cart-pole, PETS
//! with iCEM learns to balance it within five trials, and MPC over a learned deterministic
//! model walks GridWorld to its goal.
//!
//! Every episode runs on the training driver (`reverie_run::driver::drive`, no evaluation
//! episodes); hooks record the episodes' returns and stop the run.

use std::path::PathBuf;

use reverie_agents::{MpcAgent, MpcAgentConfig};
use reverie_core::{
    Action, AutoresetMode, BoxedEnv, DynEnv, EnvError, Frame, Info, KnownFunctions, Observation,
    SeedStreams, SimulatorState, Space, Step, VecEnv,
};
use reverie_envs::{make_with, EnvOptions, OptionValue};
use reverie_planning::{CategoricalCemConfig, CemConfig, ICemConfig, OptimizerConfig};
use reverie_run::driver::{drive, EpisodeEnd, Flow, Hooks, Schedule};
use reverie_run::run_dir::RunDir;

fn env(id: &str, steps: i64) -> BoxedEnv {
    make_with(
        id,
        &EnvOptions::new().with("max_episode_steps", OptionValue::Int(steps)),
    )
    .unwrap()
}

fn agent(config: MpcAgentConfig, env_id: &str, env: &BoxedEnv, seed: u64) -> MpcAgent {
    config
        .init(
            &reverie_envs::EnvRecipe::new(env_id),
            &env.observation_space(),
            &env.action_space(),
            SeedStreams::new(seed).rng("agent"),
        )
        .unwrap()
}

/// An env whose every reset is seeded by `seed(steps taken so far)`, whatever seed it is
/// given: the episodes of a run get the seeds the test chooses.
struct Seeded {
    env: BoxedEnv,
    seed: Box<dyn FnMut(u64) -> u64 + Send>,
    steps: u64,
}

impl DynEnv for Seeded {
    fn observation_space(&self) -> Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> Space {
        self.env.action_space()
    }
    fn reset(&mut self, _seed: Option<u64>) -> (Observation, Info) {
        let seed = (self.seed)(self.steps);
        self.env.reset(Some(seed))
    }
    fn step(&mut self, action: &Action) -> Result<Step<Observation>, EnvError> {
        self.steps += 1;
        self.env.step(action)
    }
    fn simulator(&self) -> Option<&dyn SimulatorState> {
        self.env.simulator()
    }
    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        self.env.simulator_mut()
    }
    fn render_size(&self) -> Option<(usize, usize)> {
        self.env.render_size()
    }
    fn known_functions(&self) -> KnownFunctions {
        self.env.known_functions()
    }
    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        self.env.render(frame)
    }
}

/// Seeds `warmup_seed, warmup_seed + 1, ...` for the episodes that start before `warmup`
/// steps were taken, then `seed, seed + 1, ...`.
fn seeds(warmup: u64, warmup_seed: u64, seed: u64) -> Box<dyn FnMut(u64) -> u64 + Send> {
    let (mut warm, mut planned) = (warmup_seed, seed);
    Box::new(move |steps| {
        let next = if steps < warmup {
            &mut warm
        } else {
            &mut planned
        };
        *next += 1;
        *next - 1
    })
}

/// Collects the returns of the episodes that start after `warmup` steps and stops the run
/// after `episodes` of them, or at the first with a return of at least `stop_at`.
struct Returns {
    warmup: u64,
    warming_up: bool,
    episodes: usize,
    stop_at: f64,
    returns: Vec<f64>,
}

impl Returns {
    fn new(warmup: u64, episodes: usize, stop_at: f64) -> Self {
        Self {
            warmup,
            warming_up: warmup > 0,
            episodes,
            stop_at,
            returns: Vec::new(),
        }
    }
}

impl Hooks for Returns {
    fn on_episode(&mut self, episode: &EpisodeEnd) -> Flow {
        if self.warming_up {
            // The episode during which the warm-up ends is still a warm-up one.
            self.warming_up = episode.step < self.warmup;
            return Flow::Continue;
        }
        self.returns.push(episode.episode_return);
        if self.returns.len() >= self.episodes || episode.episode_return >= self.stop_at {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Trains `agent` on `env` under the driver until `hooks` stop it (at most `max_steps`);
/// the run directory is a temporary one.
fn run(name: &str, agent: &mut MpcAgent, env: BoxedEnv, max_steps: u64, hooks: &mut Returns) {
    // Never used: there are no evaluation episodes.
    let mut eval_env = make_with("CartPole-v1", &EnvOptions::new()).unwrap();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("reverie-mpc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = RunDir::create_at(&dir).unwrap();
    let mut envs = VecEnv::new(vec![env], AutoresetMode::SameStep);
    let schedule = Schedule {
        total_steps: max_steps,
        eval_every: 0,
        eval_episodes: 0,
        eval_max_episode_steps: 0,
        eval_opponent: None,
        checkpoint_every: 0,
        checkpoint_seconds: 0.0,
        max_nonfinite_updates: 0,
        log_every: 1000,
        env_seed: 0,
        eval_seed: 0,
    };
    drive(
        agent,
        &mut envs,
        &mut eval_env,
        &schedule,
        &run,
        false,
        hooks,
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cem_mpc_on_the_oracle_balances_cartpole() {
    let id = "CartPoleContinuous-v0";
    let e = env(id, 200);
    // With reward 1 per step alive, every sequence that survives the horizon scores the
    // same; a horizon of 25 sees a failure early enough to avoid it.
    let config = MpcAgentConfig {
        oracle: true,
        horizon: 25,
        planner: OptimizerConfig::Cem(CemConfig {
            population: 200,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut a = agent(config, id, &e, 0);
    let e: BoxedEnv = Box::new(Seeded {
        env: e,
        seed: seeds(0, 0, 1),
        steps: 0,
    });
    let mut returns = Returns::new(0, 1, f64::INFINITY);
    run("oracle", &mut a, e, 200, &mut returns);
    assert_eq!(returns.returns, [200.0]);
}

/// Budget: one random trial of 200 steps, then at most 4 planned trials of 200 steps.
#[test]
fn pets_with_icem_balances_continuous_cartpole_within_five_trials() {
    reverie_nn::threads::set_num_threads(2);
    let id = "CartPoleContinuous-v0";
    let e = env(id, 200);
    let mut config = MpcAgentConfig {
        planner: OptimizerConfig::Icem(ICemConfig {
            population: 100,
            ..Default::default()
        }),
        ..Default::default()
    };
    config.model.hidden_sizes = vec![200; 3];
    config.rollouts.particles = 10;
    let mut a = agent(config, id, &e, 0);
    // Random trial: episodes (seeds 100, 101, ...) until 200 steps are collected; then the
    // planned trials (seeds 1000, 1001, ...).
    let e: BoxedEnv = Box::new(Seeded {
        env: e,
        seed: seeds(200, 100, 1000),
        steps: 0,
    });
    let mut returns = Returns::new(200, 4, 195.0);
    run("pets", &mut a, e, 1_000_000, &mut returns);
    assert!(
        returns.returns.last().is_some_and(|r| *r >= 195.0),
        "PETS never reached 195 in 4 planned trials: {:?}",
        returns.returns
    );
}

#[test]
fn mpc_with_a_learned_model_walks_gridworld_to_the_goal() {
    reverie_nn::threads::set_num_threads(2);
    let id = "GridWorld-v0";
    let e = env(id, 100);
    let mut config = MpcAgentConfig {
        random_steps: 1000,
        train_every: 100,
        horizon: 12,
        known_functions: false,
        // The reward is sparse: enough samples that some reach the goal within the horizon.
        planner: OptimizerConfig::CategoricalCem(CategoricalCemConfig {
            population: 2000,
            ..Default::default()
        }),
        ..Default::default()
    };
    config.model.ensemble_size = 1;
    config.model.elites = 1;
    config.model.probabilistic = false;
    config.model.learned_termination = true;
    config.model.hidden_sizes = vec![64, 64];
    config.rollouts.particles = 1;
    config.rollouts.sample = false;
    let mut a = agent(config, id, &e, 0);
    // Random episodes (seeds 0, 1, ...) until 1000 steps are collected; then three planned
    // episodes (seeds 50, 51, 52).
    let e: BoxedEnv = Box::new(Seeded {
        env: e,
        seed: seeds(1000, 0, 50),
        steps: 0,
    });
    // The best return is 93 (8 steps); ≥ 81 is the goal within 20 steps, which a random
    // walk rarely manages. The model is retrained after every episode.
    let mut returns = Returns::new(1000, 3, f64::INFINITY);
    run("gridworld", &mut a, e, 1_000_000, &mut returns);
    assert_eq!(returns.returns.len(), 3);
    assert!(
        returns.returns.iter().any(|r| *r >= 81.0),
        "MPC never reached the goal in ≤ 20 steps: {:?}",
        returns.returns
    );
}
