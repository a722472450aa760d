//! Sutton & Barto Figures 8.4 and 8.5: Dyna-Q versus Dyna-Q+ when the world changes.
//!
//! Blocking maze: 3,000 steps, the short way closes after 1,000; n = 10, κ = 1e-4.
//! Shortcut maze: 6,000 steps, a shortcut opens after 3,000; n = 50, κ = 1e-3.
//! Both: α = 1.0, ε = 0.1, γ = 0.95; the agent is sent back to the start whenever it reaches
//! the goal; cumulative reward is counted over time steps, as in the book.

use std::time::Instant;

use reverie_agents::{DynaQ, DynaQConfig};
use reverie_core::{Env, Rng};
use reverie_envs::toy_text::{Maze, MazeLayout};

use super::common::{fmt, greedy_path_length, mean_ci95, Table};
use super::ExperimentOptions;
use crate::plot::{plot_curves, Curve};

/// The two changing mazes of §8.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangingMaze {
    /// Figure 8.4: the short path is blocked after 1,000 steps.
    Blocking,
    /// Figure 8.5: a shorter path opens after 3,000 steps.
    Shortcut,
}

impl ChangingMaze {
    /// Name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            ChangingMaze::Blocking => "blocking",
            ChangingMaze::Shortcut => "shortcut",
        }
    }

    /// Walls before and after the change.
    pub fn layouts(self) -> (MazeLayout, MazeLayout) {
        match self {
            ChangingMaze::Blocking => (MazeLayout::blocking_before(), MazeLayout::blocking_after()),
            ChangingMaze::Shortcut => (MazeLayout::shortcut_before(), MazeLayout::shortcut_after()),
        }
    }

    /// Step at which the walls change.
    pub fn change_at(self) -> u64 {
        match self {
            ChangingMaze::Blocking => 1_000,
            ChangingMaze::Shortcut => 3_000,
        }
    }

    /// Steps per run (the book's horizon).
    pub fn total_steps(self) -> u64 {
        match self {
            ChangingMaze::Blocking => 3_000,
            ChangingMaze::Shortcut => 6_000,
        }
    }

    /// Dyna-Q(+) settings for this maze; `plus` turns on the exploration bonus.
    pub fn config(self, plus: bool) -> DynaQConfig {
        let (planning_steps, kappa) = match self {
            ChangingMaze::Blocking => (10, 1e-4),
            ChangingMaze::Shortcut => (50, 1e-3),
        };
        DynaQConfig {
            alpha: 1.0,
            planning_steps,
            kappa: if plus { kappa } else { 0.0 },
            ..DynaQConfig::default()
        }
    }
}

/// One run on a changing maze.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangingRun {
    /// Cumulative reward after each time step.
    pub cumulative_reward: Vec<f64>,
    /// Greedy path length from the start under the final walls (`None`: it loops).
    pub final_greedy_path: Option<usize>,
}

/// Runs Dyna-Q (`plus = false`) or Dyna-Q+ on `maze` with `seed`.
pub fn changing_maze_run(maze: ChangingMaze, plus: bool, seed: u64) -> ChangingRun {
    let (before, after) = maze.layouts();
    let n_states = before.n_states();
    let start = before.index(before.start);
    let mut env = Maze::changing(before, after, maze.change_at());
    let mut agent = DynaQ::new(maze.config(plus), n_states, 4, Rng::seed_from_u64(seed));
    let mut cumulative = Vec::with_capacity(maze.total_steps() as usize);
    let mut total = 0.0;
    let mut s = env.reset(None).0 as usize;
    for _ in 0..maze.total_steps() {
        let a = agent.act_index(s, true);
        let step = env.step(&(a as i64)).expect("valid action");
        let next = step.obs as usize;
        agent.learn(s, a, step.reward, next, step.terminated);
        total += step.reward;
        cumulative.push(total);
        s = if step.terminated {
            env.reset(None).0 as usize
        } else {
            next
        };
    }
    let final_greedy_path = greedy_path_length(agent.q_table(), start, 4 * n_states, |s, a| {
        let (next, _, terminated) = env.transition(s, a);
        (next, terminated)
    });
    ChangingRun {
        cumulative_reward: cumulative,
        final_greedy_path,
    }
}

pub(super) fn run(options: &ExperimentOptions) -> anyhow::Result<String> {
    let reps = options.seeds.unwrap_or(20);
    let started = Instant::now();
    let mut summary = Table::new(&[
        "maze",
        "agent",
        "cumulative_reward",
        "ci95",
        "reward_before_change",
        "reward_after_change",
        "new_shortest_path",
        "runs_on_new_shortest_path",
        "repetitions",
    ]);
    let mut report = String::new();
    for maze in [ChangingMaze::Blocking, ChangingMaze::Shortcut] {
        let shortest_after = maze.layouts().1.shortest_path().expect("path");
        let mut curves = Vec::new();
        for plus in [false, true] {
            let agent = if plus { "Dyna-Q+" } else { "Dyna-Q" };
            let runs: Vec<ChangingRun> = (0..reps)
                .map(|seed| changing_maze_run(maze, plus, seed as u64))
                .collect();
            let change = maze.change_at() as usize - 1;
            let finals: Vec<f64> = runs
                .iter()
                .map(|r| *r.cumulative_reward.last().unwrap())
                .collect();
            let before: Vec<f64> = runs.iter().map(|r| r.cumulative_reward[change]).collect();
            let (mean, ci) = mean_ci95(&finals);
            let (mean_before, _) = mean_ci95(&before);
            let on_shortest = runs
                .iter()
                .filter(|r| r.final_greedy_path == Some(shortest_after))
                .count();
            summary.push(vec![
                maze.name().into(),
                agent.into(),
                fmt(mean, 1),
                fmt(ci, 1),
                fmt(mean_before, 1),
                fmt(mean - mean_before, 1),
                shortest_after.to_string(),
                format!("{on_shortest}/{reps}"),
                reps.to_string(),
            ]);
            // Every 10th step is plenty for a 3,000–6,000-step curve.
            curves.push(Curve::raw(
                agent,
                runs.iter()
                    .map(|r| {
                        r.cumulative_reward
                            .iter()
                            .enumerate()
                            .filter(|(t, _)| (t + 1) % 10 == 0)
                            .map(|(t, &c)| ((t + 1) as f64, c))
                            .collect()
                    })
                    .collect(),
            ));
        }
        plot_curves(
            &curves,
            &format!(
                "{} maze: walls change at step {}",
                maze.name(),
                maze.change_at()
            ),
            "time steps",
            "cumulative reward",
            &options.out.join(format!("{}_maze", maze.name())),
        )?;
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    report.push_str(&format!(
        "dyna-changing: Dyna-Q vs Dyna-Q+ on the changing mazes, {reps} repetitions, α=1.0 ε=0.1 γ=0.95\n\
         blocking: n=10, κ=1e-4, 3000 steps, change at 1000; shortcut: n=50, κ=1e-3, 6000 steps, change at 3000\n\
         runs_on_new_shortest_path: runs whose final greedy path is the shortest path after the change\n\n{}\n\
         wall-clock: {:.2} s\n",
        summary.to_text(),
        started.elapsed().as_secs_f64()
    ));
    Ok(report)
}
