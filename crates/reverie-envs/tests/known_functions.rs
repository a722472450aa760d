//! Guards the env-owned known functions: for every registered env, under several option
//! sets, the reward and termination an env publishes on observations equal what the env
//! itself returns, on random transitions from random states (so goals and failures are
//! reached often). A table of functions keyed by env id used to ignore options such as
//! `goal_velocity` and `sutton_barto_reward`; this test fails on such a mismatch.

use reverie_core::{Action, Dtype, DynEnv, Observation, Rng, Space};
use reverie_envs::{specs, EnvOptions, OptionValue};

/// Option sets tried per env, besides the defaults.
fn option_sets(id: &str) -> Vec<EnvOptions> {
    let float = |key: &str, x: f64| EnvOptions::new().with(key, OptionValue::Float(x));
    match id {
        "CartPole-v1" => {
            vec![EnvOptions::new().with("sutton_barto_reward", OptionValue::Bool(true))]
        }
        "MountainCar-v0" | "MountainCarContinuous-v0" => vec![
            float("goal_velocity", 0.05),
            float("goal_velocity", 0.01),
            float("goal_velocity", -0.02),
        ],
        "Pendulum-v1" => vec![float("g", 9.81), float("g", 2.0)],
        _ => Vec::new(),
    }
}

/// A random simulator state for `id`, spread over the region where its reward and
/// termination change (near goals and failure bounds); `None` keeps the current state.
fn random_state(id: &str, rng: &mut Rng) -> Option<Vec<f64>> {
    let mut u = |low: f64, high: f64| rng.uniform_range(low, high);
    Some(match id {
        "CartPole-v1" | "CartPoleContinuous-v0" => {
            vec![u(-2.6, 2.6), u(-2.0, 2.0), u(-0.25, 0.25), u(-2.0, 2.0)]
        }
        "CartPoleSwingUp-v0" => vec![u(-2.6, 2.6), u(-2.0, 2.0), u(-4.0, 4.0), u(-5.0, 5.0)],
        "MountainCar-v0" | "MountainCarContinuous-v0" => vec![u(0.3, 0.6), u(-0.07, 0.07)],
        "Pendulum-v1" => vec![u(-4.0, 4.0), u(-8.0, 8.0)],
        "Acrobot-v1" => vec![u(-3.2, 3.2), u(-3.2, 3.2), u(-12.0, 12.0), u(-28.0, 28.0)],
        _ => return None,
    })
}

/// The action as the known functions take it: the raw vector, or one-hot.
fn raw_action(space: &Space, action: &Action) -> Vec<f32> {
    match (space, action) {
        (Space::Discrete { n, start }, Action::Discrete(a)) => (0..*n as i64)
            .map(|i| (i == a - start) as u8 as f32)
            .collect(),
        (_, Action::Vector(v)) => v.clone(),
        _ => unreachable!("sampled from the space"),
    }
}

/// Box actions sampled from 1.5× the bounds, so clipping is exercised; discrete ones among
/// those `mask` allows (the board games refuse illegal moves).
fn sample_action(space: &Space, mask: Option<&[i64]>, rng: &mut Rng) -> Action {
    match space {
        Space::Box(b) => Action::Vector(
            b.low
                .iter()
                .zip(&b.high)
                .map(|(l, h)| {
                    let half = 0.75 * (h - l);
                    let mid = 0.5 * (h + l);
                    rng.uniform_range((mid - half) as f64, (mid + half) as f64) as f32
                })
                .collect(),
        ),
        _ => space.sample_masked(mask, rng),
    }
}

