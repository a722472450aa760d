//! [`LayerNorm`] and [`RmsNorm`] over the last dimension, on the fused, differentiable
//! [`crate::norm_ops`] (candle-nn's own layers drop gradients for contiguous inputs).

use candle_core::{DType, Device, Module, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::module::Parameters;
use crate::norm_ops::{layer_norm, rms_norm};
use crate::Result;

/// Layer normalisation (Ba et al. 2016) of the last dimension.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerNormConfig {
    /// Size of the normalised (last) dimension.
    pub dim: usize,
    /// Added to the variance (PyTorch's default 1e-5; DreamerV3 uses 1e-3).
    pub eps: f64,
    /// Learn a per-feature scale and shift (PyTorch's `elementwise_affine`).
    pub affine: bool,
}

impl LayerNormConfig {
    /// PyTorch's defaults: eps 1e-5, affine.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            eps: 1e-5,
            affine: true,
        }
    }

    /// A layer with scale 1 and shift 0 (PyTorch's initialisation; nothing is drawn, the
    /// `rng` is taken for the common `init` signature).
    pub fn init(&self, _rng: &mut reverie_core::Rng, device: &Device) -> Result<LayerNorm> {
        let ones = Tensor::ones(self.dim, DType::F32, device)?;
        let zeros = Tensor::zeros(self.dim, DType::F32, device)?;
        let (gamma, beta) = if self.affine {
            (
                Scale::Learned(Var::from_tensor(&ones)?),
                Scale::Learned(Var::from_tensor(&zeros)?),
            )
        } else {
            (Scale::Fixed(ones), Scale::Fixed(zeros))
        };
        Ok(LayerNorm {
            gamma,
            beta,
            eps: self.eps,
        })
    }
}

/// A scale or shift: learned, or a constant that the backward pass skips.
#[derive(Clone, Debug)]
enum Scale {
    Learned(Var),
    Fixed(Tensor),
}

impl Scale {
    fn tensor(&self) -> &Tensor {
        match self {
            Scale::Learned(v) => v.as_tensor(),
            Scale::Fixed(t) => t,
        }
    }
}

/// `(x − mean) / √(var + eps) · γ + β` per row of the last dimension.
///
/// # Shapes
/// `[..., dim]` → `[..., dim]`.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    gamma: Scale,
    beta: Scale,
    eps: f64,
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        layer_norm(x, self.gamma.tensor(), self.beta.tensor(), self.eps)
    }
}

impl LayerNorm {
    /// The norm over dimension 1 of `x [B, C, H, W]` at every pixel (`dim` = C), as
    /// DreamerV3 normalises the channels after each convolution.
    pub fn forward_channels(&self, x: &Tensor) -> Result<Tensor> {
        crate::norm_ops::channel_layer_norm(x, self.gamma.tensor(), self.beta.tensor(), self.eps)
    }
}

/// Root-mean-square normalisation (Zhang & Sennrich 2019) of the last dimension.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RmsNormConfig {
    /// Size of the normalised (last) dimension.
    pub dim: usize,
    /// Added to the mean square.
    pub eps: f64,
}

impl RmsNormConfig {
    /// eps 1e-6 (DreamerV3 uses 1e-4; PyTorch's `RMSNorm` defaults to f32's epsilon).
    pub fn new(dim: usize) -> Self {
        Self { dim, eps: 1e-6 }
    }

    /// A layer with scale 1 (nothing is drawn; the `rng` is taken for the common `init`
    /// signature).
    pub fn init(&self, _rng: &mut reverie_core::Rng, device: &Device) -> Result<RmsNorm> {
        Ok(RmsNorm {
            gamma: Scale::Learned(Var::ones(self.dim, DType::F32, device)?),
            eps: self.eps,
        })
    }
}

/// `x / √(mean(x²) + eps) · γ` per row of the last dimension.
///
/// # Shapes
/// `[..., dim]` → `[..., dim]`.
#[derive(Clone, Debug)]
pub struct RmsNorm {
    gamma: Scale,
    eps: f64,
}

impl Module for RmsNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        rms_norm(x, self.gamma.tensor(), self.eps)
    }
}

impl RmsNorm {}

/// The learned ones of `params`, by name.
fn learned(params: &[(&str, &Scale)]) -> Vec<(String, Var)> {
    params
        .iter()
        .filter_map(|(name, s)| match s {
            Scale::Learned(v) => Some((name.to_string(), v.clone())),
            Scale::Fixed(_) => None,
        })
        .collect()
}

impl Parameters for LayerNorm {
    /// `weight` (γ) and `bias` (β), PyTorch's names, when affine.
    fn named_vars(&self) -> Vec<(String, Var)> {
        learned(&[("weight", &self.gamma), ("bias", &self.beta)])
    }
}

