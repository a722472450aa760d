//! Agents that learn a latent world model and act from its state: Dreamer.

pub mod dreamer;

pub use dreamer::{ActorGrad, Dreamer, DreamerConfig};
