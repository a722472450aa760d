//! [`NormGruCell`]: the GRU of DreamerV2/V3's RSSM (Hafner et al. 2021, 2023), one
//! bias-free linear layer on `[x, h]`, layer-normed, then reset / candidate / update gates
//! with the update gate biased towards keeping the state.

use candle_core::{DType, Device, Module, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::gates::NormGruGates;
use super::RecurrentCell;
use crate::module::Parameters;
use crate::norm::{LayerNorm, LayerNormConfig};
use crate::ops::{linear_taped, WeightGradTape};
use crate::params::uniform_var;
use crate::Result;

/// Sizes and constants of a [`NormGruCell`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormGruConfig {
    /// Input width.
    pub inputs: usize,
    /// State width.
    pub hidden: usize,
    /// The layer norm's eps (1e-3: Keras' default, which DreamerV2's implementation used).
    pub eps: f64,
    /// Added to the update gate's pre-activation: −1 starts training with σ(−1) ≈ 0.27 of
    /// the candidate mixed in, so gradients pass through many steps.
    pub update_bias: f64,
}

impl NormGruConfig {
    /// `inputs → hidden` with DreamerV3's constants.
    pub fn new(inputs: usize, hidden: usize) -> Self {
        Self {
            inputs,
            hidden,
            eps: 1e-3,
            update_bias: -1.0,
        }
    }

    /// The weight uniform in ±1/√(inputs + hidden) (PyTorch's `nn.Linear` default); the
    /// norm's scale 1 and shift 0.
    pub fn init(&self, rng: &mut reverie_core::Rng, device: &Device) -> Result<NormGruCell> {
        let fan_in = self.inputs + self.hidden;
        let three = 3 * self.hidden;
        let weight = uniform_var(rng, &[fan_in, three], 1.0 / (fan_in as f64).sqrt(), device)?;
        let norm = LayerNormConfig {
            dim: three,
            eps: self.eps,
            affine: true,
        }
        .init(rng, device)?;
        Ok(NormGruCell {
            weight,
            no_bias: Tensor::zeros(three, DType::F32, device)?,
            norm,
            update_bias: self.update_bias,
        })
    }
}

/// p = LayerNorm([x, h]·W) split as (reset, candidate, update); r = σ(p_r),
/// c = tanh(r ⊙ p_c), u = σ(p_u + update_bias), h' = u ⊙ c + (1 − u) ⊙ h.
///
/// # Shapes
/// `x [B, inputs]`, `h [B, hidden]` → `[B, hidden]`; weight `[inputs + hidden, 3·hidden]`;
/// norm over `3·hidden`.
#[derive(Clone, Debug)]
pub struct NormGruCell {
    weight: Var,
    /// Zeros for the fused linear op (the layer has no bias: the norm's shift takes its place).
    no_bias: Tensor,
    norm: LayerNorm,
    update_bias: f64,
}

impl NormGruCell {
    /// State width.
    pub fn hidden(&self) -> usize {
        self.no_bias.dims()[0] / 3
    }

    /// One step: concatenation, fused projection, fused layer norm, fused gates (CPU);
    /// plain candle ops elsewhere.
    pub fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        self.step_taped(x, h, None)
    }

    /// [`step`](Self::step) with the weight's gradient deferred to `tape`
    /// ([`crate::ops::linear_taped`]), for a training unroll.
    pub fn step_taped(
        &self,
        x: &Tensor,
        h: &Tensor,
        tape: Option<&WeightGradTape>,
    ) -> Result<Tensor> {
        if !x.device().is_cpu() {
            return self.step_reference(x, h);
        }
        let h = h.contiguous()?;
        let xh = Tensor::cat(&[x, &h], 1)?;
        let p = linear_taped(&xh, self.weight.as_tensor(), &self.no_bias, None, tape)?;
        let p = self.norm.forward(&p)?;
        p.apply_op2(
            &h,
            NormGruGates {
                update_bias: self.update_bias as f32,
            },
        )
    }

    /// The same step in plain candle ops (the reference for tests, and the path off the
    /// CPU).
    pub fn step_reference(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        let n = self.hidden();
        let p = Tensor::cat(&[x, h], 1)?.matmul(self.weight.as_tensor())?;
        let p = self.norm.forward(&p)?;
        let r = candle_nn::ops::sigmoid(&p.narrow(1, 0, n)?)?;
        let c = (r * p.narrow(1, n, n)?)?.tanh()?;
        let u = candle_nn::ops::sigmoid(&(p.narrow(1, 2 * n, n)? + self.update_bias)?)?;
        h + (u * (c - h)?)?
    }
}

