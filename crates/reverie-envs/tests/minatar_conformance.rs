//! MinAtar Breakout and Space Invaders against the reference `minatar` 1.0.15 package:
//! trajectories recorded by `benches/minatar_reference.py` (random play, and a policy of the
//! script's own that plays long episodes) replay step for step. The reference draws from NumPy's
//! `RandomState`, which reverie does not reproduce, so the replay feeds the game the same
//! draws: Breakout's ball start side (read off each episode's first state) and the action
//! the env settled on after its sticky-action draw. Every state, reward and terminal flag must
//! then match exactly.

use reverie_core::{Action, Observation, Space};
use reverie_envs::minatar::{Breakout, Freeway, MinAtarGame, SpaceInvaders, GRID};
use reverie_envs::{make_with, EnvOptions, OptionValue};
use serde_json::Value;

/// The recorded state: hex of NumPy's `packbits` over `[row][col][channel]`.
fn unpack(hex: &str, len: usize) -> Vec<f32> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (0..len)
        .map(|i| ((bytes[i / 8] >> (7 - i % 8)) & 1) as f32)
        .collect()
}

fn state<G: MinAtarGame>(game: &G) -> Vec<f32> {
    let mut out = vec![0.0; GRID * GRID * G::CHANNELS.len()];
    game.write_state(&mut out);
    out
}

/// Replays every recorded episode of `data` through `G`, built for each episode by `start`
/// from its first state; returns `(steps, total reward, largest episode reward)`.
fn replay<G: MinAtarGame>(
    data: &str,
    start: impl Fn(&[f32]) -> G,
    step: impl Fn(&mut G, usize, &[f32]) -> (f32, bool),
) -> (usize, f32, f32) {
    let data: Value = serde_json::from_str(data).unwrap();
    let len = GRID * GRID * G::CHANNELS.len();
    assert_eq!(data["channels"].as_u64(), Some(G::CHANNELS.len() as u64));
    let (mut steps, mut rewards, mut best) = (0, 0.0, 0.0f32);
    for run in data["runs"].as_array().unwrap() {
        for (e, episode) in run["episodes"].as_array().unwrap().iter().enumerate() {
            let first = unpack(episode["start"].as_str().unwrap(), len);
            let mut game = start(&first);
            assert_eq!(
                state(&game),
                first,
                "seed {}, episode {e}: start",
                run["seed"]
            );
            let mut episode_reward = 0.0;
            for (t, recorded) in episode["steps"].as_array().unwrap().iter().enumerate() {
                let settled = recorded[1].as_u64().unwrap() as usize;
                let next = unpack(recorded[4].as_str().unwrap(), len);
                let (reward, terminal) = step(&mut game, settled, &next);
                let at = format!("seed {}, episode {e}, step {t}", run["seed"]);
                assert_eq!(reward as f64, recorded[2].as_f64().unwrap(), "{at}: reward");
                assert_eq!(terminal, recorded[3].as_bool().unwrap(), "{at}: terminal");
                assert_eq!(state(&game), next, "{at}");
                episode_reward += reward;
                steps += 1;
            }
            rewards += episode_reward;
            best = best.max(episode_reward);
        }
    }
    (steps, rewards, best)
}

#[test]
fn breakout_replays_the_reference_trajectories_exactly() {
    // The ball starts in row 3, at column 0 or 9 (channel 1).
    let (steps, rewards, best) = replay(
        include_str!("data/minatar_breakout.json"),
        |first| Breakout::start(first[(3 * GRID + 9) * 4 + 1] == 1.0),
        |game, action, _| game.step(action),
    );
    assert_eq!(
        steps, 8000,
        "5 random runs of 400 steps, 3 ball-following runs of 2,000"
    );
    assert!(rewards > 300.0, "{rewards}: bricks were broken");
    // More than 30 bricks in one episode: the wall was cleared and rebuilt.
    assert!(best > 30.0, "{best}");
}

#[test]
fn space_invaders_replays_the_reference_trajectories_exactly() {
    // The reference's reset draws nothing.
    let (steps, rewards, best) = replay(
        include_str!("data/minatar_space_invaders.json"),
        |_| SpaceInvaders::start(),
        |game, action, _| game.step(action),
    );
    assert_eq!(
        steps, 8000,
        "5 random runs of 400 steps, 3 shooting runs of 2,000"
    );
    assert!(rewards > 300.0, "{rewards}: aliens were shot");
    // The recorded play does not clear a wave (24 aliens); the unit tests cover it.
    assert!(best >= 20.0, "{best}");
}

#[test]
fn freeway_replays_the_reference_trajectories_exactly() {
    // The cars' velocities are drawn at reset and at each crossing; a frame shows them
    // (trail channel and side), so the replay reads the reference's draws off its frames.
    let (steps, rewards, _) = replay(
        include_str!("data/minatar_freeway.json"),
        |first| Freeway::start(Freeway::velocities_of(first)),
        |game, action, next| game.step(action, &mut || Freeway::velocities_of(next)),
    );
    assert_eq!(
        steps, 9800,
        "5 random runs of 400 steps, 3 upward runs of 2,600"
    );
    assert!(rewards > 30.0, "{rewards}: the chicken crossed");
}

#[test]
fn the_registered_envs_have_the_reference_spaces_and_sticky_actions() {
    let env = |id: &str, sticky: f64| {
        let options = EnvOptions::new().with("sticky_action_prob", OptionValue::Float(sticky));
        make_with(id, &options).unwrap()
    };
    let full = env("MinAtar/Breakout-v0", 0.1);
    assert_eq!(full.action_space(), Space::discrete(6));
    let Space::Box(obs) = full.observation_space() else {
        panic!("a box of channels")
    };
    assert_eq!(obs.shape, vec![10, 10, 4]);
    assert_eq!(
        env("MinAtar/Breakout-v1", 0.1).action_space(),
        Space::discrete(3)
    );
    // The paddle's column after 3 presses of "left" (minimal action 1) from column 4. With
    // sticky actions always on, the first action (a no-op) sticks forever.
    let paddle_after_lefts = |sticky: f64| {
        let mut minatar = env("MinAtar/Breakout-v1", sticky);
        minatar.reset(Some(0));
        let mut obs = Vec::new();
        for _ in 0..3 {
            let Observation::Vector(o) = minatar.step(&Action::Discrete(1)).unwrap().obs else {
                panic!("float channels")
            };
            obs = o;
        }
        (0..GRID).find(|&col| obs[(9 * GRID + col) * 4] == 1.0)
    };
    assert_eq!(paddle_after_lefts(0.0), Some(1));
    assert_eq!(paddle_after_lefts(1.0), Some(4));
    let bad = EnvOptions::new().with("sticky_action_prob", OptionValue::Float(1.5));
    let Err(err) = make_with("MinAtar/Breakout-v1", &bad) else {
        panic!("a sticky probability of 1.5 was accepted")
    };
    let err = err.to_string();
    assert!(err.contains("sticky_action_prob"), "{err}");
}
