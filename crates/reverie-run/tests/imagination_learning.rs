//! Learning from imagined experience, through the real training loop with the shipped
//! presets and seed 0:
//! - MBPO reaches an evaluation of −200 on Pendulum-v1 within 1,250 real steps (SAC: median
//!   3,500, see `reverie experiment mbpo-vs-sac`).
//! - Neural Dyna (planning 5, the defaults: 5-step DQN and 5-step imagined transitions)
//!   reaches an evaluation of 500 on CartPole-v1 within 15,000 real steps (seed 0 at
//!   10,000; over 10 seeds of 50k steps the median is 10,000, `reverie experiment
//!   dqn-cartpole`).

use reverie_run::{resolve, train, ConfigRequest, RunLocation};

#[test]
fn mbpo_balances_pendulum_within_1250_real_steps() {
    let dir = std::env::temp_dir().join(format!("reverie-mbpo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = resolve(&ConfigRequest {
        algo: "mbpo".into(),
        env: "Pendulum-v1".into(),
        overrides: vec!["eval_every=0".into()],
        seed: Some(0),
        steps: Some(1250),
        ..Default::default()
    })
    .unwrap();
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    assert!(summary.final_eval_return_mean >= -200.0, "{summary:?}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    // The model was trained and imagined transitions were used.
    assert!(metrics.contains("model/imagined_stored"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn neural_dyna_balances_cartpole_within_15k_real_steps() {
    let dir = std::env::temp_dir().join(format!("reverie-neural-dyna-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = resolve(&ConfigRequest {
        algo: "neural-dyna".into(),
        env: "CartPole-v1".into(),
        overrides: vec!["eval_every=2500".into(), "agent.planning_steps=5".into()],
        seed: Some(0),
        steps: Some(15_000),
        ..Default::default()
    })
    .unwrap();
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    // The best evaluation, kept as checkpoints/best.bin: neural Dyna's values still move
    // after reaching 500 (2 of 10 seeds end below 475 in EXPERIMENTS.md).
    assert!(summary.best_eval_return_mean >= 500.0, "{summary:?}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(metrics.contains("losses/imagined_td_loss"));
    std::fs::remove_dir_all(dir).unwrap();
}
