//! Agents that plan in a model at every step (model predictive control).

pub mod mpc_agent;

pub use mpc_agent::{MpcAgent, MpcAgentConfig};