#[test]
fn known_functions_equal_the_envs_own_reward_and_termination_under_options() {
    let mut checked = 0;
    for spec in specs() {
        let mut sets = vec![EnvOptions::new()];
        sets.extend(option_sets(spec.id));
        for options in sets {
            let mut env = spec.make(&options).unwrap();
            let known = spec.known_functions(&options).unwrap();
            let vector_obs =
                matches!(env.observation_space(), Space::Box(b) if b.dtype == Dtype::F32);
            if !vector_obs {
                // Discrete and pixel observations: rewards are not functions of them.
                assert!(known.is_empty(), "{}: not vector observations", spec.id);
                continue;
            }
            let (Some(reward), Some(termination)) = (&known.reward, &known.termination) else {
                panic!(
                    "{} has Box observations but publishes no known functions",
                    spec.id
                );
            };
            let space = env.action_space();
            let mut rng = Rng::seed_from_u64(7);
            let (mut obs, mut info) = env.reset(Some(0));
            let (mut terminations, mut steps) = (0, 0);
            for _ in 0..3000 {
                if rng.uniform() < 0.5 {
                    if let Some(state) = random_state(spec.id, &mut rng) {
                        obs = env
                            .simulator_mut()
                            .expect("the env's state can be set")
                            .set_state(&state)
                            .unwrap();
                    }
                }
                let action = sample_action(&space, info.action_mask(), &mut rng);
                let step = env.step(&action).unwrap();
                let as_vec = |o: &Observation| o.as_vector().unwrap().to_vec();
                let (o, n, a) = (as_vec(&obs), as_vec(&step.obs), raw_action(&space, &action));
                let r = reward(&o, &a, &n) as f64;
                assert!(
                    (r - step.reward).abs() <= 1e-4 * (1.0 + step.reward.abs()),
                    "{} {options:?}: known reward {r}, env {} (obs {o:?}, action {a:?})",
                    spec.id,
                    step.reward
                );
                assert_eq!(
                    termination(&o, &a, &n),
                    step.terminated,
                    "{} {options:?}: known termination (next {n:?})",
                    spec.id
                );
                terminations += step.terminated as u32;
                steps += 1;
                (obs, info) = if step.terminated || step.truncated {
                    env.reset(None)
                } else {
                    (step.obs, step.info)
                };
            }
            // These never terminate: their episodes only end at their time limits.
            let never_terminates = matches!(
                spec.id,
                "Pendulum-v1" | "MinAtar/Freeway-v0" | "MinAtar/Freeway-v1"
            );
            if !never_terminates {
                assert!(
                    terminations > 10,
                    "{}: only {terminations} terminations",
                    spec.id
                );
            }
            checked += steps;
        }
    }
    assert!(checked > 30_000, "{checked} transitions checked");
}

/// The bug this guards: with `goal_velocity = 0.05` a car at the goal position moving at
/// 0.02 is not done, and the known termination must say so too.
#[test]
fn mountain_car_goal_velocity_reaches_the_known_termination() {
    let options = EnvOptions::new().with("goal_velocity", OptionValue::Float(0.05));
    for id in ["MountainCar-v0", "MountainCarContinuous-v0"] {
        let default = reverie_envs::known_functions(id, &EnvOptions::new()).unwrap();
        let strict = reverie_envs::known_functions(id, &options).unwrap();
        let next = [0.55f32, 0.02];
        let done = |k: &reverie_core::KnownFunctions| {
            (k.termination.as_ref().unwrap())(&[0.5, 0.0], &[0.0], &next)
        };
        assert!(done(&default), "{id}: default goal velocity 0");
        assert!(!done(&strict), "{id}: goal velocity 0.05");
    }
    let sutton_barto = EnvOptions::new().with("sutton_barto_reward", OptionValue::Bool(true));
    let known = reverie_envs::known_functions("CartPole-v1", &sutton_barto).unwrap();
    let reward = known.reward.unwrap();
    assert_eq!(reward(&[0.0; 4], &[1.0, 0.0], &[0.0; 4]), 0.0);
    assert_eq!(reward(&[0.0; 4], &[1.0, 0.0], &[3.0, 0.0, 0.0, 0.0]), -1.0);
}
