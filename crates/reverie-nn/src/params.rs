//! Loading named parameters into variables, shared by the layers' `load_named`.

use std::collections::HashMap;

use candle_core::{Tensor, Var};

use crate::Result;

/// Sets `var` from `tensors[key]`, refusing a missing name or another shape.
pub(crate) fn load_var(var: &Var, key: &str, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let Some(t) = tensors.get(key) else {
        candle_core::bail!("missing parameter {key}");
    };
    if t.dims() != var.dims() {
        candle_core::bail!("{key} has shape {:?}, expected {:?}", t.dims(), var.dims());
    }
    var.set(&t.to_device(var.device())?.to_dtype(var.dtype())?)
}

/// A variable of `shape` uniform in ±`bound`, drawn
/// from `rng` in row-major order (PyTorch's default for recurrent and linear layers).
pub(crate) fn uniform_var(
    rng: &mut reverie_core::Rng,
    shape: &[usize],
    bound: f64,
    device: &candle_core::Device,
) -> Result<Var> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| rng.uniform_range(-bound, bound) as f32)
        .collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, device)?)
}
