//! The training loop: one real env, one agent, metrics, evaluations, checkpoints, a plot.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use std::collections::VecDeque;

use reverie_core::metrics::MetricsLogger;
use reverie_core::{
    Action, Agent, AutoresetMode, BoxedEnv, DynEnv, Observation, SeedStreams, Space, Transition,
    VecAgent, VecEnv, VecTransition,
};
use reverie_envs::make_with;

use crate::algos::{build_agent, build_vec_agent, is_vec_algorithm};
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
    /// The best evaluation of the run (intermediate or final); its parameters are in
    /// `checkpoints/best.bin`.
    pub best_eval_return_mean: f64,
    /// The step of that evaluation (the first one on ties).
    pub best_eval_step: u64,
    /// Wall-clock seconds of the whole run.
    pub wall_time_s: f64,
    /// Environment steps per second of training.
    pub sps: f64,
    /// The run directory.
    pub run_dir: PathBuf,
}

/// Runs `episodes` greedy episodes on `env` (seeded `seed`, `seed + 1`, ...), choosing
/// actions with `policy`, each cut after `max_steps` steps, and returns the mean and
/// standard deviation of their returns.
pub fn evaluate(
    env: &mut BoxedEnv,
    policy: &mut dyn FnMut(&Observation) -> Action,
    episodes: u32,
    max_steps: u64,
    seed: u64,
) -> anyhow::Result<(f64, f64)> {
    let mut returns = Vec::with_capacity(episodes as usize);
    for k in 0..episodes {
        let (mut obs, _) = env.as_mut().reset(Some(seed.wrapping_add(k as u64)));
        let mut total = 0.0;
        for _ in 0..max_steps {
            let action = policy(&obs);
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

/// A deterministic policy reloaded from a checkpoint.
pub type Policy = Box<dyn FnMut(&Observation) -> Action>;

/// One deterministic action of a vectorised agent for one observation.
fn act_one(agent: &mut dyn VecAgent, obs: &Observation, actions: &mut Vec<Action>) -> Action {
    let row: &[f32] = match obs {
        Observation::Vector(v) => v,
        Observation::Discrete(s) => &[*s as f32],
    };
    agent.act_batch(row, false, actions);
    actions[0].clone()
}

/// The deterministic policy of a vectorised agent, one observation at a time.
pub fn vec_policy(agent: &mut dyn VecAgent) -> impl FnMut(&Observation) -> Action + '_ {
    let mut actions = Vec::with_capacity(1);
    move |obs: &Observation| act_one(agent, obs, &mut actions)
}

fn check_finite(obs: &Observation, step: u64) -> anyhow::Result<()> {
    if obs.is_finite() {
        Ok(())
    } else {
        anyhow::bail!("the env returned a non-finite observation {obs:?} at step {step}; training stopped (metrics so far are saved)")
    }
}

/// What trains: a per-transition agent on one env, or a vectorised one on N envs.
enum Learner {
    Single(Box<dyn Agent>, BoxedEnv),
    Vector(Box<dyn VecAgent>, VecEnv<BoxedEnv>),
}

impl Learner {
    fn policy(&mut self) -> Box<dyn FnMut(&Observation) -> Action + '_> {
        match self {
            Learner::Single(agent, _) => Box::new(|obs: &Observation| agent.act(obs, false)),
            Learner::Vector(agent, _) => Box::new(vec_policy(agent.as_mut())),
        }
    }

    fn save(&self) -> Vec<u8> {
        match self {
            Learner::Single(agent, _) => agent.save(),
            Learner::Vector(agent, _) => agent.save(),
        }
    }
}

/// Builds the agent of `config` for these spaces and loads `checkpoint` into it, returning
/// its deterministic policy (for `reverie eval`).
pub fn load_policy(config: &TrainConfig, checkpoint: &[u8]) -> anyhow::Result<Policy> {
    let options = env_options(&config.env.options)?;
    let env = make_with(&config.env.id, &options)?;
    let (obs_space, act_space) = (
        DynEnv::observation_space(env.as_ref()),
        DynEnv::action_space(env.as_ref()),
    );
    let built = build(config, &obs_space, &act_space)?;
    let load_error = |e: String| anyhow::anyhow!("cannot load the checkpoint: {e}");
    Ok(match built {
        Built::Vector(mut agent) => {
            agent.load(checkpoint).map_err(load_error)?;
            let mut actions = Vec::new();
            Box::new(move |obs: &Observation| act_one(agent.as_mut(), obs, &mut actions))
        }
        Built::Single(mut agent) => {
            agent.load(checkpoint).map_err(load_error)?;
            Box::new(move |obs: &Observation| agent.act(obs, false))
        }
    })
}

/// An agent of either kind, as built from a configuration.
enum Built {
    Single(Box<dyn Agent>),
    Vector(Box<dyn VecAgent>),
}

/// Builds the agent of `config` for these spaces, with the run's agent seed stream.
fn build(config: &TrainConfig, obs_space: &Space, act_space: &Space) -> anyhow::Result<Built> {
    let rng = SeedStreams::new(config.seed).rng("agent");
    Ok(if is_vec_algorithm(&config.algo) {
        Built::Vector(build_vec_agent(
            &config.algo,
            &config.env.id,
            &config.agent,
            obs_space,
            act_space,
            config.total_steps,
            rng,
        )?)
    } else {
        Built::Single(build_agent(
            &config.algo,
            &config.env.id,
            &config.agent,
            obs_space,
            act_space,
            rng,
        )?)
    })
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
    let env = make_with(&config.env.id, &options)?;
    let mut eval_env = make_with(&config.env.id, &options)?;
    let streams = SeedStreams::new(config.seed);
    let (obs_space, act_space) = (
        DynEnv::observation_space(env.as_ref()),
        DynEnv::action_space(env.as_ref()),
    );
    if config.total_steps == 0 {
        anyhow::bail!("total_steps must be > 0");
    }
    let mut learner = match build(config, &obs_space, &act_space)? {
        Built::Vector(agent) => {
            let mut envs = vec![env];
            for _ in 1..agent.num_envs() {
                envs.push(make_with(&config.env.id, &options)?);
            }
            Learner::Vector(agent, VecEnv::new(envs, AutoresetMode::SameStep))
        }
        Built::Single(agent) => Learner::Single(agent, env),
    };

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
        &mut learner,
        &mut eval_env,
        &streams,
        progress,
    );
    result.with_context(|| format!("run directory: {}", run.path().display()))
}

