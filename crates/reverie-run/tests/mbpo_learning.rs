//! MBPO learns Pendulum-v1 from far fewer real steps than SAC: with the shipped preset and
//! seed 0 it reaches an evaluation of −200 within 1,250 real steps (SAC: median 3,500, see
//! `reverie experiment mbpo-vs-sac`).

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
