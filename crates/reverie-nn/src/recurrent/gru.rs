//! [`GruCell`]: PyTorch's `GRUCell` (Cho et al. 2014, with the reset gate applied after the
//! hidden projection, as cuDNN and PyTorch do).

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::gates::GruGates;
use super::gru_sequence::GruSequence;
use super::RecurrentCell;
use crate::module::{named, Parameters};
use crate::ops::linear;
use crate::params::uniform_var;
use crate::Result;

/// Sizes of a [`GruCell`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GruConfig {
    /// Input width.
    pub inputs: usize,
    /// State width.
    pub hidden: usize,
}

impl GruConfig {
    /// `inputs → hidden`.
    pub fn new(inputs: usize, hidden: usize) -> Self {
        Self { inputs, hidden }
    }

    /// Weights and biases uniform in ±1/√hidden (PyTorch's default), drawn in PyTorch's
    /// parameter order (input weights, hidden weights, input bias, hidden bias).
    pub fn init(&self, rng: &mut reverie_core::Rng, device: &Device) -> Result<GruCell> {
        let (i, h) = (self.inputs, self.hidden);
        let bound = 1.0 / (h as f64).sqrt();
        Ok(GruCell {
            w_ih: uniform_var(rng, &[i, 3 * h], bound, device)?,
            w_hh: uniform_var(rng, &[h, 3 * h], bound, device)?,
            b_ih: uniform_var(rng, &[3 * h], bound, device)?,
            b_hh: uniform_var(rng, &[3 * h], bound, device)?,
        })
    }
}

/// r = σ(x·W_ir + b_ir + h·W_hr + b_hr), z = σ(x·W_iz + b_iz + h·W_hz + b_hz),
/// n = tanh(x·W_in + b_in + r ⊙ (h·W_hn + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
///
/// # Shapes
/// `x [B, inputs]`, `h [B, hidden]` → `[B, hidden]`; weights `[inputs, 3·hidden]` and
/// `[hidden, 3·hidden]` with gates in the order r, z, n; biases `[3·hidden]`.
#[derive(Clone, Debug)]
pub struct GruCell {
    w_ih: Var,
    w_hh: Var,
    b_ih: Var,
    b_hh: Var,
}

impl GruCell {
    /// State width.
    pub fn hidden(&self) -> usize {
        self.w_hh.dims()[0]
    }

    /// One step: two fused projections and one fused gate op (CPU); plain candle ops
    /// elsewhere.
    pub fn step(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        if !x.device().is_cpu() {
            return self.step_reference(x, h);
        }
        let (x, h) = (x.contiguous()?, h.contiguous()?);
        let xp = linear(&x, self.w_ih.as_tensor(), self.b_ih.as_tensor(), None)?;
        let hp = linear(&h, self.w_hh.as_tensor(), self.b_hh.as_tensor(), None)?;
        xp.apply_op3(&hp, &h, GruGates)
    }

    /// The same step in plain candle ops (the reference for tests and timings, and the
    /// path off the CPU).
    pub fn step_reference(&self, x: &Tensor, h: &Tensor) -> Result<Tensor> {
        let n = self.hidden();
        let xp = x
            .matmul(self.w_ih.as_tensor())?
            .broadcast_add(self.b_ih.as_tensor())?;
        let hp = h
            .matmul(self.w_hh.as_tensor())?
            .broadcast_add(self.b_hh.as_tensor())?;
        let gate = |p: &Tensor, k: usize| p.narrow(1, k * n, n);
        let r = candle_nn::ops::sigmoid(&(gate(&xp, 0)? + gate(&hp, 0)?)?)?;
        let z = candle_nn::ops::sigmoid(&(gate(&xp, 1)? + gate(&hp, 1)?)?)?;
        let cand = (gate(&xp, 2)? + (r * gate(&hp, 2)?)?)?.tanh()?;
        // (1 − z)·n + z·h = n + z·(h − n)
        &cand + (z * (h - &cand)?)?
    }
}

impl Parameters for GruCell {
    /// `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` (PyTorch's names; the weights are
    /// stored transposed to PyTorch's layout, `[in, gates·hidden]`).
    fn named_vars(&self) -> Vec<(String, Var)> {
        named(&[
            ("weight_ih", &self.w_ih),
            ("weight_hh", &self.w_hh),
            ("bias_ih", &self.b_ih),
            ("bias_hh", &self.b_hh),
        ])
    }
}

impl RecurrentCell for GruCell {
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

