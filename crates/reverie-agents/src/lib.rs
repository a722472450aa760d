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
//! | [`Dqn`] | `model_free/dqn.rs` | Box obs, Discrete actions |
//! | [`Sac`] | `model_free/sac.rs` | Box obs, Box actions |
//! | [`Ppo`] | `model_free/ppo.rs` | Box obs; Discrete or Box actions |
//! | [`Mbpo`] | `imagination/mbpo.rs` | Box obs, Box actions |
//! | [`NeuralDyna`] | `imagination/neural_dyna.rs` | Box obs, Discrete actions |
//! | [`PrioritizedSweeping`] | `tabular/prioritized_sweeping.rs` | Discrete |

pub mod algorithm;
pub mod error;
pub mod imagination;
pub mod latent;
pub mod model_free;
pub mod planning;
pub mod random;
pub mod tabular;

pub use algorithm::{AgentConfig, Algorithm, RandomConfig};
pub use error::AgentError;
pub use imagination::{Mbpo, MbpoConfig, NeuralDyna, NeuralDynaConfig};
pub use latent::{Dreamer, DreamerConfig, MuZero, MuZeroConfig, WorldModels, WorldModelsConfig};
pub use model_free::{Dqn, DqnConfig, Ppo, PpoConfig, Sac, SacConfig};
pub use planning::{MpcAgent, MpcAgentConfig};
pub use random::RandomAgent;
pub use tabular::{
    DynaQ, DynaQConfig, ModelKind, PrioritizedSweeping, PrioritizedSweepingConfig, QLearning,
    QLearningConfig, QTable,
};
