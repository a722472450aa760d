//! Agents that learn from imagined experience: a model-free learner trained on a mixture of
//! real transitions and short rollouts of a learned ensemble model.

pub mod mbpo;
pub mod neural_dyna;

pub use mbpo::{Mbpo, MbpoConfig};
pub use neural_dyna::{NeuralDyna, NeuralDynaConfig};

use reverie_core::ReplayBuffer;
use reverie_models::ModelStep;

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
