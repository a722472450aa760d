//! Agents that learn from imagined experience: a model-free learner trained on a mixture of
//! real transitions and short rollouts of a learned ensemble model.

pub mod mbpo;
pub mod neural_dyna;

pub use mbpo::{Mbpo, MbpoConfig};
pub use neural_dyna::{NeuralDyna, NeuralDynaConfig};

use reverie_core::ReplayBuffer;
use reverie_models::{EnsembleModelConfig, ModelStep};

use crate::error::require;
use crate::AgentError;

/// Checks the model settings MBPO and neural Dyna share: the disagreement threshold and
/// the ensemble's configuration.
pub(crate) fn validate_model_settings(
    max_disagreement: Option<f32>,
    model: &EnsembleModelConfig,
) -> Result<(), AgentError> {
    require(
        max_disagreement.is_none_or(|m| m >= 0.0),
        "max_disagreement",
        format!("{max_disagreement:?}"),
        ">= 0 or absent",
    )?;
    model
        .validate()
        .map_err(|e| AgentError::Backend(format!("[agent.model]: {e}")))
}

/// Stores one imagined step of a batch of rollouts in `buffer`: row `i` is
/// `(obs[i], actions[i], reward, next_obs, terminated)`; rows the step truncated (the
/// ensemble disagreed) are dropped. Adds to `(stored, stopped)` and returns the next
/// observations of the rollouts that go on (stored and not terminated).
pub(crate) fn store_imagined_step(
    buffer: &mut ReplayBuffer,
    obs: &[f32],
    actions: &[f32],
    step: &ModelStep,
    counts: &mut (usize, usize),
) -> Vec<f32> {
    let rows = step.rewards.len();
    let (d, a) = (obs.len() / rows.max(1), actions.len() / rows.max(1));
    let mut continuing = Vec::with_capacity(obs.len());
    for i in 0..rows {
        if step.truncated[i] {
            counts.1 += 1;
            continue;
        }
        let next = &step.next_obs[i * d..(i + 1) * d];
        let pushed = buffer.push(
            &obs[i * d..(i + 1) * d],
            &actions[i * a..(i + 1) * a],
            step.rewards[i],
            next,
            step.terminated[i],
            false,
        );
        if pushed.is_ok() {
            counts.0 += 1;
            if !step.terminated[i] {
                continuing.extend_from_slice(next);
            }
        }
    }
    continuing
}
