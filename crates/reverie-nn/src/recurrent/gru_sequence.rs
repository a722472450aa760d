//! A whole GRU sequence as one op (as cuDNN does), for [`super::GruCell`]'s unroll.
//!
//! Step by step, each step's weight gradients are `[16, 256] × [16, 768]` matmuls (small
//! M, poor gemm efficiency) plus an accumulation into the full weight gradient, and each
//! step's input projection is a separate small matmul. Here the input projection of all
//! T steps is one matmul before the op (a `[T·B, in]` linear), the recurrence runs inside
//! the op (one `[B, H] × [H, 3H]` gemm and the fused gates per step, no candle op), and the
//! backward runs BPTT inside one op, with the hidden weight's gradient as a single
//! `[H, T·B] × [T·B, 3H]` matmul at the end. The hidden projections are saved by the
//! forward for the backward (a custom op returns one tensor, so they are kept in the op).

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Shape, Tensor};

use super::gates::{gru_backward, gru_forward, GruGrads};
use crate::ops::matmul::{matmul_into, parallelism_for, Strided};
use crate::ops::{contiguous_f32, cpu_f32};
use crate::Result;

/// (xp [T, B, 3H], w [H + 1, 3H] = hidden weight with the hidden bias as its last row,
/// h0 [B, H]) → hs [T, B, H].
#[derive(Default)]
pub(crate) struct GruSequence {
    /// The hidden projections `h_{t−1}·W_h + b_h`, `[T, B, 3H]`, saved for the backward.
    saved: Arc<Mutex<Vec<f32>>>,
}

fn dims(xp: &Layout, w: &Layout, h0: &Layout) -> Result<(usize, usize, usize)> {
    let (t, b, three) = match xp.shape().dims() {
        [t, b, g] => (*t, *b, *g),
        d => candle_core::bail!("gru-sequence: projections {d:?}, expected [T, B, 3H]"),
    };
    let (hb, h) = match h0.shape().dims() {
        [b, h] => (*b, *h),
        d => candle_core::bail!("gru-sequence: state {d:?}, expected [B, H]"),
    };
    if hb != b || three != 3 * h || w.shape().dims() != [h + 1, 3 * h] {
        candle_core::bail!(
            "gru-sequence: projections {:?}, weight {:?}, state {:?}",
            xp.shape().dims(),
            w.shape().dims(),
            h0.shape().dims()
        );
    }
    Ok((t, b, h))
}

impl CustomOp3 for GruSequence {
    fn name(&self) -> &'static str {
        "gru-sequence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (steps, batch, hidden) = dims(l1, l2, l3)?;
        let xp = contiguous_f32(s1, l1, self.name())?;
        let w = contiguous_f32(s2, l2, self.name())?;
        let h0 = contiguous_f32(s3, l3, self.name())?;
        let three = 3 * hidden;
        let (weight, bias) = w.split_at(hidden * three);
        let (n1, n3) = (batch * hidden, batch * three);
        let mut hs = vec![0.0f32; steps * n1];
        let mut hp = vec![0.0f32; steps * n3];
        for t in 0..steps {
            let (done, rest) = hs.split_at_mut(t * n1);
            let h_prev = if t == 0 { h0 } else { &done[(t - 1) * n1..] };
            let hp_t = &mut hp[t * n3..(t + 1) * n3];
            for row in hp_t.chunks_exact_mut(three) {
                row.copy_from_slice(bias);
            }
            matmul_into(
                (batch, three, hidden),
                (hp_t, three),
                true,
                Strided::rows(h_prev, hidden),
                Strided::rows(weight, three),
                parallelism_for(batch * three * hidden),
            );
            gru_forward(
                &xp[t * n3..(t + 1) * n3],
                hp_t,
                h_prev,
                &mut rest[..n1],
                hidden,
            );
        }
        *self.saved.lock().expect("gru-sequence cache") = hp;
        Ok((CpuStorage::F32(hs), Shape::from((steps, batch, hidden))))
    }

    fn bwd(
        &self,
        xp: &Tensor,
        w: &Tensor,
        h0: &Tensor,
        hs: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let op = GruSequenceGrad {
            hp: self.saved.clone(),
            hs: hs.contiguous()?,
            grad: grad.contiguous()?,
        };
        let packed = xp.apply_op3_no_bwd(w, h0, &op)?;
        let (nx, nw) = (xp.elem_count(), w.elem_count());
        let dxp = packed.narrow(0, 0, nx)?.reshape(xp.shape())?;
        let dw = packed.narrow(0, nx, nw)?.reshape(w.shape())?;
        let dh0 = packed
            .narrow(0, nx + nw, h0.elem_count())?
            .reshape(h0.shape())?;
        Ok((
            Some(dxp),
            w.track_op().then_some(dw),
            h0.track_op().then_some(dh0),
        ))
    }
}

