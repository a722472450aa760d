//! Learning tests: tabular Q-learning through the real training loop reaches stated returns
//! with fixed seeds within stated step budgets.

use std::path::PathBuf;

use reverie_run::{resolve, train, ConfigRequest, RunLocation};

fn run_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reverie-learn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn q_learning_solves_deterministic_frozen_lake_8x8() {
    let config = resolve(&ConfigRequest {
        algo: "q-learning".into(),
        env: "FrozenLake-v1".into(),
        overrides: vec![
            "env.options.map_name=8x8".into(),
            "env.options.is_slippery=false".into(),
            "agent.alpha=0.5".into(),
            "agent.epsilon_decay_steps=30000".into(),
            "eval_every=0".into(),
            "eval_episodes=1".into(),
        ],
        seed: Some(0),
        steps: Some(40_000),
        ..Default::default()
    })
    .unwrap();
    let dir = run_dir("fl8");
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    // The greedy policy reaches the goal: return 1 (the shortest path has 14 steps).
    assert_eq!(summary.final_eval_return_mean, 1.0, "{summary:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn q_learning_preset_learns_slippery_frozen_lake() {
    // Gymnasium's default FrozenLake-v1 (4x4, slippery, 100-step limit). A uniformly random
    // policy succeeds ~1.5% of the time; the optimal policy ~74%.
    let config = resolve(&ConfigRequest {
        algo: "q-learning".into(),
        env: "FrozenLake-v1".into(),
        seed: Some(0),
        ..Default::default()
    })
    .unwrap();
    let dir = run_dir("fl4");
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    assert!(
        summary.final_eval_return_mean >= 0.65,
        "greedy success rate {} over {} episodes",
        summary.final_eval_return_mean,
        config.eval_episodes
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn eval_episodes_zero_means_no_evaluation() {
    let request = |eval_episodes: &str| ConfigRequest {
        algo: "q-learning".into(),
        env: "FrozenLake-v1".into(),
        overrides: vec!["eval_every=500".into(), eval_episodes.into()],
        seed: Some(0),
        steps: Some(2_000),
        ..Default::default()
    };
    let (with, without) = (run_dir("eval-on"), run_dir("eval-off"));
    let evaluated = resolve(&request("eval_episodes=5")).unwrap();
    let evaluated = train(&evaluated, &RunLocation::At(with.clone()), false).unwrap();
    let config = resolve(&request("eval_episodes=0")).unwrap();
    let summary = train(&config, &RunLocation::At(without.clone()), false).unwrap();
    assert!(summary.final_eval_return_mean.is_nan(), "{summary:?}");
    assert!(!without.join("checkpoints/best.bin").exists());
    assert!(without.join("checkpoints/latest.bin").exists());
    let metrics = std::fs::read_to_string(without.join("metrics.csv")).unwrap();
    assert!(!metrics.contains("eval/episodic_return"));
    assert_eq!(summary.total_steps, 2_000);
    assert!(evaluated.final_eval_return_mean.is_finite());
    let metrics = std::fs::read_to_string(with.join("metrics.csv")).unwrap();
    assert!(metrics.contains("eval/episodic_return"));
    assert!(with.join("checkpoints/best.bin").exists());
    std::fs::remove_dir_all(with).unwrap();
    std::fs::remove_dir_all(without).unwrap();
}
