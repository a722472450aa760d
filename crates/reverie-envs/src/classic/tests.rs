use super::*;
use reverie_core::{Env, EnvError, ObsValue, Observation, SimulatorState};

/// `set_state` with the wrong number of values is refused with `InvalidState` naming the
/// env, and leaves the state alone.
fn check_set_state_errors<E: Env + SimulatorState>(mut env: E, id: &str, len: usize) {
    env.reset(Some(0));
    let before = env.state();
    assert_eq!(before.len(), len, "{id}: state length");
    for bad_len in [0, len - 1, len + 1] {
        match env.set_state(&vec![0.1; bad_len]) {
            Err(EnvError::InvalidState { env: name, reason }) => {
                assert_eq!(name, id);
                assert!(reason.contains(&format!("got {bad_len}")), "{id}: {reason}");
            }
            other => panic!("{id}: set_state with {bad_len} values gave {other:?}"),
        }
    }
    assert_eq!(env.state(), before, "{id}: a refused state changed the env");
    // A state of the right length is taken as is.
    let state: Vec<f64> = (0..len).map(|i| 0.01 * i as f64).collect();
    env.set_state(&state).unwrap();
    assert_eq!(env.state(), state, "{id}");
}

#[test]
fn set_state_refuses_wrong_lengths() {
    check_set_state_errors(CartPole::new(), "CartPole-v1", 4);
    check_set_state_errors(Pendulum::new(), "Pendulum-v1", 2);
    check_set_state_errors(MountainCar::new(), "MountainCar-v0", 2);
    check_set_state_errors(MountainCarContinuous::new(), "MountainCarContinuous-v0", 2);
    check_set_state_errors(Acrobot::new(), "Acrobot-v1", 4);
    check_set_state_errors(CartPoleContinuous::new(), "CartPoleContinuous-v0", 4);
    check_set_state_errors(CartPoleSwingUp::new(), "CartPoleSwingUp-v0", 4);
}

/// Reseeding gives the same episode start; continuing the stream gives a new one.
fn check_reseed<E: Env + SimulatorState>(mut env: E) {
    let (first, _) = env.reset(Some(5));
    let state = env.state();
    env.reset(None);
    assert_ne!(env.state(), state);
    let (again, _) = env.reset(Some(5));
    assert_eq!(env.state(), state);
    assert_eq!(again.to_observation(), first.to_observation());
}

#[test]
fn reset_reseeds() {
    check_reseed(Pendulum::new());
    check_reseed(MountainCar::new());
    check_reseed(MountainCarContinuous::new());
    check_reseed(Acrobot::new());
    check_reseed(CartPoleContinuous::new());
    check_reseed(CartPoleSwingUp::new());
}

#[test]
fn reset_distributions() {
    let mut pendulum = Pendulum::new();
    let mut car = MountainCar::new();
    let mut car_continuous = MountainCarContinuous::new();
    let mut acrobot = Acrobot::new();
    for seed in 0..50 {
        pendulum.reset(Some(seed));
        let [theta, theta_dot] = pendulum.state()[..] else {
            unreachable!()
        };
        assert!(theta.abs() <= std::f64::consts::PI && theta_dot.abs() <= 1.0);

        for state in [
            (car.reset(Some(seed)), car.state()).1,
            (car_continuous.reset(Some(seed)), car_continuous.state()).1,
        ] {
            assert!((-0.6..=-0.4).contains(&state[0]), "{state:?}");
            assert_eq!(state[1], 0.0);
        }

        acrobot.reset(Some(seed));
        for x in acrobot.state() {
            // Stored as float32, like Gymnasium's reset state.
            assert!(x.abs() <= 0.1 && (x as f32) as f64 == x, "{x}");
        }
    }
}

#[test]
fn pendulum_normalizes_angles_with_floor_modulo() {
    // A negative angle: Rust's `%` would keep the sign of the dividend and the cost would
    // see the wrong angle. theta = -3π/2 is π/2 away from upright.
    let mut env = Pendulum::new();
    env.reset(Some(0));
    let theta = -1.5 * std::f64::consts::PI;
    env.set_state(&[theta, 0.0]).unwrap();
    let step = env.step(&[0.0]).unwrap();
    let want = -(std::f64::consts::FRAC_PI_2 * std::f64::consts::FRAC_PI_2);
    assert!(
        (step.reward - want).abs() < 1e-12,
        "{} != {want}",
        step.reward
    );
    // Out-of-range torques are clipped: 5.0 acts like 2.0.
    let mut a = Pendulum::new();
    let mut b = Pendulum::new();
    a.set_state(&[0.3, 0.1]).unwrap();
    b.set_state(&[0.3, 0.1]).unwrap();
    assert_eq!(a.step(&[5.0]).unwrap(), b.step(&[2.0]).unwrap());
}

