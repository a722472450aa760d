//! # reverie-nn
//!
//! Neural building blocks on candle (CPU by default, CUDA with the `cuda` feature):
//!
//! - [`threads`]: set candle's CPU thread count once at start-up (its default is very slow
//!   for small tensors on small machines).
//! - [`EnsembleMlp`]: E independent MLPs stored as `[E, in, out]` weights, run either as one
//!   batched matmul per layer or member by member.
//! - [`Adam`]: Adam with optional decoupled weight decay, and [`clip_grad_norm`].
//! - [`Normalizer`]: per-dimension mean/std fitted from data, safe for constant dimensions.
//! - [`checkpoint`]: safetensors + JSON metadata, written atomically, refused when corrupt
//!   or mismatched.
//! - [`FastMlp`]: a hand-written single-row forward pass for tiny policies and models, where
//!   per-op framework overhead dominates.
//! - [`Mlp`]: one trainable network on the fused [`ops`] (bias + activation in one pass,
//!   with its backward), with target-network updates and a [`FastMlp`] snapshot.
//! - [`conv`]: [`Conv2d`] and [`ConvTranspose2d`] layers (NCHW, PyTorch layouts) on
//!   hand-written im2col/col2im + matmul kernels with their backward.
//! - [`FastEnsemble`]: batched, allocation-free ensemble inference for planning, calling the
//!   matmul kernel directly with fused bias and activation.

pub mod adam;
pub mod checkpoint;
pub mod conv;
pub mod ensemble;
pub mod fast;
pub mod fast_ensemble;
pub mod mlp;
pub mod normalizer;
pub mod ops;
mod simd;
pub mod threads;

pub use adam::{clip_grad_norm, grad_norm, Adam, AdamConfig};
pub use conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
pub use ensemble::{Activation, EnsembleLinear, EnsembleMlp, Execution};
pub use fast::FastMlp;
pub use fast_ensemble::{FastEnsemble, RowGroup};
pub use mlp::{Init, Mlp};
pub use normalizer::Normalizer;

/// The error type of this crate's fallible operations (candle's).
pub type Result<T> = candle_core::Result<T>;
