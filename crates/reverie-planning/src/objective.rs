//! The seam between optimisers and what they optimise.

use reverie_core::Rng;

/// Scores action sequences. A batch of `n` candidates is `[n, horizon, action_dim]`,
/// row-major; discrete actions are one value per step holding the action index.
pub trait Objective {
    /// Writes one score per candidate into `scores` (higher is better). A candidate whose
    /// score is not finite must be scored `f32::NEG_INFINITY`, never NaN.
    fn evaluate(&mut self, candidates: &[f32], scores: &mut [f32]);
}

/// Per-dimension bounds of one action, and the plan's horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionBounds {
    /// Steps planned ahead.
    pub horizon: usize,
    /// Lower bound per action dimension.
    pub low: Vec<f32>,
    /// Upper bound per action dimension.
    pub high: Vec<f32>,
}

impl ActionBounds {
    /// Bounds `[low, high]` for every dimension of a `dim`-wide action.
    pub fn uniform(horizon: usize, dim: usize, low: f32, high: f32) -> Self {
        Self {
            horizon,
            low: vec![low; dim],
            high: vec![high; dim],
        }
    }

    /// Action width.
    pub fn dim(&self) -> usize {
        self.low.len()
    }

    /// Values in one sequence (`horizon · dim`).
    pub fn len(&self) -> usize {
        self.horizon * self.dim()
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Clamps a sequence `[horizon, dim]` (or a batch of them) into the bounds.
    pub fn clamp(&self, seq: &mut [f32]) {
        let d = self.dim();
        for (i, v) in seq.iter_mut().enumerate() {
            *v = v.clamp(self.low[i % d], self.high[i % d]);
        }
    }

    /// The midpoint sequence (the usual first mean).
    pub fn midpoint(&self) -> Vec<f32> {
        (0..self.len())
            .map(|i| 0.5 * (self.low[i % self.dim()] + self.high[i % self.dim()]))
            .collect()
    }

    /// Checks the bounds are usable.
    pub fn validate(&self) -> Result<(), String> {
        if self.horizon == 0 || self.low.is_empty() || self.low.len() != self.high.len() {
            return Err("planning needs horizon ≥ 1 and matching low/high bounds".into());
        }
        if self
            .low
            .iter()
            .zip(&self.high)
            .any(|(l, h)| !(l.is_finite() && h.is_finite() && l < h))
        {
            return Err(format!(
                "action bounds must be finite with low < high, got {:?} .. {:?}",
                self.low, self.high
            ));
        }
        Ok(())
    }
}

/// An optimiser's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The chosen sequence `[horizon, dim]`.
    pub actions: Vec<f32>,
    /// Its score (as the objective measured it; for "mean of elites" answers, the best
    /// elite's).
    pub value: f32,
}

/// A trajectory optimiser with a warm start.
pub trait Optimizer {
    /// Optimises a sequence, starting from the warm-start solution (or from scratch).
    fn optimize(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> Plan;

    /// Shifts the kept solution one step after its first action was executed.
    fn advance(&mut self);

    /// Forgets the kept solution (a new episode).
    fn reset(&mut self);

    /// What the optimiser carries between calls (the shifted previous solution, and iCEM's
    /// kept elites), for checkpoints that resume a run exactly.
    fn warm_start(&self) -> WarmStart;

    /// Restores [`Optimizer::warm_start`].
    fn set_warm_start(&mut self, warm: WarmStart);
}

/// The state an [`Optimizer`] carries from one call to the next.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarmStart {
    /// The previous solution, shifted (none at the start of an episode).
    pub previous: Option<Vec<f32>>,
    /// Extra sequences kept (iCEM's elites; empty for the others).
    pub kept: Vec<f32>,
}

impl ActionBounds {
    /// Per-element initial variance of a sequence: `(init_std · range)²`.
    pub(crate) fn initial_variance(&self, init_std: f32) -> Vec<f32> {
        let d = self.dim();
        (0..self.len())
            .map(|j| (init_std * (self.high[j % d] - self.low[j % d])).powi(2))
            .collect()
    }

    /// Shifts a kept sequence one step, filling the new last step with the midpoint.
    pub(crate) fn shift_warm_start(&self, seq: &mut [f32]) {
        let d = self.dim();
        let fill: Vec<f32> = (0..d).map(|j| 0.5 * (self.low[j] + self.high[j])).collect();
        shift(seq, d, &fill);
    }
}

/// Shifts `seq [H, d]` left by one step and fills the last step from `fill [d]`.
pub(crate) fn shift(seq: &mut [f32], d: usize, fill: &[f32]) {
    seq.copy_within(d.., 0);
    let n = seq.len();
    seq[n - d..].copy_from_slice(fill);
}

/// Replaces non-finite scores by −∞ so sorting and weighting never see NaN.
pub(crate) fn sanitize(scores: &mut [f32]) {
    for s in scores {
        if !s.is_finite() {
            *s = f32::NEG_INFINITY;
        }
    }
}

/// Indices of the `k` best scores, best first.
pub(crate) fn top_k(scores: &[f32], k: usize, order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..scores.len());
    let k = k.min(scores.len()).max(1);
    order.select_nth_unstable_by(k - 1, |&a, &b| scores[b].total_cmp(&scores[a]));
    order.truncate(k);
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
}

#[cfg(test)]
pub(crate) mod test_objectives {
    use super::Objective;

    /// −Σ (a − target)², the optimum is `target` with value 0.
    pub struct Quadratic {
        pub target: Vec<f32>,
        pub calls: usize,
    }

    impl Objective for Quadratic {
        fn evaluate(&mut self, candidates: &[f32], scores: &mut [f32]) {
            self.calls += scores.len();
            let l = self.target.len();
            for (c, s) in candidates.chunks_exact(l).zip(scores.iter_mut()) {
                *s = -c
                    .iter()
                    .zip(&self.target)
                    .map(|(a, t)| (a - t) * (a - t))
                    .sum::<f32>();
            }
        }
    }

    /// Largest absolute difference between two sequences.
    pub fn max_error(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    }

    /// A target sequence spread over `[-0.8, 0.8]`.
    pub fn target(len: usize) -> Vec<f32> {
        (0..len).map(|i| 0.8 * ((i as f32) * 0.7).sin()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_and_shift() {
        let mut order = Vec::new();
        top_k(&[0.1, 3.0, -1.0, 2.0, f32::NEG_INFINITY], 2, &mut order);
        assert_eq!(order, vec![1, 3]);
        let mut seq = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        shift(&mut seq, 2, &[0.0, 0.0]);
        assert_eq!(seq, vec![3.0, 4.0, 5.0, 6.0, 0.0, 0.0]);
        let b = ActionBounds::uniform(2, 1, -1.0, 1.0);
        let mut s = vec![-3.0, 0.5];
        b.clamp(&mut s);
        assert_eq!(s, vec![-1.0, 0.5]);
        assert!(ActionBounds::uniform(2, 1, 1.0, 1.0).validate().is_err());
    }
}

/// `V(s_H)` for a batch: observations `[n, obs_dim]` → values `[n]`, added (discounted) to
/// the return of every particle still alive after the horizon.
pub type TerminalValue = Box<dyn FnMut(&[f32], &mut [f32]) + Send>;
