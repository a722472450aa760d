//! The environment registry: `make("CartPole-v1")`, with keyword options and Gymnasium's
//! default time limits.

use std::collections::BTreeMap;
use std::fmt;

use reverie_core::{BoxedEnv, Env, KnownFunctions, Rng, TimeLimit};

use crate::board::{ConnectFour, TicTacToe};
use crate::classic::{
    Acrobot, CartPole, CartPoleContinuous, CartPoleSwingUp, MountainCar, MountainCarContinuous,
    Pendulum,
};
use crate::toy_text::{
    builtin_map, generate_random_map, CliffWalking, ConfigError, FrozenLake, FrozenLakeConfig,
    GridWorld, Maze, MazeLayout, Taxi, TaxiConfig, DEFAULT_FROZEN_PROB,
};
use crate::wrappers::{Pixels, PixelsConfig};

/// A keyword option value for [`make_with`] (Gymnasium's `gym.make(id, **kwargs)`).
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// `is_slippery = false`
    Bool(bool),
    /// `max_episode_steps = 200`
    Int(i64),
    /// A float option.
    Float(f64),
    /// `map_name = "8x8"`
    Str(String),
    /// `desc = ["SFFF", "FHFH", "FFFH", "HFFG"]`
    StrList(Vec<String>),
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Int(i) => write!(f, "{i}"),
            OptionValue::Float(x) => write!(f, "{x}"),
            OptionValue::Str(s) => write!(f, "{s:?}"),
            OptionValue::StrList(v) => write!(f, "{v:?}"),
        }
    }
}

/// Keyword options for [`make_with`]. Every env accepts `max_episode_steps` (a positive
/// integer, replacing the registered limit); other keys are env-specific and unknown keys are
/// refused with the list of valid ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvOptions {
    values: BTreeMap<String, OptionValue>,
}

impl EnvOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: sets `key` to `value`.
    pub fn with(mut self, key: &str, value: OptionValue) -> Self {
        self.values.insert(key.to_string(), value);
        self
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: &str, value: OptionValue) {
        self.values.insert(key.to_string(), value);
    }

    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The options in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OptionValue)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Refuses keys outside `allowed` (plus `max_episode_steps`).
    pub fn check_keys(&self, env: &str, allowed: &[&'static str]) -> Result<(), MakeError> {
        for key in self.values.keys() {
            if key != "max_episode_steps" && !allowed.contains(&key.as_str()) {
                let mut valid: Vec<&str> = allowed.to_vec();
                valid.push("max_episode_steps");
                return Err(MakeError::UnknownOption {
                    env: env.to_string(),
                    key: key.clone(),
                    valid: valid.join(", "),
                });
            }
        }
        Ok(())
    }

    fn bad(env: &str, key: &str, value: &OptionValue, expected: &str) -> MakeError {
        MakeError::BadOption {
            env: env.to_string(),
            key: key.to_string(),
            reason: format!("expected {expected}, got {value}"),
        }
    }

    /// A boolean option.
    pub fn bool(&self, env: &str, key: &str) -> Result<Option<bool>, MakeError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(OptionValue::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(Self::bad(env, key, v, "true or false")),
        }
    }

    /// An integer option.
    pub fn int(&self, env: &str, key: &str) -> Result<Option<i64>, MakeError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(OptionValue::Int(i)) => Ok(Some(*i)),
            Some(v) => Err(Self::bad(env, key, v, "an integer")),
        }
    }

    /// A float option (integers are accepted).
    pub fn float(&self, env: &str, key: &str) -> Result<Option<f64>, MakeError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(OptionValue::Float(x)) => Ok(Some(*x)),
            Some(OptionValue::Int(i)) => Ok(Some(*i as f64)),
            Some(v) => Err(Self::bad(env, key, v, "a number")),
        }
    }

    /// A string option.
    pub fn str(&self, env: &str, key: &str) -> Result<Option<&str>, MakeError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(OptionValue::Str(s)) => Ok(Some(s)),
            Some(v) => Err(Self::bad(env, key, v, "a string")),
        }
    }

    /// A list-of-strings option.
    pub fn str_list(&self, env: &str, key: &str) -> Result<Option<&[String]>, MakeError> {
        match self.values.get(key) {
            None => Ok(None),
            Some(OptionValue::StrList(v)) => Ok(Some(v)),
            Some(v) => Err(Self::bad(env, key, v, "a list of strings")),
        }
    }
}

