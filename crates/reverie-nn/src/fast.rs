//! One input row through a small MLP without candle: the acting path of policies and
//! Q-networks.
//!
//! candle spends a few microseconds per op on allocation and dispatch, which dominates a
//! single-row forward of a tiny network (4→64→64→2: 1.9 µs through candle, 0.5 µs here,
//! `reverie bench nn`). [`forward_row`] reads each layer's weights straight from the
//! storage the optimiser updates in place, so an acting path can never run on stale
//! weights: there is no snapshot to refresh.

use std::cell::RefCell;

use candle_core::{CpuStorage, Storage, Tensor};

use crate::ensemble::Activation;
use crate::simd::apply_in_place;

thread_local! {
    /// Ping-pong activations, reused by every call on this thread.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Runs `x` through `layers` (`(weight [in, out], bias [out])` each, CPU f32 tensors,
/// row-major) into `out`, with `activation` after every layer but the last. Returns
/// `false` (and leaves `out` alone) when a tensor is not contiguous f32 on the CPU, so that
/// the caller can take the tensor path instead.
pub(crate) fn forward_row<'a>(
    layers: impl ExactSizeIterator<Item = (&'a Tensor, &'a Tensor)>,
    activation: Activation,
    x: &[f32],
    out: &mut [f32],
) -> bool {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let [a, b] = &mut *scratch;
        a.clear();
        a.extend_from_slice(x);
        let last = layers.len().saturating_sub(1);
        for (i, (w, bias)) in layers.enumerate() {
            let (ws, wl) = w.storage_and_layout();
            let (bs, bl) = bias.storage_and_layout();
            // Matched here rather than through `ops::cpu_f32`, whose `Result` plumbing cost
            // 0.1 µs of the 0.5 µs row (`reverie bench nn`).
            let (Storage::Cpu(CpuStorage::F32(wv)), Storage::Cpu(CpuStorage::F32(bv))) =
                (&*ws, &*bs)
            else {
                return false;
            };
            let (Some((w0, w1)), Some((b0, b1))) =
                (wl.contiguous_offsets(), bl.contiguous_offsets())
            else {
                return false;
            };
            let (weights, biases) = (&wv[w0..w1], &bv[b0..b1]);
            let outputs = biases.len();
            assert_eq!(weights.len(), a.len() * outputs, "layer {i}: input width");
            b.clear();
            b.extend_from_slice(biases);
            // Row-major [in, out]: accumulate one weight row per input; the inner loop is
            // contiguous and vectorises, at the CPU's widest width (AVX-512 took the
            // 4-64-64-2 row from 0.69 to 0.50 µs; the default target compiles it for SSE2).
            crate::simd::with_best(|| axpy_rows(a, weights, b));
            if i < last {
                apply_in_place(activation, b);
            }
            std::mem::swap(a, b);
        }
        assert_eq!(out.len(), a.len(), "output width");
        out.copy_from_slice(a);
        true
    })
}

/// `out += Σ_i x[i] · w[i, :]` for a row-major `w [x.len(), out.len()]`.
#[inline(always)]
fn axpy_rows(x: &[f32], w: &[f32], out: &mut [f32]) {
    for (xi, row) in x.iter().zip(w.chunks_exact(out.len())) {
        for (d, w) in out.iter_mut().zip(row) {
            *d += xi * w;
        }
    }
}
