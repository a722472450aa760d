use super::*;

const UPRIGHT: [f64; 4] = [0.0, 0.0, 0.0, 0.0];
const HANGING: [f64; 4] = [0.0, 0.0, PI, 0.0];

fn env_at(state: [f64; 4]) -> CartPoleSwingUp {
    let mut env = CartPoleSwingUp::new();
    env.reset(Some(0));
    env.set_state(&state).unwrap();
    env
}

#[test]
fn spaces() {
    let env = CartPoleSwingUp::new();
    assert_eq!(env.action_space(), Space::boxed(vec![-1.0], vec![1.0]));
    let space = env.observation_space();
    assert_eq!(space.flat_dim(), 5);
    let b = space.as_box().unwrap();
    assert_eq!(&b.low[2..4], &[-1.0, -1.0]);
    assert_eq!(&b.high[2..4], &[1.0, 1.0]);
}

#[test]
fn reset_hangs_the_pole_down() {
    let mut env = CartPoleSwingUp::new();
    for seed in 0..20 {
        let (obs, _) = env.reset(Some(seed));
        let state = env.state();
        assert!((state[2] - PI).abs() <= RESET_HALF_WIDTH, "{state:?}");
        for i in [0, 1, 3] {
            assert!(state[i].abs() <= RESET_HALF_WIDTH, "{state:?}");
        }
        // cos theta is close to -1, and the observation encodes the state.
        assert!(obs[2] < -0.99, "{obs:?}");
        assert_eq!(obs.to_observation(), env.set_state(&state).unwrap());
    }
    let mut other = CartPoleSwingUp::new();
    assert_eq!(env.reset(Some(3)).0, other.reset(Some(3)).0);
}

#[test]
fn reward_is_one_upright_and_small_hanging() {
    assert_eq!(CartPoleSwingUp::reward(&UPRIGHT), 1.0);
    let hanging = CartPoleSwingUp::reward(&HANGING);
    assert!((hanging - (-4.0f64).exp()).abs() < 1e-12, "{hanging}");
    // A full turn is the same pose.
    assert_eq!(
        CartPoleSwingUp::reward(&[0.0, 0.0, 2.0 * PI, 0.0]),
        CartPoleSwingUp::reward(&UPRIGHT)
    );
    // Off centre is worse than centred.
    assert!(CartPoleSwingUp::reward(&[1.0, 0.0, 0.0, 0.0]) < 1.0);
}

#[test]
fn rewards_stay_in_unit_interval_on_random_rollouts() {
    let mut env = CartPoleSwingUp::new();
    let space = env.action_space();
    let mut rng = Rng::seed_from_u64(1);
    for seed in 0..10 {
        env.reset(Some(seed));
        for _ in 0..200 {
            let action = space.sample(&mut rng);
            let a = [action.as_vector().unwrap()[0] * 3.0];
            let step = env.step(&a).unwrap();
            assert!((0.0..=1.0).contains(&step.reward), "{}", step.reward);
            assert!(step.obs.iter().all(|x| x.is_finite()));
            if step.terminated {
                break;
            }
        }
    }
}

#[test]
fn pole_angle_does_not_terminate() {
    // Far past CartPole's 12° limit, spinning: the swing-up keeps going.
    let mut env = env_at([0.0, 0.0, 1.0, 8.0]);
    for _ in 0..50 {
        assert!(!env.step(&[0.0]).unwrap().terminated);
    }
}

#[test]
fn leaving_the_track_terminates() {
    let mut env = env_at([2.39, 5.0, PI, 0.0]);
    let step = env.step(&[1.0]).unwrap();
    assert!(step.terminated);
    assert!(!step.truncated);
    assert!(step.obs[0] > X_THRESHOLD as f32);
    assert!((0.0..=1.0).contains(&step.reward));

    let mut env = env_at([-2.39, -5.0, PI, 0.0]);
    assert!(env.step(&[-1.0]).unwrap().terminated);
}

#[test]
fn dynamics_are_cartpoles_with_clipped_actions() {
    let mut env = env_at(HANGING);
    env.step(&[2.5]).unwrap();
    assert_eq!(env.state(), CartPole::dynamics(HANGING, FORCE_MAG).to_vec());

    let mut env = env_at(HANGING);
    env.step(&[-0.25]).unwrap();
    assert_eq!(
        env.state(),
        CartPole::dynamics(HANGING, -0.25 * FORCE_MAG).to_vec()
    );
}

#[test]
fn non_finite_actions_are_refused() {
    let mut env = env_at(HANGING);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(matches!(
            env.step(&[bad]),
            Err(EnvError::InvalidAction { .. })
        ));
    }
    assert_eq!(env.state(), HANGING.to_vec());
}