/// Why [`make`] could not build an env.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MakeError {
    /// No env is registered under this id.
    #[error("unknown environment id '{id}'{suggestion}. Registered ids: {known}")]
    UnknownEnv {
        /// The id asked for.
        id: String,
        /// " (did you mean 'X'?)" or empty.
        suggestion: String,
        /// Comma-separated registered ids.
        known: String,
    },
    /// The env does not take this option.
    #[error("{env} has no option '{key}'; valid options: {valid}")]
    UnknownOption {
        /// The env id.
        env: String,
        /// The unknown key.
        key: String,
        /// Comma-separated valid keys.
        valid: String,
    },
    /// The option's value is unusable.
    #[error("{env}: bad value for option '{key}': {reason}")]
    BadOption {
        /// The env id.
        env: String,
        /// The option key.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

/// A registered environment.
#[derive(Clone, Copy, Debug)]
pub struct EnvSpec {
    /// Gymnasium-style id, e.g. `CartPole-v1`.
    pub id: &'static str,
    /// Default episode limit (`None`: no limit, e.g. CliffWalking-v1).
    pub max_episode_steps: Option<u32>,
    /// One line on the task.
    pub summary: &'static str,
    /// Env-specific option keys (besides `max_episode_steps`).
    pub options: &'static [&'static str],
    /// Builds the unwrapped env, boxed with its time limit applied by the registry.
    build: fn(&EnvOptions, Option<u32>) -> Result<BoxedEnv, MakeError>,
}

/// Boxes `env` under a [`TimeLimit`].
pub(crate) fn limited<E: Env + Send + 'static>(env: E, limit: Option<u32>) -> BoxedEnv {
    Box::new(TimeLimit::new(env, limit))
}

fn build_cartpole(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let env = CartPole::new().with_sutton_barto_reward(
        options
            .bool("CartPole-v1", "sutton_barto_reward")?
            .unwrap_or(false),
    );
    Ok(limited(env, limit))
}

/// A float option that must be finite.
fn finite_float(options: &EnvOptions, env: &str, key: &str) -> Result<Option<f64>, MakeError> {
    match options.float(env, key)? {
        Some(x) if !x.is_finite() => Err(MakeError::BadOption {
            env: env.to_string(),
            key: key.to_string(),
            reason: format!("expected a finite number, got {x}"),
        }),
        x => Ok(x),
    }
}

fn build_pendulum(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let mut env = Pendulum::new();
    if let Some(g) = finite_float(options, "Pendulum-v1", "g")? {
        env = env.with_gravity(g);
    }
    Ok(limited(env, limit))
}

fn build_mountain_car(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let mut env = MountainCar::new();
    if let Some(v) = finite_float(options, "MountainCar-v0", "goal_velocity")? {
        env = env.with_goal_velocity(v);
    }
    Ok(limited(env, limit))
}

fn build_mountain_car_continuous(
    options: &EnvOptions,
    limit: Option<u32>,
) -> Result<BoxedEnv, MakeError> {
    let mut env = MountainCarContinuous::new();
    if let Some(v) = finite_float(options, "MountainCarContinuous-v0", "goal_velocity")? {
        env = env.with_goal_velocity(v);
    }
    Ok(limited(env, limit))
}

fn build_acrobot(_: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    Ok(limited(Acrobot::new(), limit))
}

fn build_cartpole_continuous(_: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    Ok(limited(CartPoleContinuous::new(), limit))
}

