use super::*;

fn agent(config: DynaQConfig, states: usize, actions: usize) -> DynaQ {
    config
        .init(
            &Space::discrete(states as u64),
            &Space::discrete(actions as u64),
            Rng::seed_from_u64(0),
        )
        .unwrap()
}

#[test]
fn planning_propagates_value_backwards_along_a_chain() {
    // Chain 0 -> 1 -> 2 -> goal(3): reward 1 on the last step. After one pass, plain
    // Q-learning has value only at state 2; Dyna with planning spreads it back to 0.
    let config = |n| DynaQConfig {
        alpha: 1.0,
        gamma: 0.9,
        planning_steps: n,
        ..Default::default()
    };
    let mut plain = agent(config(0), 4, 1);
    let mut dyna = agent(config(200), 4, 1);
    for a in [&mut plain, &mut dyna] {
        a.learn(0, 0, 0.0, 1, false);
        a.learn(1, 0, 0.0, 2, false);
        a.learn(2, 0, 1.0, 3, true);
    }
    assert_eq!(plain.q_table().get(0, 0), 0.0);
    assert!((dyna.q_table().get(0, 0) - 0.81).abs() < 1e-12);
    assert_eq!(dyna.updates(), 3 + 3 * 200);
}

#[test]
fn distribution_model_makes_expected_updates() {
    let config = DynaQConfig {
        alpha: 1.0,
        gamma: 1.0,
        planning_steps: 0,
        model: ModelKind::Distribution,
        ..Default::default()
    };
    let mut a = agent(config, 3, 1);
    // From 0: half the time to terminal 1 with reward 1, half to terminal 2 with reward 0.
    a.learn(0, 0, 1.0, 1, true);
    a.learn(0, 0, 0.0, 2, true);
    a.plan(1);
    assert!((a.q_table().get(0, 0) - 0.5).abs() < 1e-12);
    let model = a.count_model().unwrap();
    assert_eq!(model.count(0, 0), 2);
    assert!((model.probability(0, 0, 1) - 0.5).abs() < 1e-12);
}

#[test]
fn dyna_q_plus_raises_long_untried_actions() {
    let config = DynaQConfig {
        kappa: 0.1,
        planning_steps: 0,
        ..Default::default()
    };
    let mut a = agent(config, 2, 2);
    for _ in 0..100 {
        a.learn(0, 0, 0.0, 0, false);
    }
    a.plan(500);
    // Action 1 in state 0 was never tried: its bonus κ√τ makes it look attractive.
    assert!(a.q_table().get(0, 1) > a.q_table().get(0, 0));
}

#[test]
fn kappa_needs_the_deterministic_model() {
    let config = DynaQConfig {
        kappa: 0.1,
        model: ModelKind::Distribution,
        ..Default::default()
    };
    assert!(config.validate().unwrap_err().to_string().contains("kappa"));
}
