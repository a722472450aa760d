//! Agents that plan in a model at every step (model predictive control), and the
//! objectives that join a learned model to the planners of `reverie-planning`.

pub mod model_gradient;
pub mod model_objective;
pub mod mpc_agent;

pub use model_gradient::ModelGradientObjective;
pub use model_objective::{ActionEncoding, ModelObjective, ModelObjectiveConfig};
pub use mpc_agent::{DynamicsKind, MpcAgent, MpcAgentConfig};
