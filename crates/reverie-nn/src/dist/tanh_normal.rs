//! Tanh-squashed diagonal Gaussian, SAC's policy distribution.

use candle_core::{Tensor, D};
use reverie_core::Rng;

use super::{half_log_2pi, noise::standard_normal, Distribution};
use crate::Result;

/// Added to `1 − tanh(u)²` inside the log-determinant, as Stable-Baselines3 does: without
/// it a saturated action (tanh(u) rounding to ±1 in f32) gives ln 0 = −∞.
pub const SQUASH_EPSILON: f64 = 1e-6;

/// `a = tanh(u)`, `u ~ N(mean, diag(σ²))`: actions in (−1, 1) whose log-density carries the
/// change-of-variables correction −Σ ln(1 − tanh(u)² + [`SQUASH_EPSILON`]) (Haarnoja et
/// al. 2018, appendix C).
///
/// There is no closed-form entropy; SAC estimates it by −log π of a reparameterised draw
/// ([`TanhNormal::rsample_with_log_prob`]). [`Distribution::mode`] is `tanh(mean)`, the
/// image of the Gaussian's mode (the squashed density's own mode can differ).
///
/// # Shapes
/// `mean`, `log_std`: `[..., A]`; actions `[..., A]`; log-probabilities `[...]`.
#[derive(Clone, Debug)]
pub struct TanhNormal {
    mean: Tensor,
    log_std: Tensor,
}

impl TanhNormal {
    /// From the pre-squash mean and log standard deviation (SAC clamps the latter to
    /// [−20, 2] before this).
    pub fn new(mean: &Tensor, log_std: &Tensor) -> Self {
        Self {
            mean: mean.clone(),
            log_std: log_std.clone(),
        }
    }

    /// A reparameterised action and its log-probability, with ε ~ N(0, I) drawn from `rng`
    /// (one [`Rng::normal`] per element, row-major).
    pub fn rsample_with_log_prob(&self, rng: &mut Rng) -> Result<(Tensor, Tensor)> {
        let eps = standard_normal(rng, self.mean.shape(), self.mean.device())?;
        self.rsample_with_noise(&eps)
    }

    /// `(tanh(u), log π(tanh(u)))` with `u = mean + σ·eps` for given standard normal
    /// noise `eps` (`[..., A]`).
    ///
    /// The Gaussian term is written through `eps = (u − mean)/σ` rather than recomputed
    /// from `u`, and the operations run in this order, so SAC's numbers stay bit for bit
    /// those of its original `squashed_gaussian`.
    pub fn rsample_with_noise(&self, eps: &Tensor) -> Result<(Tensor, Tensor)> {
        let u = (&self.mean + (self.log_std.exp()? * eps)?)?;
        let a = u.tanh()?;
        let gaussian =
            (((eps.sqr()? * -0.5)? - &self.log_std)? - half_log_2pi())?.sum(D::Minus1)?;
        let correction = squash_correction(&a)?;
        Ok((a, (gaussian - correction)?))
    }
}

/// Σ ln(1 − a² + ε) over the last dimension: the log-determinant of tanh's Jacobian.
fn squash_correction(a: &Tensor) -> Result<Tensor> {
    ((a.sqr()?.neg()? + (1.0 + SQUASH_EPSILON))?)
        .log()?
        .sum(D::Minus1)
}

impl Distribution for TanhNormal {
    fn sample(&self, rng: &mut Rng) -> Result<Tensor> {
        Ok(self.rsample_with_log_prob(rng)?.0.detach())
    }

