//! [`LstmCell`]: PyTorch's `LSTMCell` (Hochreiter & Schmidhuber 1997 with a forget gate;
//! World Models' MDN-RNN, I2A's rollout encoder).

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::gates::LstmGates;
use super::RecurrentCell;
use crate::module::{named, Parameters};
use crate::ops::linear;
use crate::params::uniform_var;
use crate::Result;

/// Sizes of a [`LstmCell`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Input width.
    pub inputs: usize,
    /// State width.
    pub hidden: usize,
}

impl LstmConfig {
    /// `inputs → hidden`.
    pub fn new(inputs: usize, hidden: usize) -> Self {
        Self { inputs, hidden }
    }

    /// Weights and biases uniform in ±1/√hidden (PyTorch's default), drawn in PyTorch's
    /// parameter order (input weights, hidden weights, input bias, hidden bias).
    pub fn init(&self, rng: &mut reverie_core::Rng, device: &Device) -> Result<LstmCell> {
        let (i, h) = (self.inputs, self.hidden);
        let bound = 1.0 / (h as f64).sqrt();
        Ok(LstmCell {
            w_ih: uniform_var(rng, &[i, 4 * h], bound, device)?,
            w_hh: uniform_var(rng, &[h, 4 * h], bound, device)?,
            b_ih: uniform_var(rng, &[4 * h], bound, device)?,
            b_hh: uniform_var(rng, &[4 * h], bound, device)?,
        })
    }
}

/// Gates i, f, g, o = x·W_i + b_i + h·W_h + b_h (in that order);
/// c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c').
///
/// # Shapes
/// `x [B, inputs]`, `(h, c)` each `[B, hidden]` → `(h', c')`; weights `[inputs, 4·hidden]`
/// and `[hidden, 4·hidden]`; biases `[4·hidden]`.
#[derive(Clone, Debug)]
pub struct LstmCell {
    w_ih: Var,
    w_hh: Var,
    b_ih: Var,
    b_hh: Var,
}

impl LstmCell {
    /// State width.
    pub fn hidden(&self) -> usize {
        self.w_hh.dims()[0]
    }

    /// One step: two fused projections and one fused gate op (CPU); plain candle ops
    /// elsewhere.
    pub fn step(&self, x: &Tensor, (h, c): (&Tensor, &Tensor)) -> Result<(Tensor, Tensor)> {
        if !x.device().is_cpu() {
            return self.step_reference(x, (h, c));
        }
        let (x, h, c) = (x.contiguous()?, h.contiguous()?, c.contiguous()?);
        let xp = linear(&x, self.w_ih.as_tensor(), self.b_ih.as_tensor(), None)?;
        let hp = linear(&h, self.w_hh.as_tensor(), self.b_hh.as_tensor(), None)?;
        let both = xp.apply_op3(&hp, &c, LstmGates)?;
        Ok((both.get(0)?, both.get(1)?))
    }

    /// The same step in plain candle ops (the reference for tests and timings, and the
    /// path off the CPU).
    pub fn step_reference(
        &self,
        x: &Tensor,
        (h, c): (&Tensor, &Tensor),
    ) -> Result<(Tensor, Tensor)> {
        let n = self.hidden();
        let pre = (x
            .matmul(self.w_ih.as_tensor())?
            .broadcast_add(self.b_ih.as_tensor())?
            + h.matmul(self.w_hh.as_tensor())?
                .broadcast_add(self.b_hh.as_tensor())?)?;
        let gate = |k: usize| pre.narrow(1, k * n, n);
        let i = candle_nn::ops::sigmoid(&gate(0)?)?;
        let f = candle_nn::ops::sigmoid(&gate(1)?)?;
        let g = gate(2)?.tanh()?;
        let o = candle_nn::ops::sigmoid(&gate(3)?)?;
        let c = ((f * c)? + (i * g)?)?;
        let h = (o * c.tanh()?)?;
        Ok((h, c))
    }
}

impl Parameters for LstmCell {
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

impl RecurrentCell for LstmCell {
    type State = (Tensor, Tensor);

    fn zero_state(&self, batch: usize, device: &Device) -> Result<(Tensor, Tensor)> {
        let zeros = Tensor::zeros((batch, self.hidden()), DType::F32, device)?;
        Ok((zeros.clone(), zeros))
    }

    fn step_state(&self, x: &Tensor, (h, c): &(Tensor, Tensor)) -> Result<(Tensor, Tensor)> {
        self.step(x, (h, c))
    }

    fn output((h, _): &(Tensor, Tensor)) -> &Tensor {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, check_init_and_round_trip, max_diff, var};
    use reverie_core::Rng;

    #[test]
    fn fused_step_matches_plain_candle() {
        let cell = LstmConfig::new(6, 8)
            .init(&mut Rng::seed_from_u64(1), &Device::Cpu)
            .unwrap();
        let x = var(2, &[5, 6], 2.0);
        let h = var(3, &[5, 8], 1.0);
        let c = var(31, &[5, 8], 1.0);
        let state = (h.as_tensor(), c.as_tensor());
        let fused = cell.step(x.as_tensor(), state).unwrap();
        let plain = cell.step_reference(x.as_tensor(), state).unwrap();
        assert!(max_diff(&fused.0, &plain.0) < 1e-5 && max_diff(&fused.1, &plain.1) < 1e-5);

        // And the same gradients for every input and parameter.
        let target = var(4, &[5, 8], 1.0);
        let loss = |(h, c): (Tensor, Tensor)| {
            ((h - target.as_tensor())
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                + (c * 0.5).unwrap().sqr().unwrap().sum_all().unwrap())
            .unwrap()
        };
        let g1 = loss(fused).backward().unwrap();
        let g2 = loss(plain).backward().unwrap();
        for v in [&x, &h, &c].into_iter().chain(cell.vars().iter()) {
            let d = max_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
            assert!(d < 1e-4, "gradient differs by {d}");
        }
    }

    #[test]
    fn step_gradients_match_finite_differences() {
        let cell = LstmConfig::new(3, 4)
            .init(&mut Rng::seed_from_u64(5), &Device::Cpu)
            .unwrap();
        let x = var(6, &[2, 3], 1.5);
        let h = var(7, &[2, 4], 1.0);
        let c = var(8, &[2, 4], 1.0);
        let params = cell.vars();
        let mut vars = vec![&x, &h, &c];
        vars.extend(params.iter());
        check_gradients("lstm step", &vars, 10, || {
            let (h, c) = cell.step(x.as_tensor(), (h.as_tensor(), c.as_tensor()))?;
            Tensor::cat(&[&h, &c], 1)
        });
    }

    #[test]
    fn init_reproduces_and_parameters_round_trip() {
        let config = LstmConfig::new(3, 4);
        let init = |seed| {
            config
                .init(&mut Rng::seed_from_u64(seed), &Device::Cpu)
                .unwrap()
        };
        let other = LstmConfig::new(3, 5)
            .init(&mut Rng::seed_from_u64(10), &Device::Cpu)
            .unwrap();
        // 1/√hidden = 0.5.
        check_init_and_round_trip(init, other, 0.5, "lstm");
    }
}
