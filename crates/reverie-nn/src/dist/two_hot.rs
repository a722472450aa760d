//! DreamerV3's symlog two-hot regression head.

use std::sync::Arc;

use candle_core::{Device, Tensor, D};

use super::symlog::{symexp, symlog_f32};
use crate::Result;

/// The fixed bins of a [`TwoHot`] head: `count` points evenly spaced over `[low, high]` on
/// the symlog scale, i.e. at values `symexp(linspace(low, high, count))`. DreamerV3 uses
/// 255 bins over [−20, 20] ([`TwoHotBins::dreamer_v3`]), which reach ±4.9·10⁸.
#[derive(Clone, Debug)]
pub struct TwoHotBins {
    /// Bin positions on the symlog scale, ascending.
    points: Arc<[f32]>,
    /// The same as a `[count]` tensor.
    tensor: Tensor,
}

impl TwoHotBins {
    /// `count` (≥ 2) bins over `[low, high]` on the symlog scale.
    ///
    /// Each point is `(low·(count−1−i) + high·i)/(count−1)` in f64, so a range symmetric
    /// about 0 gives exactly mirrored points (and an exact 0 in the middle for odd counts),
    /// which [`TwoHot::mean`] relies on to predict exactly 0 from uniform logits.
    pub fn new(count: usize, low: f64, high: f64, device: &Device) -> Result<Self> {
        if count < 2 || low.partial_cmp(&high) != Some(std::cmp::Ordering::Less) {
            candle_core::bail!(
                "two-hot bins need count ≥ 2 and low < high, got {count} over [{low}, {high}]"
            );
        }
        let span = (count - 1) as f64;
        let points: Vec<f32> = (0..count)
            .map(|i| ((low * (span - i as f64) + high * i as f64) / span) as f32)
            .collect();
        let tensor = Tensor::from_slice(&points, count, device)?;
        Ok(Self {
            points: points.into(),
            tensor,
        })
    }

    /// DreamerV3's bins: 255 over [−20, 20].
    pub fn dreamer_v3(device: &Device) -> Result<Self> {
        Self::new(255, -20.0, 20.0, device)
    }

    /// Number of bins.
    pub fn count(&self) -> usize {
        self.points.len()
    }

    /// Bin positions on the symlog scale.
    pub fn points(&self) -> &[f32] {
        &self.points
    }

    /// Bin positions as values, `symexp(points)`.
    pub fn values(&self) -> Vec<f32> {
        self.points
            .iter()
            .map(|p| super::symlog::symexp_f32(*p))
            .collect()
    }

    /// The two-hot encoding of `targets` on the symlog scale: symlog(target) lies between
    /// two neighbouring points, which get weights proportional to its closeness to each
    /// (weights sum to 1; a target beyond the range puts all weight on the end bin).
    /// No gradient: targets are labels.
    ///
    /// # Shapes
    /// `targets`: `[...]`; result `[..., count]`.
    pub fn encode(&self, targets: &Tensor) -> Result<Tensor> {
        let values = targets.flatten_all()?.to_vec1::<f32>()?;
        let count = self.count();
        let mut encoded = vec![0.0f32; values.len() * count];
        for (value, row) in values.iter().zip(encoded.chunks_exact_mut(count)) {
            let (below, above, weight_above) = self.neighbours(symlog_f32(*value));
            row[below] += 1.0 - weight_above;
            row[above] += weight_above;
        }
        let mut shape = targets.dims().to_vec();
        shape.push(count);
        Tensor::from_vec(encoded, shape, targets.device())
    }

    /// `(below, above, weight of above)` for a position `y` on the symlog scale.
    fn neighbours(&self, y: f32) -> (usize, usize, f32) {
        let last = self.count() - 1;
        let at_or_below = self.points.partition_point(|p| *p <= y);
        if at_or_below == 0 {
            return (0, 0, 0.0);
        }
        let below = at_or_below - 1;
        if below == last || self.points[below] == y {
            return (below, below, 0.0);
        }
        let (low, high) = (self.points[below], self.points[below + 1]);
        (below, below + 1, (y - low) / (high - low))
    }
}