/// Logging, progress and bookkeeping shared by both loops.
struct Monitor {
    logger: MetricsLogger,
    bar: ProgressBar,
    window_start: (Instant, u64),
    episodes: u64,
    recent: VecDeque<f64>,
    sums: Vec<(&'static str, f64, u32)>,
    sps: f64,
}

impl Monitor {
    fn new(run: &RunDir, total_steps: u64, progress: bool) -> Self {
        let bar = if progress {
            let bar = ProgressBar::new(total_steps);
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
        Self {
            logger: MetricsLogger::new(run.path()),
            bar,
            window_start: (Instant::now(), 0),
            episodes: 0,
            recent: VecDeque::new(),
            sums: Vec::new(),
            sps: 0.0,
        }
    }

    fn add_metrics(&mut self, metrics: Vec<(&'static str, f64)>) {
        for (name, value) in metrics {
            match self.sums.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) => {
                    entry.1 += value;
                    entry.2 += 1;
                }
                None => self.sums.push((name, value, 1)),
            }
        }
    }

    fn episode(&mut self, step: u64, total: f64, length: u64) -> anyhow::Result<()> {
        self.episodes += 1;
        self.logger.log(step, "charts/episodic_return", total)?;
        self.logger
            .log(step, "charts/episodic_length", length as f64)?;
        self.recent.push_back(total);
        if self.recent.len() > 100 {
            self.recent.pop_front();
        }
        Ok(())
    }

    fn recent_mean(&self) -> f64 {
        self.recent.iter().sum::<f64>() / self.recent.len().max(1) as f64
    }

