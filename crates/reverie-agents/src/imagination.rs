//! Agents that learn from imagined experience: a model-free learner trained on a mixture of
//! real transitions and short rollouts of a learned ensemble model.

pub mod mbpo;
pub mod neural_dyna;

pub use mbpo::{Mbpo, MbpoConfig};
pub use neural_dyna::{NeuralDyna, NeuralDynaConfig};
