//! MuZero's value scaling and categorical value support (Schrittwieser et al. 2020,
//! appendix F; the transform is Pohlen et al. 2018's h).
//!
//! Values and rewards are squashed with h(x) = sign(x)(√(|x|+1) − 1) + εx, ε = 0.001,
//! then represented as a two-hot categorical over the integers −S..=S, so the network
//! learns them by cross-entropy; predictions are the expectation mapped back by h⁻¹.

use candle_core::{Tensor, D};

use super::symlog::sign_with_positive_zero;
use crate::Result;

/// MuZero's ε: the linear term keeps h invertible with a Lipschitz inverse.
pub const EPSILON: f64 = 0.001;

/// h(x) = sign(x)(√(|x|+1) − 1) + εx.
///
/// √(|x|+1) − 1 is evaluated as |x| / (√(|x|+1) + 1), which is equal but does not cancel
/// digits for small |x| (this matters in f32 in [`scale_tensor`]).
pub fn scale(x: f64) -> f64 {
    x.signum() * (x.abs() / ((x.abs() + 1.0).sqrt() + 1.0)) + EPSILON * x
}

/// h⁻¹(y) = sign(y)·(((√(1 + 4ε(|y| + 1 + ε)) − 1) / 2ε)² − 1), the exact inverse of
/// [`scale`] (solving the quadratic in √(|x|+1)).
///
/// (√(1 + 4εc) − 1)/2ε with c = |y| + 1 + ε is evaluated as 2c / (√(1 + 4εc) + 1): the
/// same number, but the subtraction would leave an f32 only ~4 significant digits at
/// |y| ≈ 3 (finite differences of the tensor form were off by 1.6 %).
pub fn unscale(y: f64) -> f64 {
    let c = y.abs() + 1.0 + EPSILON;
    let root_of_x_plus_1 = 2.0 * c / ((1.0 + 4.0 * EPSILON * c).sqrt() + 1.0);
    y.signum() * (root_of_x_plus_1.powi(2) - 1.0)
}

/// [`scale`] elementwise on a tensor (differentiable).
pub fn scale_tensor(x: &Tensor) -> Result<Tensor> {
    let sign = sign_with_positive_zero(x)?;
    let magnitude = x.abs()?;
    let squashed = (&magnitude / ((&magnitude + 1.0)?.sqrt()? + 1.0)?)?;
    (sign * squashed)? + (x * EPSILON)?
}

/// [`unscale`] elementwise on a tensor (differentiable).
pub fn unscale_tensor(y: &Tensor) -> Result<Tensor> {
    let sign = sign_with_positive_zero(y)?;
    let c = (y.abs()? + (1.0 + EPSILON))?;
    let root = c.affine(4.0 * EPSILON, 1.0)?.sqrt()?;
    let root_of_x_plus_1 = ((c * 2.0)? / (root + 1.0)?)?;
    sign * (root_of_x_plus_1.sqr()? - 1.0)?
}

/// The categorical support −S..=S (2S + 1 classes) that MuZero predicts h(value) on
/// (S = 300 for its values and rewards on Atari).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalarSupport {
    /// S: the support is the integers −S..=S.
    pub size: usize,
}

impl ScalarSupport {
    /// The support −size..=size.
    pub fn new(size: usize) -> Self {
        Self { size }
    }

    /// Number of classes, 2S + 1.
    pub fn classes(&self) -> usize {
        2 * self.size + 1
    }

    /// Two-hot encoding of h(value), clamped to [−S, S]: the integers ⌊h⌋ and ⌊h⌋ + 1 get
    /// weights 1 − frac(h) and frac(h). No gradient: targets are labels.
    ///
    /// # Shapes
    /// `values`: `[...]`; result `[..., 2S + 1]`.
    pub fn encode(&self, values: &Tensor) -> Result<Tensor> {
        let mut shape = values.dims().to_vec();
        let device = values.device().clone();
        let values = values.flatten_all()?.to_vec1::<f32>()?;
        let (classes, size) = (self.classes(), self.size as f64);
        let mut encoded = vec![0.0f32; values.len() * classes];
        for (value, row) in values.iter().zip(encoded.chunks_exact_mut(classes)) {
            let h = scale(*value as f64).clamp(-size, size);
            let floor = h.floor();
            let upper_weight = (h - floor) as f32;
            let index = (floor + size) as usize;
            row[index] += 1.0 - upper_weight;
            if upper_weight > 0.0 {
                row[index + 1] += upper_weight;
            }
        }
        shape.push(classes);
        Tensor::from_vec(encoded, shape, &device)
    }

    /// h⁻¹ of the expected support value under softmax(logits): the prediction.
    ///
    /// # Shapes
    /// `logits`: `[..., 2S + 1]`; result `[...]`.
    pub fn decode(&self, logits: &Tensor) -> Result<Tensor> {
        let size = self.size as f32;
        let support = Tensor::arange_step(-size, size + 0.5, 1.0, logits.device())?;
        // Not candle_nn's fused `softmax_last_dim`, which has no backward pass.
        let probs = candle_nn::ops::log_softmax(logits, D::Minus1)?.exp()?;
        unscale_tensor(&probs.broadcast_mul(&support)?.sum(D::Minus1)?)
    }

