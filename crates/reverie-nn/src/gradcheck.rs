//! Finite-difference gradient checks shared by every test of a hand-written backward pass
//! (fused ops, layers, distributions): candle's gradient against central differences of the
//! same forward computation, with the output reduced to one f64 scalar by fixed unequal
//! weights so that a gradient sent to the wrong element is caught.
//!
//! Two entry points for two kinds of code under test: [`check_gradients`] for layers that
//! read their own variables, [`check_function_gradients`] (and the straight-through
//! [`check_surrogate_gradients`]) for pure functions of tensors.

use candle_core::{DType, Tensor, Var};

use crate::Result;

/// Step of the central differences: small enough for the curvature of tanh and sigmoid,
/// large enough that f32 rounding of the loss stays well under the tolerance.
const STEP: f32 = 1e-3;
/// Allowed relative disagreement between candle's gradient and the finite difference.
const RELATIVE_TOLERANCE: f64 = 1e-2;

/// Checks `∂loss/∂v` from candle's backward against central differences `(L(v + ε) −
/// L(v − ε)) / 2ε` for up to `per_var` elements of each variable (spread over the tensor).
///
/// `forward` must rebuild its output from the current values of `vars`; the loss is the
/// output reduced by [`weighted_sum`], so that no gradient is trivially uniform. Panics
/// with the first element that differs by more than 1e-2 relative
/// (with an absolute floor of 2e-3 for near-zero gradients).
pub(crate) fn check_gradients(
    name: &str,
    vars: &[&Var],
    per_var: usize,
    forward: impl Fn() -> Result<Tensor>,
) {
    let loss = |y: Tensor| -> Tensor { weighted_sum(&y).unwrap().0 };
    let grads = loss(forward().unwrap()).backward().unwrap();
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
            let tolerance = RELATIVE_TOLERANCE * a.abs().max(numeric.abs()) + 2e-3;
            assert!(
                (a - numeric).abs() <= tolerance,
                "{name}: variable {k} element {i}: analytic {a}, numeric {numeric}"
            );
        }
    }
}

/// Checks candle's gradient of `f` with respect to each of `params` against central
/// differences of `f` itself (see [`check_surrogate_gradients`]).
pub(crate) fn check_function_gradients(
    params: &[&Tensor],
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    check_surrogate_gradients(params, &f, &f);
}

/// Checks the gradient candle's `backward()` gives for `analytic` against central
/// differences of `numeric`, perturbing each element of each parameter by ±[`STEP`].
/// They differ for straight-through estimators, whose backward pass is by design the
/// gradient of a smooth surrogate (the probabilities) rather than of the forward value.
///
/// The outputs are reduced to one scalar in f64 with fixed, unequal weights, so a
/// gradient sent to the wrong element is caught, and summation adds no f32 rounding.
pub(crate) fn check_surrogate_gradients(
    params: &[&Tensor],
    analytic: impl Fn(&[Tensor]) -> Result<Tensor>,
    numeric: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    let vars: Vec<Var> = params
        .iter()
        .map(|p| Var::from_tensor(&p.copy().unwrap()).unwrap())
        .collect();
    let inputs: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (loss, _) = weighted_sum(&analytic(&inputs).unwrap()).unwrap();
    let grads = loss.backward().unwrap();

    for (which, param) in params.iter().enumerate() {
        let grad = match grads.get(vars[which].as_tensor()) {
            Some(g) => g.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            None => vec![0.0; param.elem_count()],
        };
        let values = param.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for element in 0..values.len() {
            let at = |delta: f32| {
                let mut shifted = values.clone();
                shifted[element] += delta;
                let mut inputs: Vec<Tensor> = params.iter().map(|p| (*p).clone()).collect();
                inputs[which] = Tensor::from_vec(shifted, param.shape(), param.device()).unwrap();
                let (loss, magnitude) = weighted_sum(&numeric(&inputs).unwrap()).unwrap();
                (loss.to_scalar::<f64>().unwrap(), magnitude)
            };
            let ((plus, magnitude), (minus, _)) = (at(STEP), at(-STEP));
            let finite = (plus - minus) / (2.0 * STEP as f64);
            let exact = grad[element] as f64;
            // Each f32 output carries a relative rounding error of ~6e-8, which the
            // division by 2·STEP magnifies; 1e-4·Σ|w·f| bounds that with room to spare.
            let rounding = 1e-4 * magnitude;
            let tolerance = RELATIVE_TOLERANCE * exact.abs().max(finite.abs()) + rounding + 1e-4;
            assert!(
                (exact - finite).abs() <= tolerance,
                "parameter {which} element {element}: backward {exact} vs finite difference {finite}"
            );
        }
    }
}

/// `(Σ w_i·f_i in f64, Σ |w_i·f_i|)` with the fixed weights w_i = 1 + ½ sin(0.7 i).
fn weighted_sum(output: &Tensor) -> Result<(Tensor, f64)> {
    let flat = output.to_dtype(DType::F64)?.flatten_all()?;
    let weights: Vec<f64> = (0..flat.elem_count())
        .map(|i| 1.0 + 0.5 * (0.7 * i as f64).sin())
        .collect();
    let weights = Tensor::from_vec(weights, flat.shape(), flat.device())?;
    let weighted = (flat * weights)?;
    let magnitude = weighted.abs()?.sum_all()?.to_scalar::<f64>()?;
    Ok((weighted.sum_all()?, magnitude))
}

/// What a recurrent cell's init and [`crate::Parameters`] promise: `init(seed)` draws the
/// same values for the same seed, all within ±`bound` (PyTorch's 1/√hidden); `load_named`
/// copies a cell's parameters under `prefix` into one drawn from another seed, and refuses
/// a cell of another shape (`other`) or a prefix it does not find.
pub(crate) fn check_init_and_round_trip<P: crate::Parameters>(
    init: impl Fn(u64) -> P,
    other: P,
    bound: f32,
    prefix: &str,
) {
    let (a, b) = (init(9), init(9));
    for (va, vb) in a.vars().iter().zip(b.vars().iter()) {
        assert_eq!(max_diff(va.as_tensor(), vb.as_tensor()), 0.0);
    }
    for v in a.vars() {
        let vals = v
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(vals.iter().all(|x| x.abs() <= bound));
    }
    let c = init(10);
    c.load_named(prefix, &a.named_tensors(prefix)).unwrap();
    assert_eq!(
        max_diff(a.vars()[1].as_tensor(), c.vars()[1].as_tensor()),
        0.0
    );
    assert!(other.load_named(prefix, &a.named_tensors(prefix)).is_err());
    let elsewhere = format!("not-{prefix}");
    assert!(c.load_named(&elsewhere, &a.named_tensors(prefix)).is_err());
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

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn agrees_on_a_known_gradient() {
        let x = Tensor::from_slice(&[-1.5f32, 0.2, 3.0], 3, &Device::Cpu).unwrap();
        check_function_gradients(&[&x], |p| p[0].sqr()?.sin());
    }

    #[test]
    #[should_panic(expected = "finite difference")]
    fn catches_a_wrong_gradient() {
        // The backward pass sees x² but the forward value is 3x: the check must object.
        let x = Tensor::from_slice(&[-1.5f32, 0.2, 3.0], 3, &Device::Cpu).unwrap();
        check_surrogate_gradients(&[&x], |p| p[0].sqr(), |p| p[0].clone() * 3.0);
    }
}
