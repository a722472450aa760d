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