    /// Log-density of actions `a` in (−1, 1), through `u = atanh(a)`. Actions are first
    /// clamped to ±(1 − 1e-6): atanh(±1) is infinite, and an f32 action that rounded to
    /// ±1 still came from a finite `u`.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let bound = 1.0 - 1e-6;
        let a = value.clamp(-bound, bound)?;
        let u = ((a.affine(1.0, 1.0)?.log()? - a.affine(-1.0, 1.0)?.log()?)? * 0.5)?;
        let z = (u - &self.mean)?.div(&self.log_std.exp()?)?;
        let gaussian = (((z.sqr()? * -0.5)? - &self.log_std)? - half_log_2pi())?.sum(D::Minus1)?;
        gaussian - squash_correction(&a)?
    }

    fn mode(&self) -> Result<Tensor> {
        self.mean.tanh()
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::gradcheck::check_function_gradients;

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(values, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn log_prob_correction_matches_a_numerical_jacobian() {
        // log π(a) must equal ln N(u) − ln|da/du| with the Jacobian of tanh taken by
        // central differences.
        let (m, s, e) = (
            [[0.3f32, -1.2], [0.0, 0.8]],
            [[-0.2f32, 0.4], [0.1, -1.0]],
            [[0.7f32, -1.5], [-0.2, 1.1]],
        );
        let flat = |v: [[f32; 2]; 2]| t(&[v[0][0], v[0][1], v[1][0], v[1][1]], &[2, 2]);
        let dist = TanhNormal::new(&flat(m), &flat(s));
        let (a, logp) = dist.rsample_with_noise(&flat(e)).unwrap();
        let logp = logp.to_vec1::<f32>().unwrap();
        let a = a.to_vec2::<f32>().unwrap();
        for row in 0..2 {
            let mut want = 0.0f64;
            for k in 0..2 {
                let (mu, sigma) = (m[row][k] as f64, (s[row][k] as f64).exp());
                let u = mu + sigma * e[row][k] as f64;
                let gauss = -0.5 * ((u - mu) / sigma).powi(2)
                    - sigma.ln()
                    - 0.5 * (2.0 * std::f64::consts::PI).ln();
                let h = 1e-5;
                let jacobian = ((u + h).tanh() - (u - h).tanh()) / (2.0 * h);
                want += gauss - jacobian.ln();
                assert!((a[row][k] as f64 - u.tanh()).abs() < 1e-6);
            }
            // SB3's +1e-6 inside the log shifts the value slightly; 1e-3 covers it here.
            assert!(
                (logp[row] as f64 - want).abs() < 1e-3,
                "row {row}: {} vs {want}",
                logp[row]
            );
        }
    }

    #[test]
    fn squashed_density_integrates_to_one() {
        // ∫ π(a) da over (−1, 1) in one dimension, by the trapezoid rule on a grid that is
        // uniform in u = atanh(a).
        let (mu, log_sigma) = (0.4f64, 0.3f64);
        let n = 4000;
        let eps: Vec<f32> = (0..n)
            .map(|i| -6.0 + 12.0 * (i as f64 + 0.5) / n as f64)
            .map(|u| ((u - mu) / log_sigma.exp()) as f32)
            .collect();
        let dev = Device::Cpu;
        let mean = Tensor::full(mu as f32, (n, 1), &dev).unwrap();
        let log_std = Tensor::full(log_sigma as f32, (n, 1), &dev).unwrap();
        let eps = Tensor::from_vec(eps, (n, 1), &dev).unwrap();
        let (a, logp) = TanhNormal::new(&mean, &log_std)
            .rsample_with_noise(&eps)
            .unwrap();
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let logp = logp.to_vec1::<f32>().unwrap();
        let total: f64 = (1..n)
            .map(|i| {
                ((logp[i] as f64).exp() + (logp[i - 1] as f64).exp()) / 2.0
                    * (a[i] - a[i - 1]) as f64
            })
            .sum();
        assert!((total - 1.0).abs() < 5e-3, "{total}");
    }

    #[test]
    fn log_prob_of_an_action_recovers_the_sampling_log_prob() {
        let mean = t(&[0.2, -0.5, 0.9, 0.1, 0.0, -0.3], &[3, 2]);
        let log_std = t(&[-0.3, 0.1, -0.6, 0.2, -1.0, 0.0], &[3, 2]);
        let dist = TanhNormal::new(&mean, &log_std);
        let (a, logp) = dist
            .rsample_with_log_prob(&mut Rng::seed_from_u64(5))
            .unwrap();
        let again = dist.log_prob(&a).unwrap().to_vec1::<f32>().unwrap();
        for (x, y) in logp.to_vec1::<f32>().unwrap().iter().zip(&again) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
        let extreme =
            dist.log_prob(&Tensor::ones((3, 2), candle_core::DType::F32, &Device::Cpu).unwrap());
        assert!(extreme
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .all(|v| v.is_finite()));
    }

    #[test]
    fn samples_are_reproducible_and_in_bounds() {
        let mean = t(&[3.0, -3.0, 0.0, 0.5], &[2, 1, 2]);
        let dist = TanhNormal::new(&mean, &mean.zeros_like().unwrap());
        let draw = |seed| {
            let a = dist.sample(&mut Rng::seed_from_u64(seed)).unwrap();
            assert_eq!(a.dims(), &[2, 1, 2]);
            a.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert_eq!(draw(1), draw(1));
        assert!(draw(1).iter().all(|a| a.abs() <= 1.0));
        let mode = dist
            .mode()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!((mode[0] - 3f32.tanh()).abs() < 1e-7);
    }

    #[test]
    fn gradients_of_rsample_and_log_prob_match_finite_differences() {
        let mean = t(&[0.3, -0.7, 1.1, 0.0], &[2, 2]);
        let log_std = t(&[-0.2, 0.4, 0.1, -0.5], &[2, 2]);
        let params = [&mean, &log_std];
        check_function_gradients(&params, |p| {
            let (a, logp) =
                TanhNormal::new(&p[0], &p[1]).rsample_with_log_prob(&mut Rng::seed_from_u64(2))?;
            Tensor::cat(&[a.flatten_all()?, logp], 0)
        });
        let actions = t(&[0.5, -0.9, 0.2, 0.7], &[2, 2]);
        check_function_gradients(&params, |p| {
            TanhNormal::new(&p[0], &p[1]).log_prob(&actions)
        });
    }
}
