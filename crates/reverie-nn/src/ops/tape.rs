//! [`WeightGradTape`]: the weight gradients of layers applied at every step of a recurrent
//! unroll, deferred to one matrix product over all steps.
//!
//! A layer applied at T steps of a batch of B rows gets, from candle's backward pass, T
//! weight gradients `x_tᵀ · dz_t`, each a product with an inner dimension of only B, each
//! written out in full and added to the running sum in a fresh allocation. The sum is one
//! product,
//! `[x_1; …; x_T]ᵀ · [dz_1; …; dz_T]`, with an inner dimension of B·T, which the kernel runs
//! at full speed. So a taped layer's backward computes only the input's gradient and
//! records `(x_t, dz_t)`; [`WeightGradTape::flush`] then forms each weight's (and bias's)
//! gradient once and adds it to candle's gradient store. This is what fused RNN kernels
//! (cuDNN's) do for the same reason. In Dreamer's world model (B = 16, T = 64, weights up to
//! 512 × 768) it took an `xs` update from 255 to 214 ms (`reverie bench dreamer --presets
//! xs --obs vector`, 2 threads, beside another job).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::backprop::GradStore;
use candle_core::{Tensor, TensorId};

use crate::Result;

/// Records the inputs and pre-activation gradients of taped linear layers during a backward
/// pass ([`crate::ops::linear_taped`]); [`flush`](Self::flush) turns them into gradients.
///
/// Cloning shares the record. A tape serves one backward pass: flush it after `backward()`
/// and before reading the gradients; flushing empties it.
#[derive(Clone, Debug, Default)]
pub struct WeightGradTape {
    entries: Arc<Mutex<HashMap<TensorId, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    weight: Tensor,
    bias: Option<Tensor>,
    inputs: Vec<Tensor>,
    grads: Vec<Tensor>,
}

impl WeightGradTape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one step of the layer with `weight` (and `bias`, when it is trained):
    /// its input `x [B, in]` and the gradient of its pre-activation `dz [B, out]`.
    pub(crate) fn record(&self, weight: &Tensor, bias: Option<&Tensor>, x: Tensor, dz: Tensor) {
        let mut entries = self.entries.lock().expect("weight-gradient tape lock");
        let entry = entries.entry(weight.id()).or_insert_with(|| Entry {
            weight: weight.clone(),
            bias: bias.cloned(),
            inputs: Vec::new(),
            grads: Vec::new(),
        });
        entry.inputs.push(x);
        entry.grads.push(dz);
    }

    /// Adds every recorded layer's weight gradient `Xᵀ · dZ` (and bias gradient, the column
    /// sums of `dZ`) to `grads`, then empties the tape.
    pub fn flush(&self, grads: &mut GradStore) -> Result<()> {
        let entries = std::mem::take(&mut *self.entries.lock().expect("weight-gradient tape lock"));
        for entry in entries.into_values() {
            let x = Tensor::cat(&entry.inputs, 0)?;
            let dz = Tensor::cat(&entry.grads, 0)?;
            let dw = x.t()?.matmul(&dz)?;
            accumulate(grads, &entry.weight, dw)?;
            if let Some(bias) = &entry.bias {
                let db = super::column_sum(&dz)?.reshape(bias.shape())?;
                accumulate(grads, bias, db)?;
            }
        }
        Ok(())
    }
}

/// `grads[t] += g` (or `= g` where `t` has no gradient yet).
fn accumulate(grads: &mut GradStore, t: &Tensor, g: Tensor) -> Result<()> {
    let sum = match grads.remove(t) {
        Some(existing) => (existing + g)?,
        None => g,
    };
    grads.insert(t, sum);
    Ok(())
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::ensemble::Activation;
    use crate::ops::{linear, linear_taped};

    /// Three steps of a recurrence `h ← silu(h·W + b)`: the taped gradients, once flushed,
    /// equal candle's own.
    #[test]
    fn flushed_gradients_equal_the_untaped_ones() {
        // Seeded draws: candle's own `randn` is unseeded, and one draw in many made
        // gradients large enough to miss an absolute tolerance of 1e-5 (CI, 2026-11-30).
        let dev = Device::Cpu;
        let mut rng = reverie_core::Rng::seed_from_u64(0);
        let mut draw = |shape: &[usize], std: f64| {
            let t = crate::dist::noise::standard_normal(&mut rng, shape, &dev).unwrap();
            Var::from_tensor(&(t * std).unwrap()).unwrap()
        };
        let w = draw(&[4, 4], 0.5);
        let b = draw(&[4], 0.5);
        let x = draw(&[3, 4], 1.0);
        let unroll = |tape: Option<&WeightGradTape>| {
            let mut h = x.as_tensor().clone();
            for _ in 0..3 {
                h = match tape {
                    Some(_) => linear_taped(&h, &w, &b, Some(Activation::Silu), tape),
                    None => linear(&h, &w, &b, Some(Activation::Silu)),
                }
                .unwrap();
            }
            h.sqr().unwrap().sum_all().unwrap()
        };
        let plain = unroll(None).backward().unwrap();
        let tape = WeightGradTape::new();
        let mut taped = unroll(Some(&tape)).backward().unwrap();
        assert!(
            taped.get(w.as_tensor()).is_none(),
            "deferred until the flush"
        );
        tape.flush(&mut taped).unwrap();
        for var in [&w, &b, &x] {
            let want = plain.get(var.as_tensor()).unwrap().flatten_all().unwrap();
            let got = taped.get(var.as_tensor()).unwrap().flatten_all().unwrap();
            let scale = want
                .abs()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            let diff = (want - got).unwrap().abs().unwrap().max(0).unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() <= 1e-5 * scale.max(1.0));
        }
    }
}
