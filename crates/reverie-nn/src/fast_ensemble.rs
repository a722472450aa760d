//! Batched inference through an ensemble without the autodiff framework.
//!
//! Planning runs thousands of rows through the ensemble for tens of sequential steps per
//! action, and needs no gradients. candle allocates a tensor per op and applies bias and
//! activation as separate passes over memory; [`FastEnsemble`] instead calls the `gemm`
//! crate (the kernel candle itself uses) straight into preallocated buffers, adds the bias
//! by starting the product from it, applies the activation in place with a vectorised
//! `exp`, and splits rows over threads once per call rather than once per matmul. After
//! the first call with a given batch size only a per-layer list of weight views is
//! allocated.
//!
//! On the CPU it reads the ensemble's weights where training writes them (the storage of
//! the `Var`s, shared, under a read lock per call), so it can never plan with stale
//! weights. Weights on another device are copied to the CPU once, at construction.

use candle_core::{Device, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use crate::ensemble::{Activation, EnsembleMlp};
use crate::ops::matmul::{matmul_into, Strided};
use crate::ops::{cpu_f32, SendPtr};

/// Why reading a layer cannot fail: construction keeps only contiguous f32 CPU tensors.
const HELD: &str = "FastEnsemble holds contiguous f32 CPU tensors";
use crate::simd::apply_in_place;
use crate::Result;

/// One layer of every member: `weight [E, in, out]`, `bias [E, 1, out]`, sharing the
/// trained variables' storage.
#[derive(Clone, Debug)]
struct Layer {
    inputs: usize,
    outputs: usize,
    weight: Tensor,
    bias: Tensor,
}

/// A layer's weights as row-major slices for one call.
struct LayerView<'a> {
    inputs: usize,
    outputs: usize,
    weights: &'a [f32],
    biases: &'a [f32],
}

/// Rows run through all layers at once: 256 rows × 200 units × 4 bytes is 200 KiB per
/// activation buffer, which stays in L2; larger blocks were up to 2.5× slower.
const BLOCK_ROWS: usize = 256;

/// A contiguous block of rows run through one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowGroup {
    /// Ensemble member.
    pub member: usize,
    /// First row.
    pub start: usize,
    /// Number of rows.
    pub len: usize,
}

/// Per-thread ping-pong activations.
#[derive(Clone, Debug, Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

/// An ensemble MLP as flat arrays for fast batched inference.
#[derive(Clone, Debug)]
pub struct FastEnsemble {
    members: usize,
    layers: Vec<Layer>,
    activation: Activation,
    threads: usize,
    scratch: Vec<Scratch>,
    /// Each thread's row groups, kept between calls so that splitting allocates nothing.
    shares: Vec<Vec<RowGroup>>,
}

impl FastEnsemble {
    /// Reads the weights of `mlp` (copies them when they are not contiguous f32 on the
    /// CPU); `threads` (≥ 1) splits the rows of each call.
    pub fn from_ensemble(mlp: &EnsembleMlp, threads: usize) -> Result<Self> {
        let members = mlp.members();
        let mut layers = Vec::new();
        for layer in mlp.layers() {
            let (weight, bias) = (layer.weight().as_tensor(), layer.bias().as_tensor());
            let (_, inputs, outputs) = weight.dims3()?;
            let shared = |t: &Tensor| -> Result<Tensor> {
                let readable = t.device().is_cpu()
                    && t.dtype() == candle_core::DType::F32
                    && t.is_contiguous();
                if readable {
                    Ok(t.clone())
                } else {
                    t.to_device(&Device::Cpu)?
                        .to_dtype(candle_core::DType::F32)?
                        .contiguous()?
                        .copy()
                }
            };
            layers.push(Layer {
                inputs,
                outputs,
                weight: shared(weight)?,
                bias: shared(bias)?,
            });
        }
        let threads = threads.max(1);
        Ok(Self {
            members,
            layers,
            activation: mlp.activation(),
            threads,
            scratch: vec![Scratch::default(); threads],
            shares: vec![Vec::new(); threads],
        })
    }