/// BPTT of [`GruSequence`]: (xp, w, h0) with the saved projections, the outputs and their
/// gradient → packed [dxp, dw, dh0].
struct GruSequenceGrad {
    hp: Arc<Mutex<Vec<f32>>>,
    hs: Tensor,
    grad: Tensor,
}

impl CustomOp3 for GruSequenceGrad {
    fn name(&self) -> &'static str {
        "gru-sequence-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let name = self.name();
        let (steps, batch, hidden) = dims(l1, l2, l3)?;
        let xp = contiguous_f32(s1, l1, name)?;
        let w = contiguous_f32(s2, l2, name)?;
        let h0 = contiguous_f32(s3, l3, name)?;
        let (hs_storage, hs_layout) = self.hs.storage_and_layout();
        let hs = cpu_f32(&hs_storage, hs_layout, name)?;
        let (g_storage, g_layout) = self.grad.storage_and_layout();
        let dhs = cpu_f32(&g_storage, g_layout, name)?;
        let hp = self.hp.lock().expect("gru-sequence cache");
        let three = 3 * hidden;
        let (n1, n3) = (batch * hidden, batch * three);
        if hp.len() != steps * n3 || hs.len() != steps * n1 || dhs.len() != steps * n1 {
            candle_core::bail!("{name}: saved tensors do not match the inputs");
        }
        let weight = &w[..hidden * three];

        let (nx, nw) = (steps * n3, (hidden + 1) * three);
        let mut out = vec![0.0f32; nx + nw + n1];
        let (dxp, rest) = out.split_at_mut(nx);
        let (dw, dh0) = rest.split_at_mut(nw);
        let mut dhp = vec![0.0f32; steps * n3];
        let mut carry = vec![0.0f32; n1];
        let mut g = vec![0.0f32; n1];
        for t in (0..steps).rev() {
            for ((g, d), c) in g.iter_mut().zip(&dhs[t * n1..(t + 1) * n1]).zip(&carry) {
                *g = d + c;
            }
            let h_prev = if t == 0 {
                h0
            } else {
                &hs[(t - 1) * n1..t * n1]
            };
            let dhp_t = &mut dhp[t * n3..(t + 1) * n3];
            gru_backward(
                &xp[t * n3..(t + 1) * n3],
                &hp[t * n3..(t + 1) * n3],
                h_prev,
                &g,
                GruGrads {
                    dxp: &mut dxp[t * n3..(t + 1) * n3],
                    dhp: dhp_t,
                    dh: &mut carry,
                },
                hidden,
            );
            // carry = g ⊙ z (written above) + dhp_t · W_hᵀ.
            matmul_into(
                (batch, hidden, three),
                (&mut carry, hidden),
                true,
                Strided::rows(dhp_t, three),
                Strided::transposed(weight, three),
                parallelism_for(batch * hidden * three),
            );
        }
        dh0.copy_from_slice(&carry);
        // dW_h = Σ_t h_{t−1}ᵀ · dhp_t: h0 for the first step, then hs[0..T−1] for the rest,
        // each as one matmul over all their rows.
        let (dweight, dbias) = dw.split_at_mut(hidden * three);
        matmul_into(
            (hidden, three, batch),
            (dweight, three),
            false,
            Strided::transposed(h0, hidden),
            Strided::rows(&dhp[..n3], three),
            parallelism_for(hidden * three * batch),
        );
        let rows = (steps - 1) * batch;
        matmul_into(
            (hidden, three, rows),
            (dweight, three),
            true,
            Strided::transposed(&hs[..rows * hidden], hidden),
            Strided::rows(&dhp[n3..], three),
            parallelism_for(hidden * three * rows),
        );
        for row in dhp.chunks_exact(three) {
            for (b, d) in dbias.iter_mut().zip(row) {
                *b += d;
            }
        }
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}
