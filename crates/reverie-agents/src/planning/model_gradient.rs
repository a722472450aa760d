//! Planning by gradient through the learned model: the action sequence is a candle `Var`,
//! the rollout (mean of the elites' mean predictions, learned reward head) is differentiated
//! with respect to it, and [`reverie_planning::GradientPlanner`] takes Adam steps on it.

use candle_core::{DType, Tensor, Var};
use reverie_models::EnsembleModel;

use reverie_planning::{DifferentiableObjective, Objective};

/// A differentiable rollout objective over an [`EnsembleModel`] with continuous actions.
///
/// Uses the model's own reward head (known reward functions are plain Rust and cannot be
/// differentiated) and ignores termination; next states are the elites' mean prediction.
pub struct ModelGradientObjective<'m> {
    model: &'m EnsembleModel,
    horizon: usize,
    discount: f64,
    start: Vec<f32>,
}

impl<'m> ModelGradientObjective<'m> {
    /// An objective over `horizon`-step sequences through `model`.
    pub fn new(model: &'m EnsembleModel, horizon: usize, discount: f64) -> Self {
        Self {
            model,
            horizon,
            discount,
            start: vec![0.0; model.obs_dim()],
        }
    }

    /// Sets the real observation rollouts start from.
    pub fn set_start(&mut self, obs: &[f32]) {
        self.start.copy_from_slice(obs);
    }

    /// Returns `[n]` and `d/d actions` `[n, H, A]` (as a tensor pair) for the sequences.
    fn rollout(
        &self,
        candidates: &[f32],
        n: usize,
        grad: bool,
    ) -> candle_core::Result<(Vec<f32>, Option<Vec<f32>>)> {
        let m = self.model;
        let (o, a, h) = (m.obs_dim(), m.act_dim(), self.horizon);
        let device = m.device().clone();
        let actions = Var::from_tensor(&Tensor::from_slice(candidates, (n, h, a), &device)?)?;
        let (in_mean, in_std) = m.input_normalizer().tensors(&device)?;
        let target = m.target_normalizer();
        let mask: Vec<f32> = (0..=o)
            .map(|j| if target.is_constant(j) { 0.0 } else { 1.0 })
            .collect();
        let mask = Tensor::from_slice(&mask, (1, o + 1), &device)?;
        let (t_mean, t_std) = target.tensors(&device)?;
        let elites = Tensor::from_vec(
            m.elites().iter().map(|&e| e as u32).collect::<Vec<_>>(),
            m.elites().len(),
            &device,
        )?;
        let members = m.config().ensemble_size;
        let mut obs = Tensor::from_slice(&self.start, (1, o), &device)?
            .broadcast_as((n, o))?
            .contiguous()?;
        let mut total = Tensor::zeros(n, DType::F32, &device)?;
        let mut discount = 1.0;
        for t in 0..h {
            let act = actions.as_tensor().narrow(1, t, 1)?.squeeze(1)?;
            let x = Tensor::cat(&[&obs, &act], 1)?
                .broadcast_sub(&in_mean)?
                .broadcast_div(&in_std)?;
            let x = x
                .unsqueeze(0)?
                .broadcast_as((members, n, o + a))?
                .contiguous()?;
            let out = m.forward(&x)?.mean.index_select(&elites, 0)?.mean(0)?;
            let out = out
                .broadcast_mul(&mask)?
                .broadcast_mul(&t_std)?
                .broadcast_add(&t_mean)?;
            obs = (obs + out.narrow(1, 0, o)?)?;
            let reward = out.narrow(1, o, 1)?.squeeze(1)?;
            total = (total + (reward * discount)?)?;
            discount *= self.discount;
        }
        let values = total.to_vec1::<f32>()?;
        if !grad {
            return Ok((values, None));
        }
        let grads = total.sum_all()?.backward()?;
        let g = grads
            .get(actions.as_tensor())
            .map(|g| g.flatten_all().and_then(|g| g.to_vec1::<f32>()))
            .transpose()?
            .unwrap_or_else(|| vec![0.0; candidates.len()]);
        Ok((values, Some(g)))
    }
}

impl Objective for ModelGradientObjective<'_> {
    fn evaluate(&mut self, candidates: &[f32], scores: &mut [f32]) {
        match self.rollout(candidates, scores.len(), false) {
            Ok((values, _)) => {
                for (s, v) in scores.iter_mut().zip(values) {
                    *s = if v.is_finite() { v } else { f32::NEG_INFINITY };
                }
            }
            Err(_) => scores.fill(f32::NEG_INFINITY),
        }
    }
}

impl DifferentiableObjective for ModelGradientObjective<'_> {
    fn value_and_grad(&mut self, candidates: &[f32], scores: &mut [f32], grads: &mut [f32]) {
        match self.rollout(candidates, scores.len(), true) {
            Ok((values, Some(g))) => {
                for (s, v) in scores.iter_mut().zip(values) {
                    *s = if v.is_finite() { v } else { f32::NEG_INFINITY };
                }
                grads.copy_from_slice(&g);
            }
            _ => {
                scores.fill(f32::NEG_INFINITY);
                grads.fill(0.0);
            }
        }
    }
}