    /// Logs throughput and the averaged agent metrics at `step`.
    fn flush_window(&mut self, step: u64) -> anyhow::Result<()> {
        let elapsed = self.window_start.0.elapsed().as_secs_f64().max(1e-9);
        self.sps = (step - self.window_start.1) as f64 / elapsed;
        self.window_start = (Instant::now(), step);
        self.logger.log(step, "charts/SPS", self.sps)?;
        for (name, total, count) in self.sums.drain(..) {
            self.logger.log(step, name, total / count as f64)?;
        }
        self.bar.set_position(step);
        self.bar.set_message(format!(
            "return {:.3}  {:.0} steps/s  {} episodes",
            self.recent_mean(),
            self.sps,
            self.episodes
        ));
        Ok(())
    }
}

/// Whether a counter that moved from `before` to `after` crossed a multiple of `every`.
fn crossed(before: u64, after: u64, every: u64) -> bool {
    every > 0 && after / every != before / every
}

fn run_loop(
    config: &TrainConfig,
    run: &RunDir,
    learner: &mut Learner,
    eval_env: &mut BoxedEnv,
    streams: &SeedStreams,
    progress: bool,
) -> anyhow::Result<TrainSummary> {
    let mut monitor = Monitor::new(run, config.total_steps, progress);
    let eval_seed = streams.seed("eval");
    let start = Instant::now();
    // The best evaluation so far `(mean, step)`; its parameters are kept as
    // `checkpoints/best.bin` (rl-zoo's EvalCallback), since agents such as DQN oscillate.
    let mut best: Option<(f64, u64)> = None;
    let mut keep_best = |mean: f64, step: u64, learner: &Learner| -> anyhow::Result<()> {
        if best.is_none_or(|(b, _)| mean > b) {
            best = Some((mean, step));
            run.save_named_checkpoint("best.bin", &learner.save())?;
        }
        Ok(())
    };
    let result: anyhow::Result<()> = (|| {
        let mut step = 0u64;
        let mut collector = Collector::start(learner, streams.seed("env"));
        while step < config.total_steps {
            let before = step;
            step = collector.step(learner, step, &mut monitor)?;
            if crossed(before, step, config.log_every.max(1)) || step >= config.total_steps {
                monitor.flush_window(step)?;
            }
            if crossed(before, step, config.eval_every) && step < config.total_steps {
                let (mean, _) = evaluate(
                    eval_env,
                    &mut learner.policy(),
                    config.eval_episodes,
                    config.eval_max_episode_steps,
                    eval_seed,
                )?;
                monitor.logger.log(step, "eval/episodic_return", mean)?;
                keep_best(mean, step, learner)?;
            }
            if crossed(before, step, config.checkpoint_every) {
                run.save_checkpoint(step, &learner.save())?;
            }
        }
        Ok(())
    })();
    monitor.bar.finish_and_clear();
    let flushed = monitor.logger.flush();
    result?;
    flushed.context("cannot write metrics")?;

    let (eval_mean, eval_std) = evaluate(
        eval_env,
        &mut learner.policy(),
        config.eval_episodes,
        config.eval_max_episode_steps,
        eval_seed,
    )?;
    monitor
        .logger
        .log(config.total_steps, "eval/episodic_return", eval_mean)?;
    monitor.logger.flush().context("cannot write metrics")?;
    keep_best(eval_mean, config.total_steps, learner)?;
    let (best_mean, best_step) = best.expect("the final evaluation set it");
    run.save_checkpoint(config.total_steps, &learner.save())?;
    plot_run(run.path(), &config.algo, &config.env.id)?;

    let wall = start.elapsed().as_secs_f64();
    let summary = TrainSummary {
        algo: config.algo.clone(),
        env: config.env.id.clone(),
        seed: config.seed,
        total_steps: config.total_steps,
        episodes: monitor.episodes,
        final_eval_return_mean: eval_mean,
        final_eval_return_std: eval_std,
        last_100_train_return_mean: monitor.recent_mean(),
        best_eval_return_mean: best_mean,
        best_eval_step: best_step,
        wall_time_s: wall,
        sps: config.total_steps as f64 / wall,
        run_dir: run.path().to_path_buf(),
    };
    run.write(
        "summary.json",
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

/// The state of data collection between steps: current observations and the returns and
/// lengths of the episodes in progress (one per env).
struct Collector {
    obs: Vec<Observation>,
    flat: Vec<f32>,
    actions: Vec<Action>,
    returns: Vec<f64>,
    lengths: Vec<u64>,
}

impl Collector {
    fn start(learner: &mut Learner, seed: u64) -> Self {
        match learner {
            Learner::Single(_, env) => {
                let (obs, _) = env.as_mut().reset(Some(seed));
                Self {
                    obs: vec![obs],
                    flat: Vec::new(),
                    actions: Vec::new(),
                    returns: vec![0.0],
                    lengths: vec![0],
                }
            }
            Learner::Vector(_, envs) => {
                let flat = envs.reset(Some(seed)).to_vec();
                let n = envs.num_envs();
                Self {
                    obs: Vec::new(),
                    flat,
                    actions: Vec::with_capacity(n),
                    returns: vec![0.0; n],
                    lengths: vec![0; n],
                }
            }
        }
    }

    /// One step of every env; returns the new env-step count.
    fn step(
        &mut self,
        learner: &mut Learner,
        step: u64,
        monitor: &mut Monitor,
    ) -> anyhow::Result<u64> {
        match learner {
            Learner::Single(agent, env) => {
                let step = step + 1;
                let obs = &self.obs[0];
                let action = agent.act(obs, true);
                let outcome = env
                    .as_mut()
                    .step(&action)
                    .with_context(|| format!("the agent chose an invalid action at step {step}"))?;
                check_finite(&outcome.obs, step)?;
                monitor.add_metrics(agent.observe(&Transition {
                    obs,
                    action: &action,
                    reward: outcome.reward,
                    next_obs: &outcome.obs,
                    terminated: outcome.terminated,
                    truncated: outcome.truncated,
                }));
                self.returns[0] += outcome.reward;
                self.lengths[0] += 1;
                if outcome.terminated || outcome.truncated {
                    monitor.episode(step, self.returns[0], self.lengths[0])?;
                    self.returns[0] = 0.0;
                    self.lengths[0] = 0;
                    self.obs[0] = env.as_mut().reset(None).0;
                } else {
                    self.obs[0] = outcome.obs;
                }
                Ok(step)
            }
            Learner::Vector(agent, envs) => {
                let n = envs.num_envs();
                let step = step + n as u64;
                agent.act_batch(&self.flat, true, &mut self.actions);
                envs.step(&self.actions)
                    .with_context(|| format!("the agent chose an invalid action at step {step}"))?;
                // The true next observations: final ones where an episode ended.
                let d = envs.obs_dim();
                let mut next = envs.observations().to_vec();
                for (i, ended) in envs.ended().iter().enumerate() {
                    if *ended {
                        next[i * d..(i + 1) * d]
                            .copy_from_slice(&envs.final_observations()[i * d..(i + 1) * d]);
                    }
                }
                if next.iter().any(|v| !v.is_finite()) {
                    anyhow::bail!("the env returned a non-finite observation at step {step}; training stopped (metrics so far are saved)");
                }
                monitor.add_metrics(agent.observe_batch(&VecTransition {
                    obs: &self.flat,
                    actions: &self.actions,
                    rewards: envs.rewards(),
                    next_obs: &next,
                    terminated: envs.terminated(),
                    truncated: envs.truncated(),
                }));
                for i in 0..n {
                    self.returns[i] += envs.rewards()[i];
                    self.lengths[i] += 1;
                    if envs.ended()[i] {
                        monitor.episode(step, self.returns[i], self.lengths[i])?;
                        self.returns[i] = 0.0;
                        self.lengths[i] = 0;
                    }
                }
                self.flat.clear();
                self.flat.extend_from_slice(envs.observations());
                Ok(step)
            }
        }
    }
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
