//! `reverie train`: build the env and the agent from a resolved configuration, create the
//! run directory, and run the [`crate::driver`] on them; write the summary. (The learning
//! curve is drawn by the caller: `reverie_lab::plot::plot_run`.)

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use reverie_core::{Agent, AutoresetMode, BoxedEnv, DynEnv, SeedStreams, Space, VecEnv};
use reverie_envs::{make_with, EnvRecipe};

use crate::algos::build_agent;
use crate::checkpoint::RunState;
use crate::config::{env_options, TrainConfig};
use crate::driver::{drive_from, Hooks, Interrupted, NoHooks, Schedule};
use crate::run_dir::RunDir;
use crate::versus::Versus;

/// Where the run directory goes.
#[derive(Clone, Debug)]
pub enum RunLocation {
    /// `root/<algo>/<env>/<timestamp>-s<seed>`.
    Under(PathBuf),
    /// Exactly this folder (must not exist or be empty).
    At(PathBuf),
}

/// What a finished run reports (also written to `summary.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Algorithm.
    pub algo: String,
    /// Env id.
    pub env: String,
    /// Root seed.
    pub seed: u64,
    /// Real steps taken.
    pub total_steps: u64,
    /// Episodes finished during training.
    pub episodes: u64,
    /// Mean return of the greedy policy over `eval_episodes` at the end (NaN, `null` in
    /// `summary.json`, when `eval_episodes` is 0: no evaluation).
    #[serde(deserialize_with = "nan_if_null")]
    pub final_eval_return_mean: f64,
    /// Standard deviation of those returns (NaN without evaluation).
    #[serde(deserialize_with = "nan_if_null")]
    pub final_eval_return_std: f64,
    /// Mean return of the last 100 training episodes.
    #[serde(deserialize_with = "nan_if_null")]
    pub last_100_train_return_mean: f64,
    /// The best evaluation of the run (intermediate or final); its parameters are in
    /// `checkpoints/best.bin` (NaN without evaluation).
    #[serde(deserialize_with = "nan_if_null")]
    pub best_eval_return_mean: f64,
    /// The step of that evaluation (the first one on ties; 0 without evaluation).
    pub best_eval_step: u64,
    /// Wall-clock seconds of the whole run (every session of a resumed run).
    #[serde(deserialize_with = "nan_if_null")]
    pub wall_time_s: f64,
    /// Environment steps per second of training.
    #[serde(deserialize_with = "nan_if_null")]
    pub sps: f64,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// `summary.json` holds NaN as `null` (JSON has no NaN): read it back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(value: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(value)?.unwrap_or(f64::NAN))
}

/// Builds the agent of `config` and loads `checkpoint` into it (for `reverie eval`).
pub fn load_agent(config: &TrainConfig, checkpoint: &[u8]) -> anyhow::Result<Box<dyn Agent>> {
    reverie_nn::threads::set_num_threads(config.threads.max(1));
    let options = env_options(&config.env.options)?;
    let env = make_with(&config.env.id, &options)?;
    let mut agent = build(
        config,
        &DynEnv::observation_space(env.as_ref()),
        &DynEnv::action_space(env.as_ref()),
    )?;
    let bytes = crate::checkpoint::agent_bytes(checkpoint)
        .map_err(|e| anyhow::anyhow!("cannot load the checkpoint: {e}"))?;
    agent
        .load(&bytes)
        .map_err(|e| anyhow::anyhow!("cannot load the checkpoint: {e}"))?;
    Ok(agent)
}

/// Builds the agent of `config` for these spaces, with the run's agent seed stream.
fn build(
    config: &TrainConfig,
    obs_space: &Space,
    act_space: &Space,
) -> anyhow::Result<Box<dyn Agent>> {
    let rng = SeedStreams::new(config.seed).rng("agent");
    let env = EnvRecipe::with_options(&config.env.id, env_options(&config.env.options)?);
    build_agent(
        &config.algo,
        &env,
        &config.agent,
        config.device,
        obs_space,
        act_space,
        config.total_steps,
        rng,
    )
}

/// Trains `config.algo` on `config.env`, writing everything into a new run directory.
///
/// Everything that can be checked (config keys, env options, agent hyperparameters, spaces)
/// is checked before the run directory is created, so bad input leaves nothing behind.
pub fn train(
    config: &TrainConfig,
    location: &RunLocation,
    progress: bool,
) -> anyhow::Result<TrainSummary> {
    train_with_hooks(config, location, progress, &mut NoHooks)
}

/// [`train`], calling `hooks` as the run goes (see [`Hooks`]): experiments record what
/// they measure and may stop a run early.
pub fn train_with_hooks(
    config: &TrainConfig,
    location: &RunLocation,
    progress: bool,
    hooks: &mut dyn Hooks,
) -> anyhow::Result<TrainSummary> {
    let mut parts = Parts::build(config)?;
    let run = match location {
        RunLocation::Under(root) => {
            RunDir::create_under(root, &config.algo, &config.env.id, config.seed)?
        }
        RunLocation::At(path) => RunDir::create_at(path)?,
    };
    if let Err(e) = run.write("config.toml", config.to_toml().as_bytes()) {
        run.discard();
        return Err(e);
    }
    if progress {
        // At the start, on stderr whether or not it is a terminal: a long run's metrics can
        // be followed (or plotted) from here while it trains.
        eprintln!(
            "{} on {}: run directory {}",
            config.algo,
            config.env.id,
            run.path().display()
        );
    }
    parts.run(config, &run, progress, hooks, None)
}

