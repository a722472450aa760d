//! The seed's exercise: Dyna-Q with 0, 5, 10 and 50 planning steps on FrozenLake-v1 8x8
//! with `is_slippery = false`, the same seeds for every n; episodes until the greedy policy
//! reaches the goal.
//!
//! Settings: α = 0.1, ε = 0.1, γ = 0.95, Q initialised to 0, ties broken at random, the
//! registered 100-step limit (truncation bootstraps), at most 5,000 episodes.

use std::time::Instant;

use reverie_agents::{DynaQ, DynaQConfig, QTable};
use reverie_core::{Env, Rng, TimeLimit};
use reverie_envs::toy_text::{FrozenLake, FrozenLakeConfig};

use super::common::{fmt, mean_ci95, std_dev, Table};
use super::ExperimentOptions;
use crate::plot::{plot_curves, Curve};

/// Whether the greedy policy of `q` (first maximum on ties) walks from the start to a
/// rewarding terminal state within 100 steps.
pub fn greedy_reaches_goal(lake: &FrozenLake, q: &QTable) -> bool {
    let mut s = lake.start_state();
    for _ in 0..100 {
        let row = q.row(s);
        let a = (0..row.len()).fold(0, |best, a| if row[a] > row[best] { a } else { best });
        let t = lake.transitions(s, a)[0];
        if t.terminated {
            return t.reward > 0.0;
        }
        s = t.next_state;
    }
    false
}

/// Episodes (1-based) until the greedy policy first reaches the goal, with the real steps
/// taken, or `None` within `max_episodes`.
pub fn episodes_to_solve(
    planning_steps: usize,
    seed: u64,
    max_episodes: usize,
) -> anyhow::Result<Option<(usize, u64)>> {
    let config = FrozenLakeConfig::named("8x8")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .slippery(false);
    let lake = FrozenLake::new(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (n_states, n_actions) = (lake.n_states(), lake.n_actions());
    let mut env = TimeLimit::new(lake.clone(), Some(100));
    let dyna = DynaQConfig {
        planning_steps,
        ..DynaQConfig::default()
    };
    let mut agent = DynaQ::new(dyna, n_states, n_actions, Rng::seed_from_u64(seed));
    env.reset(Some(seed));
    let mut real_steps = 0;
    for episode in 1..=max_episodes {
        let (obs, _) = env.reset(None);
        let mut s = obs as usize;
        loop {
            let a = agent.act_index(s, true);
            let step = env.step(&(a as i64))?;
            real_steps += 1;
            let next = step.obs as usize;
            agent.learn(s, a, step.reward, next, step.terminated);
            if step.terminated || step.truncated {
                break;
            }
            s = next;
        }
        if greedy_reaches_goal(&lake, agent.q_table()) {
            return Ok(Some((episode, real_steps)));
        }
    }
    Ok(None)
}

pub(super) fn run(options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(20);
    let max_episodes = 5_000;
    let started = Instant::now();
    let mut summary = Table::new(&[
        "planning_steps",
        "episodes_to_solve",
        "ci95",
        "std",
        "min",
        "max",
        "real_steps_to_solve",
        "seeds",
        "unsolved",
    ]);
    let mut per_seed = Table::new(&["planning_steps", "seed", "episodes_to_solve", "real_steps"]);
    let mut points = Vec::new();
    for n in [0usize, 5, 10, 50] {
        let mut episodes = Vec::new();
        let mut steps = Vec::new();
        for seed in 0..seeds as u64 {
            match episodes_to_solve(n, seed, max_episodes)? {
                Some((e, s)) => {
                    episodes.push(e as f64);
                    steps.push(s as f64);
                    per_seed.push(vec![
                        n.to_string(),
                        seed.to_string(),
                        e.to_string(),
                        s.to_string(),
                    ]);
                }
                None => per_seed.push(vec![
                    n.to_string(),
                    seed.to_string(),
                    "unsolved".into(),
                    "".into(),
                ]),
            }
        }
        let (mean, ci) = mean_ci95(&episodes);
        let min = episodes.iter().copied().fold(f64::INFINITY, f64::min);
        let max = episodes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        summary.push(vec![
            n.to_string(),
            fmt(mean, 1),
            fmt(ci, 1),
            fmt(std_dev(&episodes), 1),
            fmt(min, 0),
            fmt(max, 0),
            fmt(mean_ci95(&steps).0, 0),
            seeds.to_string(),
            (seeds - episodes.len()).to_string(),
        ]);
        points.push((n as f64, episodes));
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_seed.write_csv(&options.out.join("per_seed.csv"))?;
    // One "run" per seed across n, so the band shows the spread over seeds.
    let runs: Vec<Vec<(f64, f64)>> = (0..seeds)
        .filter(|&i| points.iter().all(|(_, e)| i < e.len()))
        .map(|i| points.iter().map(|(n, e)| (*n, e[i])).collect())
        .collect();
    plot_curves(
        &[Curve::raw("Dyna-Q", runs)],
        "FrozenLake 8x8 (deterministic): episodes until the greedy policy solves it",
        "planning steps per real step",
        "episodes to solve",
        &options.out.join("episodes_to_solve"),
    )?;
    Ok(format!(
        "dyna-frozen-lake: Dyna-Q on FrozenLake-v1 8x8, is_slippery=false, {seeds} seeds, α=0.1 ε=0.1 γ=0.95\n\
         solved = the greedy policy walks from S to G\n\n{}\n\
         Why the gain plateaus: planning can only spread reward the agent has already seen. Until \
         the first random walk reaches G, the model holds no reward and planning changes nothing, \
         so every n pays the same exploration cost for that first success. Once G has been reached, \
         a few planning steps per real step already propagate its value back along the whole \
         ~14-step path within an episode or two; more planning cannot shorten the exploration that \
         dominates what is left.\n\nwall-clock: {:.2} s\n",
        summary.to_text(),
        started.elapsed().as_secs_f64()
    ))
}
