//! Dreamer learns CartPole-v1 from vectors within a CI budget: the `tiny` preset (GRU 64,
//! 8 × 8 latents, 64-wide networks), seed 0, 6,000 env steps, an evaluation of 10
//! deterministic episodes every 1,000 steps. The best evaluation must reach 400 (a random
//! policy scores ~22; this seed reaches 500 at step 6,000).

use reverie_run::{resolve, train, ConfigRequest, RunLocation};

#[test]
fn dreamer_tiny_balances_cartpole_within_6k_steps() {
    let config = resolve(&ConfigRequest {
        algo: "dreamer".into(),
        env: "CartPole-v1".into(),
        preset: Some("tiny".into()),
        overrides: vec!["eval_every=1000".into(), "eval_episodes=10".into()],
        seed: Some(0),
        steps: Some(6_000),
        ..Default::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("reverie-dreamer-learning-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        summary.best_eval_return_mean >= 400.0,
        "best evaluation {} at step {}",
        summary.best_eval_return_mean,
        summary.best_eval_step
    );
}
