//! The one training driver every algorithm runs on: it collects from N envs, threads the
//! agent's carry and `is_first` flags, evaluates, checkpoints and logs, and calls [`Hooks`]
//! so that experiments and tests observe or stop a run instead of writing their own loops.

use std::collections::VecDeque;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use reverie_core::metrics::MetricsLogger;
use reverie_core::{Action, Agent, BoxedEnv, Carry, Metrics, Mode, ObsBatch, StepBatch, VecEnv};

use crate::run_dir::RunDir;

/// Whether a run goes on after a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep training.
    Continue,
    /// Stop now (the final evaluation and checkpoint still happen).
    Stop,
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
#[derive(Clone, Copy, Debug, PartialEq)]
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
    /// Write a checkpoint every this many env steps (0: only at the end).
    pub checkpoint_every: u64,
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
    for k in 0..episodes {
        let (mut obs, _) = env.as_mut().reset(Some(seed.wrapping_add(k as u64)));
        let mut total = 0.0;
        let mut first = true;
        for _ in 0..max_steps {
            agent.act(
                &ObsBatch::single(&obs),
                &[first],
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

/// Whether a counter that moved from `before` to `after` crossed a multiple of `every`.
fn crossed(before: u64, after: u64, every: u64) -> bool {
    every > 0 && after / every != before / every
}

/// Trains `agent` on `envs` (as many as [`Agent::num_envs`]) for `schedule`, logging into
/// `run` and evaluating on `eval_env`; calls `hooks` along the way.
///
/// Checkpoints: `checkpoints/best.bin` holds the parameters of the best evaluation
/// (rl-zoo's EvalCallback, since agents such as DQN oscillate), `step_N.bin`/`latest.bin`
/// every `checkpoint_every` steps and at the end.
pub fn drive(
    agent: &mut dyn Agent,
    envs: &mut VecEnv<BoxedEnv>,
    eval_env: &mut BoxedEnv,
    schedule: &Schedule,
    run: &RunDir,
    progress: bool,
    hooks: &mut dyn Hooks,
) -> anyhow::Result<RunOutcome> {
    let mut monitor = Monitor::new(run, schedule.total_steps, progress);
    let mut best: Option<Evaluation> = None;
    let mut keep_best = |evaluation: Evaluation, agent: &dyn Agent| -> anyhow::Result<()> {
        if best.is_none_or(|b| evaluation.mean > b.mean) {
            best = Some(evaluation);
            run.save_named_checkpoint("best.bin", &agent.save())?;
        }
        Ok(())
    };
    let mut step = 0u64;
    let result: anyhow::Result<()> = (|| {
        let mut collector = Collector::start(agent, envs, schedule.env_seed);
        while step < schedule.total_steps {
            let before = step;
            let flow = collector.step(agent, envs, &mut step, &mut monitor, hooks)?;
            if crossed(before, step, schedule.log_every.max(1)) || step >= schedule.total_steps {
                monitor.flush_window(step)?;
            }
            if flow == Flow::Stop {
                monitor.flush_window(step)?;
                break;
            }
            if schedule.eval_episodes > 0
                && crossed(before, step, schedule.eval_every)
                && step < schedule.total_steps
            {
                let (mean, std) = evaluate(
                    eval_env,
                    agent,
                    schedule.eval_episodes,
                    schedule.eval_max_episode_steps,
                    schedule.eval_seed,
                )?;
                monitor.logger.log(step, "eval/episodic_return", mean)?;
                let evaluation = Evaluation {
                    step,
                    mean,
                    std,
                    last: false,
                };
                keep_best(evaluation, agent)?;
                if hooks.on_evaluation(&evaluation) == Flow::Stop {
                    break;
                }
            }
            if crossed(before, step, schedule.checkpoint_every) {
                run.save_checkpoint(step, &agent.save())?;
                hooks.on_checkpoint(step, &format!("step_{step}.bin"));
            }
        }
        Ok(())
    })();
    monitor.bar.finish_and_clear();
    let flushed = monitor.logger.flush();
    result?;
    flushed.context("cannot write metrics")?;

    // A run over N envs may overshoot the budget by up to N - 1 steps; the final records
    // are filed under the budget, as before the driver existed.
    let end = step.min(schedule.total_steps);
    let final_evaluation = if schedule.eval_episodes > 0 {
        let (mean, std) = evaluate(
            eval_env,
            agent,
            schedule.eval_episodes,
            schedule.eval_max_episode_steps,
            schedule.eval_seed,
        )?;
        let final_evaluation = Evaluation {
            step: end,
            mean,
            std,
            last: true,
        };
        monitor.logger.log(end, "eval/episodic_return", mean)?;
        monitor.logger.flush().context("cannot write metrics")?;
        keep_best(final_evaluation, agent)?;
        hooks.on_evaluation(&final_evaluation);
        Some(final_evaluation)
    } else {
        None
    };
    let best_evaluation = best;
    run.save_checkpoint(end, &agent.save())?;
    hooks.on_checkpoint(end, "latest.bin");
    Ok(RunOutcome {
        steps: step,
        episodes: monitor.episodes,
        last_100_train_return_mean: monitor.recent_mean(),
        final_evaluation,
        best_evaluation,
    })
}

/// Logging, progress and bookkeeping of a run.
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
            &self.is_first,
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
