//! The environment registry: `make("CartPole-v1")`, with keyword options and Gymnasium's
//! default time limits.

use std::collections::BTreeMap;
use std::fmt;

use reverie_core::{BoxedEnv, Env, TimeLimit};

use crate::classic::CartPole;

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
    #[error("unknown environment id '{id}'{suggestion}; registered ids: {known}")]
    UnknownEnv {
        /// The id asked for.
        id: String,
        /// ", did you mean 'X'?" or empty.
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

/// Every registered env, in listing order.
static SPECS: &[EnvSpec] = &[EnvSpec {
    id: "CartPole-v1",
    max_episode_steps: Some(500),
    summary: "balance a pole on a cart; 2 discrete pushes, +1 per step",
    options: &["sutton_barto_reward"],
    build: build_cartpole,
}];

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
                .map(|s| format!(", did you mean '{}'?", s.id))
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
    let spec = spec(id)?;
    options.check_keys(spec.id, spec.options)?;
    let limit = match options.int(spec.id, "max_episode_steps")? {
        None => spec.max_episode_steps,
        Some(n) if n > 0 && n <= u32::MAX as i64 => Some(n as u32),
        Some(n) => {
            return Err(MakeError::BadOption {
                env: spec.id.to_string(),
                key: "max_episode_steps".into(),
                reason: format!("expected a positive integer, got {n}"),
            })
        }
    };
    (spec.build)(options, limit)
}
