//! The one training driver every algorithm runs on: it collects from N envs, threads the
//! agent's carry and `is_first` flags, evaluates, checkpoints and logs, and calls [`Hooks`]
//! so that experiments and tests observe or stop a run instead of writing their own loops.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use reverie_core::metrics::MetricsLogger;

use crate::versus::{play_matches, MatchRecord, Versus};
use reverie_core::{
    Action, Agent, BoxedEnv, Carry, Metrics, Mode, ObsBatch, StepBatch, Turns, VecEnv,
};

use crate::checkpoint::{CollectorState, MonitorState, RunState};
use crate::run_dir::RunDir;
use crate::signals;

/// Whether a run goes on after a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep training.
    Continue,
    /// Stop now (the final evaluation and checkpoint still happen).
    Stop,
    /// Stop as a signal does: flush the metrics, write a checkpoint to resume from, skip
    /// the final evaluation, and return [`Interrupted`].
    Interrupt,
}

/// The error a run stopped by SIGINT / SIGTERM (or [`Flow::Interrupt`]) returns, after it
/// saved a checkpoint to resume from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("interrupted at step {step}; the run is saved in {run_dir}: continue it with `reverie train --resume {run_dir}`")]
pub struct Interrupted {
    /// Env steps taken.
    pub step: u64,
    /// The run directory.
    pub run_dir: String,
}

/// The error a run stopped by the divergence guard returns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("training diverged: {consecutive} consecutive non-finite updates (`{metric}` at step {step}); stopped. The last good checkpoint is {checkpoint}; lower the learning rate or check the rewards")]
pub struct Diverged {
    /// The step the guard stopped at.
    pub step: u64,
    /// The metric that was non-finite (or `losses/skipped_update`).
    pub metric: String,
    /// Consecutive non-finite updates.
    pub consecutive: u64,
    /// The last checkpoint written before the divergence.
    pub checkpoint: String,
}

/// One finished training episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeEnd {
    /// Env steps taken so far (all envs together) when it ended.
    pub step: u64,
    /// Which env.
    pub env: usize,
    /// Undiscounted return.
    pub episode_return: f64,
    /// Steps.
    pub length: u64,
}

/// One evaluation of the deterministic policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Env steps of training when it ran.
    pub step: u64,
    /// Mean return over the evaluation episodes.
    pub mean: f64,
    /// Standard deviation of those returns.
    pub std: f64,
    /// Whether it is the final evaluation of the run.
    pub last: bool,
}

/// Calls the driver makes while a run goes on. Every method has an empty default, so a hook
/// implements only what it needs.
pub trait Hooks {
    /// After every step of the envs (`step` counts env steps of all envs together).
    fn on_step(&mut self, step: u64, batch: &StepBatch<'_>) -> Flow {
        let _ = (step, batch);
        Flow::Continue
    }
    /// After every finished training episode.
    fn on_episode(&mut self, episode: &EpisodeEnd) -> Flow {
        let _ = episode;
        Flow::Continue
    }
    /// After every evaluation, including the final one.
    fn on_evaluation(&mut self, evaluation: &Evaluation) -> Flow {
        let _ = evaluation;
        Flow::Continue
    }
    /// After a checkpoint was written (`name` under `checkpoints/`).
    fn on_checkpoint(&mut self, step: u64, name: &str) {
        let _ = (step, name);
    }
}

/// Hooks that do nothing.
pub struct NoHooks;

impl Hooks for NoHooks {}

