//! Mixture of diagonal Gaussians (mixture density network output).

use candle_core::{Tensor, D};
use reverie_core::Rng;

use super::categorical::{log_normalizer, sample_index};
use super::{half_log_2pi, rows_of, Distribution};
use crate::Result;

/// Mixture of `K` diagonal Gaussians over `D` dimensions: the MDN head of the World
/// Models MDN-RNN (Ha & Schmidhuber 2018), which predicts the next latent.
///
/// No closed-form entropy or KL exists for Gaussian mixtures; none is offered.
/// [`Distribution::mode`] is the mean of the heaviest component (the usual stand-in: the
/// density's true mode has no closed form either).
///
/// # Shapes
/// `logits` (mixture weights, unnormalised): `[..., K]`; `means`, `log_stds`:
/// `[..., K, D]`; values and samples `[..., D]`; `log_prob`: `[...]`.
#[derive(Clone, Debug)]
pub struct MixtureNormal {
    log_weights: Tensor,
    means: Tensor,
    log_stds: Tensor,
}

impl MixtureNormal {
    /// From the weights' logits and the components' means and log standard deviations.
    pub fn new(logits: &Tensor, means: &Tensor, log_stds: &Tensor) -> Result<Self> {
        Ok(Self {
            log_weights: candle_nn::ops::log_softmax(logits, D::Minus1)?,
            means: means.clone(),
            log_stds: log_stds.clone(),
        })
    }

    /// Normalised log mixture weights, `[..., K]`.
    pub fn log_weights(&self) -> &Tensor {
        &self.log_weights
    }

    /// The mixture's mean Σ_k w_k μ_k, `[..., D]`.
    pub fn mean(&self) -> Result<Tensor> {
        self.log_weights
            .exp()?
            .unsqueeze(D::Minus1)?
            .broadcast_mul(&self.means)?
            .sum(D::Minus2)
    }

    /// A draw at temperature `tau` as in the World Models code: the weights' logits are
    /// divided by τ and every standard deviation is scaled by √τ, so τ < 1 sharpens the
    /// dream and τ > 1 makes it wilder. Per row: one [`Rng::uniform`] picks the component,
    /// then one [`Rng::normal`] per dimension. No gradient. `tau` must be positive.
    pub fn sample_with_temperature(&self, rng: &mut Rng, tau: f64) -> Result<Tensor> {
        if !(tau > 0.0 && tau.is_finite()) {
            candle_core::bail!("mixture temperature must be positive and finite, got {tau}");
        }
        let (log_weights, rows) = rows_of(&self.log_weights)?;
        let components = self.log_weights.dim(D::Minus1)?;
        let dims = self.means.dim(D::Minus1)?;
        let means = self.means.flatten_all()?.to_vec1::<f32>()?;
        let log_stds = self.log_stds.flatten_all()?.to_vec1::<f32>()?;
        let std_scale = tau.sqrt() as f32;
        let mut out = Vec::with_capacity(rows * dims);
        for row in 0..rows {
            let logits: Vec<f32> = log_weights[row * components..(row + 1) * components]
                .iter()
                .map(|l| (*l as f64 / tau) as f32)
                .collect();
            let k = sample_index(&logits, log_normalizer(&logits), rng);
            let base = (row * components + k) * dims;
            for d in 0..dims {
                let std = log_stds[base + d].exp() * std_scale;
                out.push(means[base + d] + std * rng.normal() as f32);
            }
        }
        let mut shape = self.means.dims().to_vec();
        shape.remove(shape.len() - 2);
        Tensor::from_vec(out, shape, self.means.device())
    }
}

impl Distribution for MixtureNormal {
    /// [`MixtureNormal::sample_with_temperature`] at τ = 1.
    fn sample(&self, rng: &mut Rng) -> Result<Tensor> {
        self.sample_with_temperature(rng, 1.0)
    }

