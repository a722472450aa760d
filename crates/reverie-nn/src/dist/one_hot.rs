//! One-hot categorical with straight-through gradients (DreamerV2/V3 latents and actors).

use candle_core::{DType, Tensor, D};
use reverie_core::Rng;

use super::mixed_softmax::{mixed_softmax, straight_through};
use super::{rows_of, Distribution};
use crate::Result;

/// DreamerV3's uniform mix for latents and actor (Hafner et al. 2023, §"Robustness"): 1 %
/// of the mass spread uniformly keeps every class's probability ≥ u/K, so KL terms and
/// log-probabilities stay finite and gradients never vanish on a collapsed class.
pub const DREAMER_UNIMIX: f64 = 0.01;

/// Categorical whose values are one-hot vectors, with optional uniform mixing
/// `probs = (1 − u)·softmax(logits) + u/K`.
///
/// [`OneHotCategorical::rsample`] is the straight-through estimator of Bengio et al. (2013)
/// as DreamerV2 uses it: the forward value is the one-hot draw, the gradient that of the
/// probabilities (`sample + probs − stop_grad(probs)`).
///
/// # Shapes
/// [`OneHotCategorical::new`]: logits `[..., K]`, event `[K]`.
/// [`OneHotCategorical::grouped`]: logits `[..., G, K]`, event `[G, K]` (G independent
/// categoricals, DreamerV3's 32 × 32 latent); `log_prob`, `entropy` and `kl` sum over the
/// groups. Samples and modes have the logits' shape; per-event results the batch shape.
#[derive(Clone, Debug)]
pub struct OneHotCategorical {
    probs: Tensor,
    log_probs: Tensor,
    /// 1 for a single categorical per event, 2 when the event is `[groups, classes]`.
    event_dims: usize,
}

impl OneHotCategorical {
    /// One categorical over the last dimension, mixed with `unimix` (0 for none,
    /// [`DREAMER_UNIMIX`] for DreamerV3).
    pub fn new(logits: &Tensor, unimix: f64) -> Result<Self> {
        Self::with_event_dims(logits, unimix, 1)
    }

    /// Independent categoricals over the last dimension, one per group in the
    /// second-to-last, forming one event.
    pub fn grouped(logits: &Tensor, unimix: f64) -> Result<Self> {
        Self::with_event_dims(logits, unimix, 2)
    }

    fn with_event_dims(logits: &Tensor, unimix: f64, event_dims: usize) -> Result<Self> {
        let (probs, log_probs) = mixed_softmax(logits, unimix)?;
        Ok(Self {
            probs,
            log_probs,
            event_dims,
        })
    }

    /// The same distribution with no gradient through it: the `sg(·)` side of DreamerV3's
    /// balanced KL terms.
    pub fn detached(&self) -> Self {
        Self {
            probs: self.probs.detach(),
            log_probs: self.log_probs.detach(),
            event_dims: self.event_dims,
        }
    }

    /// Class probabilities (after mixing), the logits' shape.
    pub fn probs(&self) -> &Tensor {
        &self.probs
    }

    /// Log class probabilities (after mixing), the logits' shape.
    pub fn log_probs(&self) -> &Tensor {
        &self.log_probs
    }

    /// A one-hot draw whose gradient is that of the probabilities (straight-through).
    /// The forward value is exactly the one-hot draw: `probs − stop_grad(probs)` is 0.
    pub fn rsample(&self, rng: &mut Rng) -> Result<Tensor> {
        straight_through(&self.probs, &self.sample(rng)?)
    }

    /// Entropy −Σ p ln p over the event.
    pub fn entropy(&self) -> Result<Tensor> {
        self.sum_event(&(&self.probs * &self.log_probs)?)?.neg()
    }

    /// KL(self ‖ other) = Σ p (ln p − ln q) over the event (summed over groups).
    /// DreamerV3's dynamics and representation losses are this with `detach()` on one side.
    pub fn kl(&self, other: &OneHotCategorical) -> Result<Tensor> {
        self.sum_event(&(&self.probs * (&self.log_probs - &other.log_probs)?)?)
    }

    fn sum_event(&self, per_class: &Tensor) -> Result<Tensor> {
        let mut total = per_class.sum(D::Minus1)?;
        if self.event_dims == 2 {
            total = total.sum(D::Minus1)?;
        }
        Ok(total)
    }
}

impl Distribution for OneHotCategorical {
    /// A one-hot draw (f32, no gradient), one [`Rng::uniform`] per categorical by inverse
    /// CDF over the (mixed) probabilities.
    fn sample(&self, rng: &mut Rng) -> Result<Tensor> {
        let (probs, rows) = rows_of(&self.probs)?;
        let classes = probs.len().checked_div(rows).unwrap_or(0);
        let mut one_hot = vec![0.0f32; probs.len()];
        for (p, out) in probs
            .chunks_exact(classes.max(1))
            .zip(one_hot.chunks_exact_mut(classes.max(1)))
        {
            let u = rng.uniform() as f32;
            let mut acc = 0.0;
            let mut pick = classes - 1;
            for (k, p) in p.iter().enumerate() {
                acc += p;
                if u < acc {
                    pick = k;
                    break;
                }
            }
            out[pick] = 1.0;
        }
        Tensor::from_vec(one_hot, self.probs.shape(), self.probs.device())
    }

    /// Log-probability of one-hot values (the logits' shape), summed over the event.
    fn log_prob(&self, value: &Tensor) -> Result<Tensor> {
        self.sum_event(&(value * &self.log_probs)?)
    }