/// The schedule of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Env steps to train for (all envs together).
    pub total_steps: u64,
    /// Evaluate every this many env steps (0: only at the end).
    pub eval_every: u64,
    /// Episodes per evaluation; 0: no evaluation at all (neither periodic nor final, no
    /// `eval/episodic_return`, no `checkpoints/best.bin`), for experiments that measure
    /// training episodes only.
    pub eval_episodes: u32,
    /// Steps after which an evaluation episode is cut.
    pub eval_max_episode_steps: u64,
    /// Board games: evaluate by games against this opponent instead of episodes.
    pub eval_opponent: Option<Versus>,
    /// Write a checkpoint every this many env steps (0: only at the end).
    pub checkpoint_every: u64,
    /// Also write `latest.bin` when this many seconds passed since the last checkpoint
    /// (0: never by time).
    pub checkpoint_seconds: f64,
    /// Stop the run after this many consecutive updates with a non-finite loss (0: never).
    pub max_nonfinite_updates: u64,
    /// Log averaged metrics every this many env steps.
    pub log_every: u64,
    /// Seed of the first training reset (env `i` gets `seed + i`).
    pub env_seed: u64,
    /// Seed of the first evaluation episode (episode `k` gets `seed + k`).
    pub eval_seed: u64,
}

/// What a finished run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunOutcome {
    /// Env steps taken.
    pub steps: u64,
    /// Training episodes finished.
    pub episodes: u64,
    /// Mean return of the last 100 training episodes.
    pub last_100_train_return_mean: f64,
    /// The final evaluation (`None` when `eval_episodes` is 0).
    pub final_evaluation: Option<Evaluation>,
    /// The best evaluation (its parameters are `checkpoints/best.bin`; `None` when
    /// `eval_episodes` is 0).
    pub best_evaluation: Option<Evaluation>,
    /// Seconds the run took, the sessions before a resume included.
    pub wall_time_s: f64,
}

