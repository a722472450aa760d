//! Env frames against Gymnasium 1.4.0's `rgb_array` frames.
//!
//! `tests/render_data/<EnvId>_<k>.rgb` holds Gymnasium's frame of state `k` (the first two
//! states of each env in `benches/render_reference.py`), area-averaged to 64 × 64 and stored
//! as raw RGB bytes (regenerate with `python benches/render_reference.py /tmp/render_ref
//! --test-data crates/reverie-envs/tests/render_data`). reverie's frame is compared with it
//! twice: drawn at the natural size and area-averaged down the same way, and drawn directly
//! at 64 × 64 (what a pixel observation uses).
//!
//! Thresholds, per channel in 0..=255: mean absolute difference below 0.4 and no channel off
//! by more than 64. Measured (Gymnasium 1.4.0, pygame 2.6.1): 0.07-0.23 mean and 17-48 max.
//! What remains is anti-aliasing at shape borders (pygame fills aliased polygons and adds a
//! 1-pixel anti-aliased outline; reverie computes exact area coverage) and pygame's
//! truncation of vertices to whole pixels. The bounds leave about 1.7x / 1.3x headroom over
//! the worst measured case; a wrong scale, offset or flip, a wrong colour, or a shape moved
//! by several full-size pixels exceeds them, while sub-pixel differences do not.

use std::path::PathBuf;

use reverie_core::{Env, Frame};
use reverie_envs::render::{mean_abs_diff, resize_area};

const MEAN_LIMIT: f64 = 0.4;
const MAX_LIMIT: u8 = 64;

fn reference(id: &str, k: usize) -> Frame {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/render_data")
        .join(format!("{id}_{k}.rgb"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut f = Frame::new(64, 64);
    f.data_mut().copy_from_slice(&bytes);
    f
}

fn max_abs_diff(a: &Frame, b: &Frame) -> u8 {
    a.data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| x.abs_diff(y))
        .max()
        .unwrap_or(0)
}

fn check(id: &str, states: [&[f64]; 2]) {
    let mut env = reverie_envs::make(id).expect("registered");
    let (w, h) = env.render_size().expect("renders");
    for (k, s) in states.iter().enumerate() {
        env.simulator_mut()
            .expect("settable")
            .set_state(s)
            .expect("state");
        let gym = reference(id, k);
        let mut full = Frame::new(w, h);
        env.render(&mut full).expect("render");
        let down = resize_area(&full, 64, 64);
        let mut direct = Frame::new(64, 64);
        env.render(&mut direct).expect("render");
        for (what, ours) in [
            ("natural size, area-averaged", &down),
            ("drawn at 64x64", &direct),
        ] {
            let (mean, max) = (mean_abs_diff(ours, &gym), max_abs_diff(ours, &gym));
            println!("{id} state {k} {what}: mean {mean:.3}, max {max}");
            assert!(
                mean < MEAN_LIMIT && max <= MAX_LIMIT,
                "{id} state {k} ({what}): mean |diff| {mean:.3} (limit {MEAN_LIMIT}), max {max} (limit {MAX_LIMIT})"
            );
        }
    }
}

#[test]
fn cartpole_matches_gymnasium() {
    check(
        "CartPole-v1",
        [&[0.0, 0.0, 0.0, 0.0], &[-1.2, 0.0, 0.08, 0.0]],
    );
}

#[test]
fn cartpole_continuous_looks_like_cartpole() {
    // Same picture as CartPole-v1, so Gymnasium's CartPole frames are its reference.
    let mut a = reverie_envs::make("CartPole-v1").unwrap();
    let mut b = reverie_envs::make("CartPoleContinuous-v0").unwrap();
    let s = [0.7, 0.0, -0.1, 0.0];
    a.simulator_mut().unwrap().set_state(&s).unwrap();
    b.simulator_mut().unwrap().set_state(&s).unwrap();
    let (mut fa, mut fb) = (Frame::new(64, 64), Frame::new(64, 64));
    a.render(&mut fa).unwrap();
    b.render(&mut fb).unwrap();
    assert_eq!(fa, fb);
}

#[test]
fn pendulum_matches_gymnasium() {
    check("Pendulum-v1", [&[3.1, 0.0], &[2.2, 0.0]]);
}

#[test]
fn mountain_car_matches_gymnasium() {
    check("MountainCar-v0", [&[-0.5, 0.0], &[-0.95, 0.0]]);
}

#[test]
fn mountain_car_continuous_matches_gymnasium() {
    check("MountainCarContinuous-v0", [&[-0.52, 0.0], &[-0.2, 0.0]]);
}

#[test]
fn acrobot_matches_gymnasium() {
    check(
        "Acrobot-v1",
        [&[0.0, 0.0, 0.0, 0.0], &[0.7, -0.4, 0.0, 0.0]],
    );
}

#[test]
fn every_registered_env_renders_something() {
    for id in [
        "CartPole-v1",
        "CartPoleContinuous-v0",
        "CartPoleSwingUp-v0",
        "Pendulum-v1",
        "MountainCar-v0",
        "MountainCarContinuous-v0",
        "Acrobot-v1",
        "FrozenLake-v1",
        "CliffWalking-v1",
        "Taxi-v4",
        "GridWorld-v0",
        "DynaMaze-v0",
        "BlockingMaze-v0",
        "ShortcutMaze-v0",
        "TicTacToe-v0",
        "ConnectFour-v0",
    ] {
        let mut env = reverie_envs::make(id).expect("registered");
        env.reset(Some(1));
        let (w, h) = env
            .render_size()
            .unwrap_or_else(|| panic!("{id}: no render size"));
        assert!(w >= 64 && h >= 64, "{id}: {w}x{h}");
        for (fw, fh) in [(w, h), (64, 64), (17, 9)] {
            let mut f = Frame::new(fw, fh);
            env.render(&mut f).unwrap_or_else(|e| panic!("{id}: {e}"));
            let first = f.pixel(0, 0);
            let distinct = (0..fh)
                .flat_map(|y| (0..fw).map(move |x| (x, y)))
                .filter(|&(x, y)| f.pixel(x, y) != first)
                .count();
            assert!(distinct > 0, "{id} at {fw}x{fh}: a blank frame");
        }
    }
}

#[test]
fn the_agent_moves_in_grid_frames() {
    let mut env = reverie_envs::make("FrozenLake-v1").unwrap();
    let (w, h) = env.render_size().unwrap();
    env.simulator_mut().unwrap().set_state(&[0.0]).unwrap();
    let mut a = Frame::new(w, h);
    env.render(&mut a).unwrap();
    env.simulator_mut().unwrap().set_state(&[6.0]).unwrap();
    let mut b = Frame::new(w, h);
    env.render(&mut b).unwrap();
    assert_ne!(a, b);
}
