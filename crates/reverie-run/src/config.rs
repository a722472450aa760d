//! Training configuration: TOML presets per algorithm and env, overlaid by a user file and
//! `--set key=value` overrides, resolved into a [`TrainConfig`] whose keys are all checked.
//!
//! Layers, later ones winning: `presets/base/default.toml` → `presets/<algo>/default.toml` →
//! `presets/<algo>/<env>.toml` → `presets/<algo>/<name>.toml` (`--preset NAME`) →
//! `--config FILE` → `--set a.b=v` → `--seed` / `--steps`.

mod annotated;

pub use annotated::{annotated_agent_toml, annotated_toml};
use reverie_nn::DeviceSpec;
use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use reverie_envs::{EnvOptions, OptionValue};

/// Errors in configuration files and overrides. Each names the offending key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A TOML file or override could not be parsed.
    #[error("{source_name}: {message}")]
    Parse {
        /// Where the text came from (a file name or `--set ...`).
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// A key is unknown or its value has the wrong type.
    #[error("config error in {section}: {message}")]
    Invalid {
        /// `[top level]`, `[env]`, `[agent] of q-learning`, ...
        section: String,
        /// What is wrong, with the valid keys.
        message: String,
    },
}

/// The environment section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// Registered env id, e.g. `FrozenLake-v1`.
    pub id: String,
    /// Keyword options for the env (`map_name`, `is_slippery`, `max_episode_steps`, ...).
    #[serde(default)]
    pub options: Table,
}

/// A fully resolved training configuration, saved as `config.toml` in the run directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Algorithm name, e.g. `q-learning`.
    pub algo: String,
    /// Root seed; env, agent and evaluation streams derive from it.
    pub seed: u64,
    /// Real environment steps to train for.
    pub total_steps: u64,
    /// Evaluate the greedy policy every this many steps (0: only at the end).
    pub eval_every: u64,
    /// Episodes per evaluation.
    pub eval_episodes: u32,
    /// Evaluation episodes are cut after this many steps (a greedy policy can loop forever
    /// in envs without a time limit, e.g. the mazes); a cut episode counts as it stands.
    pub eval_max_episode_steps: u64,
    /// Board games only: evaluate by playing `eval_episodes` games against this opponent
    /// (`random`, `perfect` or `alpha-beta-D`), half as each side, instead of self-play
    /// episodes; `eval/episodic_return` is then the agent's mean result (+1 a win, 0 a draw,
    /// −1 a loss) and `eval/wins`, `eval/draws`, `eval/losses` count the games.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_opponent: Option<String>,
    /// Save a checkpoint (`checkpoints/step-N.bin` and `latest.bin`: the whole run, to
    /// resume from) every this many steps (0: only at the end).
    pub checkpoint_every: u64,
    /// Also save `latest.bin` when this many minutes passed since the last checkpoint
    /// (0: never by time).
    #[serde(default = "default_checkpoint_minutes")]
    pub checkpoint_minutes: f64,
    /// Stop with an error after this many consecutive updates with a non-finite loss
    /// (the divergence guard; 0: never).
    #[serde(default = "default_max_nonfinite_updates")]
    pub max_nonfinite_updates: u64,
    /// Log throughput and agent metrics every this many steps.
    pub log_every: u64,
    /// CPU threads of candle's kernels, set once by the driver before anything is built
    /// (agents never change it).
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Where the networks live: `"cpu"`, `"cuda"` or `"cuda:N"` (CUDA needs the `cuda`
    /// feature). Tabular agents ignore it.
    #[serde(default)]
    pub device: DeviceSpec,
    /// The environment.
    pub env: EnvConfig,
    /// Agent hyperparameters; the valid keys depend on `algo`.
    #[serde(default)]
    pub agent: Table,
}

/// A long run loses at most this much work to a crash.
fn default_checkpoint_minutes() -> f64 {
    10.0
}

/// A healthy run has no non-finite update at all; ten in a row is divergence.
fn default_max_nonfinite_updates() -> u64 {
    10
}

/// Run directories written before `threads` existed ran candle on the machine's cores.
fn default_threads() -> usize {
    2
}

