//! Fused layer and RMS normalisation over the last dimension, with their backward.
//!
//! candle-nn 0.11's `ops::layer_norm` and `ops::rms_norm` are applied with
//! `apply_op*_no_bwd`: they have no backward at all, and `candle_nn::LayerNorm` and
//! `RmsNorm` take that path for contiguous inputs, so gradients silently stop there. The
//! differentiable fallback (`layer_norm_slow`) is ~8 candle ops forward and ~20 backward.
//! These ops are one pass forward and one pass backward (dx, dγ, dβ together), with
//! the variance from a second pass over the row rather than E(x²) − E(x)² (which cancels
//! catastrophically for rows with a large mean).
//!
//! Off the CPU they fall back to plain candle ops.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor, D};
use rayon::prelude::*;

use crate::ops::contiguous_f32;
use crate::Result;

mod channel;

pub use channel::channel_layer_norm;

/// Elements per parallel task (whole rows): smaller inputs (a recurrent step's [16, 768])
/// run on the calling thread, where rayon's hand-off would cost more than the work.
const ELEMS_PER_TASK: usize = 32 * 1024;

/// `(x − mean) / √(var + eps) · gamma + beta` over the last dimension of `x`.
///
/// # Shapes
/// `x [..., D]`, `gamma [D]`, `beta [D]` → `[..., D]`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f64) -> Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op3(
            gamma,
            beta,
            NormOp {
                eps: eps as f32,
                center: true,
            },
        )
    } else {
        let d = x.dim(D::Minus1)? as f64;
        let centered = x.broadcast_sub(&(x.sum_keepdim(D::Minus1)? / d)?)?;
        let var = (centered.sqr()?.sum_keepdim(D::Minus1)? / d)?;
        centered
            .broadcast_div(&(var + eps)?.sqrt()?)?
            .broadcast_mul(gamma)?
            .broadcast_add(beta)
    }
}

/// `x / √(mean(x²) + eps) · gamma` over the last dimension of `x`.
///
/// # Shapes
/// `x [..., D]`, `gamma [D]` → `[..., D]`.
pub fn rms_norm(x: &Tensor, gamma: &Tensor, eps: f64) -> Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op2(
            gamma,
            NormOp {
                eps: eps as f32,
                center: false,
            },
        )
    } else {
        let d = x.dim(D::Minus1)? as f64;
        let ms = (x.sqr()?.sum_keepdim(D::Minus1)? / d)?;
        x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(gamma)
    }
}

/// Layer norm (`center`) or RMS norm; `beta` is only read by layer norm.
#[derive(Clone, Copy)]
struct NormOp {
    eps: f32,
    center: bool,
}

impl NormOp {
    /// The row's mean (0 for RMS norm) and reciprocal standard deviation.
    #[inline(always)]
    fn stats(self, row: &[f32]) -> (f32, f32) {
        let d = row.len() as f32;
        let mean = if self.center {
            row.iter().sum::<f32>() / d
        } else {
            0.0
        };
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d;
        (mean, 1.0 / (var + self.eps).sqrt())
    }

    fn forward(self, x: &[f32], gamma: &[f32], beta: Option<&[f32]>) -> Vec<f32> {
        let d = gamma.len();
        let mut out = vec![0.0f32; x.len()];
        let task = (ELEMS_PER_TASK / d).max(1) * d;
        let run = |(xs, ys): (&[f32], &mut [f32])| {
            for (row, y) in xs.chunks_exact(d).zip(ys.chunks_exact_mut(d)) {
                let (mean, rstd) = self.stats(row);
                match beta {
                    Some(beta) => {
                        for (((y, v), g), b) in y.iter_mut().zip(row).zip(gamma).zip(beta) {
                            *y = (v - mean) * rstd * g + b;
                        }
                    }
                    None => {
                        for ((y, v), g) in y.iter_mut().zip(row).zip(gamma) {
                            *y = (v - mean) * rstd * g;
                        }
                    }
                }
            }
        };
        if x.len() <= task {
            run((x, &mut out));
        } else {
            x.par_chunks(task)
                .zip(out.par_chunks_mut(task))
                .for_each(run);
        }
        out
    }

