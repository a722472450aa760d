//! Batched inference through an ensemble without the autodiff framework.
//!
//! Planning runs thousands of rows through the ensemble for tens of sequential steps per
//! action, and needs no gradients. candle allocates a tensor per op and applies bias and
//! activation as separate passes over memory; [`FastEnsemble`] instead calls the `gemm`
//! crate (the kernel candle itself uses) straight into preallocated buffers, adds the bias
//! by starting the product from it, applies the activation in place with a vectorised
//! `exp`, and splits rows over threads once per call rather than once per matmul. After
//! the first call with a given batch size nothing is allocated.

use candle_core::IndexOp;
use gemm::Parallelism;
use rayon::prelude::*;

use crate::ensemble::{Activation, EnsembleMlp};
use crate::simd::apply_in_place;
use crate::Result;

/// One layer of every member: `weights [E, in, out]`, `biases [E, out]`, row-major.
#[derive(Clone, Debug)]
struct Layer {
    inputs: usize,
    outputs: usize,
    weights: Vec<f32>,
    biases: Vec<f32>,
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
    /// Copies the weights of `mlp`; `threads` (≥ 1) splits the rows of each call.
    pub fn from_ensemble(mlp: &EnsembleMlp, threads: usize) -> Result<Self> {
        let members = mlp.members();
        let mut layers = Vec::new();
        for layer in mlp.layers() {
            let w = layer.weight().as_tensor();
            let (_, inputs, outputs) = w.dims3()?;
            let mut weights = Vec::with_capacity(members * inputs * outputs);
            let mut biases = Vec::with_capacity(members * outputs);
            for e in 0..members {
                weights.extend(w.i(e)?.flatten_all()?.to_vec1::<f32>()?);
                biases.extend(
                    layer
                        .bias()
                        .as_tensor()
                        .i(e)?
                        .flatten_all()?
                        .to_vec1::<f32>()?,
                );
            }
            layers.push(Layer {
                inputs,
                outputs,
                weights,
                biases,
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
        let layers = &self.layers;
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

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint output ranges to scoped threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

fn forward_member(
    layers: &[Layer],
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
        // SAFETY: all three matrices are row-major and in bounds: src [rows, k], w [k, n],
        // dst [rows, n].
        unsafe {
            gemm::gemm(
                rows,
                n,
                k,
                dst.as_mut_ptr(),
                1,
                n as isize,
                true,
                src.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                1,
                n as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                Parallelism::None,
            );
        }
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
}
