//! # reverie-agents
//!
//! Agents implementing [`reverie_core::Agent`], one readable file per algorithm with its
//! `XConfig` (serde, unknown keys refused, a doc line per field, `validate()`) at the top.
//!
//! | agent | file | spaces |
//! |---|---|---|
//! | [`RandomAgent`] | `random.rs` | any |
//! | [`QLearning`] | `tabular/q_learning.rs` | Discrete obs, Discrete actions |
//! | [`DynaQ`] (Dyna-Q, Dyna-Q+, distribution model) | `tabular/dyna_q.rs` | Discrete |
//! | [`PrioritizedSweeping`] | `tabular/prioritized_sweeping.rs` | Discrete |

pub mod error;
pub mod planning;
pub mod random;
pub mod tabular;

pub use error::AgentError;
pub use planning::{MpcAgent, MpcAgentConfig};
pub use random::RandomAgent;
pub use tabular::{
    DynaQ, DynaQConfig, ModelKind, PrioritizedSweeping, PrioritizedSweepingConfig, QLearning,
    QLearningConfig, QTable,
};