fn build_cartpole_swingup(_: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    Ok(limited(CartPoleSwingUp::new(), limit))
}

/// The options of a pixel variant besides its base env's (see [`PixelsConfig`]).
const PIXEL_OPTIONS: [&str; 5] = [
    "width",
    "height",
    "grayscale",
    "frame_stack",
    "action_repeat",
];

/// A positive integer option no larger than `max`.
fn bounded_int(
    options: &EnvOptions,
    env: &str,
    key: &str,
    max: i64,
) -> Result<Option<usize>, MakeError> {
    match options.int(env, key)? {
        Some(v) if !(1..=max).contains(&v) => Err(MakeError::BadOption {
            env: env.to_string(),
            key: key.to_string(),
            reason: format!("expected an integer in 1..={max}, got {v}"),
        }),
        v => Ok(v.map(|v| v as usize)),
    }
}

/// Builds the pixel variant `id` of `base`: the base env with its own options and time
/// limit (counted in base steps), observed through [`Pixels`].
fn build_pixels(
    id: &str,
    base: &str,
    options: &EnvOptions,
    limit: Option<u32>,
) -> Result<BoxedEnv, MakeError> {
    let defaults = PixelsConfig::default();
    let config = PixelsConfig {
        width: bounded_int(options, id, "width", 4096)?.unwrap_or(defaults.width),
        height: bounded_int(options, id, "height", 4096)?.unwrap_or(defaults.height),
        grayscale: options.bool(id, "grayscale")?.unwrap_or(defaults.grayscale),
        frame_stack: bounded_int(options, id, "frame_stack", 64)?.unwrap_or(defaults.frame_stack),
        action_repeat: bounded_int(options, id, "action_repeat", 1000)?
            .unwrap_or(defaults.action_repeat),
    };
    let mut base_options = EnvOptions::new();
    for (key, value) in options.iter() {
        if !PIXEL_OPTIONS.contains(&key) && key != "max_episode_steps" {
            base_options.insert(key, value.clone());
        }
    }
    // The variant's own key list (checked by `make`) holds the base env's keys too.
    let inner = (spec(base)?.build)(&base_options, limit)?;
    let pixels = Pixels::new(inner, config).map_err(|e| MakeError::BadOption {
        env: id.to_string(),
        key: "width".into(),
        reason: e.to_string(),
    })?;
    Ok(Box::new(pixels))
}

/// A toy-text constructor's complaint as the registry's error for option `e.option`.
fn config_error(env: &str, e: ConfigError) -> MakeError {
    MakeError::BadOption {
        env: env.to_string(),
        key: e.option.to_string(),
        reason: e.reason,
    }
}

