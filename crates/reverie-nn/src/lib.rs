//! # reverie-nn
//!
//! Neural building blocks on candle (CPU by default, CUDA with the `cuda` feature):
//!
//! - [`threads`]: set candle's CPU thread count once at start-up (its default is very slow
//!   for small tensors on small machines).
//! - [`DeviceSpec`]: `"cpu"`, `"cuda"` or `"cuda:N"` from a config, opened with a clear
//!   error where the build has no CUDA.
//! - [`EnsembleMlp`]: E independent MLPs stored as `[E, in, out]` weights, run either as one
//!   batched matmul per layer or member by member.
//! - [`Adam`]: Adam with optional decoupled weight decay, and [`clip_grad_norm`].
//! - [`Normalizer`]: per-dimension mean/std fitted from data, safe for constant dimensions.
//! - [`checkpoint`]: safetensors + JSON metadata, written atomically, refused when corrupt
//!   or mismatched.
//! - [`module`]: the module layer's shape (`XConfig → init`, [`Parameters`] for optimisers
//!   and checkpoints) and the fused [`Linear`] layer.
//! - [`Mlp`]: one trainable network on the fused [`ops`] (bias + activation in one pass,
//!   with its backward), with target-network updates and an allocation-free single-row
//!   path for acting that reads the trained weights in place (nothing to refresh).
//! - [`dist`]: probability distributions on tensors (Gaussian, tanh-Gaussian, categorical,
//!   straight-through one-hot, Gaussian mixture, Bernoulli, symlog two-hot, MuZero's value
//!   support), sampled from a seeded `Rng`.
//! - [`FastEnsemble`]: batched, allocation-free ensemble inference for planning, calling the
//!   matmul kernel directly with fused bias and activation.

pub mod adam;
pub mod checkpoint;
pub mod device;
pub mod dist;
pub mod ensemble;
mod fast;
pub mod fast_ensemble;
pub mod mlp;
pub mod module;
pub mod normalizer;
pub mod ops;
mod simd;
pub mod threads;

pub use adam::{clip_grad_norm, grad_norm, Adam, AdamConfig};
pub use device::DeviceSpec;
pub use ensemble::{Activation, EnsembleLinear, EnsembleMlp, Execution};
pub use fast_ensemble::{FastEnsemble, RowGroup};
pub use mlp::{Mlp, MlpConfig};
pub use module::{Init, Linear, LinearConfig, Parameters};
pub use normalizer::Normalizer;

/// The error type of this crate's fallible operations (candle's).
pub type Result<T> = candle_core::Result<T>;
