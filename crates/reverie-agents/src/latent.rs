//! Agents that learn a latent world model and act from its state: Dreamer, MuZero and
//! World Models.

pub mod dreamer;
pub mod muzero;
pub mod world_models;

pub use dreamer::{ActorGrad, Dreamer, DreamerConfig};
pub use muzero::{EvalBy, MuZero, MuZeroConfig};
pub use world_models::{TrainIn, WorldModels, WorldModelsConfig};

use reverie_core::{Action, Dtype, Space};
use reverie_models::ObsShape;

use crate::model_free::common::{box_obs_dim, from_unit, ActionKind};
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

/// The env action of a model-scale action row (`kind` and `space` are the agent's): the
/// most likely of a discrete row (one-hot or logits; the last of equal maxima), or a
/// continuous row in [−1, 1] mapped to the space's bounds.
pub(crate) fn env_action(kind: &ActionKind, space: &Space, row: &[f32]) -> Action {
    match kind {
        ActionKind::Discrete(_) => {
            let k = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(k, _)| k);
            match space {
                Space::Discrete { start, .. } => Action::Discrete(start + k as i64),
                Space::Box(_) => unreachable!("discrete kind"),
            }
        }
        ActionKind::Continuous { low, high } => Action::Vector(
            row.iter()
                .zip(low.iter().zip(high))
                .map(|(a, (l, h))| from_unit(a.clamp(-1.0, 1.0), *l, *h))
                .collect(),
        ),
    }
}