    /// Σ encode(value)·ln softmax(logits): the negative of MuZero's value and reward loss.
    ///
    /// # Shapes
    /// `logits`: `[..., 2S + 1]`; `values` and result `[...]`.
    pub fn log_prob(&self, logits: &Tensor, values: &Tensor) -> Result<Tensor> {
        let target = self.encode(values)?.to_device(logits.device())?;
        (target * candle_nn::ops::log_softmax(logits, D::Minus1)?)?.sum(D::Minus1)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::gradcheck::check_function_gradients;

    #[test]
    fn scale_known_values_and_exact_round_trip() {
        assert_eq!(scale(0.0), 0.0);
        assert!((scale(3.0) - (1.0 + 0.003)).abs() < 1e-12);
        assert!((scale(-8.0) - (-2.0 - 0.008)).abs() < 1e-12);
        // √(10⁶ + 1) − 1 + 1000 = 1999.0005 (to 10⁻⁹).
        assert!((scale(1e6) - 1999.0005).abs() < 1e-9);
        let mut x = -1e6;
        while x <= 1e6 {
            let back = unscale(scale(x));
            assert!((back - x).abs() <= 1e-9 * x.abs().max(1.0), "{x} -> {back}");
            x += 1234.567;
        }
        for x in [-1e6, -1.0, -1e-3, 0.0, 1e-7, 0.5, 42.0, 1e6] {
            assert!((unscale(scale(x)) - x).abs() <= 1e-9 * f64::abs(x).max(1.0));
            assert!((scale(unscale(x)) - x).abs() <= 1e-9 * f64::abs(x).max(1.0));
        }
    }

    #[test]
    fn tensor_transforms_agree_with_the_scalar_ones() {
        let xs = [-1e6f32, -250.0, -1.0, 0.0, 0.3, 17.0, 1e6];
        let t = Tensor::from_slice(&xs, 7, &Device::Cpu).unwrap();
        let scaled = scale_tensor(&t).unwrap().to_vec1::<f32>().unwrap();
        let back = unscale_tensor(&scale_tensor(&t).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for ((x, s), b) in xs.iter().zip(&scaled).zip(&back) {
            assert!((*s as f64 - scale(*x as f64)).abs() <= 1e-6 * scale(*x as f64).abs().max(1.0));
            assert!((b - x).abs() <= 1e-4 * x.abs().max(1.0), "{x} -> {b}");
        }
    }

    #[test]
    fn encode_and_decode_known_values() {
        let support = ScalarSupport::new(5);
        let values = [0.0f32, 3.0, -8.0, 1e6, unscale(2.25) as f32];
        let t = Tensor::from_slice(&values, 5, &Device::Cpu).unwrap();
        let encoded = support.encode(&t).unwrap().to_vec2::<f32>().unwrap();
        // h(0) = 0: all on class 5 (support value 0).
        assert_eq!(encoded[0][5], 1.0);
        // h(3) = 1.003: 0.997 on 1, 0.003 on 2.
        assert!((encoded[1][6] - 0.997).abs() < 1e-5 && (encoded[1][7] - 0.003).abs() < 1e-5);
        // h(−8) = −2.008: 0.008 on −3, 0.992 on −2.
        assert!((encoded[2][2] - 0.008).abs() < 1e-5 && (encoded[2][3] - 0.992).abs() < 1e-5);
        // Beyond the support: clamped to S.
        assert_eq!(encoded[3][10], 1.0);
        assert!((encoded[4][7] - 0.75).abs() < 1e-5 && (encoded[4][8] - 0.25).abs() < 1e-5);
        for row in &encoded {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Logits ln(encoding) decode to the value (clamped to h⁻¹(S) for the large one).
        let decoded = support
            .decode(&support.encode(&t).unwrap().log().unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let want = [0.0, 3.0, -8.0, unscale(5.0) as f32, values[4]];
        for (w, d) in want.iter().zip(&decoded) {
            assert!((w - d).abs() <= 1e-4 * w.abs().max(1.0), "{w} vs {d}");
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = Tensor::from_slice(&[-40.0f32, -0.5, 0.0, 0.7, 12.0], 5, &Device::Cpu).unwrap();
        check_function_gradients(&[&x], |p| scale_tensor(&p[0]));
        let y = Tensor::from_slice(
            &[-40.0f32, -3.0, -0.5, 0.0, 0.7, 2.0, 300.0],
            7,
            &Device::Cpu,
        )
        .unwrap();
        check_function_gradients(&[&y], |p| unscale_tensor(&p[0]));
        let support = ScalarSupport::new(3);
        let logits = Tensor::from_slice(
            &[
                0.3f32, -0.7, 1.1, 0.0, 0.5, -0.2, 0.4, 0.9, -1.0, 0.1, 0.2, -0.3, 0.6, 0.0,
            ],
            (2, 7),
            &Device::Cpu,
        )
        .unwrap();
        let values = Tensor::from_slice(&[2.5f32, -6.0], 2, &Device::Cpu).unwrap();
        check_function_gradients(&[&logits], |p| support.log_prob(&p[0], &values));
        check_function_gradients(&[&logits], |p| support.decode(&p[0]));
    }
}