#[test]
fn pendulum_gravity_option_changes_the_dynamics() {
    let mut earth = Pendulum::new();
    let mut moon = Pendulum::new().with_gravity(1.62);
    earth.set_state(&[1.0, 0.0]).unwrap();
    moon.set_state(&[1.0, 0.0]).unwrap();
    let fast = earth.step(&[0.0]).unwrap().obs[2];
    let slow = moon.step(&[0.0]).unwrap().obs[2];
    assert!(fast > slow && slow > 0.0, "{fast} {slow}");
}

#[test]
fn mountain_car_continuous_charges_the_raw_action_and_stores_f32() {
    let mut a = MountainCarContinuous::new();
    let mut b = MountainCarContinuous::new();
    a.set_state(&[-0.5, 0.0]).unwrap();
    b.set_state(&[-0.5, 0.0]).unwrap();
    let big = a.step(&[3.0]).unwrap();
    let edge = b.step(&[1.0]).unwrap();
    // The force is clipped, so the motion matches...
    assert_eq!(big.obs, edge.obs);
    // ...but the cost is on the action as given.
    assert_eq!(big.reward, -(3.0 * 3.0) * 0.1);
    assert_eq!(edge.reward, -0.1);
    // After a step the state is float32, as Gymnasium stores it.
    assert!(a.state().iter().all(|&x| (x as f32) as f64 == x));
}

#[test]
fn mountain_cars_reach_the_goal() {
    let mut car = MountainCar::new();
    car.set_state(&[0.499, 0.05]).unwrap();
    let step = car.step(&2).unwrap();
    assert!(step.terminated);
    assert_eq!(step.reward, -1.0);

    let mut car = MountainCarContinuous::new();
    car.set_state(&[0.449, 0.05]).unwrap();
    let step = car.step(&[0.0]).unwrap();
    assert!(step.terminated);
    assert_eq!(step.reward, 100.0);

    // A demanding goal velocity keeps the episode going.
    let mut car = MountainCar::new().with_goal_velocity(0.06);
    car.set_state(&[0.499, 0.05]).unwrap();
    assert!(!car.step(&2).unwrap().terminated);
}

#[test]
fn acrobot_rewards_and_wraps() {
    let mut env = Acrobot::new();
    env.reset(Some(0));
    let step = env.step(&1).unwrap();
    assert_eq!((step.reward, step.terminated), (-1.0, false));
    // Tip well above the line: the next step terminates with reward 0.
    env.set_state(&[std::f64::consts::PI, 0.0, 0.0, 0.0])
        .unwrap();
    let step = env.step(&1).unwrap();
    assert_eq!((step.reward, step.terminated), (0.0, true));
    // Angles stay in [-π, π] and velocities within their limits.
    env.set_state(&[3.1, -3.1, 12.0, -28.0]).unwrap();
    for _ in 0..100 {
        env.step(&2).unwrap();
        let s = env.state();
        assert!(s[0].abs() <= std::f64::consts::PI && s[1].abs() <= std::f64::consts::PI);
        assert!(s[2].abs() <= 4.0 * std::f64::consts::PI);
        assert!(s[3].abs() <= 9.0 * std::f64::consts::PI);
    }
}

/// Wrappers pass the inner env's settable state through and leave their counters alone.
#[test]
fn wrappers_forward_the_state_and_keep_their_counters() {
    use reverie_core::{RecordEpisodeStats, TimeLimit};
    let mut env = RecordEpisodeStats::new(TimeLimit::new(CartPole::new(), Some(5)));
    env.reset(Some(0));
    for _ in 0..3 {
        env.step(&0).unwrap();
    }
    let state = [0.1, 0.0, 0.02, 0.0];
    let obs = env.simulator_mut().unwrap().set_state(&state).unwrap();
    assert_eq!(obs, Observation::Vector(vec![0.1, 0.0, 0.02, 0.0]));
    assert_eq!(env.simulator().unwrap().state(), state.to_vec());
    assert_eq!(env.inner().elapsed_steps(), Some(3));
    // The time limit still counts from the reset: steps 4 and 5, then truncation.
    env.step(&0).unwrap();
    let step = env.step(&0).unwrap();
    assert!(step.truncated);
    assert_eq!(env.last_episode().unwrap().length, 5);
}