/// Categorical over [`TwoHotBins`] used as a regression head (Hafner et al. 2023, §"Critic
/// learning" and eqs. 9–10): trained by cross-entropy against the two-hot encoding of
/// symlog(target), read out as symexp of the expected bin position. Unlike a mean
/// squared error its gradients do not grow with the target's scale, and it can represent
/// multimodal returns.
///
/// This is DreamerV3's "symlog_and_twohot" form (interpolation and expectation on the
/// symlog scale). Its later "symexp_twohot" form keeps the same bin values but
/// interpolates and averages on the value scale; the two agree on bin centres only.
///
/// # Shapes
/// `logits`: `[..., count]`; targets, `log_prob`, `mean`, `mode`: `[...]`.
#[derive(Clone, Debug)]
pub struct TwoHot {
    log_probs: Tensor,
    bins: TwoHotBins,
}

impl TwoHot {
    /// From logits over `bins`.
    pub fn new(logits: &Tensor, bins: &TwoHotBins) -> Result<Self> {
        if logits.dim(D::Minus1)? != bins.count() {
            candle_core::bail!(
                "two-hot logits have {} classes for {} bins",
                logits.dim(D::Minus1)?,
                bins.count()
            );
        }
        Ok(Self {
            log_probs: candle_nn::ops::log_softmax(logits, D::Minus1)?,
            bins: bins.clone(),
        })
    }

    /// Σ twohot(symlog(target))·ln softmax(logits): the negative of DreamerV3's loss for
    /// reward and value heads.
    pub fn log_prob(&self, targets: &Tensor) -> Result<Tensor> {
        (self.bins.encode(targets)? * &self.log_probs)?.sum(D::Minus1)
    }

    /// symexp(Σ p_i·point_i), the prediction.
    ///
    /// The sum runs outward from the middle in mirrored pairs, as DreamerV3 does: summed
    /// left to right, 255 uniform probabilities times symmetric points leave a rounding
    /// residue, so an untrained head would predict a small non-zero reward or value.
    pub fn mean(&self) -> Result<Tensor> {
        let weighted = self.log_probs.exp()?.broadcast_mul(&self.bins.tensor)?;
        let last = weighted.rank() - 1;
        let count = self.bins.count();
        let half = count / 2;
        let reversed: Vec<u32> = (0..half as u32).rev().collect();
        let reversed = Tensor::from_vec(reversed, half, weighted.device())?;
        let lower = weighted
            .narrow(last, 0, half)?
            .contiguous()?
            .index_select(&reversed, last)?;
        let upper = weighted.narrow(last, count - half, half)?;
        let mut expected = (lower + upper)?.sum(last)?;
        if count % 2 == 1 {
            expected = (expected + weighted.narrow(last, half, 1)?.squeeze(last)?)?;
        }
        symexp(&expected)
    }

