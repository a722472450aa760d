//! Bit-exact parity with Gymnasium 1.4.0: every episode of every reference file in the
//! conformance folder is replayed from its recorded start state (a free rollout, not
//! one-step checks), and obs, reward, terminated, truncated, the internal state (classic
//! control) and Taxi's action mask must match bit for bit.
//!
//! The folder is `$REVERIE_CONFORMANCE_DIR`, or `../shared/conformance` beside the
//! repository. A missing folder or file fails the test: it never passes empty.
//!
//! The `wide_*` tests replay the wider reference set committed in `tests/conformance/`
//! (more seeds, long random runs, extreme and boundary actions, injected start states, env
//! options), written by `tests/conformance/generate.py` in the same format.

use std::path::{Path, PathBuf};

use reverie_core::{Action, BoxedEnv, DynEnv, InfoValue, Observation};
use reverie_envs::{make_with, spec, EnvOptions, OptionValue};
use serde_json::Value;

fn conformance_dir() -> PathBuf {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("REVERIE_CONFORMANCE_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root.join(dir)
            }
        }
        None => repo_root.join("../shared/conformance"),
    }
}

fn options_from_json(kwargs: &Value) -> EnvOptions {
    let mut options = EnvOptions::new();
    for (key, value) in kwargs.as_object().expect("make_kwargs is an object") {
        let value = match value {
            Value::Bool(b) => OptionValue::Bool(*b),
            Value::Number(n) if n.is_i64() => OptionValue::Int(n.as_i64().unwrap()),
            Value::Number(n) => OptionValue::Float(n.as_f64().unwrap()),
            Value::String(s) => OptionValue::Str(s.clone()),
            // A list of strings (FrozenLake `desc`) or of numbers (`reward_schedule`, which
            // the registry takes as a list of number strings).
            Value::Array(items) => OptionValue::StrList(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        other => panic!("unsupported list item {other}"),
                    })
                    .collect(),
            ),
            other => panic!("unsupported make_kwargs value {other}"),
        };
        options.insert(key, value);
    }
    options
}

fn action_from_json(value: &Value) -> Action {
    match value {
        Value::Number(n) => Action::Discrete(n.as_i64().expect("integer action")),
        Value::Array(items) => Action::Vector(
            items
                .iter()
                .map(|v| v.as_f64().expect("float action") as f32)
                .collect(),
        ),
        other => panic!("unsupported action {other}"),
    }
}

/// Compares an observation with its recorded value bit for bit; returns a description of
/// the first difference.
fn obs_mismatch(got: &Observation, want: &Value) -> Option<String> {
    match (got, want) {
        (Observation::Discrete(g), Value::Number(w)) => {
            (Some(*g) != w.as_i64()).then(|| format!("obs {g} != {w}"))
        }
        (Observation::Vector(g), Value::Array(w)) => {
            let w: Vec<f32> = w.iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let same =
                g.len() == w.len() && g.iter().zip(&w).all(|(a, b)| a.to_bits() == b.to_bits());
            (!same).then(|| format!("obs {g:?} != {w:?}"))
        }
        _ => Some(format!("obs kind differs: {got:?} vs {want}")),
    }
}

fn state_mismatch(got: &[f64], want: &Value) -> Option<String> {
    let w: Vec<f64> = match want {
        Value::Array(items) => items.iter().map(|v| v.as_f64().unwrap()).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => return Some(format!("unsupported state {other}")),
    };
    let same = got.len() == w.len() && got.iter().zip(&w).all(|(a, b)| a.to_bits() == b.to_bits());
    (!same).then(|| format!("state {got:?} != {w:?}"))
}

fn state_values(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().map(|v| v.as_f64().unwrap()).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("unsupported state {other}"),
    }
}

fn mask_mismatch(info_mask: Option<&InfoValue>, want: &Value) -> Option<String> {
    let want: Vec<i64> = want
        .as_array()?
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    match info_mask {
        Some(InfoValue::Ints(got)) if *got == want => None,
        other => Some(format!("action_mask {other:?} != {want:?}")),
    }
}

/// The wider reference set committed beside this test.
fn wide_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

/// Replays one file of the shared reference set; panics with the first differences found.
fn replay(file: &str) {
    replay_in(&conformance_dir(), file)
}

