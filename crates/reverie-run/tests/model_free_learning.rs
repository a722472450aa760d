//! Learning tests for the model-free baselines, through the real training loop with the
//! shipped presets and fixed seeds: each must reach its stated return within its budget.
//! The multi-seed versions are `reverie experiment dqn-cartpole | ppo-cartpole |
//! ppo-pendulum | sac-pendulum` (EXPERIMENTS.md); A2C has none yet.

use std::path::PathBuf;

use reverie_run::eval::eval_run;
use reverie_run::{resolve, train, ConfigRequest, RunLocation, TrainSummary};

fn run(
    name: &str,
    algo: &str,
    env: &str,
    overrides: &[&str],
    steps: Option<u64>,
) -> (TrainSummary, PathBuf) {
    let dir = std::env::temp_dir().join(format!("reverie-mf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = resolve(&ConfigRequest {
        algo: algo.into(),
        env: env.into(),
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
        seed: Some(0),
        steps,
        ..Default::default()
    })
    .unwrap();
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    (summary, dir)
}

#[test]
fn ppo_solves_cartpole_within_100k_steps_and_eval_reloads_it() {
    let (summary, dir) = run("ppo-cartpole", "ppo", "CartPole-v1", &[], None);
    assert_eq!(summary.total_steps, 100_000);
    assert_eq!(summary.final_eval_return_mean, 500.0, "{summary:?}");
    // `reverie eval` rebuilds the agent from the checkpoint and reproduces the evaluation.
    let report = eval_run(&dir, None, 10, None).unwrap();
    assert_eq!(report.mean, summary.final_eval_return_mean);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ppo_gaussian_policy_swings_up_pendulum_within_200k_steps() {
    let (summary, dir) = run("ppo-pendulum", "ppo", "Pendulum-v1", &[], None);
    assert!(summary.final_eval_return_mean >= -250.0, "{summary:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn dqn_learns_cartpole_within_50k_steps() {
    let (summary, dir) = run(
        "dqn-cartpole",
        "dqn",
        "CartPole-v1",
        &["eval_every=5000"],
        None,
    );
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let best = metrics
        .lines()
        .filter(|l| l.contains("eval/episodic_return"))
        .map(|l| l.split(',').nth(2).unwrap().parse::<f64>().unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(best, 500.0, "no evaluation reached 500: {summary:?}");
    // Issue 21: the agent at the end of the run is the solved one (rl-zoo's one-step,
    // constant-rate DQN ended this seed at 331.9).
    assert!(
        summary.final_eval_return_mean >= 475.0,
        "fell back after 500: {summary:?}"
    );
    // The best evaluation's parameters are kept and reload at 500.
    assert_eq!(summary.best_eval_return_mean, 500.0);
    let best_checkpoint = dir.join("checkpoints").join("best.bin");
    let report = eval_run(&dir, Some(&best_checkpoint), 10, None).unwrap();
    assert_eq!(report.mean, 500.0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a2c_solves_cartpole_within_100k_steps() {
    // The a2c preset (SB3's A2C: 8 envs × 5 steps, one update per rollout); rl-zoo gives it
    // 500k steps. Seed 0 evaluates at 500 from 100k on.
    let (summary, dir) = run(
        "a2c-cartpole",
        "a2c",
        "CartPole-v1",
        &["eval_every=0"],
        Some(100_000),
    );
    assert!(summary.final_eval_return_mean >= 475.0, "{summary:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sac_balances_pendulum_within_10k_steps() {
    // rl-zoo's budget is 20k steps; seed 0 is past −200 by 10k, which keeps CI short.
    let (summary, dir) = run(
        "sac-pendulum",
        "sac",
        "Pendulum-v1",
        &["eval_every=0"],
        Some(10_000),
    );
    assert!(summary.final_eval_return_mean >= -200.0, "{summary:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
