//! The training loop: one real env, one agent, metrics, evaluations, checkpoints, a plot.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use reverie_core::metrics::MetricsLogger;
use reverie_core::{Agent, BoxedEnv, DynEnv, Observation, SeedStreams, Transition};
use reverie_envs::make_with;

use crate::algos::build_agent;
use crate::config::{env_options, TrainConfig};
use crate::plot::{plot_curves, Curve};
use crate::run_dir::RunDir;

/// Where the run directory goes.
#[derive(Clone, Debug)]
pub enum RunLocation {
    /// `root/<algo>/<env>/<timestamp>-s<seed>`.
    Under(PathBuf),
    /// Exactly this folder (must not exist or be empty).
    At(PathBuf),
}

/// What a finished run reports (also written to `summary.json`).
#[derive(Clone, Debug, Serialize)]
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
    /// Mean return of the greedy policy over `eval_episodes` at the end.
    pub final_eval_return_mean: f64,
    /// Standard deviation of those returns.
    pub final_eval_return_std: f64,
    /// Mean return of the last 100 training episodes.
    pub last_100_train_return_mean: f64,
    /// Wall-clock seconds of the whole run.
    pub wall_time_s: f64,
    /// Environment steps per second of training.
    pub sps: f64,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// Runs `episodes` greedy episodes on `env` (seeded `seed`, `seed + 1`, ...), each cut
/// after `max_steps` steps, and returns the mean and standard deviation of their returns.
pub fn evaluate(
    env: &mut BoxedEnv,
    agent: &mut dyn Agent,
    episodes: u32,
    max_steps: u64,
    seed: u64,
) -> anyhow::Result<(f64, f64)> {
    let mut returns = Vec::with_capacity(episodes as usize);
    for k in 0..episodes {
        let (mut obs, _) = env.as_mut().reset(Some(seed.wrapping_add(k as u64)));
        let mut total = 0.0;
        for _ in 0..max_steps {
            let action = agent.act(&obs, false);
            let step = env
                .as_mut()
                .step(&action)
                .context("the agent chose an invalid action during evaluation")?;
            total += step.reward;
            obs = step.obs;
            if step.terminated || step.truncated {
                break;
            }
        }
        returns.push(total);
    }
    let n = returns.len().max(1) as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    Ok((mean, var.sqrt()))
}

fn check_finite(obs: &Observation, step: u64) -> anyhow::Result<()> {
    if obs.is_finite() {
        Ok(())
    } else {
        anyhow::bail!("the env returned a non-finite observation {obs:?} at step {step}; training stopped (metrics so far are saved)")
    }
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
    let options = env_options(&config.env.options)?;
    let mut env = make_with(&config.env.id, &options)?;
    let mut eval_env = make_with(&config.env.id, &options)?;
    let streams = SeedStreams::new(config.seed);
    let mut agent = build_agent(
        &config.algo,
        &config.env.id,
        &config.agent,
        &DynEnv::observation_space(env.as_ref()),
        &DynEnv::action_space(env.as_ref()),
        streams.rng("agent"),
    )?;
    if config.total_steps == 0 {
        anyhow::bail!("total_steps must be > 0");
    }

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
    let result = run_loop(
        config,
        &run,
        &mut env,
        &mut eval_env,
        agent.as_mut(),
        &streams,
        progress,
    );
    result.with_context(|| format!("run directory: {}", run.path().display()))
}

