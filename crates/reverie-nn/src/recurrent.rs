//! Recurrent cells: [`GruCell`] and [`LstmCell`] (PyTorch's `GRUCell` / `LSTMCell`
//! equations; World Models' MDN-RNN, I2A), [`NormGruCell`] (DreamerV2/V3's layer-normed GRU,
//! the RSSM's deterministic path), and [`unroll`] over a sequence.
//!
//! Each step is the projections ([`crate::ops::linear`], matmul with the bias fused) and one
//! fused gate op with its analytic backward, instead of ~12 candle ops at
//! several µs each.
//!
//! Weights are stored `[in, gates · hidden]` so that a projection is `x · W` (PyTorch stores
//! the transpose, `[gates · hidden, in]`).

mod gates;
pub mod gru;
mod gru_sequence;
pub mod lstm;
pub mod norm_gru;

use candle_core::{Device, Tensor};

pub use gru::{GruCell, GruConfig};
pub use lstm::{LstmCell, LstmConfig};
pub use norm_gru::{NormGruCell, NormGruConfig};

use crate::Result;

/// A cell that can be run over a sequence by [`unroll`].
pub trait RecurrentCell {
    /// What is carried between steps (`h` for a GRU, `(h, c)` for an LSTM).
    type State: Clone;

    /// The all-zeros state for `batch` sequences.
    fn zero_state(&self, batch: usize, device: &Device) -> Result<Self::State>;

    /// One step: `x [B, in]` and the state to the next state.
    fn step_state(&self, x: &Tensor, state: &Self::State) -> Result<Self::State>;

    /// The output of a state, `[B, hidden]` (`h`).
    fn output(state: &Self::State) -> &Tensor;

    /// Runs the cell over `xs [T, B, in]` (see [`unroll`]); step by step unless a cell has a
    /// faster whole-sequence path.
    fn unroll_sequence(&self, xs: &Tensor, state: &Self::State) -> Result<(Tensor, Self::State)>
    where
        Self: Sized,
    {
        unroll_stepwise(self, xs, state)
    }
}

/// Runs `cell` over `xs` from `state`. [`GruCell`] runs the whole sequence as one op on
/// the CPU (a cuDNN-style fused recurrence with its BPTT); other cells step by step.
///
/// # Shapes
/// `xs [T, B, in]` → (`[T, B, hidden]` outputs, final state).
pub fn unroll<C: RecurrentCell>(
    cell: &C,
    xs: &Tensor,
    state: &C::State,
) -> Result<(Tensor, C::State)> {
    cell.unroll_sequence(xs, state)
}

/// [`unroll`] one [`RecurrentCell::step_state`] at a time.
///
/// Slicing a step out of `xs` costs a full-size zero-padded gradient in candle's backward
/// (its `narrow` backward), so when `xs` itself needs gradients prefer [`unroll_steps`] on
/// inputs built per step.
///
/// # Shapes
/// `xs [T, B, in]` → (`[T, B, hidden]` outputs, final state).
pub fn unroll_stepwise<C: RecurrentCell>(
    cell: &C,
    xs: &Tensor,
    state: &C::State,
) -> Result<(Tensor, C::State)> {
    let steps = (0..xs.dim(0)?)
        .map(|t| xs.get(t))
        .collect::<Result<Vec<_>>>()?;
    unroll_steps(cell, &steps, state)
}

/// [`unroll`] over per-step inputs `xs[t] [B, in]`.
///
/// # Shapes
/// `T × [B, in]` → (`[T, B, hidden]` outputs, final state).
pub fn unroll_steps<C: RecurrentCell>(
    cell: &C,
    xs: &[Tensor],
    state: &C::State,
) -> Result<(Tensor, C::State)> {
    if xs.is_empty() {
        candle_core::bail!("unroll: no steps");
    }
    let mut state = state.clone();
    let mut outs = Vec::with_capacity(xs.len());
    for x in xs {
        state = cell.step_state(x, &state)?;
        outs.push(C::output(&state).clone());
    }
    Ok((Tensor::stack(&outs, 0)?, state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, var};
    use crate::module::Parameters;
    use reverie_core::Rng;

    #[test]
    fn short_unrolls_have_correct_gradients() {
        let dev = Device::Cpu;
        let mut rng = Rng::seed_from_u64(11);
        let xs = var(12, &[3, 2, 4], 1.0);
        let h0 = var(13, &[2, 5], 0.5);
        let c0 = var(14, &[2, 5], 0.5);

        let gru = GruConfig::new(4, 5).init(&mut rng, &dev).unwrap();
        let mut vars = vec![&xs, &h0];
        let gru_vars = gru.vars();
        vars.extend(gru_vars.iter());
        check_gradients("gru unroll", &vars, 8, || {
            Ok(unroll(&gru, xs.as_tensor(), h0.as_tensor())?.0)
        });

        let lstm = LstmConfig::new(4, 5).init(&mut rng, &dev).unwrap();
        let mut vars = vec![&xs, &h0, &c0];
        let lstm_vars = lstm.vars();
        vars.extend(lstm_vars.iter());
        check_gradients("lstm unroll", &vars, 8, || {
            let state = (h0.as_tensor().clone(), c0.as_tensor().clone());
            let (hs, (_, c)) = unroll(&lstm, xs.as_tensor(), &state)?;
            // The final cell state too, so that its gradient path is checked.
            Tensor::cat(&[hs.flatten_all()?, c.flatten_all()?], 0)
        });

        let norm_gru = NormGruConfig::new(4, 5).init(&mut rng, &dev).unwrap();
        let mut vars = vec![&xs, &h0];
        let norm_vars = norm_gru.vars();
        vars.extend(norm_vars.iter());
        check_gradients("norm gru unroll", &vars, 8, || {
            Ok(unroll(&norm_gru, xs.as_tensor(), h0.as_tensor())?.0)
        });
    }

    #[test]
    fn unroll_returns_every_step_and_the_final_state() {
        let dev = Device::Cpu;
        let gru = GruConfig::new(3, 4)
            .init(&mut Rng::seed_from_u64(1), &dev)
            .unwrap();
        let xs = var(2, &[5, 2, 3], 1.0);
        let h0 = gru.zero_state(2, &dev).unwrap();
        let (hs, h) = unroll(&gru, xs.as_tensor(), &h0).unwrap();
        assert_eq!(hs.dims(), &[5, 2, 4]);
        let last = hs.get(4).unwrap();
        assert_eq!(last.to_vec2::<f32>().unwrap(), h.to_vec2::<f32>().unwrap());
        // Step by step gives the same outputs.
        let mut h = h0;
        for t in 0..5 {
            h = gru.step(&xs.as_tensor().get(t).unwrap(), &h).unwrap();
            let want = hs.get(t).unwrap();
            assert!(crate::gradcheck::max_diff(&h, &want) < 1e-6);
        }
    }
}