/// Embeds `presets/<algo>/<env>.toml` as `(algo, env, text)`.
macro_rules! presets {
    ($(($algo:literal, $env:literal)),* $(,)?) => {
        &[$(($algo, $env, include_str!(concat!("../presets/", $algo, "/", $env, ".toml")))),*]
    };
}

/// Embedded presets: `(algo or "base", env or "default", TOML text)`. A test checks that
/// every file under `presets/` is listed here.
static PRESETS: &[(&str, &str, &str)] = presets![
    ("base", "default"),
    ("random", "default"),
    ("q-learning", "default"),
    ("q-learning", "FrozenLake-v1"),
    ("q-learning", "CliffWalking-v1"),
    ("q-learning", "Taxi-v4"),
    ("q-learning", "GridWorld-v0"),
    ("dyna-q", "default"),
    ("dyna-q", "DynaMaze-v0"),
    ("dyna-q", "FrozenLake-v1"),
    ("dyna-q", "GridWorld-v0"),
    ("dyna-q-plus", "default"),
    ("dyna-q-plus", "BlockingMaze-v0"),
    ("dyna-q-plus", "ShortcutMaze-v0"),
    ("prioritized-sweeping", "default"),
    ("prioritized-sweeping", "DynaMaze-v0"),
    ("pets", "default"),
    ("pets", "mbrl-lib"),
    ("pets", "CartPoleContinuous-v0"),
    ("pets", "CartPoleSwingUp-v0"),
    ("pets", "Pendulum-v1"),
    ("pets", "MountainCarContinuous-v0"),
    ("mpc", "default"),
    ("mpc", "CartPole-v1"),
    ("mpc", "GridWorld-v0"),
    ("dqn", "default"),
    ("dqn", "CartPole-v1"),
    ("ppo", "default"),
    ("ppo", "CartPole-v1"),
    ("ppo", "Pendulum-v1"),
    ("a2c", "default"),
    ("sac", "default"),
    ("sac", "Pendulum-v1"),
    ("mbpo", "default"),
    ("mbpo", "Pendulum-v1"),
    ("neural-dyna", "default"),
    ("dreamer", "default"),
    ("dreamer", "CartPolePixels-v1"),
    ("dreamer", "PendulumPixels-v1"),
    ("dreamer", "CartPoleSwingUpPixels-v0"),
    ("dreamer", "Pendulum-v1"),
    ("dreamer", "CartPoleSwingUp-v0"),
    ("dreamer", "tiny"),
    ("dreamer", "xs"),
    ("dreamer", "s"),
    ("muzero", "default"),
    ("muzero", "TicTacToe-v0"),
    ("alphazero", "default"),
    ("alphazero", "TicTacToe-v0"),
    ("alphazero", "ConnectFour-v0"),
    ("world-models", "default"),
    ("world-models", "CartPole-v1"),
    ("world-models", "CartPolePixels-v1"),
];

/// The preset text for `(algo, env)`, if one is embedded.
pub fn preset(algo: &str, env: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(a, e, _)| *a == algo && *e == env)
        .map(|(_, _, text)| *text)
}

/// Whether a preset's second name is a named preset (`mbrl-lib`: lower case) rather than
/// an env id (`CartPole-v1`) or `default`.
fn is_named(name: &str) -> bool {
    name != "default" && name.starts_with(|c: char| c.is_ascii_lowercase())
}

/// The envs that have a preset for `algo`.
pub fn preset_envs(algo: &str) -> Vec<&'static str> {
    PRESETS
        .iter()
        .filter(|(a, e, _)| *a == algo && *e != "default" && !is_named(e))
        .map(|(_, e, _)| *e)
        .collect()
}

/// `algo`'s named presets (`--preset NAME`) with their one-line summaries (the file's
/// first comment line).
pub fn named_presets(algo: &str) -> Vec<(&'static str, &'static str)> {
    PRESETS
        .iter()
        .filter(|(a, e, _)| *a == algo && is_named(e))
        .map(|(_, name, text)| {
            let summary = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix('#'))
                .unwrap_or("")
                .trim();
            (*name, summary)
        })
        .collect()
}

