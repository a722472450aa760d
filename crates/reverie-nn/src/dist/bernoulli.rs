//! Independent Bernoulli variables from logits.

use candle_core::{DType, Tensor, D};
use reverie_core::Rng;

use super::Distribution;
use crate::Result;

/// Independent binary variables with `P(x = 1) = sigmoid(logit)`; the event is the last
/// dimension (give a continue flag as `[..., 1]`). Values are 0.0 / 1.0 in f32.
///
/// # Shapes
/// `logits`, values, samples, modes: `[..., N]`; `log_prob`, `entropy`: `[...]`.
#[derive(Clone, Debug)]
pub struct Bernoulli {
    logits: Tensor,
}

impl Bernoulli {
    /// From logits.
    pub fn from_logits(logits: &Tensor) -> Self {
        Self {
            logits: logits.clone(),
        }
    }

    /// The logits, `[..., N]`.
    pub fn logits(&self) -> &Tensor {
        &self.logits
    }

    /// `P(x = 1)`, `[..., N]`.
    pub fn probs(&self) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.logits)
    }

    /// Entropy Σ softplus(l) − p·l (equal to −p ln p − (1−p) ln(1−p), since
    /// ln p = −softplus(−l) = l − softplus(l)), finite at any logit.
    pub fn entropy(&self) -> Result<Tensor> {
        (softplus(&self.logits)? - (self.probs()? * &self.logits)?)?.sum(D::Minus1)
    }
}

/// ln(1 + eˣ) as max(x, 0) + ln(1 + e^−|x|): the naive form overflows to ∞ for x ≳ 89
/// in f32 and loses everything below e^−17 to rounding.
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    x.relu()? + x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?
}

impl Distribution for Bernoulli {
    /// Each element is 1 when one [`Rng::uniform`] falls below its probability.
    fn sample(&self, rng: &mut Rng) -> Result<Tensor> {
        let logits = self.logits.flatten_all()?.to_vec1::<f32>()?;
        let draws: Vec<f32> = logits
            .iter()
            .map(|l| {
                let p = 1.0 / (1.0 + (-(*l as f64)).exp());
                f32::from(u8::from(rng.uniform() < p))
            })
            .collect();
        Tensor::from_vec(draws, self.logits.shape(), self.logits.device())
    }

    /// Σ x·l − softplus(l): ln p for x = 1 and ln(1 − p) for x = 0 without forming p,
    /// so logits of ±100 still give finite log-probabilities.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        ((value * &self.logits)? - softplus(&self.logits)?)?.sum(D::Minus1)
    }

    /// 1 where the logit is positive.
    fn mode(&self) -> Result<Tensor> {
        self.logits.gt(0.0)?.to_dtype(DType::F32)
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
    fn log_prob_and_entropy_match_direct_forms() {
        let logits = [0.4f32, -1.3, 2.0];
        let x = [1.0f32, 0.0, 0.0];
        let dist = Bernoulli::from_logits(&t(&logits, &[1, 3]));
        let (mut want, mut entropy) = (0.0f64, 0.0f64);
        for k in 0..3 {
            let p = 1.0 / (1.0 + (-(logits[k] as f64)).exp());
            want += if x[k] == 1.0 { p.ln() } else { (1.0 - p).ln() };
            entropy += -p * p.ln() - (1.0 - p) * (1.0 - p).ln();
        }
        let got = dist
            .log_prob(&t(&x, &[1, 3]))
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()[0];
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
        let got = dist.entropy().unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got as f64 - entropy).abs() < 1e-5, "{got} vs {entropy}");
        assert_eq!(
            dist.mode().unwrap().to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 0.0, 1.0]]
        );
    }

    #[test]
    fn extreme_logits_give_finite_log_probs() {
        let dist = Bernoulli::from_logits(&t(&[100.0, -100.0, 100.0, -100.0], &[4, 1]));
        let x = t(&[1.0, 0.0, 0.0, 1.0], &[4, 1]);
        let logp = dist.log_prob(&x).unwrap().to_vec1::<f32>().unwrap();
        assert!(logp.iter().all(|l| l.is_finite()));
        assert_eq!(&logp[..2], &[0.0, 0.0]);
        assert_eq!(&logp[2..], &[-100.0, -100.0]);
        let entropy = dist.entropy().unwrap().to_vec1::<f32>().unwrap();
        assert!(entropy.iter().all(|h| h.is_finite() && *h >= 0.0));
    }

    #[test]
    fn sample_frequencies_match_and_are_reproducible() {
        let n = 20_000;
        let dist = Bernoulli::from_logits(&t(&[0.8, -1.5].repeat(n), &[n, 2]));
        let draw = |seed| {
            dist.sample(&mut Rng::seed_from_u64(seed))
                .unwrap()
                .to_vec2::<f32>()
                .unwrap()
        };
        assert_eq!(draw(1), draw(1));
        let probs = dist.probs().unwrap().to_vec2::<f32>().unwrap()[0].clone();
        let samples = draw(1);
        for k in 0..2 {
            let p = probs[k] as f64;
            let count: f64 = samples.iter().map(|s| s[k] as f64).sum();
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((count - n as f64 * p).abs() < 5.0 * sd);
        }
    }

    #[test]
    fn gradients_of_log_prob_and_entropy_match_finite_differences() {
        // Logits away from 0, where |x| has its kink.
        let logits = t(&[0.3, -0.7, 1.1, -2.0, 0.5, 3.0], &[2, 3]);
        let x = t(&[1.0, 0.0, 1.0, 1.0, 0.0, 0.0], &[2, 3]);
        check_function_gradients(&[&logits], |p| Bernoulli::from_logits(&p[0]).log_prob(&x));
        check_function_gradients(&[&logits], |p| Bernoulli::from_logits(&p[0]).entropy());
    }
}
