//! Diagonal Gaussian.

use candle_core::{Tensor, D};
use reverie_core::Rng;

use super::{half_log_2pi, noise::standard_normal, Distribution};
use crate::Result;

/// Diagonal Gaussian `N(mean, diag(std²))`; the event is the last dimension.
///
/// # Shapes
/// `mean`, `std`, `log_std`: `[..., D]` (a `log_std` or `std` that broadcasts to the mean's
/// shape, such as PPO's state-independent `[1, D]`, is broadcast); `log_prob`, `entropy`,
/// `kl`: `[...]`.
#[derive(Clone, Debug)]
pub struct Normal {
    mean: Tensor,
    std: Tensor,
    log_std: Tensor,
}

impl Normal {
    /// From the mean and the log standard deviation (the usual network output: any real
    /// number is valid).
    pub fn from_log_std(mean: &Tensor, log_std: &Tensor) -> Result<Self> {
        let log_std = broadcast_like(log_std, mean)?;
        Ok(Self {
            mean: mean.clone(),
            std: log_std.exp()?,
            log_std,
        })
    }

    /// From the mean and a positive standard deviation.
    pub fn from_std(mean: &Tensor, std: &Tensor) -> Result<Self> {
        let std = broadcast_like(std, mean)?;
        Ok(Self {
            mean: mean.clone(),
            log_std: std.log()?,
            std,
        })
    }

    /// The mean, `[..., D]`.
    pub fn mean(&self) -> &Tensor {
        &self.mean
    }

    /// The standard deviation, `[..., D]`.
    pub fn std(&self) -> &Tensor {
        &self.std
    }

    /// The log standard deviation, `[..., D]`.
    pub fn log_std(&self) -> &Tensor {
        &self.log_std
    }

    /// A reparameterised draw `mean + std·ε`, ε ~ N(0, I) from `rng`: gradients reach the
    /// mean and the standard deviation.
    pub fn rsample(&self, rng: &mut Rng) -> Result<Tensor> {
        let eps = standard_normal(rng, self.mean.shape(), self.mean.device())?;
        &self.mean + (&self.std * eps)?
    }

    /// Differential entropy Σ (½ + ln √(2π) + ln σ), `[...]`.
    pub fn entropy(&self) -> Result<Tensor> {
        (&self.log_std + (0.5 + half_log_2pi()))?.sum(D::Minus1)
    }

    /// KL(self ‖ other) = Σ ln(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½, `[...]`.
    pub fn kl(&self, other: &Normal) -> Result<Tensor> {
        let log_ratio = (&other.log_std - &self.log_std)?;
        let spread = (self.std.sqr()? + (&self.mean - &other.mean)?.sqr()?)?;
        let scaled = (spread / (other.std.sqr()? * 2.0)?)?;
        ((log_ratio + scaled)? - 0.5)?.sum(D::Minus1)
    }
}

impl Distribution for Normal {
    fn sample(&self, rng: &mut Rng) -> Result<Tensor> {
        Ok(self.rsample(rng)?.detach())
    }

    /// Σ −½z² − ln σ − ln √(2π) with z = (x − μ)/σ.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let z = (value - &self.mean)?.div(&self.std)?;
        (((z.sqr()? * -0.5)? - &self.log_std)? - half_log_2pi())?.sum(D::Minus1)
    }

    fn mode(&self) -> Result<Tensor> {
        Ok(self.mean.clone())
    }
}

