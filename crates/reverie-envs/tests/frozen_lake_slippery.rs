//! Slippery FrozenLake cannot replay Gymnasium's trajectories (reverie does not reproduce
//! numpy's generator), so its dynamics are tested statistically: the transition table must be
//! Gymnasium's (probabilities summing to 1, 1/3 each by default), and stepping must reach each
//! next state as often as the table says.
//!
//! Tolerance: for `n` draws of an outcome with probability `p`, the empirical frequency has
//! standard error `sqrt(p (1 - p) / n)`; each frequency must lie within 5 standard errors.
//! A correct env fails one such check with probability ~6e-7, so even the ~300 checks here
//! fail spuriously with probability ~2e-4 (and the seeds are fixed, so a pass is stable).
//! A wrong slip rule moves some frequency by at least 1/6 (e.g. a perpendicular slip
//! replaced by the opposite direction), ten standard errors at n = 20,000.

use std::collections::BTreeMap;

use reverie_core::{Env, InfoValue, SimulatorState};
use reverie_envs::toy_text::{FrozenLake, FrozenLakeConfig};
use reverie_envs::{make, make_with, EnvOptions, OptionValue};

const DRAWS: usize = 20_000;
const MAX_STANDARD_ERRORS: f64 = 5.0;

/// `P[s][a]` aggregated by next state (slips into a wall duplicate the staying state).
fn next_state_probabilities(env: &FrozenLake, s: usize, a: usize) -> BTreeMap<usize, f64> {
    let mut by_state = BTreeMap::new();
    for t in env.transitions(s, a) {
        *by_state.entry(t.next_state).or_insert(0.0) += t.prob;
    }
    by_state
}

/// Steps `DRAWS` times from `s` with action `a` and checks the next-state frequencies, the
/// rewards, the flags and `info["prob"]` against the table.
fn check_sampling(env: &mut FrozenLake, s: usize, a: usize) {
    let expected = next_state_probabilities(env, s, a);
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for _ in 0..DRAWS {
        env.set_state(&[s as f64]).unwrap();
        let step = env.step(&(a as i64)).unwrap();
        let next = step.obs as usize;
        *counts.entry(next).or_insert(0) += 1;
        // The step reports an entry of the table that leads where it went.
        let Some(InfoValue::Float(prob)) = step.info.get("prob") else {
            panic!("info[\"prob\"] missing: {:?}", step.info)
        };
        let entry = env
            .transitions(s, a)
            .iter()
            .find(|t| t.next_state == next && t.prob == *prob)
            .unwrap_or_else(|| panic!("P[{s}][{a}] has no entry to {next} with prob {prob}"));
        assert_eq!(
            (step.reward, step.terminated),
            (entry.reward, entry.terminated)
        );
        assert!(!step.truncated);
    }
    for (next, count) in &counts {
        assert!(
            expected.contains_key(next),
            "P[{s}][{a}] = {expected:?} never leads to {next}, yet it was reached {count} times"
        );
    }
    for (next, p) in &expected {
        let freq = *counts.get(next).unwrap_or(&0) as f64 / DRAWS as f64;
        let se = (p * (1.0 - p) / DRAWS as f64).sqrt();
        let tolerance = MAX_STANDARD_ERRORS * se;
        assert!(
            (freq - p).abs() <= tolerance,
            "P[{s}][{a}] -> {next}: frequency {freq:.4} over {DRAWS} draws, expected {p:.4} \
             (± {tolerance:.4} = {MAX_STANDARD_ERRORS} standard errors)"
        );
    }
}

#[test]
fn default_table_is_gymnasiums_with_thirds() {
    let env = FrozenLake::default();
    assert!(
        env.config().is_slippery,
        "FrozenLake is slippery by default"
    );
    assert_eq!(env.n_states(), 16);
    assert_eq!(env.n_actions(), 4);
    for s in 0..env.n_states() {
        let absorbing = matches!(env.tile(s), b'H' | b'G');
        for a in 0..env.n_actions() {
            let entries = env.transitions(s, a);
            let total: f64 = entries.iter().map(|t| t.prob).sum();
            assert!((total - 1.0).abs() < 1e-12, "P[{s}][{a}] sums to {total}");
            if absorbing {
                assert_eq!(entries.len(), 1, "P[{s}][{a}]");
                assert_eq!(
                    (
                        entries[0].next_state,
                        entries[0].reward,
                        entries[0].terminated
                    ),
                    (s, 0.0, true)
                );
            } else {
                // The intended move and the two perpendicular ones, 1/3 each (the perpendicular
                // ones are (1 - 1/3) / 2, which rounds one ulp above 1/3).
                assert_eq!(entries.len(), 3, "P[{s}][{a}]");
                for t in entries {
                    assert!((t.prob - 1.0 / 3.0).abs() < 1e-15, "P[{s}][{a}]: {t:?}");
                }
            }
        }
    }
}

