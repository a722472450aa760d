//! A hand-written forward pass for one input row through a small MLP.
//!
//! candle spends a few microseconds per op on allocation and dispatch, which dominates a
//! single-row forward of a tiny network (e.g. 4→64→64→2: three matmuls, two activations).
//! [`FastMlp`] copies one member's weights out of an [`crate::EnsembleMlp`] into flat arrays
//! and runs the row through them with preallocated scratch buffers: no allocation per call.

use candle_core::IndexOp;

use crate::ensemble::{Activation, EnsembleMlp};
use crate::simd::apply_in_place;
use crate::Result;

/// One MLP member as flat row-major arrays, for allocation-free single-row inference.
#[derive(Clone, Debug)]
pub struct FastMlp {
    /// `(inputs, outputs, weights [in * out], biases [out])` per layer.
    layers: Vec<(usize, usize, Vec<f32>, Vec<f32>)>,
    activation: Activation,
    scratch: [Vec<f32>; 2],
}

impl FastMlp {
    /// Copies member `member` of `mlp`.
    pub fn from_ensemble(mlp: &EnsembleMlp, member: usize) -> Result<Self> {
        let mut layers = Vec::new();
        let mut widest = 0;
        for layer in mlp.layers() {
            let w = layer.weight().as_tensor().i(member)?;
            let (inputs, outputs) = w.dims2()?;
            let weights = w.flatten_all()?.to_vec1::<f32>()?;
            let biases = layer
                .bias()
                .as_tensor()
                .i(member)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            widest = widest.max(outputs).max(inputs);
            layers.push((inputs, outputs, weights, biases));
        }
        Ok(Self {
            layers,
            activation: mlp.activation(),
            scratch: [vec![0.0; widest], vec![0.0; widest]],
        })
    }

    /// From `(inputs, outputs, weights [in * out] row-major, biases [out])` per layer.
    pub(crate) fn from_layers(
        layers: Vec<(usize, usize, Vec<f32>, Vec<f32>)>,
        activation: Activation,
    ) -> Self {
        let widest = layers.iter().map(|l| l.0.max(l.1)).max().unwrap_or(0);
        Self {
            layers,
            activation,
            scratch: [vec![0.0; widest], vec![0.0; widest]],
        }
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].0
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].1
    }

    /// Runs `x` (length `inputs()`) through the network into `out` (length `outputs()`).
    pub fn forward(&mut self, x: &[f32], out: &mut [f32]) {
        assert_eq!(x.len(), self.inputs(), "input width");
        assert_eq!(out.len(), self.outputs(), "output width");
        let [a, b] = &mut self.scratch;
        a[..x.len()].copy_from_slice(x);
        let last = self.layers.len() - 1;
        for (i, (inputs, outputs, weights, biases)) in self.layers.iter().enumerate() {
            let (src, dst) = if i.is_multiple_of(2) {
                (&*a, &mut *b)
            } else {
                (&*b, &mut *a)
            };
            let dst = &mut dst[..*outputs];
            dst.copy_from_slice(biases);
            // Row-major [in, out]: accumulate one weight row per input; the inner loop is
            // contiguous and vectorises.
            for (xi, row) in src[..*inputs].iter().zip(weights.chunks_exact(*outputs)) {
                for (d, w) in dst.iter_mut().zip(row) {
                    *d += xi * w;
                }
            }
            if i < last {
                apply_in_place(self.activation, dst);
            }
        }
        let result = if last.is_multiple_of(2) {
            &b[..out.len()]
        } else {
            &a[..out.len()]
        };
        out.copy_from_slice(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::Execution;
    use candle_core::{Device, Tensor};
    use reverie_core::Rng;

    #[test]
    fn matches_candle_forward() {
        let mut rng = Rng::seed_from_u64(4);
        let mlp = EnsembleMlp::new(
            2,
            &[4, 64, 64, 2],
            Activation::Silu,
            Execution::Batched,
            &mut rng,
            &Device::Cpu,
        )
        .unwrap();
        let x = [0.3f32, -1.2, 0.7, 2.0];
        for member in 0..2 {
            let mut fast = FastMlp::from_ensemble(&mlp, member).unwrap();
            let mut out = [0.0f32; 2];
            fast.forward(&x, &mut out);
            let t = Tensor::from_slice(&x, (1, 4), &Device::Cpu).unwrap();
            let want = mlp
                .forward_member(member, &t)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }
}
