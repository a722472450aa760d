//! Standard normal and uniform tensors drawn from a [`Rng`].

use candle_core::{Device, Shape, Tensor};
use reverie_core::Rng;

use crate::Result;

/// A tensor of independent standard normal draws, filled row-major with one
/// [`Rng::normal`] call per element.
///
/// One call per element (rather than [`reverie_core::rng::fill_normal`], which uses both
/// values of each Box–Muller pair) is the draw order SAC has always used, so its seed-0
/// runs keep their numbers.
pub fn standard_normal(rng: &mut Rng, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
    let shape = shape.into();
    let values: Vec<f32> = (0..shape.elem_count())
        .map(|_| rng.normal() as f32)
        .collect();
    Tensor::from_vec(values, shape, device)
}
