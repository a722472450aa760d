//! Agents that learn a latent world model and act from its state: Dreamer.

pub mod dreamer;
pub mod muzero;
pub mod world_models;

pub use dreamer::{ActorGrad, Dreamer, DreamerConfig};
pub use muzero::{EvalBy, MuZero, MuZeroConfig};
pub use world_models::{TrainIn, WorldModels, WorldModelsConfig};
