//! Finite-difference gradient checks shared by the layer tests: every fused op's hand-written
//! backward is compared with central differences of the same forward pass.

use candle_core::{DType, Tensor, Var};

use crate::Result;

/// Step of the central differences: small enough for the curvature of tanh and sigmoid,
/// large enough that f32 rounding of the loss stays well under the tolerance.
const STEP: f32 = 1e-3;

/// Checks `∂loss/∂v` from candle's backward against central differences `(L(v + ε) −
/// L(v − ε)) / 2ε` for up to `per_var` elements of each variable (spread over the tensor).
///
/// `forward` must rebuild its output from the current values of `vars`; the loss is the
/// output weighted by fixed pseudo-random coefficients, so that no gradient is trivially
/// uniform. Panics with the worst element when one differs by more than 1e-2 relative
/// (with an absolute floor of 2e-3 for near-zero gradients).
pub(crate) fn check_gradients(
    name: &str,
    vars: &[&Var],
    per_var: usize,
    forward: impl Fn() -> Result<Tensor>,
) {
    let out = forward().unwrap();
    let n = out.elem_count();
    // Fixed weights in [−1, 1], different per element.
    let weights: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.618_033_988_7).fract() * 2.0 - 1.0)
        .collect();
    let weights = Tensor::from_vec(weights, out.shape(), out.device()).unwrap();
    let loss = |y: Tensor| -> Tensor {
        (y.to_dtype(DType::F64).unwrap() * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
    };
    let grads = loss(out).backward().unwrap();
    let value = || -> f64 { loss(forward().unwrap()).to_scalar::<f64>().unwrap() };
    for (k, var) in vars.iter().enumerate() {
        let analytic: Vec<f32> = match grads.get(var.as_tensor()) {
            Some(g) => g.flatten_all().unwrap().to_vec1().unwrap(),
            None => panic!("{name}: variable {k} got no gradient"),
        };
        let original = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let count = original.len();
        let stride = (count / per_var).max(1);
        for i in (0..count).step_by(stride).take(per_var) {
            let probe = |delta: f32| -> f64 {
                let mut v = original.clone();
                v[i] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), var.device()).unwrap())
                    .unwrap();
                value()
            };
            let numeric = (probe(STEP) - probe(-STEP)) / (2.0 * STEP as f64);
            var.set(&Tensor::from_vec(original.clone(), var.shape(), var.device()).unwrap())
                .unwrap();
            let a = analytic[i] as f64;
            let tolerance = 1e-2 * a.abs().max(numeric.abs()) + 2e-3;
            assert!(
                (a - numeric).abs() <= tolerance,
                "{name}: variable {k} element {i}: analytic {a}, numeric {numeric}"
            );
        }
    }
}

/// A variable of the given shape with values uniform in `[−scale, scale]` from a seeded
/// stream (tests must not depend on candle's global random state).
pub(crate) fn var(seed: u64, shape: &[usize], scale: f64) -> Var {
    let mut rng = reverie_core::Rng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| rng.uniform_range(-scale, scale) as f32)
        .collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, &candle_core::Device::Cpu).unwrap()).unwrap()
}

/// The largest absolute elementwise difference of two tensors of the same shape.
pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}
