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
//! - [`FastEnsemble`]: batched, allocation-free ensemble inference for planning, calling the
//!   matmul kernel directly with fused bias and activation.
//! - [`recurrent`]: GRU and LSTM cells and DreamerV3's layer-normed GRU, each step two fused
//!   projections and one fused gate op with its backward, and [`recurrent::unroll`].
//! - [`norm`]: [`LayerNorm`] and [`RmsNorm`] over the last dimension on fused,
//!   differentiable ops ([`norm_ops`]; candle-nn's drop gradients for contiguous inputs).
//! - [`embedding`]: [`Embedding`], a lookup table from u32 ids to learned vectors.

pub mod adam;
pub mod checkpoint;
pub mod embedding;
pub mod ensemble;
pub mod fast;
pub mod fast_ensemble;
#[cfg(test)]
mod gradcheck;
pub mod mlp;
pub mod norm;
pub mod norm_ops;
pub mod normalizer;
pub mod ops;
mod params;
pub mod recurrent;
mod simd;
pub mod threads;

pub use adam::{clip_grad_norm, grad_norm, Adam, AdamConfig};
pub use embedding::{Embedding, EmbeddingConfig};
pub use ensemble::{Activation, EnsembleLinear, EnsembleMlp, Execution};
pub use fast::FastMlp;
pub use fast_ensemble::{FastEnsemble, RowGroup};
pub use mlp::{Init, Mlp};
pub use norm::{LayerNorm, LayerNormConfig, RmsNorm, RmsNormConfig};
pub use normalizer::Normalizer;
pub use recurrent::{
    unroll, unroll_stepwise, GruCell, GruConfig, LstmCell, LstmConfig, NormGruCell, NormGruConfig,
    RecurrentCell,
};

/// The error type of this crate's fallible operations (candle's).
pub type Result<T> = candle_core::Result<T>;
