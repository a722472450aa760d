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
//! - [`conv`]: [`Conv2d`] and [`ConvTranspose2d`] layers (NCHW, PyTorch layouts) on
//!   hand-written im2col/col2im + matmul kernels with their backward.
//! - [`FastEnsemble`]: batched, allocation-free ensemble inference for planning, calling the
//!   matmul kernel directly with fused bias and activation.
//! - [`recurrent`]: GRU and LSTM cells and DreamerV3's layer-normed GRU, each step two fused
//!   projections and one fused gate op with its backward, and [`recurrent::unroll`].
//! - [`norm`]: [`LayerNorm`] and [`RmsNorm`] over the last dimension on fused,
//!   differentiable ops ([`norm_ops`]; candle-nn's drop gradients for contiguous inputs).
//! - [`embedding`]: [`Embedding`], a lookup table from u32 ids to learned vectors.

pub mod adam;
pub mod checkpoint;
pub mod conv;
pub mod device;
pub mod dist;
pub mod embedding;
pub mod ensemble;
mod fast;
pub mod fast_ensemble;
#[cfg(test)]
mod gradcheck;
pub mod mlp;
pub mod module;
pub mod norm;
pub mod norm_ops;
pub mod normalizer;
pub mod ops;
mod params;
pub mod recurrent;
mod simd;
pub mod threads;

pub use adam::{clip_grad_norm, grad_norm, Adam, AdamConfig, AdamState};
pub use conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
pub use device::DeviceSpec;
pub use embedding::{Embedding, EmbeddingConfig};
pub use ensemble::{Activation, EnsembleLinear, EnsembleMlp, Execution};
pub use fast_ensemble::{FastEnsemble, RowGroup};
pub use mlp::{Mlp, MlpConfig};
pub use module::{nested, Init, Linear, LinearConfig, Parameters};
pub use norm::{LayerNorm, LayerNormConfig, RmsNorm, RmsNormConfig};
pub use normalizer::Normalizer;
pub use recurrent::{
    unroll, unroll_stepwise, GruCell, GruConfig, LstmCell, LstmConfig, NormGruCell, NormGruConfig,
    RecurrentCell,
};

/// The error type of this crate's fallible operations (candle's).
pub type Result<T> = candle_core::Result<T>;
