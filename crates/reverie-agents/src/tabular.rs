//! Tabular agents for discrete observation and action spaces.

mod dyna_q;
pub mod model;
mod prioritized_sweeping;
mod q_learning;
mod q_table;

pub use dyna_q::{DynaQ, DynaQConfig, ModelKind};
pub use prioritized_sweeping::{PrioritizedSweeping, PrioritizedSweepingConfig};
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

/// ε after `step` steps of a linear decay from `start` to `end` over `decay_steps`
/// (0: constant `start`).
pub fn linear_epsilon(start: f64, end: f64, decay_steps: u64, step: u64) -> f64 {
    if decay_steps == 0 {
        return start;
    }
    let frac = (step as f64 / decay_steps as f64).min(1.0);
    start + frac * (end - start)
}
