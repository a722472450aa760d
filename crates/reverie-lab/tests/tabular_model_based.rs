//! The claims of the tabular model-based family, checked with fixed seeds:
//! planning speeds up learning on the Dyna maze; Q-learning and Dyna-Q solve deterministic
//! FrozenLake 8x8; the count model's probabilities converge to slippery FrozenLake's true
//! ones; Dyna-Q+ finds the shortcut that Dyna-Q misses within the book's 6,000 steps.

use reverie_agents::{DynaQ, DynaQConfig, ModelKind};
use reverie_core::{Env, Rng, TimeLimit};
use reverie_envs::toy_text::{FrozenLake, FrozenLakeConfig, MazeLayout};
use reverie_lab::experiments::{changing_maze_run, dyna_maze_run, ChangingMaze};

#[test]
fn fifty_planning_steps_reach_the_shortest_path_in_fewer_episodes_than_none() {
    let layout = MazeLayout::dyna_maze();
    let episodes = |n: usize| -> Vec<usize> {
        (0..10)
            .map(|seed| {
                dyna_maze_run(&layout, n, seed, 50)
                    .episodes_to_near_optimal()
                    .unwrap_or(51)
            })
            .collect()
    };
    let (mut planned, mut plain) = (episodes(50), episodes(0));
    // Runs that never get there within 50 episodes count as 51 (some ε-greedy runs settle on
    // a 16-step path because an action on the shortest one was never tried); the median is
    // robust to that censoring.
    planned.sort_unstable();
    plain.sort_unstable();
    let median = |v: &[usize]| (v[4] + v[5]) as f64 / 2.0;
    assert!(
        median(&planned) * 4.0 < median(&plain),
        "n=50 {planned:?} vs n=0 {plain:?}"
    );
    assert!(
        planned.iter().filter(|&&e| e <= 5).count() >= 6,
        "n=50: {planned:?}"
    );
}

#[test]
fn dyna_q_solves_deterministic_frozen_lake_8x8() {
    for n in [0, 10] {
        for seed in 0..3 {
            let solved = reverie_lab::experiments::episodes_to_solve(n, seed, 5_000).unwrap();
            assert!(
                solved.is_some(),
                "n={n} seed={seed} did not solve within 5000 episodes"
            );
        }
    }
}

#[test]
fn count_model_probabilities_converge_to_slippery_frozen_lake() {
    let lake = FrozenLake::new(FrozenLakeConfig::default()).unwrap();
    let config = DynaQConfig {
        model: ModelKind::Distribution,
        planning_steps: 0,
        epsilon_start: 1.0,
        epsilon_end: 1.0,
        ..DynaQConfig::default()
    };
    let mut agent = DynaQ::new(config, lake.n_states(), 4, Rng::seed_from_u64(0));
    let mut env = TimeLimit::new(lake.clone(), Some(100));
    env.reset(Some(0));
    for _ in 0..200_000 {
        let s = env
            .simulator()
            .expect("FrozenLake's state can be read")
            .state()[0] as usize;
        let a = agent.act_index(s, true);
        let step = env.step(&(a as i64)).unwrap();
        agent.learn(s, a, step.reward, step.obs as usize, step.terminated);
        if step.terminated || step.truncated {
            env.reset(None);
        }
    }
    let model = agent.count_model().unwrap();
    let mut checked = 0;
    for s in 0..lake.n_states() {
        for a in 0..4 {
            let count = model.count(s, a);
            if count < 2_000
                || lake
                    .transitions(s, a)
                    .iter()
                    .all(|t| t.next_state == s && t.terminated)
            {
                continue;
            }
            for next in 0..lake.n_states() {
                let truth: f64 = lake
                    .transitions(s, a)
                    .iter()
                    .filter(|t| t.next_state == next)
                    .map(|t| t.prob)
                    .sum();
                let estimate = model.probability(s, a, next);
                // 5 standard errors of a proportion, at least 1e-9 for impossible moves.
                let tolerance = 5.0 * (truth * (1.0 - truth) / count as f64).sqrt() + 1e-9;
                assert!(
                    (estimate - truth).abs() <= tolerance,
                    "p({next}|{s},{a}) = {estimate} vs true {truth} after {count} visits"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} pairs visited often enough");
}

#[test]
fn dyna_q_plus_finds_the_shortcut_that_dyna_q_misses() {
    let shortcut = MazeLayout::shortcut_after().shortest_path().unwrap();
    let found = |plus: bool| {
        (0..5)
            .filter(|&seed| {
                changing_maze_run(ChangingMaze::Shortcut, plus, seed).final_greedy_path
                    == Some(shortcut)
            })
            .count()
    };
    let (plus, plain) = (found(true), found(false));
    assert!(plus >= 4, "Dyna-Q+ found the shortcut in {plus}/5 runs");
    assert!(plain <= 1, "Dyna-Q found the shortcut in {plain}/5 runs");
}

#[test]
fn prioritized_sweeping_needs_fewer_updates_than_dyna_q() {
    use reverie_lab::experiments::{updates_to_near_optimal, Planner};
    let layout = MazeLayout::dyna_maze().scaled(2);
    let total = |planner| -> u64 {
        (0..5)
            .map(|seed| updates_to_near_optimal(&layout, planner, seed, 1_000_000).unwrap())
            .sum()
    };
    let (sweeping, dyna) = (total(Planner::PrioritizedSweeping), total(Planner::DynaQ));
    assert!(
        sweeping * 2 < dyna,
        "prioritized sweeping {sweeping} vs Dyna-Q {dyna} updates"
    );
}
