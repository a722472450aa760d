//! PETS (Chua et al. 2018) on continuous cart-pole balance, Pendulum and cart-pole
//! swing-up: return per trial over seeds, whether and when the target is reached, and the
//! wall-clock it took.
//!
//! A trial is an episode, except the first: `random_steps` uniformly random steps (several
//! short episodes on cart-pole), after which the env is reset, as mbrl-lib does. The model
//! is trained after the random trial and at the start of every later one.
//!
//! Each seed runs on the training driver (`reverie_run::driver::drive`, no evaluation
//! episodes) into `DIR/runs/<config>/seed-<seed>`; hooks record the trials' returns and
//! stop the run.

use std::path::Path;
use std::time::Instant;

use reverie_agents::{MpcAgent, MpcAgentConfig};
use reverie_core::{
    ActContext, Action, Agent, AutoresetMode, BoxedEnv, Carry, DynEnv, EnvError, Frame, Info,
    KnownFunctions, Metrics, Mode, ObsBatch, Observation, Rng, SeedStreams, SimulatorState, Space,
    Step, StepBatch, VecEnv,
};
use reverie_envs::{make_with, EnvOptions, OptionValue};
use reverie_planning::{CemConfig, ICemConfig, OptimizerConfig};
use reverie_run::driver::{drive, EpisodeEnd, Flow, Hooks, Schedule};
use reverie_run::run_dir::RunDir;

use super::common::{fmt, mean_ci95, Table};
use super::runs::run_dir_name;
use super::ExperimentOptions;
use crate::plot::{plot_curves, Curve};

/// When a run counts as solved.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// Some trial's return is at least this.
    AnyTrial(f64),
    /// The mean of the last three trials is at least this.
    LastThree(f64),
}

impl Target {
    fn reached(self, returns: &[f64]) -> bool {
        match self {
            Target::AnyTrial(t) => returns.last().is_some_and(|r| *r >= t),
            Target::LastThree(t) => {
                returns.len() >= 3 && returns[returns.len() - 3..].iter().sum::<f64>() / 3.0 >= t
            }
        }
    }

    fn describe(self) -> String {
        match self {
            Target::AnyTrial(t) => format!("a trial's return ≥ {t}"),
            Target::LastThree(t) => format!("mean return of the last 3 trials ≥ {t}"),
        }
    }
}

/// One configuration of the experiment.
struct Setup {
    label: &'static str,
    env_id: &'static str,
    episode_steps: i64,
    max_trials: usize,
    target: Target,
    /// Stop a seed once the target is reached.
    stop_when_solved: bool,
    agent: MpcAgentConfig,
}

/// The outcome of one seed.
struct Outcome {
    /// Returns of trials 2, 3, ... (planned episodes).
    returns: Vec<f64>,
    /// The trial (1-based, the random one is trial 1) at which the target was reached.
    solved_at: Option<usize>,
    steps_to_solve: Option<u64>,
    seconds_to_solve: Option<f64>,
    seconds: f64,
    ms_per_action: f64,
}

/// The env of one seed, as trials: every reset takes the next seed of the run's `env`
/// stream, and the random trial (the first `random_steps` steps, over as many episodes as it
/// takes) ends with its last step truncated, after which the env is reset for trial 2, as
/// mbrl-lib does.
struct TrialEnv {
    env: BoxedEnv,
    seeds: Rng,
    random_steps: u64,
    steps: u64,
    /// Draw one seed more at the next reset: the random trial's last step also ended its
    /// episode, so that episode's own reset and trial 2's reset each take a seed.
    skip_seed: bool,
}

impl TrialEnv {
    fn new(env: BoxedEnv, seeds: Rng, random_steps: u64) -> Self {
        Self {
            env,
            seeds,
            random_steps,
            steps: 0,
            // Without a random trial, the first reset and trial 2's reset are two resets.
            skip_seed: random_steps == 0,
        }
    }
}

impl DynEnv for TrialEnv {
    fn observation_space(&self) -> Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> Space {
        self.env.action_space()
    }
    /// Ignores `seed`: the seeds come from the run's `env` stream.
    fn reset(&mut self, _seed: Option<u64>) -> (Observation, Info) {
        let mut reset = self.env.reset(Some(self.seeds.next_u64()));
        if self.skip_seed {
            self.skip_seed = false;
            reset = self.env.reset(Some(self.seeds.next_u64()));
        }
        reset
    }
    fn step(&mut self, action: &Action) -> Result<Step<Observation>, EnvError> {
        let mut step = self.env.step(action)?;
        self.steps += 1;
        if self.steps == self.random_steps {
            self.skip_seed = step.terminated || step.truncated;
            step.truncated = true;
        }
        Ok(step)
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

/// The agent, timing its planning: every `act` after the random trial.
struct TimedAgent {
    agent: MpcAgent,
    random_steps: u64,
    acts: u64,
    planning_seconds: f64,
}

impl Agent for TimedAgent {
    fn num_envs(&self) -> usize {
        self.agent.num_envs()
    }
    fn initial_carry(&self, envs: usize) -> Carry {
        self.agent.initial_carry(envs)
    }
    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        let t0 = Instant::now();
        self.agent.act(obs, ctx, carry, mode, actions);
        if self.acts >= self.random_steps {
            self.planning_seconds += t0.elapsed().as_secs_f64();
        }
        self.acts += obs.len() as u64;
    }
    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        self.agent.observe(step)
    }
    fn save(&self) -> Vec<u8> {
        self.agent.save()
    }
    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.agent.load(bytes)
    }
}