    /// On the CPU: one `[T·B, in]` input projection, then the recurrence and its BPTT as
    /// one op (a cuDNN-style fused recurrence), instead of T steps of candle ops.
    fn unroll_sequence(&self, xs: &Tensor, h0: &Tensor) -> Result<(Tensor, Tensor)> {
        if !xs.device().is_cpu() {
            return super::unroll_stepwise(self, xs, h0);
        }
        let (steps, batch, inputs) = xs.dims3()?;
        if steps == 0 {
            candle_core::bail!("unroll: no steps");
        }
        let three = 3 * self.hidden();
        let xp = linear(
            &xs.reshape((steps * batch, inputs))?.contiguous()?,
            self.w_ih.as_tensor(),
            self.b_ih.as_tensor(),
            None,
        )?
        .reshape((steps, batch, three))?;
        let w = Tensor::cat(
            &[
                self.w_hh.as_tensor(),
                &self.b_hh.as_tensor().reshape((1, three))?,
            ],
            0,
        )?;
        let hs = xp.apply_op3(&w, &h0.contiguous()?, GruSequence::default())?;
        let last = hs.get(steps - 1)?;
        Ok((hs, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, check_init_and_round_trip, max_diff, var};
    use reverie_core::Rng;

    #[test]
    fn fused_step_matches_plain_candle() {
        let cell = GruConfig::new(6, 8)
            .init(&mut Rng::seed_from_u64(1), &Device::Cpu)
            .unwrap();
        let x = var(2, &[5, 6], 2.0);
        let h = var(3, &[5, 8], 1.0);
        let fused = cell.step(x.as_tensor(), h.as_tensor()).unwrap();
        let plain = cell.step_reference(x.as_tensor(), h.as_tensor()).unwrap();
        assert!(max_diff(&fused, &plain) < 1e-5);

        // And the same gradients for every input and parameter.
        let target = var(4, &[5, 8], 1.0);
        let loss = |y: Tensor| {
            (y - target.as_tensor())
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let g1 = loss(fused).backward().unwrap();
        let g2 = loss(plain).backward().unwrap();
        for v in [&x, &h].into_iter().chain(cell.vars().iter()) {
            let d = max_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(d < 1e-4, "gradient differs by {d}");
        }
    }

    #[test]
    fn fused_sequence_matches_steps_in_values_and_gradients() {
        let cell = GruConfig::new(6, 8)
            .init(&mut Rng::seed_from_u64(12), &Device::Cpu)
            .unwrap();
        let xs = var(13, &[4, 3, 6], 1.5);
        let h0 = var(14, &[3, 8], 1.0);
        let target = var(15, &[4, 3, 8], 1.0);
        let loss = |y: &Tensor| {
            (y - target.as_tensor())
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
        };
        let (fused, last) = cell
            .unroll_sequence(xs.as_tensor(), h0.as_tensor())
            .unwrap();
        let (steps, _) =
            crate::recurrent::unroll_stepwise(&cell, xs.as_tensor(), h0.as_tensor()).unwrap();
        assert!(max_diff(&fused, &steps) < 1e-5);
        assert!(max_diff(&last, &steps.get(3).unwrap()) < 1e-5);
        let g1 = loss(&fused).backward().unwrap();
        let g2 = loss(&steps).backward().unwrap();
        for v in [&xs, &h0].into_iter().chain(cell.vars().iter()) {
            let d = max_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(d < 1e-4, "gradient differs by {d}");
        }
        let params = cell.vars();
        let mut vars = vec![&xs, &h0];
        vars.extend(params.iter());
        check_gradients("gru sequence", &vars, 8, || {
            Ok(cell.unroll_sequence(xs.as_tensor(), h0.as_tensor())?.0)
        });
    }

    #[test]
    fn step_gradients_match_finite_differences() {
        let cell = GruConfig::new(3, 4)
            .init(&mut Rng::seed_from_u64(5), &Device::Cpu)
            .unwrap();
        let x = var(6, &[2, 3], 1.5);
        let h = var(7, &[2, 4], 1.0);
        let params = cell.vars();
        let mut vars = vec![&x, &h];
        vars.extend(params.iter());
        check_gradients("gru step", &vars, 10, || {
            cell.step(x.as_tensor(), h.as_tensor())
        });
    }

    #[test]
    fn init_reproduces_and_parameters_round_trip() {
        let config = GruConfig::new(3, 4);
        let init = |seed| {
            config
                .init(&mut Rng::seed_from_u64(seed), &Device::Cpu)
                .unwrap()
        };
        let other = GruConfig::new(3, 5)
            .init(&mut Rng::seed_from_u64(10), &Device::Cpu)
            .unwrap();
        // 1/√hidden = 0.5.
        check_init_and_round_trip(init, other, 0.5, "gru");
    }
}
