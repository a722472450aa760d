//! The algorithms `reverie train` knows, and how each is built from its `[agent]` table.

use reverie_agents::{
    DqnConfig, DynaQConfig, MbpoConfig, MpcAgentConfig, NeuralDynaConfig, PpoConfig,
    PrioritizedSweepingConfig, QLearningConfig, RandomAgent, SacConfig,
};
use reverie_core::{Agent, Rng, Space, VecAgent};
use toml::Table;

use crate::config::{from_table, ConfigError};

/// `(name, one-line description)` of every trainable algorithm.
pub const ALGORITHMS: &[(&str, &str)] = &[
    ("random", "uniformly random actions: the baseline (any env)"),
    (
        "q-learning",
        "tabular Q-learning with ε-greedy exploration (Discrete obs and actions)",
    ),
    (
        "dyna-q",
        "Dyna-Q: Q-learning + planning from a learned tabular model (deterministic or distribution)",
    ),
    (
        "dyna-q-plus",
        "Dyna-Q+: Dyna-Q with the exploration bonus κ√τ for changing environments",
    ),
    (
        "prioritized-sweeping",
        "prioritized sweeping: planning ordered by TD-error priority (deterministic envs)",
    ),
    (
        "pets",
        "PETS: probabilistic ensemble + CEM model predictive control with TS∞ particles (Box actions)",
    ),
    (
        "mpc",
        "MPC over a learned deterministic model: random shooting, CEM, iCEM, MPPI or categorical CEM (any actions)",
    ),
    (
        "dqn",
        "DQN: replay, target network, Huber loss, ε schedule, optional Double DQN (Box obs, Discrete actions)",
    ),
    (
        "ppo",
        "PPO: parallel rollouts, GAE, clipped surrogate, KL early stop (Box obs; Discrete or Box actions)",
    ),
    (
        "mbpo",
        "MBPO: SAC on short branched rollouts of a probabilistic ensemble, mixed with real data (Box obs and actions)",
    ),
    (
        "neural-dyna",
        "neural Dyna: DQN whose Q-network also learns from imagined rollouts of a learned ensemble (Box obs, Discrete actions)",
    ),
    (
        "sac",
        "SAC: twin Q, tanh-squashed Gaussian policy, automatic entropy tuning (Box obs and actions)",
    ),
];

/// The algorithms that act in N parallel envs through [`VecAgent`].
pub const VEC_ALGORITHMS: &[&str] = &["dqn", "ppo", "sac", "mbpo", "neural-dyna"];

/// Whether `algo` is trained by the vectorised loop.
pub fn is_vec_algorithm(algo: &str) -> bool {
    VEC_ALGORITHMS.contains(&algo)
}

/// Builds the vectorised agent `algo` from its `[agent]` table; `total_steps` is the run's
/// budget (schedules anneal over it).
pub fn build_vec_agent(
    algo: &str,
    env_id: &str,
    agent: &Table,
    observation_space: &Space,
    action_space: &Space,
    total_steps: u64,
    rng: Rng,
) -> anyhow::Result<Box<dyn VecAgent>> {
    let section = format!("[agent] of {algo}");
    Ok(match algo {
        "dqn" => {
            let config: DqnConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(observation_space, action_space, total_steps, rng)?)
        }
        "ppo" => {
            let config: PpoConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(observation_space, action_space, total_steps, rng)?)
        }
        "sac" => {
            let config: SacConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(observation_space, action_space, rng)?)
        }
        "mbpo" => {
            let config: MbpoConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(env_id, observation_space, action_space, rng)?)
        }
        "neural-dyna" => {
            let config: NeuralDynaConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(env_id, observation_space, action_space, total_steps, rng)?)
        }
        _ => anyhow::bail!("{algo} is not a vectorised algorithm"),
    })
}

/// Checks that `name` is a known algorithm.
pub fn check_algorithm(name: &str) -> Result<(), ConfigError> {
    if ALGORITHMS.iter().any(|(n, _)| *n == name) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            section: "algorithm".into(),
            message: format!(
                "unknown algorithm '{name}'; known: {}",
                ALGORITHMS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// Builds the agent `algo` from its `[agent]` table for an env with these spaces.
pub fn build_agent(
    algo: &str,
    env_id: &str,
    agent: &Table,
    observation_space: &Space,
    action_space: &Space,
    rng: Rng,
) -> anyhow::Result<Box<dyn Agent>> {
    check_algorithm(algo)?;
    let section = format!("[agent] of {algo}");
    Ok(match algo {
        "random" => {
            let _: Empty = from_table(agent.clone(), &section)?;
            Box::new(RandomAgent::new(action_space.clone(), rng))
        }
        "q-learning" => {
            let config: QLearningConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(observation_space, action_space, rng)?)
        }
        "dyna-q" => {
            let config: DynaQConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(observation_space, action_space, rng)?)
        }
        "dyna-q-plus" => {
            let config: DynaQConfig = from_table(agent.clone(), &section)?;
            if config.kappa <= 0.0 {
                anyhow::bail!(
                    "dyna-q-plus needs agent.kappa > 0 (the exploration bonus); use dyna-q for kappa = 0"
                );
            }
            Box::new(config.init(observation_space, action_space, rng)?)
        }
        "prioritized-sweeping" => {
            let config: PrioritizedSweepingConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(observation_space, action_space, rng)?)
        }
        "pets" | "mpc" => {
            let config: MpcAgentConfig = from_table(agent.clone(), &section)?;
            Box::new(config.init(env_id, observation_space, action_space, rng)?)
        }
        vec if is_vec_algorithm(vec) => {
            anyhow::bail!("{vec} acts in parallel envs: build it with build_vec_agent")
        }
        _ => unreachable!("checked above"),
    })
}

/// An agent with no hyperparameters: any key is refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}