    /// `[dx (len of x), dgamma (D), dbeta (D)]` in one buffer.
    ///
    /// With x̂ = (x − μ)·s and g = dy ⊙ γ: dx = s·(g − mean(g) − x̂·mean(g ⊙ x̂)) (the mean(g)
    /// term only for layer norm), dγ = Σ_rows dy ⊙ x̂, dβ = Σ_rows dy.
    fn backward(self, x: &[f32], gamma: &[f32], dy: &[f32]) -> Vec<f32> {
        let d = gamma.len();
        let mut out = vec![0.0f32; x.len() + 2 * d];
        let (dx, _) = out.split_at_mut(x.len());
        let task = (ELEMS_PER_TASK / d).max(1) * d;
        let block = |((xs, dys), dxs): ((&[f32], &[f32]), &mut [f32])| {
            let mut acc = vec![0.0f32; 2 * d];
            let mut xhat = vec![0.0f32; d];
            for ((row, dyr), dxr) in xs
                .chunks_exact(d)
                .zip(dys.chunks_exact(d))
                .zip(dxs.chunks_exact_mut(d))
            {
                let (mean, rstd) = self.stats(row);
                let (mut sum_g, mut sum_gx) = (0.0f32, 0.0f32);
                for (((xh, v), dy), g) in xhat.iter_mut().zip(row).zip(dyr).zip(gamma) {
                    *xh = (v - mean) * rstd;
                    let gv = dy * g;
                    sum_g += gv;
                    sum_gx += gv * *xh;
                }
                let n = d as f32;
                let mean_g = if self.center { sum_g / n } else { 0.0 };
                let mean_gx = sum_gx / n;
                for (((dx, xh), dy), g) in dxr.iter_mut().zip(&xhat).zip(dyr).zip(gamma) {
                    *dx = rstd * (dy * g - mean_g - xh * mean_gx);
                }
                let (dg, db) = acc.split_at_mut(d);
                for (((dg, db), dy), xh) in dg.iter_mut().zip(db).zip(dyr).zip(&xhat) {
                    *dg += dy * xh;
                    *db += dy;
                }
            }
            acc
        };
        let partials = if x.len() <= task {
            vec![block(((x, dy), dx))]
        } else {
            x.par_chunks(task)
                .zip(dy.par_chunks(task))
                .zip(dx.par_chunks_mut(task))
                .map(block)
                .collect::<Vec<_>>()
        };
        add_partials(&mut out[x.len()..], partials);
        out
    }

    fn check(x: &Layout, gamma: &[f32], op: &str) -> Result<()> {
        let d = x.shape().dims().last().copied().unwrap_or(0);
        if d == 0 || d != gamma.len() {
            candle_core::bail!("{op}: last dimension {d}, {} scales", gamma.len());
        }
        Ok(())
    }
}

/// Adds each task's `[dγ, dβ]` partial sums into the packed buffer's tail.
fn add_partials(tail: &mut [f32], partials: Vec<Vec<f32>>) {
    for p in partials {
        for (t, v) in tail.iter_mut().zip(&p) {
            *t += v;
        }
    }
}

/// Splits a packed backward buffer `[dx, dγ, dβ]` of `x` and `features` scales.
fn unpack(packed: &Tensor, x: &Tensor, features: usize) -> Result<(Tensor, Tensor, Tensor)> {
    let n = x.elem_count();
    Ok((
        packed.narrow(0, 0, n)?.reshape(x.shape())?,
        packed.narrow(0, n, features)?,
        packed.narrow(0, n + features, features)?,
    ))
}

impl CustomOp3 for NormOp {
    fn name(&self) -> &'static str {
        "layer-norm"
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
        let name = CustomOp3::name(self);
        let x = contiguous_f32(s1, l1, name)?;
        let gamma = contiguous_f32(s2, l2, name)?;
        let beta = contiguous_f32(s3, l3, name)?;
        Self::check(l1, gamma, name)?;
        if beta.len() != gamma.len() {
            candle_core::bail!("layer-norm: {} shifts, {} scales", beta.len(), gamma.len());
        }
        let out = self.forward(x, gamma, Some(beta));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let packed = x.apply_op3_no_bwd(gamma, &grad.contiguous()?, &NormGrad(*self))?;
        let (dx, dg, db) = unpack(&packed, x, gamma.elem_count())?;
        Ok((
            x.track_op().then_some(dx),
            gamma.track_op().then_some(dg),
            beta.track_op().then_some(db),
        ))
    }
}

impl CustomOp2 for NormOp {
    fn name(&self) -> &'static str {
        "rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s1, l1, CustomOp2::name(self))?;
        let gamma = contiguous_f32(s2, l2, CustomOp2::name(self))?;
        Self::check(l1, gamma, CustomOp2::name(self))?;
        let out = self.forward(x, gamma, None);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let packed = x.apply_op3_no_bwd(gamma, &grad.contiguous()?, &NormGrad(*self))?;
        let (dx, dg, _) = unpack(&packed, x, gamma.elem_count())?;
        Ok((x.track_op().then_some(dx), gamma.track_op().then_some(dg)))
    }
}

/// (x, γ, dy) → packed [dx, dγ, dβ].
struct NormGrad(NormOp);

impl CustomOp3 for NormGrad {
    fn name(&self) -> &'static str {
        "norm-grad"
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
        let x = contiguous_f32(s1, l1, self.name())?;
        let gamma = contiguous_f32(s2, l2, self.name())?;
        let dy = contiguous_f32(s3, l3, self.name())?;
        NormOp::check(l1, gamma, self.name())?;
        let out = self.0.backward(x, gamma, dy);
        let len = out.len();
        Ok((CpuStorage::F32(out), Shape::from(len)))
    }
}
