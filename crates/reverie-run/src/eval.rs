//! `reverie eval <run dir>`: reload a run's agent from a checkpoint and measure its
//! deterministic policy over N episodes.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use reverie_core::{Agent, BoxedEnv, Info, Mode, ObsBatch, Observation, SeedStreams, Turns};
use reverie_envs::make_with;
use reverie_envs::render::video::{record_episode, EpisodeVideo};

use crate::config::{env_options, TrainConfig};
use crate::driver::evaluate_as_configured;
use crate::run_dir::RunDir;
use crate::train::load_agent;
use crate::versus::Versus;

/// What an evaluation measured.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Algorithm of the run.
    pub algo: String,
    /// Env id.
    pub env: String,
    /// The checkpoint evaluated.
    pub checkpoint: PathBuf,
    /// Episodes run.
    pub episodes: u32,
    /// Seed of the first episode (episode k uses seed + k).
    pub seed: u64,
    /// Mean return.
    pub mean: f64,
    /// Standard deviation of the returns.
    pub std: f64,
}

/// A finished run, reloaded to be evaluated: its configuration, the checkpoint read, the
/// agent restored from it and a fresh env built with the run's options.
pub(crate) struct LoadedRun {
    pub(crate) config: TrainConfig,
    pub(crate) checkpoint: PathBuf,
    pub(crate) agent: Box<dyn Agent>,
    pub(crate) env: BoxedEnv,
}

impl LoadedRun {
    /// `seed`, or by default the run's own evaluation seed (so the final evaluation of
    /// training is reproduced).
    pub(crate) fn seed_or_eval(&self, seed: Option<u64>) -> u64 {
        seed.unwrap_or_else(|| SeedStreams::new(self.config.seed).seed("eval"))
    }
}

/// The run's configuration (with `overrides` applied), the checkpoint (default
/// `RUN/checkpoints/latest.bin`), the agent restored from it and the run's env.
pub(crate) fn load_run(
    run: &Path,
    checkpoint: Option<&Path>,
    overrides: &[String],
) -> anyhow::Result<LoadedRun> {
    let run = RunDir::open(run)?;
    let config = run.config_with(overrides)?;
    let checkpoint = checkpoint
        .map(Path::to_path_buf)
        .unwrap_or_else(|| run.path().join("checkpoints").join("latest.bin"));
    let bytes = std::fs::read(&checkpoint)
        .with_context(|| format!("cannot read checkpoint {}", checkpoint.display()))?;
    let agent = load_agent(&config, &bytes)
        .with_context(|| format!("checkpoint {}", checkpoint.display()))?;
    let env = make_with(&config.env.id, &env_options(&config.env.options)?)?;
    Ok(LoadedRun {
        config,
        checkpoint,
        agent,
        env,
    })
}

/// Records one episode of the run's deterministic policy (from `checkpoint`, default
/// `latest.bin`; reset with `seed`, default the run's evaluation seed) as a GIF at `video`,
/// each frame the env's picture at its natural size times `scale`.
pub fn record_run_video(
    run: &Path,
    checkpoint: Option<&Path>,
    seed: Option<u64>,
    video: &Path,
    scale: f64,
) -> anyhow::Result<EpisodeVideo> {
    let loaded = load_run(run, checkpoint, &[])?;
    let seed = loaded.seed_or_eval(seed);
    let LoadedRun {
        config,
        mut agent,
        mut env,
        ..
    } = loaded;
    let mut carry = agent.initial_carry(1);
    let (mut actions, mut first) = (Vec::with_capacity(1), true);
    let mut turns = Turns::for_space(1, &env.action_space());
    let policy = |obs: &Observation, info: &Info| {
        turns.record(0, info);
        agent.act(
            &ObsBatch::single(obs),
            &turns.context(&[first]),
            &mut carry,
            Mode::Evaluate,
            &mut actions,
        );
        first = false;
        actions[0].clone()
    };
    let max_steps = usize::try_from(config.eval_max_episode_steps).unwrap_or(usize::MAX);
    record_episode(env.as_mut(), policy, seed, max_steps, video, scale)
        .with_context(|| format!("cannot record {}", video.display()))
}

/// Evaluates `checkpoint` (default: `RUN/checkpoints/latest.bin`) of the run in `run` over
/// `episodes` episodes, starting from `seed` (default: the run's own evaluation seed, so the
/// final evaluation of training is reproduced exactly).
pub fn eval_run(
    run: &Path,
    checkpoint: Option<&Path>,
    episodes: u32,
    seed: Option<u64>,
) -> anyhow::Result<EvalReport> {
    eval_run_with(run, checkpoint, episodes, seed, &[])
}

/// [`eval_run`] with `--set KEY=VALUE` assignments applied to the saved configuration
/// before the agent is rebuilt: settings that leave the parameters' shapes alone (MuZero's
/// `agent.search.simulations`, an evaluation cut-off) change how the trained agent acts.
pub fn eval_run_with(
    run: &Path,
    checkpoint: Option<&Path>,
    episodes: u32,
    seed: Option<u64>,
    overrides: &[String],
) -> anyhow::Result<EvalReport> {
    if episodes == 0 {
        anyhow::bail!("--episodes must be at least 1");
    }
    let loaded = load_run(run, checkpoint, overrides)?;
    let seed = loaded.seed_or_eval(seed);
    let LoadedRun {
        config,
        checkpoint,
        mut agent,
        mut env,
    } = loaded;
    let (mean, std, _) = evaluate_as_configured(
        &mut env,
        agent.as_mut(),
        Versus::of_config(&config)?.as_ref(),
        episodes,
        config.eval_max_episode_steps,
        seed,
    )?;
    Ok(EvalReport {
        algo: config.algo,
        env: config.env.id,
        checkpoint,
        episodes,
        seed,
        mean,
        std,
    })
}
