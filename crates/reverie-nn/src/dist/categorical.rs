//! Categorical distribution over class indices, parameterised by logits.

use candle_core::{DType, Tensor, D};
use reverie_core::Rng;

use super::{rows_of, Distribution};
use crate::Result;

/// Categorical over `K` classes from unnormalised logits; values are class indices
/// (`u32`). PPO's discrete policy.
///
/// # Shapes
/// `logits`: `[..., K]`; samples, modes and the indices given to `log_prob`: `[...]`
/// (`u32`); `log_prob`, `entropy`, `kl`: `[...]`.
#[derive(Clone, Debug)]
pub struct Categorical {
    logits: Tensor,
    log_probs: Tensor,
}

impl Categorical {
    /// From logits `[..., K]`; the normalised log-probabilities are computed once here.
    pub fn from_logits(logits: &Tensor) -> Result<Self> {
        Ok(Self {
            logits: logits.clone(),
            log_probs: candle_nn::ops::log_softmax(logits, D::Minus1)?,
        })
    }

    /// The logits given, `[..., K]`.
    pub fn logits(&self) -> &Tensor {
        &self.logits
    }

    /// Normalised log-probabilities, `[..., K]`.
    pub fn log_probs(&self) -> &Tensor {
        &self.log_probs
    }

    /// Probabilities, `[..., K]`.
    pub fn probs(&self) -> Result<Tensor> {
        self.log_probs.exp()
    }

    /// Entropy −Σ p ln p, `[...]`.
    pub fn entropy(&self) -> Result<Tensor> {
        (self.log_probs.exp()? * &self.log_probs)?
            .sum(D::Minus1)?
            .neg()
    }

    /// KL(self ‖ other) = Σ p (ln p − ln q), `[...]`.
    pub fn kl(&self, other: &Categorical) -> Result<Tensor> {
        (self.probs()? * (&self.log_probs - &other.log_probs)?)?.sum(D::Minus1)
    }
}

impl Distribution for Categorical {
    /// Class indices `[...]` (`u32`), one [`Rng::uniform`] per row by inverse CDF
    /// ([`sample_index`]).
    fn sample(&self, rng: &mut Rng) -> Result<Tensor> {
        let (logits, rows) = rows_of(&self.logits)?;
        let classes = logits.len().checked_div(rows).unwrap_or(0);
        let picks: Vec<u32> = logits
            .chunks_exact(classes.max(1))
            .map(|row| sample_index(row, log_normalizer(row), rng) as u32)
            .collect();
        let batch = &self.logits.dims()[..self.logits.rank() - 1];
        Tensor::from_vec(picks, batch, self.logits.device())
    }

    /// Log-probabilities of class indices `[...]` (`u32`).
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        let index = value.to_dtype(DType::U32)?.unsqueeze(D::Minus1)?;
        self.log_probs.gather(&index, D::Minus1)?.squeeze(D::Minus1)
    }

    /// The most likely class `[...]` (`u32`).
    fn mode(&self) -> Result<Tensor> {
        self.logits.argmax(D::Minus1)
    }
}

/// `ln Σ exp(logits)` of one row, shifted by its maximum so no exponential overflows.
pub fn log_normalizer(logits: &[f32]) -> f32 {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln()
}

/// A class drawn from one row of logits by inverse CDF with one [`Rng::uniform`]; the
/// last class takes the mass that rounding leaves uncovered. `log_z` is the row's
/// [`log_normalizer`] (callers usually need it for the log-probability too).
pub fn sample_index(logits: &[f32], log_z: f32, rng: &mut Rng) -> usize {
    let u = rng.uniform() as f32;
    let mut acc = 0.0;
    for (k, l) in logits.iter().enumerate() {
        acc += (l - log_z).exp();
        if u < acc {
            return k;
        }
    }
    logits.len() - 1
}

/// The first class with the largest logit in one row.
pub fn argmax_index(logits: &[f32]) -> usize {
    logits
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (k, l)| {
            if *l > best.1 {
                (k, *l)
            } else {
                best
            }
        })
        .0
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
    fn log_prob_and_entropy_match_direct_computation() {
        let logits = [1.0f32, 0.0, -2.0];
        let dist = Categorical::from_logits(&t(&logits, &[1, 3])).unwrap();
        let z: f64 = logits.iter().map(|l| (*l as f64).exp()).sum();
        let p: Vec<f64> = logits.iter().map(|l| (*l as f64).exp() / z).collect();
        let index = Tensor::from_slice(&[2u32], 1, &Device::Cpu).unwrap();
        let got = dist.log_prob(&index).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got as f64 - p[2].ln()).abs() < 1e-6);
        let entropy: f64 = -p.iter().map(|p| p * p.ln()).sum::<f64>();
        let got = dist.entropy().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got as f64 - entropy).abs() < 1e-6);
        assert_eq!(dist.mode().unwrap().to_vec1::<u32>().unwrap(), vec![0]);
        assert!(dist.kl(&dist).unwrap().to_vec1::<f32>().unwrap()[0].abs() < 1e-7);
    }

    #[test]
    fn sample_frequencies_match_the_probabilities() {
        // 20 000 draws from one row; each count's standard deviation is ≤ √(n/4) ≈ 71, so
        // 5 standard deviations (a chi-square-like bound per cell) never fails by chance.
        let logits = [0.5f32, -1.0, 1.5, 0.0];
        let n = 20_000;
        let dist = Categorical::from_logits(&t(&logits.repeat(n), &[n, 4])).unwrap();
        let picks = dist
            .sample(&mut Rng::seed_from_u64(11))
            .unwrap()
            .to_vec1::<u32>()
            .unwrap();
        let probs = dist.probs().unwrap().to_vec2::<f32>().unwrap()[0].clone();
        for (k, p) in probs.iter().enumerate() {
            let count = picks.iter().filter(|&&i| i as usize == k).count() as f64;
            let expected = n as f64 * *p as f64;
            let sd = (n as f64 * *p as f64 * (1.0 - *p as f64)).sqrt();
            assert!(
                (count - expected).abs() < 5.0 * sd,
                "class {k}: {count} vs {expected}"
            );
        }
    }

    #[test]
    fn samples_are_reproducible_with_batch_shape() {
        let logits = t(
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2],
            &[2, 3, 2],
        );
        let dist = Categorical::from_logits(&logits).unwrap();
        let draw = |seed| dist.sample(&mut Rng::seed_from_u64(seed)).unwrap();
        assert_eq!(draw(4).dims(), &[2, 3]);
        let flat = |x: Tensor| x.flatten_all().unwrap().to_vec1::<u32>().unwrap();
        assert_eq!(flat(draw(4)), flat(draw(4)));
        assert_eq!(dist.log_prob(&draw(4)).unwrap().dims(), &[2, 3]);
    }

    #[test]
    fn gradients_of_log_prob_entropy_and_kl_match_finite_differences() {
        let logits = t(&[0.3, -0.7, 1.1, 0.0, 0.5, -0.2], &[2, 3]);
        let other = t(&[0.0, 0.4, -0.3, 0.9, -1.0, 0.2], &[2, 3]);
        let index = Tensor::from_slice(&[2u32, 0], 2, &Device::Cpu).unwrap();
        check_function_gradients(&[&logits], |p| {
            Categorical::from_logits(&p[0])?.log_prob(&index)
        });
        check_function_gradients(&[&logits], |p| Categorical::from_logits(&p[0])?.entropy());
        check_function_gradients(&[&logits, &other], |p| {
            Categorical::from_logits(&p[0])?.kl(&Categorical::from_logits(&p[1])?)
        });
    }
}
