//! # reverie-models
//!
//! Learned models of `(s, a) → (s', r, done)` and the tools to use and judge them.
//!
//! - [`EnsembleModel`]: E MLPs predicting the state delta and reward (and optionally a
//!   termination logit), deterministic (MSE) or probabilistic (Gaussian NLL with learned soft
//!   bounds on the log-variance, as in PETS); inputs and targets normalised from data; elites
//!   chosen by validation error; checkpoints via safetensors.
//! - [`train`]: holdout split, bootstrap per member, Adam with weight decay and optional
//!   gradient clipping, early stopping with patience.
//! - [`ModelEnv`]: a batched imagined environment over the ensemble with propagation modes
//!   (random member per step, fixed member per particle, expectation), per-particle ensemble
//!   disagreement, and optional truncation when disagreement exceeds a threshold.
//! - [`FastDynamics`]: an allocation-free inference snapshot for planners (each particle
//!   through its own member only).
//! - [`DynamicsModel`]: the trait planners and imagined rollouts use; implemented by
//!   [`FastDynamics`] (the ensemble's inference path) and [`LinearModel`] (least squares on
//!   `[s, a, 1] → [Δs, r]`).
//! - [`LatentModel`]: the shape of latent world models (observe / imagine / heads), shown
//!   on a state-space model by [`StateSpaceLatent`].
//! - [`Vae`] and [`MdnRnn`]: World Models' vision (a VAE compressing each frame to z) and
//!   memory (an LSTM predicting the next z as a Gaussian mixture, with reward and end).
//! - [`encoding`]: actions as model inputs (one-hot or clipped vectors).
//! - [`diagnostics`]: k-step compounding error and disagreement-vs-error calibration.

pub mod diagnostics;
pub mod dynamics;
pub mod encoding;
pub mod ensemble;
pub mod fast;
pub mod latent;
pub mod linear;
pub mod mdn_rnn;
pub mod model_env;
pub mod rssm;
pub mod trainer;
pub mod vae;
pub mod world_model;

pub use dynamics::{DynamicsModel, StepOutputs};
pub use encoding::{action_width, encode_action};
pub use ensemble::{EnsembleModel, EnsembleModelConfig, EnsembleState, Prediction};
pub use fast::FastDynamics;
pub use latent::{LatentModel, StateSpaceLatent, StateSpaceState};
pub use linear::{LinearModel, LinearModelConfig};
pub use mdn_rnn::{MdnPrediction, MdnRnn, MdnRnnConfig, MdnSequences};
pub use model_env::{ModelEnv, ModelEnvConfig, ModelStep, Propagation};
pub use reverie_core::KnownFunctions;
pub use rssm::{Latent, LatentKind, Rssm, RssmConfig, RssmState};
pub use trainer::{train, EpochLog, TrainReport, TrainerConfig};
pub use vae::{Vae, VaeConfig, VaeLoss};
pub use world_model::{ObsShape, SequenceInputs, WorldModel, WorldModelConfig, WorldModelLoss};