/// FrozenLake-v1's `reward_schedule` (goal, hole, frozen): three numbers, given as a string
/// (`"1, 0, 0"`, brackets optional) or a list of strings, since options hold no number lists.
fn reward_schedule(options: &EnvOptions, env: &str) -> Result<Option<[f64; 3]>, MakeError> {
    const KEY: &str = "reward_schedule";
    let parts: Vec<String> = match options.iter().find(|(k, _)| *k == KEY).map(|(_, v)| v) {
        None => return Ok(None),
        Some(OptionValue::Str(s)) => s
            .trim_matches(|c: char| "()[] ".contains(c))
            .split(',')
            .map(str::to_string)
            .collect(),
        Some(OptionValue::StrList(items)) => items.clone(),
        Some(other) => {
            return Err(MakeError::BadOption {
                env: env.to_string(),
                key: KEY.into(),
                reason: format!("expected three numbers such as \"1, 0, 0\", got {other}"),
            })
        }
    };
    let values: Vec<f64> = parts
        .iter()
        .filter_map(|p| p.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
        .collect();
    if parts.len() != 3 || values.len() != 3 {
        return Err(MakeError::BadOption {
            env: env.to_string(),
            key: KEY.into(),
            reason: format!(
                "expected three finite numbers (goal, hole, frozen) such as \"1, 0, 0\", got {parts:?}"
            ),
        });
    }
    Ok(Some([values[0], values[1], values[2]]))
}

/// Largest side accepted for `map_name = "random"` (a 256×256 lake has 65,536 states).
const MAX_RANDOM_MAP_SIZE: i64 = 256;

fn build_frozen_lake(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    const ID: &str = "FrozenLake-v1";
    let bad = |key: &str, reason: String| MakeError::BadOption {
        env: ID.to_string(),
        key: key.to_string(),
        reason,
    };
    let map_name = options.str(ID, "map_name")?;
    let size = options.int(ID, "size")?;
    let map_seed = options.int(ID, "map_seed")?;
    if map_name != Some("random") {
        for (key, value) in [("size", size), ("map_seed", map_seed)] {
            if value.is_some() {
                return Err(bad(key, "only used with map_name = \"random\"".into()));
            }
        }
    }
    let desc = match (options.str_list(ID, "desc")?, map_name) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "desc",
                "give either desc (a custom map) or map_name, not both".into(),
            ))
        }
        (Some(desc), None) => desc.to_vec(),
        (None, Some("random")) => {
            let size = size.unwrap_or(8);
            if !(2..=MAX_RANDOM_MAP_SIZE).contains(&size) {
                return Err(bad(
                    "size",
                    format!("expected a side in 2..={MAX_RANDOM_MAP_SIZE}, got {size}"),
                ));
            }
            let seed = map_seed.unwrap_or(0);
            if seed < 0 {
                return Err(bad(
                    "map_seed",
                    format!("expected a non-negative seed, got {seed}"),
                ));
            }
            // Seeded (default 0) rather than drawn from entropy as Gymnasium does, so a run
            // is reproducible from its options.
            let mut rng = Rng::seed_from_u64(seed as u64);
            generate_random_map(size as usize, DEFAULT_FROZEN_PROB, &mut rng)
                .map_err(|e| config_error(ID, e))?
        }
        (None, name) => {
            let name = name.unwrap_or("4x4");
            builtin_map(name).ok_or_else(|| {
                bad(
                    "map_name",
                    format!("unknown map {name:?}; expected \"4x4\", \"8x8\" or \"random\""),
                )
            })?
        }
    };
    let mut config = FrozenLakeConfig::with_desc(desc);
    if let Some(on) = options.bool(ID, "is_slippery")? {
        config.is_slippery = on;
    }
    if let Some(p) = options.float(ID, "success_rate")? {
        config.success_rate = p;
    }
    if let Some(schedule) = reward_schedule(options, ID)? {
        config.reward_schedule = schedule;
    }
    let env = FrozenLake::new(config).map_err(|e| config_error(ID, e))?;
    Ok(limited(env, limit))
}

fn build_cliff_walking(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let slippery = options
        .bool("CliffWalking-v1", "is_slippery")?
        .unwrap_or(false);
    Ok(limited(CliffWalking::new().with_slippery(slippery), limit))
}

fn build_taxi(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    const ID: &str = "Taxi-v4";
    let mut config = TaxiConfig::default();
    if let Some(on) = options.bool(ID, "is_rainy")? {
        config.is_rainy = on;
    }
    if let Some(on) = options.bool(ID, "fickle_passenger")? {
        config.fickle_passenger = on;
    }
    if let Some(p) = options.float(ID, "rainy_probability")? {
        config.rainy_probability = p;
    }
    if let Some(p) = options.float(ID, "fickle_probability")? {
        config.fickle_probability = p;
    }
    let env = Taxi::with_config(config).map_err(|e| config_error(ID, e))?;
    Ok(limited(env, limit))
}

fn build_gridworld(_: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    Ok(limited(GridWorld::new(), limit))
}

