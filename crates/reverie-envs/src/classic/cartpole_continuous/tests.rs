use super::*;

/// A state far inside the balance region, so a few steps cannot end the episode.
const CENTRED: [f64; 4] = [0.0, 0.0, 0.0, 0.0];

fn env_at(state: [f64; 4]) -> CartPoleContinuous {
    let mut env = CartPoleContinuous::new();
    env.reset(Some(0));
    env.set_state(&state).unwrap();
    env
}

#[test]
fn spaces() {
    let env = CartPoleContinuous::new();
    assert_eq!(env.action_space(), Space::boxed(vec![-1.0], vec![1.0]));
    assert_eq!(
        env.observation_space(),
        CartPole::balance_observation_space()
    );
}

#[test]
fn reset_is_small_and_reproducible() {
    let mut a = CartPoleContinuous::new();
    let mut b = CartPoleContinuous::new();
    let (obs, _) = a.reset(Some(7));
    assert_eq!(obs, b.reset(Some(7)).0);
    assert!(obs.iter().all(|x| x.abs() <= 0.05), "{obs:?}");
    assert_ne!(obs, a.reset(Some(8)).0);
}

#[test]
fn action_scales_the_cartpole_push() {
    // Action 1 is CartPole's push right, -1 its push left, 0 no push.
    for (action, force) in [(1.0, FORCE_MAG), (-1.0, -FORCE_MAG), (0.0, 0.0)] {
        let mut env = env_at(CENTRED);
        env.step(&[action]).unwrap();
        let want = CartPole::dynamics(CENTRED, force);
        assert_eq!(env.state(), want.to_vec(), "action {action}");
    }
}

#[test]
fn out_of_bounds_actions_are_clipped() {
    for (big, edge) in [(3.5, 1.0), (-1.7, -1.0)] {
        let mut clipped = env_at(CENTRED);
        let mut reference = env_at(CENTRED);
        let got = clipped.step(&[big]).unwrap();
        let want = reference.step(&[edge]).unwrap();
        assert_eq!(got, want);
        assert_eq!(clipped.state(), reference.state());
    }
}

#[test]
fn non_finite_actions_are_refused() {
    let mut env = env_at(CENTRED);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert!(matches!(
            env.step(&[bad]),
            Err(EnvError::InvalidAction { .. })
        ));
    }
    // A refused action leaves the state alone.
    assert_eq!(env.state(), CENTRED.to_vec());
}

#[test]
fn reward_is_one_until_after_termination() {
    let mut env = env_at(CENTRED);
    let step = env.step(&[0.5]).unwrap();
    assert_eq!((step.reward, step.terminated), (1.0, false));

    // The cart is about to leave the track: the terminating step still earns 1.
    let mut env = env_at([2.39, 5.0, 0.0, 0.0]);
    let step = env.step(&[1.0]).unwrap();
    assert!(step.terminated);
    assert_eq!(step.reward, 1.0);
    let step = env.step(&[1.0]).unwrap();
    assert!(step.terminated);
    assert_eq!(step.reward, 0.0);
}

#[test]
fn pole_angle_terminates() {
    let mut env = env_at([0.0, 0.0, 0.2, 1.0]);
    assert!(env.step(&[0.0]).unwrap().terminated);
}