/// Runs `episodes` evaluation episodes of `agent`'s deterministic policy on `env` (seeded
/// `seed`, `seed + 1`, ...), each cut after `max_steps` steps, with a carry of its own, and
/// returns the mean and standard deviation of their returns.
pub fn evaluate(
    env: &mut BoxedEnv,
    agent: &mut dyn Agent,
    episodes: u32,
    max_steps: u64,
    seed: u64,
) -> anyhow::Result<(f64, f64)> {
    let mut returns = Vec::with_capacity(episodes as usize);
    let mut carry = agent.initial_carry(1);
    let mut actions = Vec::with_capacity(1);
    let mut turns = Turns::for_space(1, &env.action_space());
    for k in 0..episodes {
        let (mut obs, info) = env.as_mut().reset(Some(seed.wrapping_add(k as u64)));
        turns.record(0, &info);
        let mut total = 0.0;
        let mut first = true;
        for _ in 0..max_steps {
            agent.act(
                &ObsBatch::single(&obs),
                &turns.context(&[first]),
                &mut carry,
                Mode::Evaluate,
                &mut actions,
            );
            first = false;
            let step = env
                .as_mut()
                .step(&actions[0])
                .context("the agent chose an invalid action during evaluation")?;
            total += step.reward;
            turns.record(0, &step.info);
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

/// A run's evaluation: [`evaluate`]'s episodes, or, with an opponent (`eval_opponent`),
/// `episodes` games against it whose results (+1, 0, −1) stand for the returns. Returns the
/// mean and standard deviation, and the games' record when there were games.
pub fn evaluate_as_configured(
    eval_env: &mut BoxedEnv,
    agent: &mut dyn Agent,
    versus: Option<&Versus>,
    episodes: u32,
    max_steps: u64,
    seed: u64,
) -> anyhow::Result<(f64, f64, Option<MatchRecord>)> {
    Ok(match versus {
        Some(versus) => {
            let record = play_matches(
                agent,
                eval_env,
                &versus.env_id,
                versus.opponent,
                episodes,
                seed,
            )?;
            let (mean, std) = record.score();
            (mean, std, Some(record))
        }
        None => {
            let (mean, std) = evaluate(eval_env, agent, episodes, max_steps, seed)?;
            (mean, std, None)
        }
    })
}

/// The schedule's evaluation at `step` ([`evaluate_as_configured`]), logged as
/// `eval/episodic_return` and, for games, `eval/wins`, `eval/draws`, `eval/losses`.
fn scheduled_evaluation(
    eval_env: &mut BoxedEnv,
    agent: &mut dyn Agent,
    schedule: &Schedule,
    monitor: &mut Monitor,
    step: u64,
) -> anyhow::Result<(f64, f64)> {
    let (mean, std, record) = evaluate_as_configured(
        eval_env,
        agent,
        schedule.eval_opponent.as_ref(),
        schedule.eval_episodes,
        schedule.eval_max_episode_steps,
        schedule.eval_seed,
    )?;
    if let Some(record) = record {
        for (name, count) in [
            ("eval/wins", record.wins),
            ("eval/draws", record.draws),
            ("eval/losses", record.losses),
        ] {
            monitor.logger.log(step, name, f64::from(count))?;
        }
    }
    monitor.logger.log(step, "eval/episodic_return", mean)?;
    Ok((mean, std))
}

/// Whether a counter that moved from `before` to `after` crossed a multiple of `every`.
fn crossed(before: u64, after: u64, every: u64) -> bool {
    every > 0 && after / every != before / every
}

/// Trains `agent` on `envs` (as many as [`Agent::num_envs`]) for `schedule`, logging into
/// `run` and evaluating on `eval_env`; calls `hooks` along the way.
///
/// Checkpoints: `checkpoints/best.bin` holds the agent at the best evaluation (rl-zoo's
/// EvalCallback, since agents such as DQN oscillate); `latest.bin` the whole run (agent,
/// envs, counters, log positions: see [`RunState`]) every `checkpoint_every` steps (also
/// kept as `step-N.bin`), every `checkpoint_seconds`, on SIGINT / SIGTERM and at the end.
pub fn drive(
    agent: &mut dyn Agent,
    envs: &mut VecEnv<BoxedEnv>,
    eval_env: &mut BoxedEnv,
    schedule: &Schedule,
    run: &RunDir,
    progress: bool,
    hooks: &mut dyn Hooks,
) -> anyhow::Result<RunOutcome> {
    drive_from(agent, envs, eval_env, schedule, run, progress, hooks, None)
}

/// [`drive`], continuing from `resume` (a checkpoint's [`RunState`]) when given: the agent,
/// the envs, the counters and the metric files go on exactly where it was written.
#[allow(clippy::too_many_arguments)]
pub fn drive_from(
    agent: &mut dyn Agent,
    envs: &mut VecEnv<BoxedEnv>,
    eval_env: &mut BoxedEnv,
    schedule: &Schedule,
    run: &RunDir,
    progress: bool,
    hooks: &mut dyn Hooks,
    resume: Option<RunState>,
) -> anyhow::Result<RunOutcome> {
    let (mut monitor, mut collector, mut step, mut best) = match resume {
        None => (
            Monitor::new(run, schedule.total_steps, progress)?,
            Collector::start(agent, envs, schedule.env_seed),
            0u64,
            None,
        ),
        Some(state) => {
            agent
                .load(&state.agent)
                .map_err(|e| anyhow::anyhow!("cannot restore the agent: {e}"))?;
            let env_state = state
                .envs
                .as_deref()
                .context("this run's envs cannot save their state, so it cannot be resumed")?;
            envs.load_state(env_state)
                .context("cannot restore the envs' state")?;
            let monitor = Monitor::resume(
                run,
                schedule.total_steps,
                progress,
                state.step,
                state.monitor,
                &state.log,
            )?;
            let collector = Collector::restore(agent, envs, state.collector)?;
            (
                monitor,
                collector,
                state.step,
                state.best.map(Evaluation::from_saved),
            )
        }
    };
    // `before` is the agent as it was when the evaluation started: evaluating moves its
    // generators (tie-breaks, planners' samples), and the checkpoint must reproduce it.
    let keep_best = |best: &mut Option<Evaluation>,
                     evaluation: Evaluation,
                     before: &[u8]|
     -> anyhow::Result<()> {
        if best.is_none_or(|b| evaluation.mean > b.mean) {
            *best = Some(evaluation);
            run.save_named_checkpoint("best.bin", before)?;
        }
        Ok(())
    };
    let mut last_checkpoint = Instant::now();
    let mut interrupted = false;
    let result: anyhow::Result<()> = (|| {
        while step < schedule.total_steps {
            let before = step;
            let flow = collector.step(agent, envs, &mut step, &mut monitor, hooks)?;
            monitor.guard(step, schedule.max_nonfinite_updates, run)?;
            if crossed(before, step, schedule.log_every.max(1)) || step >= schedule.total_steps {
                monitor.flush_window(step)?;
            }
            if flow == Flow::Interrupt || signals::interrupted() {
                interrupted = true;
                break;
            }
            if flow == Flow::Stop {
                monitor.flush_window(step)?;
                break;
            }
            if schedule.eval_episodes > 0
                && crossed(before, step, schedule.eval_every)
                && step < schedule.total_steps
            {
                let before = agent.save();
                let (mean, std) =
                    scheduled_evaluation(eval_env, agent, schedule, &mut monitor, step)?;
                let evaluation = Evaluation {
                    step,
                    mean,
                    std,
                    last: false,
                };
                keep_best(&mut best, evaluation, &before)?;
                if hooks.on_evaluation(&evaluation) == Flow::Stop {
                    break;
                }
            }
            // The last step's checkpoint is the end's.
            let by_steps =
                crossed(before, step, schedule.checkpoint_every) && step < schedule.total_steps;
            let by_time = schedule.checkpoint_seconds > 0.0
                && last_checkpoint.elapsed()
                    >= Duration::from_secs_f64(schedule.checkpoint_seconds);
            // While updates are non-finite the last good checkpoint is kept.
            if (by_steps || by_time) && monitor.healthy() {
                let state = run_state(agent, envs, &collector, &mut monitor, step, best)?.seal();
                let file = if by_steps {
                    run.save_checkpoint(step, &state)?
                } else {
                    run.save_named_checkpoint("latest.bin", &state)?
                };
                hooks.on_checkpoint(
                    step,
                    &file.file_name().unwrap_or_default().to_string_lossy(),
                );
                last_checkpoint = Instant::now();
            }
        }
        Ok(())
    })();
    monitor.bar.finish_and_clear();
    if let Err(e) = result {
        // Whatever stopped the run, the metrics logged so far are kept.
        let _ = monitor.logger.flush();
        return Err(e);
    }
    if interrupted {
        let state = run_state(agent, envs, &collector, &mut monitor, step, best)?;
        run.save_named_checkpoint("latest.bin", &state.seal())?;
        return Err(Interrupted {
            step,
            run_dir: run.path().display().to_string(),
        }
        .into());
    }
    monitor.logger.flush().context("cannot write metrics")?;

    // A run over N envs may overshoot the budget by up to N - 1 steps; the final records
    // are filed under the budget, as before the driver existed.
    let end = step.min(schedule.total_steps);
    // Written before the final evaluation, so that `reverie eval` on it reproduces it.
    let state = run_state(agent, envs, &collector, &mut monitor, step, best)?;
    run.save_checkpoint(end, &state.seal())?;
    let final_evaluation = if schedule.eval_episodes > 0 {
        let before = state.agent;
        let (mean, std) = scheduled_evaluation(eval_env, agent, schedule, &mut monitor, end)?;
        let final_evaluation = Evaluation {
            step: end,
            mean,
            std,
            last: true,
        };
        monitor.logger.flush().context("cannot write metrics")?;
        keep_best(&mut best, final_evaluation, &before)?;
        hooks.on_evaluation(&final_evaluation);
        Some(final_evaluation)
    } else {
        None
    };
    let best_evaluation = best;
    hooks.on_checkpoint(end, "latest.bin");
    Ok(RunOutcome {
        steps: step,
        episodes: monitor.counters.episodes,
        last_100_train_return_mean: monitor.recent_mean(),
        final_evaluation,
        best_evaluation,
        wall_time_s: monitor.logger.wall_time_s(),
    })
}

/// The whole run at `step`: flushes the metrics first so the log positions match.
fn run_state(
    agent: &dyn Agent,
    envs: &VecEnv<BoxedEnv>,
    collector: &Collector,
    monitor: &mut Monitor,
    step: u64,
    best: Option<Evaluation>,
) -> anyhow::Result<RunState> {
    let log = monitor.logger.flush().context("cannot write metrics")?;
    Ok(RunState {
        step,
        agent: agent.save(),
        envs: envs.save_state(),
        collector: collector.state(agent),
        monitor: monitor.counters.clone(),
        best: best.map(|b| (b.step, b.mean, b.std)),
        log,
    })
}

impl Evaluation {
    fn from_saved((step, mean, std): (u64, f64, f64)) -> Self {
        Self {
            step,
            mean,
            std,
            last: false,
        }
    }
}

/// Logging, progress, the divergence guard and bookkeeping of a run.
struct Monitor {
    logger: MetricsLogger,
    bar: ProgressBar,
    /// Plain progress lines on stderr when it is not a terminal (logs, CI, `nohup`).
    plain: Option<PlainProgress>,
    window_start: (Instant, u64),
    sps: f64,
    /// Episode, window and non-finite-update counters: what a checkpoint keeps.
    counters: MonitorState,
}

/// Periodic one-line progress reports, with an ETA, for a stderr that is not a terminal.
struct PlainProgress {
    total: u64,
    start: (Instant, u64),
    last: Instant,
    every: Duration,
}

impl PlainProgress {
    fn report(&mut self, step: u64, recent: f64, episodes: u64) {
        if self.last.elapsed() < self.every && step < self.total {
            return;
        }
        self.last = Instant::now();
        let elapsed = self.start.0.elapsed().as_secs_f64();
        let rate = (step - self.start.1) as f64 / elapsed.max(1e-9);
        let eta = (self.total.saturating_sub(step)) as f64 / rate.max(1e-9);
        eprintln!(
            "step {step}/{} ({:.0}%)  return {recent:.3}  {episodes} episodes  {rate:.0} steps/s  ETA {}",
            self.total,
            100.0 * step as f64 / self.total.max(1) as f64,
            human_duration(eta)
        );
    }
}

/// `1h02m`, `3m05s`, `12s`.
fn human_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
    }
}

impl Monitor {
    fn new(run: &RunDir, total_steps: u64, progress: bool) -> anyhow::Result<Self> {
        let logger = MetricsLogger::create(run.path()).context("cannot create the metric files")?;
        Ok(Self::with_logger(logger, total_steps, progress, 0))
    }

    fn resume(
        run: &RunDir,
        total_steps: u64,
        progress: bool,
        step: u64,
        state: MonitorState,
        log: &reverie_core::metrics::LogPosition,
    ) -> anyhow::Result<Self> {
        let logger =
            MetricsLogger::resume(run.path(), log).context("cannot continue the metric files")?;
        let mut monitor = Self::with_logger(logger, total_steps, progress, step);
        monitor.counters = state;
        Ok(monitor)
    }

    fn with_logger(logger: MetricsLogger, total_steps: u64, progress: bool, step: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if progress && terminal {
            let bar = ProgressBar::new(total_steps);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {elapsed_precise} [{bar:30}] {human_pos}/{human_len} steps  ETA {eta}  {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_position(step);
            bar.reset_eta();
            bar
        } else {
            ProgressBar::hidden()
        };
        let plain = (progress && !terminal).then(|| PlainProgress {
            total: total_steps,
            start: (Instant::now(), step),
            last: Instant::now(),
            every: Duration::from_secs(30),
        });
        Self {
            logger,
            bar,
            plain,
            window_start: (Instant::now(), step),
            sps: 0.0,
            counters: MonitorState::default(),
        }
    }

    fn add_metrics(&mut self, metrics: Vec<(&'static str, f64)>) {
        // An update whose loss is non-finite: the agent skipped it, or logged the NaN.
        let bad = metrics.iter().find(|(name, value)| {
            *name == "losses/skipped_update" || (name.starts_with("losses/") && !value.is_finite())
        });
        if let Some((name, _)) = bad {
            self.counters.nonfinite_total += 1;
            self.counters.nonfinite_streak.0 += 1;
            self.counters.nonfinite_streak.1 = name.to_string();
        } else if metrics.iter().any(|(name, _)| name.starts_with("losses/")) {
            self.counters.nonfinite_streak.0 = 0;
        }
        for (name, value) in metrics {
            match self.counters.sums.iter_mut().find(|(n, _, _)| n == name) {
                Some(entry) => {
                    entry.1 += value;
                    entry.2 += 1;
                }
                None => self.counters.sums.push((name.to_string(), value, 1)),
            }
        }
    }

    /// No update since the last finite one had a non-finite loss.
    fn healthy(&self) -> bool {
        self.counters.nonfinite_streak.0 == 0
    }

    /// Stops the run once `limit` consecutive updates were non-finite.
    fn guard(&mut self, step: u64, limit: u64, run: &RunDir) -> anyhow::Result<()> {
        if limit == 0 || self.counters.nonfinite_streak.0 < limit {
            return Ok(());
        }
        self.flush_window(step)?;
        let latest = run.path().join("checkpoints").join("latest.bin");
        Err(Diverged {
            step,
            metric: self.counters.nonfinite_streak.1.clone(),
            consecutive: self.counters.nonfinite_streak.0,
            checkpoint: if latest.exists() {
                latest.display().to_string()
            } else {
                "none (no checkpoint was written before it)".into()
            },
        }
        .into())
    }

    fn episode(&mut self, step: u64, total: f64, length: u64) -> anyhow::Result<()> {
        self.counters.episodes += 1;
        self.logger.log(step, "charts/episodic_return", total)?;
        self.logger
            .log(step, "charts/episodic_length", length as f64)?;
        self.counters.recent.push_back(total);
        if self.counters.recent.len() > 100 {
            self.counters.recent.pop_front();
        }
        Ok(())
    }

    fn recent_mean(&self) -> f64 {
        self.counters.recent.iter().sum::<f64>() / self.counters.recent.len().max(1) as f64
    }

    /// Logs throughput and the averaged agent metrics at `step`.
    fn flush_window(&mut self, step: u64) -> anyhow::Result<()> {
        let elapsed = self.window_start.0.elapsed().as_secs_f64().max(1e-9);
        self.sps = (step - self.window_start.1) as f64 / elapsed;
        self.window_start = (Instant::now(), step);
        self.logger.log(step, "charts/SPS", self.sps)?;
        for (name, total, count) in self.counters.sums.drain(..) {
            self.logger.log(step, &name, total / count as f64)?;
        }
        if self.counters.nonfinite_total > 0 {
            self.logger.log(
                step,
                "charts/nonfinite_updates",
                self.counters.nonfinite_total as f64,
            )?;
        }
        self.bar.set_position(step);
        self.bar.set_message(format!(
            "return {:.3}  {:.0} steps/s  {} episodes",
            self.recent_mean(),
            self.sps,
            self.counters.episodes
        ));
        let (recent, episodes) = (self.recent_mean(), self.counters.episodes);
        if let Some(plain) = &mut self.plain {
            plain.report(step, recent, episodes);
        }
        Ok(())
    }
}

/// The state of data collection between steps: the agent's carry, which envs start an
/// episode, and the returns and lengths of the episodes in progress.
struct Collector {
    obs: ObsBatch,
    next: ObsBatch,
    carry: Carry,
    is_first: Vec<bool>,
    actions: Vec<Action>,
    returns: Vec<f64>,
    lengths: Vec<u64>,
}

impl Collector {
    fn start(agent: &dyn Agent, envs: &mut VecEnv<BoxedEnv>, seed: u64) -> Self {
        let n = envs.num_envs();
        let obs = envs.reset(Some(seed)).clone();
        Self {
            next: obs.clone(),
            obs,
            carry: agent.initial_carry(n),
            is_first: vec![true; n],
            actions: Vec::with_capacity(n),
            returns: vec![0.0; n],
            lengths: vec![0; n],
        }
    }

    /// What a checkpoint keeps of it.
    fn state(&self, agent: &dyn Agent) -> CollectorState {
        CollectorState {
            obs: self.obs.clone(),
            is_first: self.is_first.clone(),
            returns: self.returns.clone(),
            lengths: self.lengths.clone(),
            carry: agent.save_carry(&self.carry),
        }
    }

    /// Continues collection from a checkpoint.
    fn restore(
        agent: &dyn Agent,
        envs: &VecEnv<BoxedEnv>,
        state: CollectorState,
    ) -> anyhow::Result<Self> {
        let n = envs.num_envs();
        if state.obs.len() != n || state.returns.len() != n {
            anyhow::bail!(
                "the checkpoint was written for {} envs, this run has {n}",
                state.obs.len()
            );
        }
        let carry = state
            .carry
            .context("the agent could not save its carry, so this run cannot be resumed")?;
        let carry = agent
            .load_carry(&carry, n)
            .map_err(|e| anyhow::anyhow!("cannot restore the agent's carry: {e}"))?;
        Ok(Self {
            next: state.obs.clone(),
            obs: state.obs,
            carry,
            is_first: state.is_first,
            actions: Vec::with_capacity(n),
            returns: state.returns,
            lengths: state.lengths,
        })
    }

    /// One step of every env: act, step, show the agent the transitions, reset ended
    /// episodes (the envs reset themselves in the same step). Advances `step` by N.
    fn step(
        &mut self,
        agent: &mut dyn Agent,
        envs: &mut VecEnv<BoxedEnv>,
        step: &mut u64,
        monitor: &mut Monitor,
        hooks: &mut dyn Hooks,
    ) -> anyhow::Result<Flow> {
        let n = envs.num_envs();
        *step += n as u64;
        let at = *step;
        agent.act(
            &self.obs,
            &envs.turns().context(&self.is_first),
            &mut self.carry,
            Mode::Explore,
            &mut self.actions,
        );
        envs.step(&self.actions)
            .with_context(|| format!("the agent chose an invalid action at step {at}"))?;
        // The true next observations: final ones where an episode ended.
        self.next.clone_from(envs.observations());
        for (i, ended) in envs.ended().iter().enumerate() {
            if *ended {
                self.next.copy_row(i, envs.final_observations(), i);
            }
        }
        if !self.next.is_finite() {
            anyhow::bail!("the env returned a non-finite observation at step {at}; training stopped (metrics so far are saved)");
        }
        let batch = StepBatch {
            obs: &self.obs,
            actions: &self.actions,
            rewards: envs.rewards(),
            next_obs: &self.next,
            terminated: envs.terminated(),
            truncated: envs.truncated(),
        };
        let metrics: Metrics = agent.observe(&batch);
        monitor.add_metrics(metrics);
        let mut flow = hooks.on_step(at, &batch);
        for i in 0..n {
            self.returns[i] += envs.rewards()[i];
            self.lengths[i] += 1;
            self.is_first[i] = envs.ended()[i];
            if envs.ended()[i] {
                monitor.episode(at, self.returns[i], self.lengths[i])?;
                let episode = EpisodeEnd {
                    step: at,
                    env: i,
                    episode_return: self.returns[i],
                    length: self.lengths[i],
                };
                if hooks.on_episode(&episode) == Flow::Stop {
                    flow = Flow::Stop;
                }
                self.returns[i] = 0.0;
                self.lengths[i] = 0;
            }
        }
        self.obs.clone_from(envs.observations());
        Ok(flow)
    }
}