/// An independent transcription of Gymnasium 1.4.0's table construction for one
/// non-absorbing `(s, a)`: `(prob, next_state, reward, terminated)` for the directions
/// `(a - 1) % 4, a, (a + 1) % 4` (0 left, 1 down, 2 right, 3 up), moves clamped to the grid.
fn gymnasium_entries(desc: &[&str], rate: f64, s: usize, a: usize) -> Vec<(f64, usize, f64, bool)> {
    let (nrow, ncol) = (desc.len() as i64, desc[0].len() as i64);
    let (row, col) = (s as i64 / ncol, s as i64 % ncol);
    [(a + 3) % 4, a, (a + 1) % 4]
        .into_iter()
        .map(|b| {
            let (dr, dc) = [(0, -1), (1, 0), (0, 1), (-1, 0)][b];
            let r = (row + dr).clamp(0, nrow - 1);
            let c = (col + dc).clamp(0, ncol - 1);
            let tile = desc[r as usize].as_bytes()[c as usize];
            let prob = if b == a { rate } else { (1.0 - rate) / 2.0 };
            let reward = if tile == b'G' { 1.0 } else { 0.0 };
            (
                prob,
                (r * ncol + c) as usize,
                reward,
                tile == b'G' || tile == b'H',
            )
        })
        .collect()
}

#[test]
fn slip_directions_and_outcomes_are_gymnasiums() {
    let map_4x4 = ["SFFF", "FHFH", "FFFH", "HFFG"];
    let map_8x8 = [
        "SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF",
        "FFFHFFFG",
    ];
    for (name, desc, rate) in [("4x4", &map_4x4[..], 1.0 / 3.0), ("8x8", &map_8x8[..], 0.7)] {
        let env =
            FrozenLake::new(FrozenLakeConfig::named(name).unwrap().success_rate(rate)).unwrap();
        for s in 0..env.n_states() {
            if matches!(env.tile(s), b'H' | b'G') {
                continue;
            }
            for a in 0..env.n_actions() {
                let got: Vec<(f64, usize, f64, bool)> = env
                    .transitions(s, a)
                    .iter()
                    .map(|t| (t.prob, t.next_state, t.reward, t.terminated))
                    .collect();
                assert_eq!(
                    got,
                    gymnasium_entries(desc, rate, s, a),
                    "{name}: P[{s}][{a}]"
                );
            }
        }
    }
}

#[test]
fn other_maps_and_success_rates_sum_to_one() {
    for (map, rate) in [("8x8", 1.0 / 3.0), ("8x8", 0.8), ("4x4", 0.0), ("4x4", 1.0)] {
        let env =
            FrozenLake::new(FrozenLakeConfig::named(map).unwrap().success_rate(rate)).unwrap();
        for s in 0..env.n_states() {
            for a in 0..env.n_actions() {
                let total: f64 = env.transitions(s, a).iter().map(|t| t.prob).sum();
                assert!(
                    (total - 1.0).abs() < 1e-12,
                    "{map} {rate}: P[{s}][{a}] = {total}"
                );
            }
        }
    }
}

#[test]
fn sampled_next_states_follow_the_default_table() {
    let mut env = FrozenLake::default();
    env.reset(Some(12345));
    // Every non-absorbing state and action of the 4x4 map: 11 states × 4 actions, covering
    // corners and edges (slips into walls) and moves into holes and the goal.
    for s in 0..env.n_states() {
        if matches!(env.tile(s), b'H' | b'G') {
            continue;
        }
        for a in 0..env.n_actions() {
            check_sampling(&mut env, s, a);
        }
    }
}

#[test]
fn sampled_next_states_follow_a_custom_success_rate() {
    let mut env =
        FrozenLake::new(FrozenLakeConfig::named("8x8").unwrap().success_rate(0.8)).unwrap();
    env.reset(Some(777));
    // Corner 0 moving left: stays with 0.1 + 0.8, down with 0.1. Then open ice, a cell next
    // to a hole (11 is above the hole at 19) and the cell left of the goal.
    for (s, a) in [(0, 0), (0, 1), (10, 2), (11, 1), (62, 2), (62, 3)] {
        check_sampling(&mut env, s, a);
    }
}

#[test]
fn the_registry_builds_the_slippery_lake_by_default() {
    let mut env = make("FrozenLake-v1").unwrap();
    env.reset(Some(3));
    // From the start, action right (2): down (4), right (1) or up (stays 0); never left-only.
    let mut seen = BTreeMap::new();
    for _ in 0..3000 {
        env.simulator_mut().unwrap().set_state(&[0.0]).unwrap();
        let step = env.step(&reverie_core::Action::Discrete(2)).unwrap();
        *seen.entry(step.obs.as_discrete().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), vec![0, 1, 4]);

    let options = EnvOptions::new().with("is_slippery", OptionValue::Bool(false));
    let mut env = make_with("FrozenLake-v1", &options).unwrap();
    env.reset(Some(3));
    for _ in 0..100 {
        env.simulator_mut().unwrap().set_state(&[0.0]).unwrap();
        let step = env.step(&reverie_core::Action::Discrete(2)).unwrap();
        assert_eq!(step.obs.as_discrete(), Some(1));
    }
}