/// Parses TOML text into a table.
pub fn parse_toml(text: &str, source_name: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        source_name: source_name.to_string(),
        message: e.to_string().trim().to_string(),
    })
}

/// Deep-merges `overlay` into `base` (tables merge key by key; other values replace).
pub fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Parses an override value: a TOML value (`0.5`, `true`, `"x"`, `[1, 2]`), or else a bare
/// string (`--set env.options.map_name=8x8`).
pub fn parse_value(text: &str) -> Value {
    match format!("v = {text}").parse::<Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Applies one `key.path=value` override to `table`.
pub fn apply_override(table: &mut Table, assignment: &str) -> Result<(), ConfigError> {
    let bad = |message: &str| ConfigError::Parse {
        source_name: format!("--set {assignment}"),
        message: message.to_string(),
    };
    let (path, value) = assignment
        .split_once('=')
        .ok_or_else(|| bad("expected key=value, e.g. --set agent.alpha=0.2"))?;
    let keys: Vec<&str> = path.trim().split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(bad("empty key; use dotted paths like agent.alpha"));
    }
    let mut node = table;
    for key in &keys[..keys.len() - 1] {
        let entry = node
            .entry(key.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        node = match entry {
            Value::Table(t) => t,
            _ => return Err(bad(&format!("`{key}` is a value, not a section"))),
        };
    }
    node.insert(keys[keys.len() - 1].to_string(), parse_value(value.trim()));
    Ok(())
}

/// Deserialises a table into `T`, mapping serde's message (which lists the valid keys for
/// an unknown one) into a [`ConfigError`] for `section`.
pub fn from_table<T: serde::de::DeserializeOwned>(
    table: Table,
    section: &str,
) -> Result<T, ConfigError> {
    parse_table(table, section, |de| T::deserialize(de))
}

/// [`from_table`] with the parsing function given (for types chosen at run time, such as an
/// algorithm's hyperparameters); errors name the key's path as `from_table`'s do.
pub fn parse_table<T>(
    table: Table,
    section: &str,
    parse: impl FnOnce(serde_path_to_error::Deserializer<'_, '_, Value>) -> Result<T, toml::de::Error>,
) -> Result<T, ConfigError> {
    let mut track = serde_path_to_error::Track::new();
    let result = parse(serde_path_to_error::Deserializer::new(
        Value::Table(table),
        &mut track,
    ));
    result.map_err(|e| {
        let e = serde_path_to_error::Error::new(track.path(), e);
        let path = e.path().to_string();
        let message = e.into_inner().message().trim().to_string();
        ConfigError::Invalid {
            section: section.to_string(),
            // serde's own message names an unknown key; for a wrong type, add which key.
            message: if path == "." || message.contains(&format!("`{path}`")) {
                message
            } else {
                format!("`{path}`: {message}")
            },
        }
    })
}

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct ConfigRequest {
    /// Algorithm name.
    pub algo: String,
    /// Env id.
    pub env: String,
    /// `--preset NAME`: a named preset of the algorithm, laid over the env preset.
    pub preset: Option<String>,
    /// Contents and name of a `--config` file.
    pub file: Option<(String, String)>,
    /// `--set key=value` overrides, in order.
    pub overrides: Vec<String>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--steps`.
    pub steps: Option<u64>,
}

/// Resolves the layered configuration (see the module docs).
pub fn resolve(request: &ConfigRequest) -> Result<TrainConfig, ConfigError> {
    let mut table = parse_toml(
        preset("base", "default").expect("base preset"),
        "presets/base/default.toml",
    )?;
    for env in ["default", request.env.as_str()] {
        if let Some(text) = preset(&request.algo, env) {
            merge(
                &mut table,
                parse_toml(text, &format!("presets/{}/{env}.toml", request.algo))?,
            );
        }
    }
    if let Some(name) = &request.preset {
        let text = preset(&request.algo, name)
            .filter(|_| is_named(name))
            .ok_or_else(|| {
                let known: Vec<&str> = named_presets(&request.algo).iter().map(|p| p.0).collect();
                ConfigError::Invalid {
                    section: "--preset".into(),
                    message: format!(
                        "{} has no preset `{name}`; its presets: {}",
                        request.algo,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                }
            })?;
        merge(
            &mut table,
            parse_toml(text, &format!("presets/{}/{name}.toml", request.algo))?,
        );
    }
    if let Some((name, text)) = &request.file {
        merge(&mut table, parse_toml(text, name)?);
    }
    table.insert("algo".into(), Value::String(request.algo.clone()));
    let env = table
        .entry("env")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Value::Table(env) = env {
        env.insert("id".into(), Value::String(request.env.clone()));
    }
    for assignment in &request.overrides {
        apply_override(&mut table, assignment)?;
    }
    // TOML integers are i64: a larger u64 would wrap (a seed of 2⁶⁴ − 1 was reported as
    // "invalid value: integer `-1`").
    let as_toml = |key: &str, value: u64| {
        i64::try_from(value)
            .map(Value::Integer)
            .map_err(|_| ConfigError::Invalid {
                section: "[top level]".into(),
                message: format!(
                    "`{key}` = {value}: values up to {} fit in a config file",
                    i64::MAX
                ),
            })
    };
    if let Some(seed) = request.seed {
        table.insert("seed".into(), as_toml("seed", seed)?);
    }
    if let Some(steps) = request.steps {
        table.insert("total_steps".into(), as_toml("total_steps", steps)?);
    }
    refuse_non_finite(&table, "")?;
    let mut config: TrainConfig = from_table(table, "[top level]")?;
    config.agent = crate::algos::full_agent_table(&config.algo, &config.agent)?;
    Ok(config)
}

/// Refuses a non-finite number anywhere in a config (TOML spells them `inf` and `nan`): no
/// hyperparameter, bound or env option means anything infinite, and an infinite learning
/// rate was accepted before, skipping every update without a word.
fn refuse_non_finite(table: &Table, prefix: &str) -> Result<(), ConfigError> {
    fn check(value: &Value, key: &str) -> Result<(), ConfigError> {
        match value {
            Value::Float(x) if !x.is_finite() => Err(ConfigError::Invalid {
                section: "[top level]".into(),
                message: format!("`{key}` = {x}: numbers in a config must be finite"),
            }),
            Value::Table(t) => refuse_non_finite(t, key),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| check(v, &format!("{key}[{i}]"))),
            _ => Ok(()),
        }
    }
    table.iter().try_for_each(|(name, value)| {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        check(value, &key)
    })
}

/// Converts the `[env.options]` table into registry options.
pub fn env_options(table: &Table) -> Result<EnvOptions, ConfigError> {
    let mut options = EnvOptions::new();
    for (key, value) in table {
        let bad = || ConfigError::Invalid {
            section: "[env.options]".into(),
            message: format!("option `{key}` has an unsupported value {value}"),
        };
        let converted = match value {
            Value::Boolean(b) => OptionValue::Bool(*b),
            Value::Integer(i) => OptionValue::Int(*i),
            Value::Float(x) => OptionValue::Float(*x),
            Value::String(s) => OptionValue::Str(s.clone()),
            Value::Array(items) => OptionValue::StrList(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(bad()),
        };
        options.insert(key, converted);
    }
    Ok(options)
}

impl TrainConfig {
    /// A run's saved `config.toml` (for `--resume`), checked as a fresh one is.
    pub fn from_saved(text: &str) -> Result<Self, ConfigError> {
        Self::from_saved_with(text, &[])
    }

    /// [`from_saved`](Self::from_saved) with `--set KEY=VALUE` assignments applied on top
    /// (e.g. evaluating a trained MuZero at another number of simulations).
    pub fn from_saved_with(text: &str, overrides: &[String]) -> Result<Self, ConfigError> {
        let mut table = parse_toml(text, "config.toml")?;
        for assignment in overrides {
            apply_override(&mut table, assignment)?;
        }
        refuse_non_finite(&table, "")?;
        let config: TrainConfig = from_table(table, "[top level]")?;
        crate::algos::agent_config(&config.algo, &config.agent)?;
        Ok(config)
    }

    /// The resolved configuration as TOML text, every key under its one-line doc (what
    /// `config.toml` holds and `--print-config` prints).
    pub fn to_toml(&self) -> String {
        annotated_toml(self)
    }
}

#[cfg(test)]
mod tests;