fn positive_int(
    options: &EnvOptions,
    env: &str,
    key: &str,
    default: i64,
) -> Result<i64, MakeError> {
    match options.int(env, key)? {
        None => Ok(default),
        Some(n) if n > 0 => Ok(n),
        Some(n) => Err(MakeError::BadOption {
            env: env.to_string(),
            key: key.to_string(),
            reason: format!("expected a positive integer, got {n}"),
        }),
    }
}

fn build_dyna_maze(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let factor = positive_int(options, "DynaMaze-v0", "resolution", 1)?;
    if factor > 64 {
        return Err(MakeError::BadOption {
            env: "DynaMaze-v0".into(),
            key: "resolution".into(),
            reason: format!("{factor} is too large (at most 64)"),
        });
    }
    Ok(limited(
        Maze::new(MazeLayout::dyna_maze().scaled(factor as usize)),
        limit,
    ))
}

fn build_blocking_maze(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let change_at = positive_int(options, "BlockingMaze-v0", "change_at", 1000)?;
    let maze = Maze::changing(
        MazeLayout::blocking_before(),
        MazeLayout::blocking_after(),
        change_at as u64,
    );
    Ok(limited(maze, limit))
}

fn build_shortcut_maze(options: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    let change_at = positive_int(options, "ShortcutMaze-v0", "change_at", 3000)?;
    let maze = Maze::changing(
        MazeLayout::shortcut_before(),
        MazeLayout::shortcut_after(),
        change_at as u64,
    );
    Ok(limited(maze, limit))
}

fn build_tic_tac_toe(_: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    Ok(limited(TicTacToe::new(), limit))
}

fn build_connect_four(_: &EnvOptions, limit: Option<u32>) -> Result<BoxedEnv, MakeError> {
    Ok(limited(ConnectFour::new(), limit))
}

/// A MinAtar game with the reference's sticky actions (option `sticky_action_prob`, 0.1).
fn build_minatar<G: crate::minatar::MinAtarGame + 'static>(
    id: &str,
    minimal_action_set: bool,
    options: &EnvOptions,
    limit: Option<u32>,
) -> Result<BoxedEnv, MakeError> {
    let sticky = finite_float(options, id, "sticky_action_prob")?.unwrap_or(0.1);
    if !(0.0..=1.0).contains(&sticky) {
        return Err(MakeError::BadOption {
            env: id.into(),
            key: "sticky_action_prob".into(),
            reason: format!("{sticky} is not a probability in [0, 1]"),
        });
    }
    Ok(limited(
        crate::minatar::MinAtar::<G>::new(sticky, minimal_action_set),
        limit,
    ))
}