impl Parameters for NormGruCell {
    /// `weight`, then `norm.weight` / `norm.bias` (the norm's scale and shift).
    fn named_vars(&self) -> Vec<(String, Var)> {
        let mut vars = vec![("weight".to_string(), self.weight.clone())];
        vars.extend(
            self.norm
                .named_vars()
                .into_iter()
                .map(|(name, v)| (format!("norm.{name}"), v)),
        );
        vars
    }
}

impl RecurrentCell for NormGruCell {
    type State = Tensor;

    fn zero_state(&self, batch: usize, device: &Device) -> Result<Tensor> {
        Tensor::zeros((batch, self.hidden()), DType::F32, device)
    }

    fn step_state(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        self.step(x, h)
    }

    fn output(h: &Tensor) -> &Tensor {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, max_diff, var};
    use reverie_core::Rng;

    fn reference_norm(p: &Tensor, cell: &NormGruCell) -> Tensor {
        let v = cell.norm.vars();
        candle_nn::ops::layer_norm_slow(p, v[0].as_tensor(), v[1].as_tensor(), 1e-3).unwrap()
    }

    #[test]
    fn fused_step_matches_plain_candle_equations() {
        let cell = NormGruConfig::new(5, 6)
            .init(&mut Rng::seed_from_u64(1), &Device::Cpu)
            .unwrap();
        // A non-trivial norm, so that its scale and shift are exercised.
        cell.norm.vars()[0]
            .set(var(20, &[18], 2.0).as_tensor())
            .unwrap();
        cell.norm.vars()[1]
            .set(var(21, &[18], 1.0).as_tensor())
            .unwrap();
        let x = var(2, &[4, 5], 2.0);
        let h = var(3, &[4, 6], 1.0);
        // Plain candle end to end, including candle-nn's (slow, differentiable) layer norm.
        let p = Tensor::cat(&[x.as_tensor(), h.as_tensor()], 1)
            .unwrap()
            .matmul(cell.weight.as_tensor())
            .unwrap();
        let p = reference_norm(&p, &cell);
        let r = candle_nn::ops::sigmoid(&p.narrow(1, 0, 6).unwrap()).unwrap();
        let c = (r * p.narrow(1, 6, 6).unwrap()).unwrap().tanh().unwrap();
        let u = candle_nn::ops::sigmoid(&(p.narrow(1, 12, 6).unwrap() - 1.0).unwrap()).unwrap();
        let one_minus_u = (1.0 - &u).unwrap();
        let want = ((u * c).unwrap() + (one_minus_u * h.as_tensor()).unwrap()).unwrap();
        let fused = cell.step(x.as_tensor(), h.as_tensor()).unwrap();
        assert!(max_diff(&fused, &want) < 1e-5);
        let plain = cell.step_reference(x.as_tensor(), h.as_tensor()).unwrap();
        assert!(max_diff(&plain, &want) < 1e-5);
    }

    #[test]
    fn step_gradients_match_finite_differences() {
        let cell = NormGruConfig::new(3, 4)
            .init(&mut Rng::seed_from_u64(5), &Device::Cpu)
            .unwrap();
        cell.norm.vars()[0]
            .set(var(22, &[12], 2.0).as_tensor())
            .unwrap();
        let x = var(6, &[2, 3], 1.5);
        let h = var(7, &[2, 4], 1.0);
        let params = cell.vars();
        let mut vars = vec![&x, &h];
        vars.extend(params.iter());
        check_gradients("norm gru step", &vars, 10, || {
            cell.step(x.as_tensor(), h.as_tensor())
        });
    }

    #[test]
    fn parameters_round_trip() {
        let config = NormGruConfig::new(3, 4);
        let a = config
            .init(&mut Rng::seed_from_u64(9), &Device::Cpu)
            .unwrap();
        let b = config
            .init(&mut Rng::seed_from_u64(10), &Device::Cpu)
            .unwrap();
        assert_eq!(a.named_tensors("dyn").len(), 3);
        b.load_named("dyn", &a.named_tensors("dyn")).unwrap();
        assert_eq!(
            max_diff(a.vars()[0].as_tensor(), b.vars()[0].as_tensor()),
            0.0
        );
        let other = NormGruConfig::new(4, 4)
            .init(&mut Rng::seed_from_u64(10), &Device::Cpu)
            .unwrap();
        assert!(other.load_named("dyn", &a.named_tensors("dyn")).is_err());
    }
}