/// Continues the run in `run_dir` from `checkpoints/latest.bin`: its saved `config.toml`,
/// agent, envs, counters and metric files go on exactly as if it had not stopped.
pub fn resume(
    run_dir: &Path,
    progress: bool,
    hooks: &mut dyn Hooks,
) -> anyhow::Result<TrainSummary> {
    let run = RunDir::open(run_dir)?;
    let config = run.config()?;
    let latest = run.path().join("checkpoints").join("latest.bin");
    let bytes = std::fs::read(&latest).with_context(|| {
        format!(
            "{} has no checkpoint to resume from ({} is missing)",
            run_dir.display(),
            latest.display()
        )
    })?;
    let state = RunState::open(&bytes)
        .with_context(|| format!("cannot resume from {}", latest.display()))?;
    if state.step >= config.total_steps {
        anyhow::bail!(
            "the run in {} already finished ({} of {} steps); nothing to resume",
            run_dir.display(),
            state.step,
            config.total_steps
        );
    }
    let mut parts = Parts::build(&config)?;
    if progress {
        eprintln!(
            "{} on {}: resuming {} at step {} of {}",
            config.algo,
            config.env.id,
            run.path().display(),
            state.step,
            config.total_steps
        );
    }
    parts.run(&config, &run, progress, hooks, Some(state))
}

/// What a run trains: the agent and its envs, built (and checked) before anything is
/// written.
struct Parts {
    agent: Box<dyn Agent>,
    envs: VecEnv<BoxedEnv>,
    eval_env: BoxedEnv,
    schedule: Schedule,
}

impl Parts {
    fn build(config: &TrainConfig) -> anyhow::Result<Self> {
        if config.threads == 0 {
            anyhow::bail!("threads must be >= 1 (candle's CPU threads), got 0");
        }
        // Once, before the first tensor: candle sizes its pool from it (reverie_nn::threads).
        reverie_nn::threads::set_num_threads(config.threads);
        let options = env_options(&config.env.options)?;
        let env = make_with(&config.env.id, &options)?;
        let eval_env = make_with(&config.env.id, &options)?;
        let streams = SeedStreams::new(config.seed);
        let (obs_space, act_space) = (
            DynEnv::observation_space(env.as_ref()),
            DynEnv::action_space(env.as_ref()),
        );
        if config.total_steps == 0 {
            anyhow::bail!("total_steps must be > 0");
        }
        let agent = build(config, &obs_space, &act_space)?;
        let mut envs = vec![env];
        for _ in 1..agent.num_envs() {
            envs.push(make_with(&config.env.id, &options)?);
        }
        let schedule = Schedule {
            total_steps: config.total_steps,
            eval_every: config.eval_every,
            eval_episodes: config.eval_episodes,
            eval_max_episode_steps: config.eval_max_episode_steps,
            eval_opponent: Versus::of_config(config)?,
            checkpoint_every: config.checkpoint_every,
            checkpoint_seconds: config.checkpoint_minutes * 60.0,
            max_nonfinite_updates: config.max_nonfinite_updates,
            log_every: config.log_every,
            env_seed: streams.seed("env"),
            eval_seed: streams.seed("eval"),
        };
        Ok(Self {
            agent,
            envs: VecEnv::new(envs, AutoresetMode::SameStep),
            eval_env,
            schedule,
        })
    }

    fn run(
        &mut self,
        config: &TrainConfig,
        run: &RunDir,
        progress: bool,
        hooks: &mut dyn Hooks,
        resume: Option<RunState>,
    ) -> anyhow::Result<TrainSummary> {
        let result = (|| -> anyhow::Result<TrainSummary> {
            let outcome = drive_from(
                self.agent.as_mut(),
                &mut self.envs,
                &mut self.eval_env,
                &self.schedule,
                run,
                progress,
                hooks,
                resume,
            )?;
            let wall = outcome.wall_time_s;
            // The budget, or fewer steps when a hook stopped the run.
            let steps = outcome.steps.min(config.total_steps);
            let summary = TrainSummary {
                algo: config.algo.clone(),
                env: config.env.id.clone(),
                seed: config.seed,
                total_steps: steps,
                episodes: outcome.episodes,
                final_eval_return_mean: outcome.final_evaluation.map_or(f64::NAN, |e| e.mean),
                final_eval_return_std: outcome.final_evaluation.map_or(f64::NAN, |e| e.std),
                last_100_train_return_mean: outcome.last_100_train_return_mean,
                best_eval_return_mean: outcome.best_evaluation.map_or(f64::NAN, |e| e.mean),
                best_eval_step: outcome.best_evaluation.map_or(0, |e| e.step),
                wall_time_s: wall,
                sps: steps as f64 / wall,
                run_dir: run.path().to_path_buf(),
            };
            run.write(
                "summary.json",
                serde_json::to_string_pretty(&summary)?.as_bytes(),
            )?;
            Ok(summary)
        })();
        // An interruption's message already names the run directory.
        if result.as_ref().is_err_and(|e| e.is::<Interrupted>()) {
            return result;
        }
        result.with_context(|| format!("run directory: {}", run.path().display()))
    }
}