    /// Number of members.
    pub fn members(&self) -> usize {
        self.members
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].inputs
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].outputs
    }

    /// Runs the rows of `x [N, inputs]` through the members `groups` name into
    /// `out [N, outputs]`. Rows no group covers are left untouched.
    pub fn forward_groups(&mut self, x: &[f32], groups: &[RowGroup], out: &mut [f32]) {
        let (inputs, outputs) = (self.inputs(), self.outputs());
        let total: usize = groups.iter().map(|g| g.len).sum();
        for g in groups {
            assert!(g.member < self.members, "member {} out of range", g.member);
            assert!(
                (g.start + g.len) * inputs <= x.len(),
                "input rows out of range"
            );
            assert!(
                (g.start + g.len) * outputs <= out.len(),
                "output rows out of range"
            );
        }
        // Split the rows evenly over threads; a thread's share may span several groups.
        let threads = if total >= 64 * self.threads {
            self.threads
        } else {
            1
        };
        let shares = &mut self.shares[..threads];
        for share in shares.iter_mut() {
            share.clear();
        }
        let per = total.div_ceil(threads);
        let (mut t, mut filled) = (0, 0);
        for g in groups {
            let mut g = *g;
            while g.len > 0 {
                let take = g.len.min(per - filled);
                shares[t].push(RowGroup { len: take, ..g });
                g.start += take;
                g.len -= take;
                filled += take;
                if filled == per && t + 1 < threads {
                    t += 1;
                    filled = 0;
                }
            }
        }
        let guards: Vec<_> = self
            .layers
            .iter()
            .map(|l| (l.weight.storage_and_layout(), l.bias.storage_and_layout()))
            .collect();
        let views: Vec<LayerView<'_>> = self
            .layers
            .iter()
            .zip(&guards)
            .map(|(l, ((ws, wl), (bs, bl)))| LayerView {
                inputs: l.inputs,
                outputs: l.outputs,
                weights: cpu_f32(ws, wl, "fast-ensemble").expect(HELD),
                biases: cpu_f32(bs, bl, "fast-ensemble").expect(HELD),
            })
            .collect();
        let layers = &views[..];
        let activation = self.activation;
        let out_ptr = SendPtr(out.as_mut_ptr());
        let run = |share: &[RowGroup], scratch: &mut Scratch| {
            // Blocks of rows small enough that every layer's activations stay in L2 cache.
            let blocks = share.iter().flat_map(|g| {
                (g.start..g.start + g.len)
                    .step_by(BLOCK_ROWS)
                    .map(move |start| RowGroup {
                        member: g.member,
                        start,
                        len: BLOCK_ROWS.min(g.start + g.len - start),
                    })
            });
            for g in blocks {
                let dst = out_ptr;
                // SAFETY: shares cover disjoint row ranges of `out` (checked in bounds above).
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(dst.0.add(g.start * outputs), g.len * outputs)
                };
                forward_member(
                    layers,
                    activation,
                    g.member,
                    &x[g.start * inputs..(g.start + g.len) * inputs],
                    g.len,
                    dst,
                    scratch,
                );
            }
        };
        if threads == 1 {
            run(&shares[0], &mut self.scratch[0]);
        } else {
            // Indexed parallel iteration runs on rayon's stack jobs: no boxed task per call.
            shares
                .par_iter()
                .zip(self.scratch.par_iter_mut())
                .for_each(|(share, scratch)| run(share, scratch));
        }
    }
}

fn forward_member(
    layers: &[LayerView<'_>],
    activation: Activation,
    member: usize,
    x: &[f32],
    rows: usize,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    let widest = layers.iter().map(|l| l.outputs).max().unwrap_or(0);
    for buf in [&mut scratch.a, &mut scratch.b] {
        if buf.len() < rows * widest {
            buf.resize(rows * widest, 0.0);
        }
    }
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        let (k, n) = (layer.inputs, layer.outputs);
        // The previous layer's output is always in `a`; this layer writes `b` (or `out`),
        // then the two swap.
        let src: &[f32] = if i == 0 { x } else { &scratch.a[..rows * k] };
        let dst: &mut [f32] = if i == last {
            &mut out[..rows * n]
        } else {
            &mut scratch.b[..rows * n]
        };
        let bias = &layer.biases[member * n..(member + 1) * n];
        for row in dst.chunks_exact_mut(n) {
            row.copy_from_slice(bias);
        }
        let w = &layer.weights[member * k * n..(member + 1) * k * n];
        matmul_into(
            (rows, n, k),
            (dst, n),
            true,
            Strided::rows(src, k),
            Strided::rows(w, n),
            Parallelism::None,
        );
        if i < last {
            apply_in_place(activation, dst);
            std::mem::swap(&mut scratch.a, &mut scratch.b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::Execution;
    use candle_core::{Device, Tensor};
    use reverie_core::Rng;

    #[test]
    fn matches_candle_for_every_member_and_split() {
        let mut rng = Rng::seed_from_u64(9);
        let mlp = EnsembleMlp::new(
            3,
            &[5, 32, 32, 4],
            Activation::Silu,
            Execution::Batched,
            &mut rng,
            &Device::Cpu,
        )
        .unwrap();
        let rows = 300;
        let x: Vec<f32> = (0..rows * 5).map(|_| rng.normal() as f32).collect();
        for threads in [1, 2] {
            let mut fast = FastEnsemble::from_ensemble(&mlp, threads).unwrap();
            // Uneven groups: member 2 first, then 0, then 1.
            let groups = [
                RowGroup {
                    member: 2,
                    start: 0,
                    len: 130,
                },
                RowGroup {
                    member: 0,
                    start: 130,
                    len: 7,
                },
                RowGroup {
                    member: 1,
                    start: 137,
                    len: 163,
                },
            ];
            let mut out = vec![0.0f32; rows * 4];
            fast.forward_groups(&x, &groups, &mut out);
            for g in groups {
                let t = Tensor::from_slice(
                    &x[g.start * 5..(g.start + g.len) * 5],
                    (g.len, 5),
                    &Device::Cpu,
                )
                .unwrap();
                let want = mlp
                    .forward_member(g.member, &t)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap();
                for (a, b) in out[g.start * 4..(g.start + g.len) * 4].iter().zip(&want) {
                    assert!((a - b).abs() < 1e-4, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn reads_weights_written_after_construction() {
        let mut rng = Rng::seed_from_u64(3);
        let mlp = EnsembleMlp::new(
            2,
            &[3, 8, 2],
            Activation::Tanh,
            Execution::Batched,
            &mut rng,
            &Device::Cpu,
        )
        .unwrap();
        let mut fast = FastEnsemble::from_ensemble(&mlp, 1).unwrap();
        let x = [0.5f32, -1.0, 2.0];
        let group = [RowGroup {
            member: 1,
            start: 0,
            len: 1,
        }];
        let mut before = [0.0f32; 2];
        fast.forward_groups(&x, &group, &mut before);
        // An optimiser step writes the variables in place; the next call must see it.
        let w = mlp.layers()[1].weight();
        w.set(&(w.as_tensor() * 3.0).unwrap()).unwrap();
        let mut after = [0.0f32; 2];
        fast.forward_groups(&x, &group, &mut after);
        let want = mlp
            .forward_member(1, &Tensor::from_slice(&x, (1, 3), &Device::Cpu).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_ne!(before, after);
        for (a, b) in after.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
