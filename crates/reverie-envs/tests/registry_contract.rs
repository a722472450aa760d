//! Every registered env passes the API contract checker, refuses invalid actions with a
//! clear error, and reproduces its trajectories from a seed.

use reverie_core::env_check::{check_env, SKIPPED_NO_STATE};
use reverie_core::{Action, DynEnv, EnvError, Space};
use reverie_envs::{make, make_with, specs, EnvOptions, MakeError, OptionValue};

#[test]
fn every_registered_env_passes_env_check() {
    for spec in specs() {
        let make_env = || make(spec.id).unwrap();
        let report = check_env(&make_env, 3);
        let failures: Vec<String> = report
            .checks
            .iter()
            .filter_map(|c| c.outcome.as_ref().err().map(|e| format!("{}: {e}", c.name)))
            .collect();
        assert!(failures.is_empty(), "{}:\n{}", spec.id, failures.join("\n"));
        // Registered envs can all set their state: the check ran.
        let state_check = report
            .checks
            .iter()
            .find(|c| c.name.starts_with("set_state"))
            .unwrap();
        assert_ne!(
            state_check.outcome.as_deref(),
            Ok(SKIPPED_NO_STATE),
            "{}",
            spec.id
        );
    }
}

#[test]
fn invalid_actions_are_refused_with_what_was_wrong() {
    for spec in specs() {
        let mut env = make(spec.id).unwrap();
        env.reset(Some(0));
        match env.action_space() {
            Space::Discrete { n, .. } => {
                let err = env.step(&Action::Discrete(n as i64)).unwrap_err();
                assert!(
                    err.to_string().contains("out of range"),
                    "{}: {err}",
                    spec.id
                );
                let err = env.step(&Action::Discrete(-1)).unwrap_err();
                assert!(matches!(err, EnvError::InvalidAction { .. }), "{}", spec.id);
                let err = env.step(&Action::Vector(vec![0.5])).unwrap_err();
                assert!(err.to_string().contains("discrete"), "{}: {err}", spec.id);
            }
            Space::Box(b) => {
                let err = env
                    .step(&Action::Vector(vec![f32::NAN; b.dim()]))
                    .unwrap_err();
                assert!(err.to_string().contains("NaN"), "{}: {err}", spec.id);
                let err = env
                    .step(&Action::Vector(vec![f32::INFINITY; b.dim()]))
                    .unwrap_err();
                assert!(matches!(err, EnvError::InvalidAction { .. }), "{}", spec.id);
                let err = env
                    .step(&Action::Vector(vec![0.0; b.dim() + 1]))
                    .unwrap_err();
                assert!(
                    err.to_string().contains("wrong shape"),
                    "{}: {err}",
                    spec.id
                );
                let err = env.step(&Action::Discrete(0)).unwrap_err();
                assert!(matches!(err, EnvError::InvalidAction { .. }), "{}", spec.id);
            }
        }
        // The refused actions changed nothing: the env still steps normally.
        let action = env
            .action_space()
            .sample(&mut reverie_core::Rng::seed_from_u64(1));
        env.step(&action).unwrap();
    }
}

#[test]
fn step_before_reset_is_refused() {
    for spec in specs() {
        let mut env = make(spec.id).unwrap();
        let action = env
            .action_space()
            .sample(&mut reverie_core::Rng::seed_from_u64(1));
        assert_eq!(
            env.step(&action).unwrap_err(),
            EnvError::ResetNeeded,
            "{}",
            spec.id
        );
    }
}

#[test]
fn unknown_ids_and_options_are_refused_with_the_valid_ones() {
    let Err(err) = make("cartpole-v1") else {
        panic!("lowercase id accepted")
    };
    let text = err.to_string();
    assert!(text.contains("did you mean 'CartPole-v1'"), "{text}");
    assert!(text.contains("Taxi-v4"), "{text}");

    let options = EnvOptions::new().with("slippery", OptionValue::Bool(false));
    let Err(err) = make_with("FrozenLake-v1", &options) else {
        panic!("unknown option accepted")
    };
    assert!(matches!(err, MakeError::UnknownOption { .. }));
    assert!(err.to_string().contains("is_slippery"), "{err}");

    let options = EnvOptions::new().with("max_episode_steps", OptionValue::Int(0));
    assert!(make_with("CartPole-v1", &options).is_err());
    let options = EnvOptions::new().with("max_episode_steps", OptionValue::Int(7));
    let mut env = make_with("CartPole-v1", &options).unwrap();
    env.reset(Some(0));
    let mut steps = 0;
    loop {
        steps += 1;
        let s = env.step(&Action::Discrete((steps % 2) as i64)).unwrap();
        if s.terminated || s.truncated {
            assert!(s.truncated);
            break;
        }
    }
    assert_eq!(steps, 7);
}

#[test]
fn set_state_refuses_states_of_the_wrong_size() {
    for spec in specs() {
        let mut env = make(spec.id).unwrap();
        env.reset(Some(0));
        // Every registered env is native (or pixels over one): its state can be set.
        let simulator = env
            .simulator_mut()
            .unwrap_or_else(|| panic!("{}: no settable state", spec.id));
        let mut state = simulator.state();
        state.push(0.0);
        let err = simulator.set_state(&state).unwrap_err();
        assert!(
            matches!(err, EnvError::InvalidState { .. }),
            "{}: {err}",
            spec.id
        );
    }
}

/// Every native env's observation determines its state (the oracle planner starts from it):
/// setting the state recovered from an observation gives that observation back (within f32
/// rounding for the envs that observe angles as `cos`/`sin`). Pixel variants and MinAtar do
/// not.
#[test]
fn the_state_behind_an_observation_reproduces_it() {
    for spec in reverie_envs::specs() {
        let mut env = spec.make(&reverie_envs::EnvOptions::new()).unwrap();
        let space = env.action_space();
        let mut rng = reverie_core::Rng::seed_from_u64(3);
        let (mut obs, mut info) = env.reset(Some(3));
        for _ in 0..20 {
            let state = env.simulator().unwrap().state_of_observation(&obs);
            let Some(state) = state else {
                // MinAtar's frames do not show all of the game's state (the ball's
                // direction after a bounce), as the pixel variants do not.
                assert!(
                    spec.id.contains("Pixels") || spec.id.starts_with("MinAtar/"),
                    "{}: no state behind {obs:?}",
                    spec.id
                );
                break;
            };
            let back = env.simulator_mut().unwrap().set_state(&state).unwrap();
            match (&obs, &back) {
                (reverie_core::Observation::Vector(a), reverie_core::Observation::Vector(b)) => {
                    for (x, y) in a.iter().zip(b) {
                        assert!(
                            (x - y).abs() <= 1e-6 * (1.0 + x.abs()),
                            "{}: {a:?} vs {b:?}",
                            spec.id
                        );
                    }
                }
                _ => assert_eq!(obs, back, "{}", spec.id),
            }
            let step = env
                .step(&space.sample_masked(info.action_mask(), &mut rng))
                .unwrap();
            (obs, info) = if step.terminated || step.truncated {
                env.reset(None)
            } else {
                (step.obs, step.info)
            };
        }
    }
}