    /// ln Σ_k w_k N(x; μ_k, σ_k), by log-sum-exp over components so that far-away points
    /// (every component density underflowing in f32) still get a finite value.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let z = value
            .unsqueeze(D::Minus2)?
            .broadcast_sub(&self.means)?
            .div(&self.log_stds.exp()?)?;
        let per_component =
            (((z.sqr()? * -0.5)? - &self.log_stds)? - half_log_2pi())?.sum(D::Minus1)?;
        let joint = (per_component + &self.log_weights)?;
        joint.log_sum_exp(joint.rank() - 1)
    }

    fn mode(&self) -> Result<Tensor> {
        let heaviest = self
            .log_weights
            .argmax_keepdim(D::Minus1)?
            .unsqueeze(D::Minus1)?;
        let mut index_shape = self.means.dims().to_vec();
        let components_axis = index_shape.len() - 2;
        index_shape[components_axis] = 1;
        let index = heaviest.broadcast_as(index_shape)?.contiguous()?;
        self.means
            .gather(&index, components_axis)?
            .squeeze(components_axis)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::dist::Normal;
    use crate::gradcheck::check_function_gradients;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(values, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn one_component_is_a_normal() {
        let (mean, log_std) = (
            t(&[0.3, -1.0, 2.0, 0.1], &[2, 1, 2]),
            t(&[0.2, -0.4, 0.0, 0.5], &[2, 1, 2]),
        );
        let logits = t(&[0.7, -3.0], &[2, 1]);
        let mixture = MixtureNormal::new(&logits, &mean, &log_std).unwrap();
        let normal =
            Normal::from_log_std(&mean.squeeze(1).unwrap(), &log_std.squeeze(1).unwrap()).unwrap();
        let x = t(&[0.0, 0.5, 1.0, -2.0], &[2, 2]);
        let (a, b) = (
            mixture.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(),
            normal.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(),
        );
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert_eq!(
            mixture.mode().unwrap().to_vec2::<f32>().unwrap(),
            mean.squeeze(1).unwrap().to_vec2::<f32>().unwrap()
        );
    }

    #[test]
    fn log_prob_is_the_weighted_density_and_stays_finite_far_away() {
        // One dimension, two components: ln(0.25 N(x; -1, 0.5) + 0.75 N(x; 2, 1)).
        let logits = t(&[0.25f32.ln(), 0.75f32.ln()], &[1, 2]);
        let means = t(&[-1.0, 2.0], &[1, 2, 1]);
        let log_stds = t(&[0.5f32.ln(), 0.0], &[1, 2, 1]);
        let mixture = MixtureNormal::new(&logits, &means, &log_stds).unwrap();
        let density = |x: f64, m: f64, s: f64| {
            (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
        };
        let x = 0.3f64;
        let want = (0.25 * density(x, -1.0, 0.5) + 0.75 * density(x, 2.0, 1.0)).ln();
        let got = mixture
            .log_prob(&t(&[x as f32], &[1, 1]))
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0];
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        let far = mixture
            .log_prob(&t(&[500.0], &[1, 1]))
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0];
        assert!(far.is_finite() && far < -1e5);
        assert_eq!(
            mixture.mode().unwrap().to_vec2::<f32>().unwrap(),
            vec![vec![2.0]]
        );
        let mean = mixture.mean().unwrap().to_vec2::<f32>().unwrap()[0][0];
        assert!((mean - 1.25).abs() < 1e-6);
    }

    #[test]
    fn temperature_sharpens_and_samples_are_reproducible() {
        // Two far-apart components with weights 0.3 / 0.7; at τ → small the heavier one
        // takes (almost) every draw and the spread shrinks by √τ.
        let n = 4000;
        let logits = t(&[0.3f32.ln(), 0.7f32.ln()].repeat(n), &[n, 2]);
        let means = t(&[-10.0, 10.0].repeat(n), &[n, 2, 1]);
        let log_stds = t(&[0.0, 0.0].repeat(n), &[n, 2, 1]);
        let mixture = MixtureNormal::new(&logits, &means, &log_stds).unwrap();
        let draw = |seed, tau| {
            mixture
                .sample_with_temperature(&mut Rng::seed_from_u64(seed), tau)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(draw(5, 1.0), draw(5, 1.0));
        let share = |xs: &[f32]| xs.iter().filter(|x| **x > 0.0).count() as f64 / n as f64;
        let sd = (0.3f64 * 0.7 / n as f64).sqrt();
        assert!((share(&draw(5, 1.0)) - 0.7).abs() < 5.0 * sd);
        let cold = draw(6, 0.1);
        assert!(share(&cold) > 0.99);
        let spread = cold
            .iter()
            .filter(|x| **x > 0.0)
            .map(|x| (*x as f64 - 10.0).powi(2))
            .sum::<f64>()
            / cold.iter().filter(|x| **x > 0.0).count() as f64;
        assert!(
            (spread.sqrt() - 0.1f64.sqrt()).abs() < 0.03,
            "{}",
            spread.sqrt()
        );
    }

    #[test]
    fn gradients_of_log_prob_match_finite_differences() {
        // [batch 2, K 3, D 2].
        let logits = t(&[0.3, -0.7, 1.1, 0.0, 0.5, -0.2], &[2, 3]);
        let means = t(
            &[
                0.1, -0.4, 0.9, 0.2, -0.6, 0.5, 0.0, 0.3, -0.2, 0.7, 0.4, -0.1,
            ],
            &[2, 3, 2],
        );
        let log_stds = t(
            &[
                -0.2, 0.1, 0.3, -0.4, 0.0, 0.2, -0.1, 0.1, 0.2, -0.3, 0.0, 0.4,
            ],
            &[2, 3, 2],
        );
        let x = t(&[0.2, 0.1, -0.3, 0.5], &[2, 2]);
        check_function_gradients(&[&logits, &means, &log_stds], |p| {
            MixtureNormal::new(&p[0], &p[1], &p[2])?.log_prob(&x)
        });
    }
}