    /// The same as [`TwoHot::mean`]: DreamerV3 reads rewards and values out as the
    /// expectation, not the most likely bin.
    pub fn mode(&self) -> Result<Tensor> {
        self.mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::symlog::symexp_f32;
    use crate::gradcheck::check_function_gradients;

    fn bins5() -> TwoHotBins {
        // Points -2, -1, 0, 1, 2 on the symlog scale.
        TwoHotBins::new(5, -2.0, 2.0, &Device::Cpu).unwrap()
    }

    fn encode(bins: &TwoHotBins, x: f32) -> Vec<f32> {
        let t = Tensor::from_slice(&[x], 1, &Device::Cpu).unwrap();
        bins.encode(&t).unwrap().to_vec2::<f32>().unwrap()[0].clone()
    }

    #[test]
    fn dreamer_bins_are_symmetric_with_zero_in_the_middle() {
        let bins = TwoHotBins::dreamer_v3(&Device::Cpu).unwrap();
        let points = bins.points();
        assert_eq!(points.len(), 255);
        assert_eq!((points[0], points[127], points[254]), (-20.0, 0.0, 20.0));
        assert!(points
            .iter()
            .zip(points.iter().rev())
            .all(|(a, b)| *a == -*b));
        let values = bins.values();
        assert!((values[254] / 20f32.exp() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn encoding_weights_the_two_neighbouring_bins() {
        let bins = bins5();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        let got = encode(&bins, symexp_f32(0.25));
        assert!(close(&got, &[0.0, 0.0, 0.75, 0.25, 0.0]), "{got:?}");
        let got = encode(&bins, symexp_f32(-1.5));
        assert!(close(&got, &[0.5, 0.5, 0.0, 0.0, 0.0]), "{got:?}");
        assert_eq!(encode(&bins, 0.0), vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(encode(&bins, 1e6), vec![0.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(encode(&bins, -1e6), vec![1.0, 0.0, 0.0, 0.0, 0.0]);
        let got = encode(&bins, std::f32::consts::E - 1.0);
        assert!(close(&got, &[0.0, 0.0, 0.0, 1.0, 0.0]), "{got:?}");
    }

    #[test]
    fn decoding_an_encoding_gives_the_target_back() {
        let bins = TwoHotBins::dreamer_v3(&Device::Cpu).unwrap();
        let targets = [-3000.0f32, -1.5, 0.0, 0.37, 12.0, 5e5];
        let t = Tensor::from_slice(&targets, (2, 3), &Device::Cpu).unwrap();
        // Logits ln(encoding): the softmax is the encoding itself (−∞ gives 0).
        let head = TwoHot::new(&bins.encode(&t).unwrap().log().unwrap(), &bins).unwrap();
        let decoded = head
            .mean()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (x, y) in targets.iter().zip(&decoded) {
            assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0), "{x} -> {y}");
        }
        assert_eq!(head.mode().unwrap().dims(), &[2, 3]);
    }

    #[test]
    fn uniform_logits_predict_exactly_zero() {
        let bins = TwoHotBins::dreamer_v3(&Device::Cpu).unwrap();
        let head = TwoHot::new(
            &Tensor::zeros((3, 255), candle_core::DType::F32, &Device::Cpu).unwrap(),
            &bins,
        )
        .unwrap();
        assert_eq!(head.mean().unwrap().to_vec1::<f32>().unwrap(), vec![0.0; 3]);
        let even = TwoHotBins::new(4, -1.0, 1.0, &Device::Cpu).unwrap();
        let head = TwoHot::new(
            &Tensor::zeros((1, 4), candle_core::DType::F32, &Device::Cpu).unwrap(),
            &even,
        )
        .unwrap();
        assert_eq!(head.mean().unwrap().to_vec1::<f32>().unwrap(), vec![0.0]);
    }

    #[test]
    fn log_prob_is_the_two_hot_cross_entropy() {
        let bins = bins5();
        let logits = [0.3f32, -0.7, 1.1, 0.0, 0.5];
        let head = TwoHot::new(
            &Tensor::from_slice(&logits, (1, 5), &Device::Cpu).unwrap(),
            &bins,
        )
        .unwrap();
        let z: f64 = logits.iter().map(|l| (*l as f64).exp()).sum();
        let log_p = |k: usize| logits[k] as f64 - z.ln();
        let want = 0.75 * log_p(2) + 0.25 * log_p(3);
        let target = Tensor::from_slice(&[symexp_f32(0.25)], 1, &Device::Cpu).unwrap();
        let got = head.log_prob(&target).unwrap().to_vec1::<f32>().unwrap()[0];
        assert!((got as f64 - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn gradients_of_log_prob_and_mean_match_finite_differences() {
        let bins = bins5();
        let logits = Tensor::from_slice(
            &[0.3f32, -0.7, 1.1, 0.0, 0.5, -0.2, 0.4, 0.9, -1.0, 0.1],
            (2, 5),
            &Device::Cpu,
        )
        .unwrap();
        let targets = Tensor::from_slice(&[0.7f32, -2.5], 2, &Device::Cpu).unwrap();
        check_function_gradients(&[&logits], |p| {
            TwoHot::new(&p[0], &bins)?.log_prob(&targets)
        });
        check_function_gradients(&[&logits], |p| TwoHot::new(&p[0], &bins)?.mean());
    }
}