/// Every registered env, in listing order.
static SPECS: &[EnvSpec] = &[
    EnvSpec {
        id: "CartPole-v1",
        max_episode_steps: Some(500),
        summary: "balance a pole on a cart; 2 discrete pushes, +1 per step",
        options: &["sutton_barto_reward"],
        build: build_cartpole,
    },
    EnvSpec {
        id: "Pendulum-v1",
        max_episode_steps: Some(200),
        summary: "swing a pendulum up and hold it; torque in [-2, 2], cost on angle, speed, torque",
        options: &["g"],
        build: build_pendulum,
    },
    EnvSpec {
        id: "MountainCar-v0",
        max_episode_steps: Some(200),
        summary: "drive an underpowered car up a hill; 3 discrete pushes, -1 per step",
        options: &["goal_velocity"],
        build: build_mountain_car,
    },
    EnvSpec {
        id: "MountainCarContinuous-v0",
        max_episode_steps: Some(999),
        summary: "mountain car with a force in [-1, 1]; +100 at the goal, -0.1 a² per step",
        options: &["goal_velocity"],
        build: build_mountain_car_continuous,
    },
    EnvSpec {
        id: "Acrobot-v1",
        max_episode_steps: Some(500),
        summary: "swing a two-link arm's tip above a line; 3 discrete torques, -1 per step",
        options: &[],
        build: build_acrobot,
    },
    EnvSpec {
        id: "CartPoleContinuous-v0",
        max_episode_steps: Some(200),
        summary: "CartPole balancing with a push in [-1, 1] x 10 N (mbrl-lib); +1 per step",
        options: &[],
        build: build_cartpole_continuous,
    },
    EnvSpec {
        id: "CartPoleSwingUp-v0",
        max_episode_steps: Some(200),
        summary: "swing a hanging pole up and balance it (PETS); push in [-1, 1], reward in [0, 1]",
        options: &[],
        build: build_cartpole_swingup,
    },
    EnvSpec {
        id: "FrozenLake-v1",
        max_episode_steps: Some(100),
        summary: "cross a frozen lake from S to G without falling into a hole; +1 at the goal",
        options: &[
            "map_name",
            "desc",
            "is_slippery",
            "success_rate",
            "reward_schedule",
            "size",
            "map_seed",
        ],
        build: build_frozen_lake,
    },
    EnvSpec {
        id: "CliffWalking-v1",
        max_episode_steps: None,
        summary: "walk along a 4x12 cliff to the goal; -1 per step, -100 and back to start off the cliff",
        options: &["is_slippery"],
        build: build_cliff_walking,
    },
    EnvSpec {
        id: "Taxi-v4",
        max_episode_steps: Some(200),
        summary: "pick up a passenger and drop them at their stand; -1 per step, -10 illegal, +20 delivery",
        options: &[
            "is_rainy",
            "fickle_passenger",
            "rainy_probability",
            "fickle_probability",
        ],
        build: build_taxi,
    },
    EnvSpec {
        id: "GridWorld-v0",
        max_episode_steps: Some(100),
        summary: "5x5 grid around three obstacles to the far corner; -1 per step, +100 at the goal",
        options: &[],
        build: build_gridworld,
    },
    EnvSpec {
        id: "CartPolePixels-v1",
        max_episode_steps: Some(500),
        summary: "CartPole-v1 observed as 64x64 RGB frames (uint8 [H, W, C]); width, height, grayscale, frame_stack, action_repeat",
        options: &["sutton_barto_reward", "width", "height", "grayscale", "frame_stack", "action_repeat"],
        build: |o, l| build_pixels("CartPolePixels-v1", "CartPole-v1", o, l),
    },
    EnvSpec {
        id: "PendulumPixels-v1",
        max_episode_steps: Some(200),
        summary: "Pendulum-v1 observed as 64x64 RGB frames (uint8 [H, W, C]); width, height, grayscale, frame_stack, action_repeat",
        options: &["g", "width", "height", "grayscale", "frame_stack", "action_repeat"],
        build: |o, l| build_pixels("PendulumPixels-v1", "Pendulum-v1", o, l),
    },
    EnvSpec {
        id: "CartPoleSwingUpPixels-v0",
        max_episode_steps: Some(200),
        summary: "CartPoleSwingUp-v0 observed as 64x64 RGB frames (uint8 [H, W, C]); width, height, grayscale, frame_stack, action_repeat",
        options: &["width", "height", "grayscale", "frame_stack", "action_repeat"],
        build: |o, l| build_pixels("CartPoleSwingUpPixels-v0", "CartPoleSwingUp-v0", o, l),
    },
    EnvSpec {
        id: "MountainCarContinuousPixels-v0",
        max_episode_steps: Some(999),
        summary: "MountainCarContinuous-v0 observed as 64x64 RGB frames (uint8 [H, W, C]); width, height, grayscale, frame_stack, action_repeat",
        options: &["goal_velocity", "width", "height", "grayscale", "frame_stack", "action_repeat"],
        build: |o, l| build_pixels("MountainCarContinuousPixels-v0", "MountainCarContinuous-v0", o, l),
    },
    EnvSpec {
        id: "DynaMaze-v0",
        max_episode_steps: None,
        summary: "Sutton & Barto's 6x9 Dyna maze (Fig. 8.2); reward 1 at the goal; `resolution` scales it",
        options: &["resolution"],
        build: build_dyna_maze,
    },
    EnvSpec {
        id: "BlockingMaze-v0",
        max_episode_steps: None,
        summary: "Sutton & Barto's blocking maze (Fig. 8.4): the short way closes after `change_at` steps",
        options: &["change_at"],
        build: build_blocking_maze,
    },
    EnvSpec {
        id: "ShortcutMaze-v0",
        max_episode_steps: None,
        summary: "Sutton & Barto's shortcut maze (Fig. 8.5): a shortcut opens after `change_at` steps",
        options: &["change_at"],
        build: build_shortcut_maze,
    },
    EnvSpec {
        id: "TicTacToe-v0",
        // Games end by themselves (at most 9 moves); a limit would only mark the last move
        // truncated as well as terminated.
        max_episode_steps: None,
        summary: "tic-tac-toe, both players through one step (self-play); 9 cells, legal ones in info's action_mask; +1/-1 when the first/second player wins",
        options: &[],
        build: build_tic_tac_toe,
    },
    EnvSpec {
        id: "MinAtar/Breakout-v0",
        max_episode_steps: None,
        summary: "MinAtar Breakout: 10x10x4 binary channels (paddle, ball, trail, brick), all 6 actions, sticky actions 0.1; +1 a brick, ends when the ball is missed",
        options: &["sticky_action_prob"],
        build: |o, l| build_minatar::<crate::minatar::Breakout>("MinAtar/Breakout-v0", false, o, l),
    },
    EnvSpec {
        id: "MinAtar/Breakout-v1",
        max_episode_steps: None,
        summary: "MinAtar Breakout with the minimal action set (no-op, left, right)",
        options: &["sticky_action_prob"],
        build: |o, l| build_minatar::<crate::minatar::Breakout>("MinAtar/Breakout-v1", true, o, l),
    },
    EnvSpec {
        id: "MinAtar/Freeway-v0",
        // The reference's clock (2,501 steps) as a time limit: no frame shows it.
        max_episode_steps: Some(crate::minatar::FREEWAY_EPISODE_STEPS),
        summary: "MinAtar Freeway: 10x10x7 binary channels (chicken, car, 5 speed trails), all 6 actions, sticky actions 0.1; +1 a crossing, a car sends the chicken back; 2,501 steps",
        options: &["sticky_action_prob"],
        build: |o, l| build_minatar::<crate::minatar::Freeway>("MinAtar/Freeway-v0", false, o, l),
    },
    EnvSpec {
        id: "MinAtar/Freeway-v1",
        max_episode_steps: Some(crate::minatar::FREEWAY_EPISODE_STEPS),
        summary: "MinAtar Freeway with the minimal action set (no-op, up, down)",
        options: &["sticky_action_prob"],
        build: |o, l| build_minatar::<crate::minatar::Freeway>("MinAtar/Freeway-v1", true, o, l),
    },
    EnvSpec {
        id: "MinAtar/SpaceInvaders-v0",
        max_episode_steps: None,
        summary: "MinAtar Space Invaders: 10x10x6 binary channels (cannon, alien, alien left/right, friendly and enemy bullets), all 6 actions, sticky actions 0.1; +1 an alien, ends when an alien or its bullet reaches the cannon",
        options: &["sticky_action_prob"],
        build: |o, l| build_minatar::<crate::minatar::SpaceInvaders>("MinAtar/SpaceInvaders-v0", false, o, l),
    },
    EnvSpec {
        id: "MinAtar/SpaceInvaders-v1",
        max_episode_steps: None,
        summary: "MinAtar Space Invaders with the minimal action set (no-op, left, right, fire)",
        options: &["sticky_action_prob"],
        build: |o, l| build_minatar::<crate::minatar::SpaceInvaders>("MinAtar/SpaceInvaders-v1", true, o, l),
    },
    EnvSpec {
        id: "ConnectFour-v0",
        max_episode_steps: None,
        summary: "Connect Four on 6x7, both players through one step (self-play); 7 columns, legal ones in info's action_mask; +1/-1 when the first/second player wins",
        options: &[],
        build: build_connect_four,
    },
];

