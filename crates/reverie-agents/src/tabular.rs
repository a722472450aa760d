//! Tabular agents for discrete observation and action spaces.

mod q_learning;
mod q_table;

pub use q_learning::{QLearning, QLearningConfig};
pub use q_table::QTable;

use crate::error::AgentError;
use reverie_core::Space;

/// `(n_states, n_actions)` of a discrete env, or an error naming the agent.
pub fn discrete_sizes(
    agent: &'static str,
    observation_space: &Space,
    action_space: &Space,
) -> Result<(usize, usize), AgentError> {
    let unsupported = |needs, space: &Space| AgentError::UnsupportedSpace {
        agent,
        needs,
        found: space.describe(),
    };
    let states = match observation_space {
        Space::Discrete { n, start: 0 } => *n as usize,
        other => return Err(unsupported("a Discrete(n) observation space", other)),
    };
    let actions = match action_space {
        Space::Discrete { n, start: 0 } => *n as usize,
        other => return Err(unsupported("a Discrete(n) action space", other)),
    };
    Ok((states, actions))
}