    /// One-hot of the most likely class of each categorical (no gradient).
    fn mode(&self) -> Result<Tensor> {
        let classes = self.probs.dim(D::Minus1)?;
        let best = self.probs.argmax_keepdim(D::Minus1)?;
        let class_ids = Tensor::arange(0u32, classes as u32, self.probs.device())?;
        best.broadcast_eq(&class_ids)?.to_dtype(DType::F32)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::gradcheck::{check_function_gradients, check_surrogate_gradients};

    fn t(values: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(values, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn unimix_probabilities_sum_to_one_and_stay_above_the_floor() {
        // Extreme logits: without mixing the small classes would be ~e^-60.
        let logits = t(&[30.0, -30.0, 0.0, -30.0, 10.0, 10.0, -5.0, 20.0], &[2, 4]);
        let dist = OneHotCategorical::new(&logits, DREAMER_UNIMIX).unwrap();
        for row in dist.probs().to_vec2::<f32>().unwrap() {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(row
                .iter()
                .all(|p| *p >= (DREAMER_UNIMIX / 4.0) as f32 * (1.0 - 1e-6)));
        }
        let log_probs = dist
            .log_probs()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert!(log_probs.iter().all(|l| l.is_finite()));
    }

    #[test]
    fn sample_frequencies_match_the_probabilities() {
        let n = 20_000;
        let logits = [0.5f32, -1.0, 1.5];
        let dist = OneHotCategorical::new(&t(&logits.repeat(n), &[n, 3]), DREAMER_UNIMIX).unwrap();
        let samples = dist
            .sample(&mut Rng::seed_from_u64(3))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let probs = dist.probs().to_vec2::<f32>().unwrap()[0].clone();
        for (k, p) in probs.iter().enumerate() {
            let count: f64 = samples.iter().map(|s| s[k] as f64).sum();
            let (expected, sd) = (
                n as f64 * *p as f64,
                (n as f64 * *p as f64 * (1.0 - *p as f64)).sqrt(),
            );
            // 5 standard deviations per class: a fixed seed, and no chance failure.
            assert!(
                (count - expected).abs() < 5.0 * sd,
                "class {k}: {count} vs {expected}"
            );
        }
        assert!(samples.iter().all(|s| s.iter().sum::<f32>() == 1.0));
    }

    #[test]
    fn grouped_latent_sums_over_groups_and_is_reproducible() {
        // [T=2, B=3, groups=4, classes=5]: DreamerV3's layout at a small size.
        let values: Vec<f32> = (0..120)
            .map(|i| ((i * 37) % 11) as f32 * 0.3 - 1.5)
            .collect();
        let logits = t(&values, &[2, 3, 4, 5]);
        let dist = OneHotCategorical::grouped(&logits, DREAMER_UNIMIX).unwrap();
        let draw = |seed| dist.rsample(&mut Rng::seed_from_u64(seed)).unwrap();
        let flat = |x: Tensor| x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(draw(9).dims(), &[2, 3, 4, 5]);
        assert_eq!(flat(draw(9)), flat(draw(9)));
        // The straight-through draw is exactly one-hot in the forward pass.
        assert!(flat(draw(9)).iter().all(|v| *v == 0.0 || *v == 1.0));
        let logp = dist.log_prob(&draw(9)).unwrap();
        assert_eq!(logp.dims(), &[2, 3]);
        let per_group = OneHotCategorical::new(&logits, DREAMER_UNIMIX).unwrap();
        let summed = per_group
            .log_prob(&draw(9))
            .unwrap()
            .sum(D::Minus1)
            .unwrap();
        let (a, b) = (flat(logp), flat(summed));
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5);
        }
        assert_eq!(dist.entropy().unwrap().dims(), &[2, 3]);
        assert_eq!(dist.kl(&dist).unwrap().dims(), &[2, 3]);
        let mode = flat(dist.mode().unwrap());
        assert_eq!(mode.iter().sum::<f32>(), 24.0);
    }

    #[test]
    fn straight_through_gradient_is_the_probabilities_gradient() {
        let logits = t(&[0.3, -0.7, 1.1, 0.0, 0.5, -0.2], &[2, 3]);
        check_surrogate_gradients(
            &[&logits],
            |p| OneHotCategorical::new(&p[0], DREAMER_UNIMIX)?.rsample(&mut Rng::seed_from_u64(1)),
            |p| {
                Ok(OneHotCategorical::new(&p[0], DREAMER_UNIMIX)?
                    .probs()
                    .clone())
            },
        );
    }

    #[test]
    fn gradients_of_log_prob_entropy_and_grouped_kl_match_finite_differences() {
        let logits = t(
            &[
                0.3, -0.7, 1.1, 0.0, 0.5, -0.2, 0.8, -1.3, 0.4, 0.1, 0.0, 0.6,
            ],
            &[2, 2, 3],
        );
        let other = t(
            &[
                0.0, 0.4, -0.3, 0.9, -1.0, 0.2, 0.3, 0.3, -0.6, 1.2, 0.1, -0.4,
            ],
            &[2, 2, 3],
        );
        let value = OneHotCategorical::grouped(&logits, 0.0)
            .unwrap()
            .sample(&mut Rng::seed_from_u64(2))
            .unwrap();
        for unimix in [0.0, DREAMER_UNIMIX] {
            check_function_gradients(&[&logits], |p| {
                OneHotCategorical::grouped(&p[0], unimix)?.log_prob(&value)
            });
            check_function_gradients(&[&logits], |p| {
                OneHotCategorical::grouped(&p[0], unimix)?.entropy()
            });
            check_function_gradients(&[&logits, &other], |p| {
                OneHotCategorical::grouped(&p[0], unimix)?
                    .kl(&OneHotCategorical::grouped(&p[1], unimix)?)
            });
        }
    }
}