/// All registered env specs.
pub fn specs() -> &'static [EnvSpec] {
    SPECS
}

/// The spec registered under `id`, or an error listing the registered ids.
pub fn spec(id: &str) -> Result<&'static EnvSpec, MakeError> {
    SPECS.iter().find(|s| s.id == id).ok_or_else(|| {
        let lower = id.to_ascii_lowercase();
        let close = SPECS.iter().find(|s| {
            let sid = s.id.to_ascii_lowercase();
            sid == lower || sid.split('-').next() == lower.split('-').next()
        });
        MakeError::UnknownEnv {
            id: id.to_string(),
            suggestion: close
                .map(|s| format!(" (did you mean '{}'?)", s.id))
                .unwrap_or_default(),
            known: SPECS.iter().map(|s| s.id).collect::<Vec<_>>().join(", "),
        }
    })
}

/// Builds the env registered under `id` with its default options and time limit.
pub fn make(id: &str) -> Result<BoxedEnv, MakeError> {
    make_with(id, &EnvOptions::new())
}

/// Builds the env registered under `id` with keyword `options`
/// (like `gym.make(id, **options)`).
pub fn make_with(id: &str, options: &EnvOptions) -> Result<BoxedEnv, MakeError> {
    spec(id)?.make(options)
}

/// The reward and termination functions of env `id` built with `options` (see
/// [`EnvSpec::known_functions`]).
pub fn known_functions(id: &str, options: &EnvOptions) -> Result<KnownFunctions, MakeError> {
    spec(id)?.known_functions(options)
}