/// Records the trials of one seed from the driver's episodes and stops the run at the last
/// trial, or once the target is reached if the setup says so.
struct Trials<'a> {
    setup: &'a Setup,
    started: Instant,
    /// The trial that ends next (1: the random one).
    trial: usize,
    outcome: Outcome,
}

impl Hooks for Trials<'_> {
    fn on_episode(&mut self, episode: &EpisodeEnd) -> Flow {
        if self.trial == 1 {
            // Episodes of the random trial; the one ending at `random_steps` ends it.
            if episode.step >= self.setup.agent.random_steps {
                self.trial = 2;
            }
            return Flow::Continue;
        }
        let trial = self.trial;
        self.trial += 1;
        let outcome = &mut self.outcome;
        outcome.returns.push(episode.episode_return);
        if outcome.solved_at.is_none() && self.setup.target.reached(&outcome.returns) {
            outcome.solved_at = Some(trial);
            outcome.steps_to_solve = Some(episode.step);
            outcome.seconds_to_solve = Some(self.started.elapsed().as_secs_f64());
            if self.setup.stop_when_solved {
                return Flow::Stop;
            }
        }
        if trial == self.setup.max_trials {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Runs one seed on the training driver, into `dir` (replaced if it exists).
fn run_seed(setup: &Setup, seed: u64, dir: &Path) -> anyhow::Result<Outcome> {
    let options =
        EnvOptions::new().with("max_episode_steps", OptionValue::Int(setup.episode_steps));
    let env = make_with(setup.env_id, &options)?;
    let mut eval_env = make_with(setup.env_id, &options)?;
    let streams = SeedStreams::new(seed);
    let recipe = reverie_envs::EnvRecipe::with_options(setup.env_id, options.clone());
    let agent: MpcAgent = setup.agent.clone().init(
        &recipe,
        &env.observation_space(),
        &env.action_space(),
        streams.rng("agent"),
    )?;
    let random_steps = setup.agent.random_steps;
    let mut agent = TimedAgent {
        agent,
        random_steps,
        acts: 0,
        planning_seconds: 0.0,
    };
    let env: BoxedEnv = Box::new(TrialEnv::new(env, streams.rng("env"), random_steps));
    let mut envs = VecEnv::new(vec![env], AutoresetMode::SameStep);
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let run = RunDir::create_at(dir)?;
    // Trials after the random one are single episodes of at most `episode_steps` steps; the
    // hooks stop the run after the last trial.
    let schedule = Schedule {
        total_steps: random_steps + (setup.max_trials as u64 - 1) * setup.episode_steps as u64,
        eval_every: 0,
        eval_episodes: 0,
        eval_max_episode_steps: setup.episode_steps as u64,
        eval_opponent: None,
        checkpoint_every: 0,
        checkpoint_seconds: 0.0,
        max_nonfinite_updates: 0,
        log_every: setup.episode_steps as u64,
        env_seed: streams.seed("env"),
        eval_seed: streams.seed("eval"),
    };
    let started = Instant::now();
    let mut trials = Trials {
        setup,
        started,
        trial: 1,
        outcome: Outcome {
            returns: Vec::new(),
            solved_at: None,
            steps_to_solve: None,
            seconds_to_solve: None,
            seconds: 0.0,
            ms_per_action: 0.0,
        },
    };
    drive(
        &mut agent,
        &mut envs,
        &mut eval_env,
        &schedule,
        &run,
        false,
        &mut trials,
    )?;
    let mut outcome = trials.outcome;
    outcome.seconds = started.elapsed().as_secs_f64();
    let planned_actions = agent.acts.saturating_sub(random_steps);
    outcome.ms_per_action = 1e3 * agent.planning_seconds / planned_actions.max(1) as f64;
    Ok(outcome)
}

fn pets_config(planner: OptimizerConfig, horizon: usize) -> MpcAgentConfig {
    MpcAgentConfig {
        planner,
        horizon,
        ..MpcAgentConfig::default()
    }
}

fn icem(population: usize) -> OptimizerConfig {
    OptimizerConfig::Icem(ICemConfig {
        population,
        ..Default::default()
    })
}

fn setups(which: &str) -> Vec<Setup> {
    match which {
        "cartpole" => vec![
            Setup {
                label: "PETS iCEM fast (pop 100 decaying, 10 particles, 3 x 200)",
                env_id: "CartPoleContinuous-v0",
                episode_steps: 200,
                max_trials: 5,
                target: Target::AnyTrial(195.0),
                stop_when_solved: true,
                agent: {
                    let mut agent = pets_config(icem(100), 15);
                    agent.rollouts.particles = 10;
                    agent.model.hidden_sizes = vec![200; 3];
                    agent
                },
            },
            Setup {
                label: "PETS iCEM (pop 150 decaying, 3 iters)",
                env_id: "CartPoleContinuous-v0",
                episode_steps: 200,
                max_trials: 5,
                target: Target::AnyTrial(195.0),
                stop_when_solved: true,
                agent: pets_config(icem(150), 15),
            },
            Setup {
                label: "PETS CEM (mbrl-lib: pop 350, 5 iters)",
                env_id: "CartPoleContinuous-v0",
                episode_steps: 200,
                max_trials: 5,
                target: Target::AnyTrial(195.0),
                stop_when_solved: true,
                agent: pets_config(
                    OptimizerConfig::Cem(CemConfig {
                        population: 350,
                        ..Default::default()
                    }),
                    15,
                ),
            },
        ],
        "pendulum" => {
            let mut agent = pets_config(icem(100), 25);
            agent.rollouts.particles = 10;
            agent.model.hidden_sizes = vec![200; 3];
            vec![Setup {
                label: "PETS iCEM (pop 100 decaying, 10 particles, H 25)",
                env_id: "Pendulum-v1",
                episode_steps: 200,
                max_trials: 10,
                target: Target::LastThree(-200.0),
                stop_when_solved: true,
                agent,
            }]
        }
        "swingup" => {
            let mut agent = pets_config(icem(150), 25);
            agent.rollouts.particles = 10;
            vec![Setup {
                label: "PETS iCEM (pop 150 decaying, 10 particles, H 25)",
                env_id: "CartPoleSwingUp-v0",
                episode_steps: 200,
                max_trials: 10,
                target: Target::AnyTrial(150.0),
                stop_when_solved: false,
                agent,
            }]
        }
        _ => unreachable!("names are fixed in experiments.rs"),
    }
}

/// `reverie experiment pets-<which>`.
pub(super) fn run(which: &str, options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(5);
    let started = Instant::now();
    let mut summary = Table::new(&[
        "config",
        "env",
        "target",
        "seeds",
        "solved",
        "mean_trial_solved",
        "mean_real_steps_to_solve",
        "mean_seconds_to_solve",
        "ms_per_action",
        "final_return_mean",
    ]);
    let mut per_seed = Table::new(&[
        "config",
        "seed",
        "trial_returns",
        "solved_at_trial",
        "seconds",
    ]);
    let mut curves = Vec::new();
    for setup in setups(which) {
        let mut outcomes = Vec::new();
        for seed in 0..seeds as u64 {
            let dir = options
                .out
                .join("runs")
                .join(run_dir_name(setup.label))
                .join(format!("seed-{seed}"));
            let o = run_seed(&setup, seed, &dir)?;
            per_seed.push(vec![
                format!("\"{}\"", setup.label),
                seed.to_string(),
                o.returns
                    .iter()
                    .map(|r| format!("{r:.1}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                o.solved_at.map_or("-".into(), |t| t.to_string()),
                fmt(o.seconds, 1),
            ]);
            outcomes.push(o);
        }
        let solved: Vec<&Outcome> = outcomes.iter().filter(|o| o.solved_at.is_some()).collect();
        let mean = |f: &dyn Fn(&Outcome) -> f64, set: &[&Outcome]| {
            mean_ci95(&set.iter().map(|o| f(o)).collect::<Vec<_>>()).0
        };
        let all: Vec<&Outcome> = outcomes.iter().collect();
        summary.push(vec![
            format!("\"{}\"", setup.label),
            setup.env_id.into(),
            format!("\"{}\"", setup.target.describe()),
            seeds.to_string(),
            solved.len().to_string(),
            fmt(mean(&|o| o.solved_at.unwrap_or(0) as f64, &solved), 1),
            fmt(mean(&|o| o.steps_to_solve.unwrap_or(0) as f64, &solved), 0),
            fmt(mean(&|o| o.seconds_to_solve.unwrap_or(0.0), &solved), 1),
            fmt(mean(&|o| o.ms_per_action, &all), 1),
            fmt(mean(&|o| *o.returns.last().unwrap_or(&f64::NAN), &all), 1),
        ]);
        curves.push(Curve::raw(
            setup.label,
            outcomes
                .iter()
                .map(|o| {
                    o.returns
                        .iter()
                        .enumerate()
                        .map(|(i, r)| ((i + 2) as f64, *r))
                        .collect()
                })
                .collect(),
        ));
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_seed.write_csv(&options.out.join("per_seed.csv"))?;
    let env = setups(which)[0].env_id;
    plot_curves(
        &curves,
        &format!("PETS on {env}: return per trial (trial 1 is random)"),
        "trial",
        "return",
        &options.out.join("return_per_trial"),
    )?;
    Ok(format!(
        "pets-{which}: {seeds} seeds per configuration; a run stops once the target is reached \
         (except swing-up)\n\n{}\n{}\nwall-clock: {:.1} s\n",
        summary.to_text(),
        per_seed.to_text(),
        started.elapsed().as_secs_f64()
    ))
}
