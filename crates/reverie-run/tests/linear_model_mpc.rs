//! The seeds' "start with a linear model", through the real training loop: MPC (CEM, the
//! `mpc` preset) in a model fitted by least squares on `[s, a, 1] → [Δs, r]` balances
//! CartPoleContinuous-v0 (the maximum, 200) at seed 0 within 1,000 real steps — the first
//! 200 of them random. Near upright the cart-pole is close to linear, and `reverie
//! model-eval --env CartPole-v1` shows the linear model's open-loop error below the
//! ensemble's there.

use reverie_run::{resolve, train, ConfigRequest, RunLocation};

#[test]
fn mpc_in_a_linear_model_balances_cartpole_continuous_within_1000_steps() {
    let dir = std::env::temp_dir().join(format!("reverie-linear-mpc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = resolve(&ConfigRequest {
        algo: "mpc".into(),
        env: "CartPoleContinuous-v0".into(),
        overrides: vec!["agent.dynamics=\"linear\"".into()],
        seed: Some(0),
        steps: Some(1000),
        ..Default::default()
    })
    .unwrap();
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    assert_eq!(summary.final_eval_return_mean, 200.0, "{summary:?}");
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(
        metrics.contains("charts/model_transitions"),
        "the linear model was fitted"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
