//! Agents that learn a latent world model and act from its state: Dreamer, MuZero and
//! World Models.

pub mod dreamer;
pub mod muzero;
pub mod world_models;

pub use dreamer::{ActorGrad, Dreamer, DreamerConfig};
pub use muzero::{EvalBy, MuZero, MuZeroConfig};
pub use world_models::{TrainIn, WorldModels, WorldModelsConfig};

use reverie_core::{Dtype, Space};
use reverie_models::ObsShape;

use crate::model_free::common::box_obs_dim;
use crate::AgentError;

/// What an image-or-vector world model observes: `uint8 [H, W, C]` boxes are images (the
/// pixel envs), other boxes flat vectors; `algo` names the agent in the error for other
/// spaces.
pub(crate) fn obs_shape(obs: &Space, algo: &'static str) -> Result<ObsShape, AgentError> {
    Ok(match obs.as_box() {
        Some(b) if b.dtype == Dtype::U8 && b.shape.len() == 3 => ObsShape::Image {
            height: b.shape[0],
            width: b.shape[1],
            channels: b.shape[2],
        },
        _ => ObsShape::Vector(box_obs_dim(obs, algo)?),
    })
}
