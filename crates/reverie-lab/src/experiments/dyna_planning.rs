//! Sutton & Barto Figure 8.2: Dyna-Q with n = 0, 5 and 50 planning steps on the Dyna maze.
//!
//! Settings as in the book: α = 0.1, ε = 0.1, γ = 0.95, Q initialised to 0, ties broken at
//! random, 50 episodes, 30 repetitions, the same seeds for every n.
//!
//! "Near-optimal": the greedy policy's path from the start (first maximum on ties) reaches
//! the goal within 10% of the shortest path (≤ 15 steps; the shortest is 14).
//! "Episodes to near-optimal": the first episode after which the greedy policy is
//! near-optimal. Also reported: the first episode from which it stays so until episode 50
//! (an ε-greedy agent can still update a rarely tried action on the shortest path late, so
//! some runs settle on a 16-step path; the book's curves plateau at ~16–17 steps too).

use std::time::Instant;

use reverie_agents::{DynaQ, DynaQConfig};
use reverie_core::{Env, Rng};
use reverie_envs::toy_text::{Maze, MazeLayout};

use super::common::{fmt, greedy_path_length, mean_ci95, Table};
use super::ExperimentOptions;
use crate::plot::{plot_curves, Curve};

/// One Dyna-Q run on a maze.
#[derive(Clone, Debug, PartialEq)]
pub struct MazeRun {
    /// Steps of every episode, exploration included.
    pub steps_per_episode: Vec<u64>,
    /// After each episode: whether the greedy path is within 10% of the shortest.
    pub near_optimal: Vec<bool>,
    /// Q updates made (real and planned).
    pub updates: u64,
}

impl MazeRun {
    /// First episode (1-based) after which the greedy policy is near-optimal.
    pub fn episodes_to_near_optimal(&self) -> Option<usize> {
        self.near_optimal.iter().position(|&ok| ok).map(|i| i + 1)
    }

    /// First episode (1-based) from which the greedy policy stays near-optimal to the end.
    pub fn episodes_to_stable_near_optimal(&self) -> Option<usize> {
        if !self.near_optimal.last().copied().unwrap_or(false) {
            return None;
        }
        let last_bad = self.near_optimal.iter().rposition(|ok| !ok);
        Some(last_bad.map(|i| i + 2).unwrap_or(1))
    }
}

/// Runs `episodes` episodes of Dyna-Q (book settings, `planning_steps`) on `layout`.
pub fn dyna_maze_run(
    layout: &MazeLayout,
    planning_steps: usize,
    seed: u64,
    episodes: usize,
) -> MazeRun {
    let config = DynaQConfig {
        planning_steps,
        ..DynaQConfig::default()
    };
    let mut env = Maze::new(layout.clone());
    let mut agent = DynaQ::new(config, layout.n_states(), 4, Rng::seed_from_u64(seed));
    let shortest = layout.shortest_path().expect("maze has a path");
    let threshold = (shortest as f64 * 1.1).floor() as usize;
    let start = layout.index(layout.start);
    let mut run = MazeRun {
        steps_per_episode: Vec::with_capacity(episodes),
        near_optimal: Vec::with_capacity(episodes),
        updates: 0,
    };
    for _ in 0..episodes {
        let (obs, _) = env.reset(None);
        let mut s = obs as usize;
        let mut steps = 0;
        loop {
            let a = agent.act_index(s, true);
            let step = env.step(&(a as i64)).expect("valid action");
            let next = step.obs as usize;
            agent.learn(s, a, step.reward, next, step.terminated);
            steps += 1;
            if step.terminated {
                break;
            }
            s = next;
        }
        run.steps_per_episode.push(steps);
        let path = greedy_path_length(agent.q_table(), start, 4 * layout.n_states(), |s, a| {
            let (next, _, terminated) = env.transition(s, a);
            (next, terminated)
        });
        run.near_optimal.push(path.is_some_and(|p| p <= threshold));
    }
    run.updates = agent.updates();
    run
}

/// The book's reading of Figure 8.2: episodes to near-optimal performance.
const BOOK: [(usize, f64); 3] = [(0, 25.0), (5, 5.0), (50, 3.0)];

pub(super) fn run(options: &ExperimentOptions) -> anyhow::Result<String> {
    let reps = options.seeds.unwrap_or(30);
    let episodes = 50;
    let layout = MazeLayout::dyna_maze();
    let started = Instant::now();
    let mut summary = Table::new(&[
        "planning_steps",
        "episodes_to_near_optimal",
        "ci95",
        "book_episodes",
        "repetitions",
        "never_near_optimal",
        "episodes_to_stable_near_optimal",
        "stable_runs",
        "mean_steps_last_10_episodes",
    ]);
    let mut per_episode = Table::new(&[
        "planning_steps",
        "repetition",
        "episode",
        "steps",
        "greedy_near_optimal",
    ]);
    let mut curves = Vec::new();
    for (n, book) in BOOK {
        let runs: Vec<MazeRun> = (0..reps)
            .map(|rep| dyna_maze_run(&layout, n, rep as u64, episodes))
            .collect();
        let reached: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.episodes_to_near_optimal().map(|e| e as f64))
            .collect();
        let (mean, ci) = mean_ci95(&reached);
        let stable: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.episodes_to_stable_near_optimal().map(|e| e as f64))
            .collect();
        let last10: Vec<f64> = runs
            .iter()
            .flat_map(|r| {
                r.steps_per_episode[episodes - 10..]
                    .iter()
                    .map(|&s| s as f64)
            })
            .collect();
        summary.push(vec![
            n.to_string(),
            fmt(mean, 2),
            fmt(ci, 2),
            fmt(book, 0),
            reps.to_string(),
            (reps - reached.len()).to_string(),
            fmt(mean_ci95(&stable).0, 2),
            stable.len().to_string(),
            fmt(last10.iter().sum::<f64>() / last10.len() as f64, 1),
        ]);
        for (rep, r) in runs.iter().enumerate() {
            for (e, (&steps, &ok)) in r.steps_per_episode.iter().zip(&r.near_optimal).enumerate() {
                per_episode.push(vec![
                    n.to_string(),
                    rep.to_string(),
                    (e + 1).to_string(),
                    steps.to_string(),
                    ok.to_string(),
                ]);
            }
        }
        // Like the book's figure, from episode 2 on (episode 1 takes ~1,700 steps for all n).
        curves.push(Curve::raw(
            format!("{n} planning steps"),
            runs.iter()
                .map(|r| {
                    r.steps_per_episode
                        .iter()
                        .enumerate()
                        .skip(1)
                        .map(|(e, &s)| ((e + 1) as f64, s as f64))
                        .collect()
                })
                .collect(),
        ));
    }
    let wall = started.elapsed().as_secs_f64();
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_episode.write_csv(&options.out.join("steps_per_episode.csv"))?;
    plot_curves(
        &curves,
        "Dyna-Q on the Dyna maze (mean ± std over repetitions)",
        "episode",
        "steps per episode",
        &options.out.join("steps_per_episode"),
    )?;
    Ok(format!(
        "dyna-planning: Dyna-Q on the Dyna maze, {reps} repetitions x {episodes} episodes, α=0.1 ε=0.1 γ=0.95\n\
         near-optimal = greedy path (first max on ties) within 10% of the shortest: ≤15 steps, shortest 14;\n\
         episodes_to_near_optimal = first episode after which it holds (mean over runs that reach it within 50)\n\n{}\nwall-clock: {wall:.2} s for {} runs\n",
        summary.to_text(),
        3 * reps
    ))
}