/// `tensor` broadcast to `like`'s shape when it differs (a shared `[1, D]` log-std).
fn broadcast_like(tensor: &Tensor, like: &Tensor) -> Result<Tensor> {
    if tensor.shape() == like.shape() {
        Ok(tensor.clone())
    } else {
        tensor.broadcast_as(like.shape())
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
    fn log_prob_entropy_and_kl_match_closed_forms() {
        let (mu, sigma, x) = ([0.3f32, -1.0], [0.5f32, 2.0], [0.1f32, 1.5]);
        let normal = Normal::from_std(&t(&mu, &[1, 2]), &t(&sigma, &[1, 2])).unwrap();
        let mut want = 0.0f64;
        let mut entropy = 0.0f64;
        for k in 0..2 {
            let (m, s, v) = (mu[k] as f64, sigma[k] as f64, x[k] as f64);
            want += -0.5 * ((v - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
            entropy += 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * s * s).ln();
        }
        let got = normal
            .log_prob(&t(&x, &[1, 2]))
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0];
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        let got = normal.entropy().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got as f64 - entropy).abs() < 1e-5, "{got} vs {entropy}");

        let (mu_q, sigma_q) = ([1.0f32, 0.0], [1.5f32, 0.7]);
        let other = Normal::from_std(&t(&mu_q, &[1, 2]), &t(&sigma_q, &[1, 2])).unwrap();
        let mut kl = 0.0f64;
        for k in 0..2 {
            let (mp, sp, mq, sq) = (
                mu[k] as f64,
                sigma[k] as f64,
                mu_q[k] as f64,
                sigma_q[k] as f64,
            );
            kl += (sq / sp).ln() + (sp * sp + (mp - mq).powi(2)) / (2.0 * sq * sq) - 0.5;
        }
        let got = normal.kl(&other).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got as f64 - kl).abs() < 1e-5, "{got} vs {kl}");
        let own = normal.kl(&normal).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!(own.abs() < 1e-6);
    }

    #[test]
    fn broadcast_log_std_serves_every_row() {
        let mean = t(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2]);
        let shared = Normal::from_log_std(&mean, &t(&[0.1, -0.2], &[1, 2])).unwrap();
        let full =
            Normal::from_log_std(&mean, &t(&[0.1, -0.2, 0.1, -0.2, 0.1, -0.2], &[3, 2])).unwrap();
        let x = t(&[0.5; 6], &[3, 2]);
        assert_eq!(
            shared.log_prob(&x).unwrap().to_vec1::<f32>().unwrap(),
            full.log_prob(&x).unwrap().to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn batch_shape_is_kept_and_samples_are_reproducible() {
        let mean = Tensor::zeros((4, 3, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let normal = Normal::from_log_std(&mean, &mean).unwrap();
        let draw = |seed| {
            let x = normal.sample(&mut Rng::seed_from_u64(seed)).unwrap();
            assert_eq!(x.dims(), &[4, 3, 2]);
            x.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let x = normal.sample(&mut Rng::seed_from_u64(7)).unwrap();
        assert_eq!(normal.log_prob(&x).unwrap().dims(), &[4, 3]);
        assert_eq!(normal.entropy().unwrap().dims(), &[4, 3]);
    }

    #[test]
    fn gradients_of_log_prob_rsample_and_kl_match_finite_differences() {
        let mean = t(&[0.3, -0.7, 1.1, 0.0], &[2, 2]);
        let log_std = t(&[-0.2, 0.4, 0.1, -0.5], &[2, 2]);
        let x = t(&[0.5, -1.0, 0.8, 0.3], &[2, 2]);
        check_function_gradients(&[&mean, &log_std], |p| {
            Normal::from_log_std(&p[0], &p[1])?.log_prob(&x)
        });
        check_function_gradients(&[&mean, &log_std], |p| {
            Normal::from_log_std(&p[0], &p[1])?.rsample(&mut Rng::seed_from_u64(3))
        });
        check_function_gradients(&[&mean, &log_std], |p| {
            Normal::from_log_std(&p[0], &p[1])?.entropy()
        });
        let (mean_q, std_q) = (
            t(&[0.0, 0.4, -0.3, 0.9], &[2, 2]),
            t(&[0.8, 1.3, 0.6, 1.1], &[2, 2]),
        );
        check_function_gradients(&[&mean, &log_std, &mean_q, &std_q], |p| {
            let q = Normal::from_std(&p[2], &p[3])?;
            Normal::from_log_std(&p[0], &p[1])?.kl(&q)
        });
    }
}
