//! The toy-text envs' registry options: accepted values build the intended env, unusable
//! ones are refused as `BadOption` naming the option at fault.

use reverie_core::{Action, InfoValue, Space};
use reverie_envs::{make_with, spec, EnvOptions, MakeError, OptionValue};

fn strs(items: &[&str]) -> OptionValue {
    OptionValue::StrList(items.iter().map(|s| s.to_string()).collect())
}

fn bad_option_key(id: &str, options: &EnvOptions) -> String {
    match make_with(id, options) {
        Err(MakeError::BadOption { key, .. }) => key,
        Err(e) => panic!("{id}: expected BadOption, got {e}"),
        Ok(_) => panic!("{id}: {options:?} was accepted"),
    }
}

#[test]
fn frozen_lake_custom_maps_are_validated() {
    for rows in [
        &["SFF", "FG"][..],
        &["FFF", "FFG"],
        &["SFF", "FFF"],
        &["SFS", "FFG"],
        &["SXG"],
    ] {
        let options = EnvOptions::new().with("desc", strs(rows));
        assert_eq!(
            bad_option_key("FrozenLake-v1", &options),
            "desc",
            "{rows:?}"
        );
    }
    let options = EnvOptions::new()
        .with("desc", strs(&["SG"]))
        .with("map_name", OptionValue::Str("4x4".into()));
    assert_eq!(bad_option_key("FrozenLake-v1", &options), "desc");
    let options = EnvOptions::new().with("map_name", OptionValue::Str("5x5".into()));
    let Err(err) = make_with("FrozenLake-v1", &options) else {
        panic!("unknown map accepted")
    };
    assert!(err.to_string().contains("\"8x8\""), "{err}");
}

#[test]
fn frozen_lake_rewards_slip_and_success_rate_options() {
    let options = EnvOptions::new()
        .with("desc", strs(&["SFG"]))
        .with("is_slippery", OptionValue::Bool(false))
        .with(
            "reward_schedule",
            OptionValue::Str("(2.5, -1, -0.1)".into()),
        );
    let mut env = make_with("FrozenLake-v1", &options).unwrap();
    assert_eq!(env.observation_space(), Space::discrete(3));
    env.reset(Some(0));
    let step = env.step(&Action::Discrete(2)).unwrap();
    assert_eq!((step.reward, step.terminated), (-0.1, false));
    assert_eq!(step.info.get("prob"), Some(&InfoValue::Float(1.0)));
    let step = env.step(&Action::Discrete(2)).unwrap();
    assert_eq!((step.reward, step.terminated), (2.5, true));

    let options = EnvOptions::new().with("reward_schedule", strs(&["1", "0"]));
    assert_eq!(bad_option_key("FrozenLake-v1", &options), "reward_schedule");
    let options = EnvOptions::new().with("reward_schedule", OptionValue::Str("1, nan, 0".into()));
    assert_eq!(bad_option_key("FrozenLake-v1", &options), "reward_schedule");
    let options = EnvOptions::new().with("success_rate", OptionValue::Float(-0.1));
    assert_eq!(bad_option_key("FrozenLake-v1", &options), "success_rate");

    // success_rate = 1 on a slippery lake is deterministic again.
    let options = EnvOptions::new().with("success_rate", OptionValue::Int(1));
    let mut env = make_with("FrozenLake-v1", &options).unwrap();
    env.reset(Some(0));
    for _ in 0..50 {
        env.simulator_mut().unwrap().set_state(&[0.0]).unwrap();
        assert_eq!(
            env.step(&Action::Discrete(2)).unwrap().obs.as_discrete(),
            Some(1)
        );
    }
}

#[test]
fn frozen_lake_random_maps_are_seeded() {
    let options = |seed: i64| {
        EnvOptions::new()
            .with("map_name", OptionValue::Str("random".into()))
            .with("size", OptionValue::Int(6))
            .with("map_seed", OptionValue::Int(seed))
            .with("is_slippery", OptionValue::Bool(false))
    };
    let mut env = make_with("FrozenLake-v1", &options(4)).unwrap();
    assert_eq!(env.observation_space(), Space::discrete(36));
    // The same seed gives the same map: the same deterministic walks end the same way.
    let walk = |env: &mut reverie_core::BoxedEnv| {
        let mut trace = Vec::new();
        for first in 0..4 {
            env.reset(Some(0));
            for t in 0..40 {
                let step = env.step(&Action::Discrete((first + t / 3) % 4)).unwrap();
                trace.push((step.obs.as_discrete().unwrap(), step.terminated));
                if step.terminated {
                    break;
                }
            }
        }
        trace
    };
    let a = walk(&mut env);
    let b = walk(&mut make_with("FrozenLake-v1", &options(4)).unwrap());
    assert_eq!(a, b);

    let options = EnvOptions::new().with("size", OptionValue::Int(6));
    assert_eq!(bad_option_key("FrozenLake-v1", &options), "size");
    let options = EnvOptions::new()
        .with("map_name", OptionValue::Str("random".into()))
        .with("size", OptionValue::Int(1));
    assert_eq!(bad_option_key("FrozenLake-v1", &options), "size");
}

#[test]
fn cliff_walking_has_no_limit_and_an_optional_slip() {
    assert_eq!(spec("CliffWalking-v1").unwrap().max_episode_steps, None);
    let options = EnvOptions::new().with("is_slippery", OptionValue::Bool(true));
    let mut env = make_with("CliffWalking-v1", &options).unwrap();
    env.reset(Some(0));
    let mut reached = std::collections::BTreeSet::new();
    for _ in 0..300 {
        env.simulator_mut().unwrap().set_state(&[24.0]).unwrap();
        reached.insert(
            env.step(&Action::Discrete(1))
                .unwrap()
                .obs
                .as_discrete()
                .unwrap(),
        );
    }
    // Right from (2, 0): up (12), right (25) or down (36), a third each.
    assert_eq!(reached.into_iter().collect::<Vec<_>>(), vec![12, 25, 36]);
}

#[test]
fn taxi_variants_and_their_validation() {
    for (key, value) in [
        ("is_rainy", OptionValue::Bool(true)),
        ("fickle_passenger", OptionValue::Bool(true)),
    ] {
        let mut env = make_with("Taxi-v4", &EnvOptions::new().with(key, value)).unwrap();
        env.reset(Some(1));
        for t in 0..200 {
            let step = env.step(&Action::Discrete(t % 6)).unwrap();
            assert!(
                matches!(step.info.get("action_mask"), Some(InfoValue::Ints(m)) if m.len() == 6)
            );
        }
    }
    for key in ["rainy_probability", "fickle_probability"] {
        let options = EnvOptions::new().with(key, OptionValue::Float(1.5));
        assert_eq!(bad_option_key("Taxi-v4", &options), key);
    }
}

#[test]
fn gridworld_is_cut_at_100_steps() {
    let mut env = make_with("GridWorld-v0", &EnvOptions::new()).unwrap();
    env.reset(Some(0));
    for t in 1..=100 {
        // Up from the top row never moves.
        let step = env.step(&Action::Discrete(0)).unwrap();
        assert_eq!((step.obs.as_discrete(), step.reward), (Some(0), -1.0));
        assert_eq!(step.truncated, t == 100);
    }
}