impl Parameters for RmsNorm {
    /// `weight` (the scale), when learned.
    fn named_vars(&self) -> Vec<(String, Var)> {
        learned(&[("weight", &self.gamma)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, max_diff, var};
    use reverie_core::Rng;

    fn layer(dim: usize, affine: bool) -> LayerNorm {
        let config = LayerNormConfig {
            affine,
            ..LayerNormConfig::new(dim)
        };
        config
            .init(&mut Rng::seed_from_u64(0), &Device::Cpu)
            .unwrap()
    }

    #[test]
    fn layer_norm_rows_have_zero_mean_and_unit_variance() {
        // A large common offset: a one-pass E[x²] − E[x]² would lose the variance to
        // cancellation (f32 keeps ~4 decimals of 1000 + x, hence the mean tolerance).
        let x = (var(1, &[2, 3, 64], 2.0).as_tensor() + 1000.0).unwrap();
        let y = layer(64, false).forward(&x).unwrap();
        assert_eq!(y.dims(), &[2, 3, 64]);
        let mean = y.mean_keepdim(2).unwrap();
        let var = y
            .broadcast_sub(&mean)
            .unwrap()
            .sqr()
            .unwrap()
            .mean(2)
            .unwrap();
        for m in mean.flatten_all().unwrap().to_vec1::<f32>().unwrap() {
            assert!(m.abs() < 1e-3, "mean {m}");
        }
        for v in var.flatten_all().unwrap().to_vec1::<f32>().unwrap() {
            assert!((v - 1.0).abs() < 1e-3, "variance {v}");
        }
    }

    #[test]
    fn layer_norm_matches_candle_reference() {
        let x = var(2, &[5, 7], 3.0);
        let gamma = var(3, &[7], 1.0);
        let beta = var(4, &[7], 1.0);
        let fused = layer_norm(x.as_tensor(), gamma.as_tensor(), beta.as_tensor(), 1e-5).unwrap();
        let reference = candle_nn::ops::layer_norm_slow(
            x.as_tensor(),
            gamma.as_tensor(),
            beta.as_tensor(),
            1e-5,
        )
        .unwrap();
        assert!(max_diff(&fused, &reference) < 1e-5);
    }

    #[test]
    fn layer_norm_gradients_match_finite_differences() {
        let x = var(5, &[2, 3, 6], 2.0);
        let gamma = var(6, &[6], 1.5);
        let beta = var(7, &[6], 1.0);
        check_gradients("layer norm", &[&x, &gamma, &beta], 12, || {
            layer_norm(x.as_tensor(), gamma.as_tensor(), beta.as_tensor(), 1e-5)
        });
        // Without affine parameters only the input is trained.
        let norm = layer(6, false);
        assert!(norm.vars().is_empty() && norm.named_tensors("n").is_empty());
        check_gradients("layer norm, no affine", &[&x], 12, || {
            norm.forward(x.as_tensor())
        });
    }

    #[test]
    fn rms_norm_known_values_and_gradients() {
        let norm = RmsNormConfig { dim: 2, eps: 0.0 }
            .init(&mut Rng::seed_from_u64(0), &Device::Cpu)
            .unwrap();
        // rms of (3, 4) is √12.5.
        let y = norm
            .forward(&Tensor::new(&[[3.0f32, 4.0], [0.0, -2.0]], &Device::Cpu).unwrap())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let r = 12.5f32.sqrt();
        assert!((y[0][0] - 3.0 / r).abs() < 1e-6 && (y[0][1] - 4.0 / r).abs() < 1e-6);
        assert!(y[1][0].abs() < 1e-6 && (y[1][1] + 2.0f32.sqrt()).abs() < 1e-6);

        let x = var(8, &[4, 5], 2.0);
        let gamma = var(9, &[5], 1.5);
        let reference =
            candle_nn::ops::rms_norm_slow(x.as_tensor(), gamma.as_tensor(), 1e-6).unwrap();
        let fused = rms_norm(x.as_tensor(), gamma.as_tensor(), 1e-6).unwrap();
        assert!(max_diff(&fused, &reference) < 1e-5);
        check_gradients("rms norm", &[&x, &gamma], 12, || {
            rms_norm(x.as_tensor(), gamma.as_tensor(), 1e-6)
        });
    }

    #[test]
    fn named_tensors_round_trip_and_refuse_other_shapes() {
        let a = layer(4, true);
        let b = layer(4, true);
        a.vars()[0]
            .set(&Tensor::new(&[1.0f32, 2.0, 3.0, 4.0], &Device::Cpu).unwrap())
            .unwrap();
        b.load_named("ln", &a.named_tensors("ln")).unwrap();
        assert_eq!(
            b.vars()[0].as_tensor().to_vec1::<f32>().unwrap(),
            vec![1.0, 2.0, 3.0, 4.0]
        );
        assert!(layer(5, true)
            .load_named("ln", &a.named_tensors("ln"))
            .is_err());
        assert!(b.load_named("other", &a.named_tensors("ln")).is_err());
    }
}