/// A registered env id with its keyword options: everything needed to build copies of one
/// configured env (the training env, evaluation envs, an oracle simulator) and to ask it
/// for its known functions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvRecipe {
    /// The registered id, e.g. `MountainCar-v0`.
    pub id: String,
    /// The keyword options, e.g. `goal_velocity = 0.05`.
    pub options: EnvOptions,
}

impl EnvRecipe {
    /// Env `id` with its default options.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            options: EnvOptions::new(),
        }
    }

    /// Env `id` with `options`.
    pub fn with_options(id: &str, options: EnvOptions) -> Self {
        Self {
            id: id.to_string(),
            options,
        }
    }

    /// Builds the env ([`make_with`]).
    pub fn make(&self) -> Result<BoxedEnv, MakeError> {
        make_with(&self.id, &self.options)
    }

    /// The env's known functions with these options ([`EnvSpec::known_functions`]).
    pub fn known_functions(&self) -> Result<KnownFunctions, MakeError> {
        known_functions(&self.id, &self.options)
    }
}

impl EnvSpec {
    /// Builds this env with keyword `options` and its time limit.
    pub fn make(&self, options: &EnvOptions) -> Result<BoxedEnv, MakeError> {
        options.check_keys(self.id, self.options)?;
        let limit = match options.int(self.id, "max_episode_steps")? {
            None => self.max_episode_steps,
            Some(n) if n > 0 && n <= u32::MAX as i64 => Some(n as u32),
            Some(n) => {
                return Err(MakeError::BadOption {
                    env: self.id.to_string(),
                    key: "max_episode_steps".into(),
                    reason: format!("expected a positive integer, got {n}"),
                })
            }
        };
        (self.build)(options, limit)
    }

    /// The reward and termination functions of this env with `options`, as the env itself
    /// publishes them ([`reverie_core::Env::known_functions`]): planners and imagined
    /// rollouts use the reward and termination the env pays, options included.
    pub fn known_functions(&self, options: &EnvOptions) -> Result<KnownFunctions, MakeError> {
        let env = self.make(options)?;
        Ok(env.as_ref().known_functions())
    }
}
