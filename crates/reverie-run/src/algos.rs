//! The algorithms `reverie train` knows: [`Algorithm`] names them, and [`build_agent`]
//! turns a run's `[agent]` table into the typed [`AgentConfig`] and the agent.

pub use reverie_agents::{AgentConfig, Algorithm};
use reverie_core::{Agent, Rng, Space};
use reverie_envs::EnvRecipe;
use reverie_nn::DeviceSpec;
use toml::Table;

use crate::config::{parse_table, ConfigError};

/// The algorithm called `name`, or an error listing the known ones.
pub fn algorithm(name: &str) -> Result<Algorithm, ConfigError> {
    Algorithm::from_name(name).map_err(|message| ConfigError::Invalid {
        section: "algorithm".into(),
        message,
    })
}

/// Checks that `name` is a known algorithm.
pub fn check_algorithm(name: &str) -> Result<(), ConfigError> {
    algorithm(name).map(|_| ())
}

/// Parses `algo`'s `[agent]` table into its typed hyperparameters (unknown keys refused).
pub fn agent_config(algo: &str, agent: &Table) -> Result<AgentConfig, ConfigError> {
    let algorithm = algorithm(algo)?;
    parse_table(agent.clone(), &format!("[agent] of {algo}"), |de| {
        AgentConfig::parse(algorithm, de)
    })
}

/// `algo`'s `[agent]` table with every default filled in (what `config.toml` and
/// `--print-config` show), after checking it.
pub fn full_agent_table(algo: &str, agent: &Table) -> Result<Table, ConfigError> {
    let typed = agent_config(algo, agent)?;
    typed.to_table().map_err(|message| ConfigError::Invalid {
        section: format!("[agent] of {algo}"),
        message,
    })
}

/// Builds the agent `algo` from its `[agent]` table for the env `env` builds, with these
/// spaces and its networks on `device`; `total_steps` is the run's budget (schedules anneal
/// over it).
#[allow(clippy::too_many_arguments)]
pub fn build_agent(
    algo: &str,
    env: &EnvRecipe,
    agent: &Table,
    device: DeviceSpec,
    observation_space: &Space,
    action_space: &Space,
    total_steps: u64,
    rng: Rng,
) -> anyhow::Result<Box<dyn Agent>> {
    let config = agent_config(algo, agent)?.with_device(device);
    Ok(config.init(env, observation_space, action_space, total_steps, rng)?)
}
