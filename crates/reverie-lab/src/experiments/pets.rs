//! PETS (Chua et al. 2018) on continuous cart-pole balance, Pendulum and cart-pole
//! swing-up: return per trial over seeds, whether and when the target is reached, and the
//! wall-clock it took.
//!
//! A trial is an episode, except the first: `random_steps` uniformly random steps (several
//! short episodes on cart-pole), after which the env is reset, as mbrl-lib does. The model
//! is trained after the random trial and at the start of every later one.

use std::time::Instant;

use reverie_agents::{MpcAgent, MpcAgentConfig};
use reverie_core::{SeedStreams, Transition};
use reverie_envs::{make_with, EnvOptions, OptionValue};
use reverie_planning::{CemConfig, ICemConfig, OptimizerConfig};

use super::common::{fmt, mean_ci95, Table};
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

fn run_seed(setup: &Setup, seed: u64) -> anyhow::Result<Outcome> {
    let options =
        EnvOptions::new().with("max_episode_steps", OptionValue::Int(setup.episode_steps));
    let mut env = make_with(setup.env_id, &options)?;
    let streams = SeedStreams::new(seed);
    let recipe = reverie_envs::EnvRecipe::with_options(setup.env_id, options.clone());
    let mut agent: MpcAgent = setup.agent.clone().init(
        &recipe,
        &env.observation_space(),
        &env.action_space(),
        streams.rng("agent"),
    )?;
    let mut env_seeds = streams.rng("env");
    let started = Instant::now();
    let (mut steps, mut planning_seconds, mut planned_actions) = (0u64, 0.0f64, 0u64);
    let mut outcome = Outcome {
        returns: Vec::new(),
        solved_at: None,
        steps_to_solve: None,
        seconds_to_solve: None,
        seconds: 0.0,
        ms_per_action: 0.0,
    };
    let random_steps = setup.agent.random_steps;
    // Trial 1: random steps across as many episodes as it takes.
    let mut obs = env.reset(Some(env_seeds.next_u64())).0;
    while steps < random_steps {
        let action = agent.act_one(&obs, true);
        let step = env.step(&action)?;
        steps += 1;
        let end_of_trial = steps == random_steps;
        agent.observe_one(&Transition {
            obs: &obs,
            action: &action,
            reward: step.reward,
            next_obs: &step.obs,
            terminated: step.terminated,
            truncated: step.truncated || end_of_trial,
        });
        obs = if step.terminated || step.truncated {
            env.reset(Some(env_seeds.next_u64())).0
        } else {
            step.obs
        };
    }
    for trial in 2..=setup.max_trials {
        let mut obs = env.reset(Some(env_seeds.next_u64())).0;
        let mut total = 0.0;
        loop {
            let t0 = Instant::now();
            let action = agent.act_one(&obs, true);
            planning_seconds += t0.elapsed().as_secs_f64();
            planned_actions += 1;
            let step = env.step(&action)?;
            steps += 1;
            total += step.reward;
            agent.observe_one(&Transition {
                obs: &obs,
                action: &action,
                reward: step.reward,
                next_obs: &step.obs,
                terminated: step.terminated,
                truncated: step.truncated,
            });
            if step.terminated || step.truncated {
                break;
            }
            obs = step.obs;
        }
        outcome.returns.push(total);
        if outcome.solved_at.is_none() && setup.target.reached(&outcome.returns) {
            outcome.solved_at = Some(trial);
            outcome.steps_to_solve = Some(steps);
            outcome.seconds_to_solve = Some(started.elapsed().as_secs_f64());
            if setup.stop_when_solved {
                break;
            }
        }
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome.ms_per_action = 1e3 * planning_seconds / planned_actions.max(1) as f64;
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
            let o = run_seed(&setup, seed)?;
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
