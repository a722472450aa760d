//! Probability distributions over candle tensors, for policies, world models and value
//! heads. Parameters are ordinary tensors, so gradients reach them through candle's
//! autodiff; all randomness comes from a [`reverie_core::Rng`] passed in, so a seed
//! reproduces every draw bit for bit (candle's own `randn`/`rand` are never used).
//!
//! The event is the last dimension (the last two for [`OneHotCategorical::grouped`]);
//! any leading batch shape (`[B]`, `[T, B]`, ...) works, and per-event quantities
//! (`log_prob`, `entropy`, KL) have the batch shape.
//!
//! - [`Normal`]: diagonal Gaussian, reparameterised, with KL.
//! - [`TanhNormal`]: tanh-squashed diagonal Gaussian (SAC's policy).
//! - [`Categorical`]: class indices from logits (PPO's discrete policy), with KL.
//! - [`OneHotCategorical`]: one-hot samples with straight-through gradients, uniform
//!   mixing and DreamerV3's grouped latents, with KL.
//! - [`MixtureNormal`]: mixture of diagonal Gaussians (the MDN-RNN of World Models),
//!   sampled with a temperature.
//! - [`Bernoulli`]: independent binary variables from logits.
//! - [`symlog`]: DreamerV3's symlog/symexp squashing, and [`TwoHot`], its symlog two-hot
//!   regression head.
//! - [`value_support`]: MuZero's invertible value scaling and its categorical support.

pub mod bernoulli;
pub mod categorical;
mod mixed_softmax;
pub mod mixture;
pub mod noise;
pub mod normal;
pub mod one_hot;
pub mod symlog;
pub mod tanh_normal;
pub mod two_hot;
pub mod value_support;

pub use bernoulli::Bernoulli;
pub use categorical::Categorical;
pub use mixture::MixtureNormal;
pub use normal::Normal;
pub use one_hot::OneHotCategorical;
pub use tanh_normal::TanhNormal;
pub use two_hot::{TwoHot, TwoHotBins};
pub use value_support::ScalarSupport;

use candle_core::Tensor;
use reverie_core::Rng;

use crate::Result;

/// What every distribution here offers; reparameterised draws (`rsample`), entropy and KL
/// are inherent methods of the distributions that have them.
pub trait Distribution {
    /// A draw with no gradient attached.
    ///
    /// # Shapes
    /// The distribution's batch shape followed by its event shape (class indices for
    /// [`Categorical`], whose event is a single index).
    fn sample(&self, rng: &mut Rng) -> Result<Tensor>;

    /// Log-density (or log-mass) of `value`, summed over the event.
    ///
    /// # Shapes
    /// `value`: batch shape followed by the event shape; result: the batch shape.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor>;

    /// The most likely value (for [`TanhNormal`] the squashed mean, for [`MixtureNormal`]
    /// the mean of its heaviest component: documented where it is not the exact mode).
    fn mode(&self) -> Result<Tensor>;
}

/// The rows of a tensor whose last dimension is `width`: its values row-major as `f32`,
/// and the number of rows. Sampling that needs per-row control flow runs on these.
fn rows_of(tensor: &Tensor) -> Result<(Vec<f32>, usize)> {
    let width = tensor.dim(candle_core::D::Minus1)?;
    let values = tensor.flatten_all()?.to_vec1::<f32>()?;
    let rows = values.len().checked_div(width).unwrap_or(0);
    Ok((values, rows))
}

/// `ln √(2π)`, the per-dimension constant of a Gaussian log-density, computed as SAC and
/// PPO always have: a literal constant differs from it in the last bit, which would change
/// their seed-0 runs.
fn half_log_2pi() -> f64 {
    0.5 * (2.0 * std::f64::consts::PI).ln()
}
