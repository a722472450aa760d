//! MuZero learns CartPole-v1 within a CI budget: the default preset (32-wide latents,
//! 64-wide networks, 25 pUCT simulations), seed 0, 6,000 env steps, an evaluation of 10
//! episodes (most visited action, no root noise) every 1,000 steps. The best evaluation
//! must reach 400 (a random policy scores ~22; this seed evaluates at 500 by step 5,000
//! in a 30k-step run).

use reverie_run::{resolve, train, ConfigRequest, RunLocation};

#[test]
fn muzero_balances_cartpole_within_6k_steps() {
    let config = resolve(&ConfigRequest {
        algo: "muzero".into(),
        env: "CartPole-v1".into(),
        overrides: vec!["eval_every=1000".into(), "eval_episodes=10".into()],
        seed: Some(0),
        steps: Some(6_000),
        ..Default::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("reverie-muzero-learning-{}", std::process::id()));
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