fn run_loop(
    config: &TrainConfig,
    run: &RunDir,
    env: &mut BoxedEnv,
    eval_env: &mut BoxedEnv,
    agent: &mut dyn Agent,
    streams: &SeedStreams,
    progress: bool,
) -> anyhow::Result<TrainSummary> {
    let mut logger = MetricsLogger::new(run.path());
    let bar = if progress {
        let bar = ProgressBar::new(config.total_steps);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {human_pos}/{human_len} steps  {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let eval_seed = streams.seed("eval");
    let start = Instant::now();
    let mut window_start = (Instant::now(), 0u64);
    let (mut obs, _) = env.as_mut().reset(Some(streams.seed("env")));
    let (mut episode_return, mut episode_length, mut episodes) = (0.0, 0u64, 0u64);
    let mut recent: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let mut sums: Vec<(&'static str, f64, u32)> = Vec::new();
    let mut sps = 0.0;

    let result: anyhow::Result<()> = (|| {
        for step in 1..=config.total_steps {
            let action = agent.act(&obs, true);
            let outcome = env
                .as_mut()
                .step(&action)
                .with_context(|| format!("the agent chose an invalid action at step {step}"))?;
            check_finite(&outcome.obs, step)?;
            for (name, value) in agent.observe(&Transition {
                obs: &obs,
                action: &action,
                reward: outcome.reward,
                next_obs: &outcome.obs,
                terminated: outcome.terminated,
                truncated: outcome.truncated,
            }) {
                match sums.iter_mut().find(|(n, _, _)| *n == name) {
                    Some(entry) => {
                        entry.1 += value;
                        entry.2 += 1;
                    }
                    None => sums.push((name, value, 1)),
                }
            }
            episode_return += outcome.reward;
            episode_length += 1;
            if outcome.terminated || outcome.truncated {
                episodes += 1;
                logger.log(step, "charts/episodic_return", episode_return)?;
                logger.log(step, "charts/episodic_length", episode_length as f64)?;
                recent.push_back(episode_return);
                if recent.len() > 100 {
                    recent.pop_front();
                }
                episode_return = 0.0;
                episode_length = 0;
                obs = env.as_mut().reset(None).0;
            } else {
                obs = outcome.obs;
            }
            if step % config.log_every.max(1) == 0 || step == config.total_steps {
                let elapsed = window_start.0.elapsed().as_secs_f64().max(1e-9);
                sps = (step - window_start.1) as f64 / elapsed;
                window_start = (Instant::now(), step);
                logger.log(step, "charts/SPS", sps)?;
                for (name, total, count) in sums.drain(..) {
                    logger.log(step, name, total / count as f64)?;
                }
                let mean_recent = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
                bar.set_position(step);
                bar.set_message(format!(
                    "return {mean_recent:.3}  {sps:.0} steps/s  {episodes} episodes"
                ));
            }
            if config.eval_every > 0 && step % config.eval_every == 0 && step != config.total_steps
            {
                let (mean, _) = evaluate(
                    eval_env,
                    agent,
                    config.eval_episodes,
                    config.eval_max_episode_steps,
                    eval_seed,
                )?;
                logger.log(step, "eval/episodic_return", mean)?;
            }
            if config.checkpoint_every > 0 && step % config.checkpoint_every == 0 {
                run.save_checkpoint(step, &agent.save())?;
            }
        }
        Ok(())
    })();
    bar.finish_and_clear();
    let flushed = logger.flush();
    result?;
    flushed.context("cannot write metrics")?;

    let (eval_mean, eval_std) = evaluate(
        eval_env,
        agent,
        config.eval_episodes,
        config.eval_max_episode_steps,
        eval_seed,
    )?;
    logger.log(config.total_steps, "eval/episodic_return", eval_mean)?;
    logger.flush().context("cannot write metrics")?;
    run.save_checkpoint(config.total_steps, &agent.save())?;
    plot_run(run.path(), &config.algo, &config.env.id)?;

    let summary = TrainSummary {
        algo: config.algo.clone(),
        env: config.env.id.clone(),
        seed: config.seed,
        total_steps: config.total_steps,
        episodes,
        final_eval_return_mean: eval_mean,
        final_eval_return_std: eval_std,
        last_100_train_return_mean: recent.iter().sum::<f64>() / recent.len().max(1) as f64,
        wall_time_s: start.elapsed().as_secs_f64(),
        sps: if sps > 0.0 {
            sps
        } else {
            config.total_steps as f64 / start.elapsed().as_secs_f64()
        },
        run_dir: run.path().to_path_buf(),
    };
    run.write(
        "summary.json",
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

/// Draws the run's training and evaluation curves into `plots/learning_curve.{png,svg}`.
pub fn plot_run(run_dir: &Path, algo: &str, env: &str) -> anyhow::Result<()> {
    let train = crate::plot::read_metric(run_dir, "charts/episodic_return")?;
    let eval = crate::plot::read_metric(run_dir, "eval/episodic_return")?;
    let mut curves = vec![Curve::smoothed("training episodes", vec![train])];
    if !eval.is_empty() {
        curves.push(Curve::raw("greedy evaluation", vec![eval]));
    }
    plot_curves(
        &curves,
        &format!("{algo} on {env}"),
        "environment steps",
        "episodic return",
        &run_dir.join("plots").join("learning_curve"),
    )?;
    Ok(())
}