/// Replays `dir/file`; panics with the first difference of every differing episode.
fn replay_in(dir: &Path, file: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "conformance file {} cannot be read ({e}). Set REVERIE_CONFORMANCE_DIR to the folder \
             holding the Gymnasium reference trajectories (default: ../shared/conformance beside \
             the repository).",
            path.display()
        )
    });
    let mut lines = text.lines();
    // Python's json writes the unbounded Box limits as bare `Infinity`, which is not JSON.
    let header_line = lines
        .next()
        .expect("header line")
        .replace("-Infinity", "\"-inf\"")
        .replace("Infinity", "\"inf\"");
    let header: Value = serde_json::from_str(&header_line).unwrap();
    let env_id = header["env_id"].as_str().unwrap();
    let options = options_from_json(&header["make_kwargs"]);
    let registered = spec(env_id).unwrap_or_else(|e| panic!("{e}"));
    let recorded_limit = header["max_episode_steps"].as_u64().map(|n| n as u32);
    assert_eq!(
        registered.max_episode_steps, recorded_limit,
        "{env_id}: registered time limit differs from Gymnasium's"
    );

    let mut failures = Vec::new();
    let (mut episodes, mut steps_checked) = (0usize, 0usize);
    for line in lines {
        let episode: Value = serde_json::from_str(line).unwrap();
        let seed = episode["seed"].as_u64().unwrap();
        let label = format!("{file} seed {seed} ({})", episode["policy"]);
        let mut env = make_with(env_id, &options).unwrap_or_else(|e| panic!("{e}"));
        DynEnv::reset(env.as_mut(), Some(seed));
        let reset_obs = env
            .simulator_mut()
            .unwrap_or_else(|| panic!("{label}: conformance needs a settable state"))
            .set_state(&state_values(&episode["reset"]["state"]))
            .unwrap_or_else(|e| panic!("{label}: set_state failed: {e}"));
        if let Some(m) = obs_mismatch(&reset_obs, &episode["reset"]["obs"]) {
            failures.push(format!("{label} reset: {m}"));
            continue;
        }
        let steps = &episode["steps"];
        let length = episode["length"].as_u64().unwrap() as usize;
        for t in 0..length {
            let action = action_from_json(&steps["action"][t]);
            let step = match env.step(&action) {
                Ok(step) => step,
                Err(e) => {
                    failures.push(format!("{label} step {t}: step failed: {e}"));
                    break;
                }
            };
            let mut problems = Vec::new();
            if let Some(m) = obs_mismatch(&step.obs, &steps["obs"][t]) {
                problems.push(m);
            }
            let want_reward = steps["reward"][t].as_f64().unwrap();
            if step.reward.to_bits() != want_reward.to_bits() {
                problems.push(format!("reward {} != {want_reward}", step.reward));
            }
            if Some(step.terminated) != steps["terminated"][t].as_bool() {
                problems.push(format!(
                    "terminated {} != {}",
                    step.terminated, steps["terminated"][t]
                ));
            }
            if Some(step.truncated) != steps["truncated"][t].as_bool() {
                problems.push(format!(
                    "truncated {} != {}",
                    step.truncated, steps["truncated"][t]
                ));
            }
            if let Some(states) = steps.get("state") {
                if let Some(m) = state_mismatch(&simulator_state(&env), &states[t]) {
                    problems.push(m);
                }
            }
            if let Some(masks) = steps.get("action_mask") {
                if let Some(m) = mask_mismatch(step.info.get("action_mask"), &masks[t]) {
                    problems.push(m);
                }
            }
            steps_checked += 1;
            if !problems.is_empty() {
                failures.push(format!(
                    "{label} step {t} (action {action:?}): {}",
                    problems.join("; ")
                ));
                break;
            }
        }
        episodes += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {episodes} episodes differ from Gymnasium:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        episodes,
        header["n_episodes"].as_u64().unwrap() as usize,
        "{file}: episode count"
    );
    assert!(steps_checked > 0, "{file}: no step was checked");
}

macro_rules! parity_tests {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay($file);
            }
        )*
    };
}

parity_tests! {
    cartpole_v1 => "CartPole-v1.jsonl",
    pendulum_v1 => "Pendulum-v1.jsonl",
    mountain_car_v0 => "MountainCar-v0.jsonl",
    mountain_car_continuous_v0 => "MountainCarContinuous-v0.jsonl",
    acrobot_v1 => "Acrobot-v1.jsonl",
    frozen_lake_v1_4x4 => "FrozenLake-v1_4x4.jsonl",
    frozen_lake_v1_8x8 => "FrozenLake-v1_8x8.jsonl",
    cliff_walking_v1 => "CliffWalking-v1.jsonl",
    taxi_v4 => "Taxi-v4.jsonl",
}

/// Guards against a conformance folder that silently lost files.
#[test]
fn every_reference_file_is_covered() {
    let dir = conformance_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance folder {} is missing ({e})", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        9,
        "expected the 9 Gymnasium reference files, found {files:?}"
    );
}

macro_rules! wide_parity_tests {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                replay_in(&wide_dir(), $file);
            }
        )*
        /// Every file in `tests/conformance/` is replayed by one of the tests above.
        #[test]
        fn wide_every_file_is_covered() {
            let dir = wide_dir();
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{} is missing ({e})", dir.display()))
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".jsonl"))
                .collect();
            files.sort();
            let mut listed = vec![$($file.to_string()),*];
            listed.sort();
            assert_eq!(files, listed, "files in {} vs the wide tests", dir.display());
        }
    };
}

wide_parity_tests! {
    wide_cartpole_v1 => "CartPole-v1.jsonl",
    wide_cartpole_v1_sutton_barto_reward => "CartPole-v1_sutton_barto_reward.jsonl",
    wide_pendulum_v1 => "Pendulum-v1.jsonl",
    wide_pendulum_v1_g9_81 => "Pendulum-v1_g9.81.jsonl",
    wide_pendulum_v1_g3 => "Pendulum-v1_g3.jsonl",
    wide_mountain_car_v0 => "MountainCar-v0.jsonl",
    wide_mountain_car_v0_goal_velocity => "MountainCar-v0_goal_velocity.jsonl",
    wide_mountain_car_continuous_v0 => "MountainCarContinuous-v0.jsonl",
    wide_mountain_car_continuous_v0_goal_velocity => "MountainCarContinuous-v0_goal_velocity.jsonl",
    wide_acrobot_v1 => "Acrobot-v1.jsonl",
    wide_frozen_lake_v1_4x4 => "FrozenLake-v1_4x4.jsonl",
    wide_frozen_lake_v1_8x8 => "FrozenLake-v1_8x8.jsonl",
    wide_frozen_lake_v1_custom_rewards => "FrozenLake-v1_custom_rewards.jsonl",
    wide_frozen_lake_v1_8x8_certain_slip => "FrozenLake-v1_8x8_certain_slip.jsonl",
    wide_cliff_walking_v1 => "CliffWalking-v1.jsonl",
    wide_taxi_v4 => "Taxi-v4.jsonl",
}

/// The simulator state of a registered env (all of them can be read).
fn simulator_state(env: &BoxedEnv) -> Vec<f64> {
    env.simulator()
        .expect("conformance needs a settable state")
        .state()
}
