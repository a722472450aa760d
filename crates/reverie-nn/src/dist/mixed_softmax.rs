//! Fused kernels of [`super::OneHotCategorical`] on the CPU: the uniformly mixed softmax
//! `p = (1 − u)·softmax(l) + u/K` and its logarithm, each one pass with an analytic
//! backward, and the straight-through draw.
//!
//! In candle's ops the pair is log-softmax (max, subtract, exp, sum, log, subtract), exp,
//! affine and log: nine passes over the logits, three of them through libm's `exp`/`ln`,
//! each allocating. Dreamer builds these distributions over 32 × 32 classes for every row
//! of every imagined step (1M values a step at the `xs` size), where they were 9% of an
//! update's time in a profile (`perf` of `reverie bench dreamer --presets xs`).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor, D};

use crate::ops::contiguous_f32;
use crate::simd::{fast_exp, fast_ln, vectorised};
use crate::Result;

/// `(probs, log_probs)` of the mixed softmax over the last dimension of `logits`.
pub(super) fn mixed_softmax(logits: &Tensor, unimix: f64) -> Result<(Tensor, Tensor)> {
    if logits.device().is_cpu() && logits.dtype() == candle_core::DType::F32 {
        let logits = logits.contiguous()?;
        let op = |log: bool| MixedSoftmax {
            unimix: unimix as f32,
            log,
        };
        return Ok((logits.apply_op1(op(false))?, logits.apply_op1(op(true))?));
    }
    // Without mixing, log_softmax stays finite where ln(softmax) would underflow.
    // (candle_nn's fused `softmax_last_dim` has no backward pass: its gradient would be
    // silently dropped.)
    let log_softmax = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    if unimix > 0.0 {
        let classes = logits.dim(D::Minus1)? as f64;
        let probs = log_softmax.exp()?.affine(1.0 - unimix, unimix / classes)?;
        let log_probs = probs.log()?;
        Ok((probs, log_probs))
    } else {
        Ok((log_softmax.exp()?, log_softmax))
    }
}

/// `sample` in the forward pass, with the gradient passed to `probs` unchanged: the
/// straight-through estimator `sample + probs − sg(probs)` in one op instead of three.
pub(super) fn straight_through(probs: &Tensor, sample: &Tensor) -> Result<Tensor> {
    if probs.device().is_cpu() {
        probs.apply_op2(sample, StraightThrough)
    } else {
        sample + (probs - probs.detach())?
    }
}

/// Rows of `K` values above this many in all are split across threads.
const PARALLEL_VALUES: usize = 1 << 16;

/// `kernel(a, b, out)` over whole-row pieces of `a`, `b` and `out`, in parallel when large.
fn rows<F>(a: &[f32], b: &[f32], out: &mut [f32], classes: usize, kernel: F)
where
    F: Fn(&[f32], &[f32], &mut [f32]) + Sync,
{
    use rayon::prelude::*;
    if out.len() > PARALLEL_VALUES && candle_core::utils::get_num_threads() > 1 {
        let chunk = classes * (PARALLEL_VALUES / classes).max(1);
        out.par_chunks_mut(chunk)
            .zip(a.par_chunks(chunk))
            .zip(b.par_chunks(chunk))
            .for_each(|((o, a), b)| kernel(a, b, o));
    } else {
        kernel(a, b, out)
    }
}

vectorised!(forward => forward_generic(log: bool, unimix: f32, logits: &[f32], out: &mut [f32], classes: usize));
vectorised!(backward => backward_generic(log: bool, unimix: f32, logits: &[f32], grad: &[f32], out: &mut [f32], classes: usize));

/// A buffer of `like`'s length, every element of which the kernel writes: filled by a copy
/// rather than `vec![0.0; n]`, whose zeroed allocation the allocator serves, for large
/// sizes, from fresh pages of the OS, faulted in one by one (16% of an update's profile).
fn uninit_like(like: &[f32]) -> Vec<f32> {
    like.to_vec()
}

/// Accumulator lanes of the row reductions: a float sum or max over one accumulator does
/// not vectorise (it would reorder the additions); over 16 independent ones it does.
const LANES: usize = 16;

/// `combine` over `f(a_i, b_i)` of a row, in [`LANES`] partial results.
#[inline(always)]
fn reduce(
    a: &[f32],
    b: &[f32],
    init: f32,
    f: impl Fn(f32, f32) -> f32,
    combine: impl Fn(f32, f32) -> f32,
) -> f32 {
    let mut acc = [init; LANES];
    let (a_full, b_full) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_full.remainder(), b_full.remainder());
    for (a, b) in a_full.zip(b_full) {
        for j in 0..LANES {
            acc[j] = combine(acc[j], f(a[j], b[j]));
        }
    }
    let mut total = acc.into_iter().fold(init, &combine);
    for (a, b) in a_rest.iter().zip(b_rest) {
        total = combine(total, f(*a, *b));
    }
    total
}

/// `softmax(l)` of one row into `s`, returning `(max, Σ e^(l − max))`.
#[inline(always)]
fn softmax_row(l: &[f32], s: &mut [f32]) -> (f32, f32) {
    // `if >` rather than `f32::max` (whose NaN rule does not vectorise).
    let max = reduce(
        l,
        l,
        f32::NEG_INFINITY,
        |x, _| x,
        |m, x| if x > m { x } else { m },
    );
    for (s, l) in s.iter_mut().zip(l) {
        *s = fast_exp(l - max);
    }
    let sum = reduce(s, s, 0.0, |x, _| x, |t, x| t + x);
    let inv = 1.0 / sum;
    for s in s.iter_mut() {
        *s *= inv;
    }
    (max, sum)
}

/// The mixed softmax (or its logarithm) of every row of `logits` into `out`.
#[inline(always)]
fn forward_generic(log: bool, u: f32, logits: &[f32], out: &mut [f32], classes: usize) {
    let floor = u / classes as f32;
    for (o, x) in out
        .chunks_exact_mut(classes)
        .zip(logits.chunks_exact(classes))
    {
        let (max, sum) = softmax_row(x, o);
        if !log {
            o.iter_mut().for_each(|p| *p = (1.0 - u) * *p + floor);
        } else if u > 0.0 {
            o.iter_mut()
                .for_each(|p| *p = fast_ln((1.0 - u) * *p + floor));
        } else {
            // Unmixed: l − max − ln Σ, finite where ln(softmax) would underflow.
            let log_sum = sum.ln();
            for (o, x) in o.iter_mut().zip(x) {
                *o = x - max - log_sum;
            }
        }
    }
}

/// The logits' gradient of every row (see [`MixedSoftmaxGrad`]); `out` holds
/// `s = softmax(l)` first, and each element then needs only its own `s_j`.
#[inline(always)]
fn backward_generic(
    log: bool,
    u: f32,
    logits: &[f32],
    grad: &[f32],
    out: &mut [f32],
    classes: usize,
) {
    let floor = u / classes as f32;
    let rows = out
        .chunks_exact_mut(classes)
        .zip(logits.chunks_exact(classes))
        .zip(grad.chunks_exact(classes));
    for ((o, x), g) in rows {
        softmax_row(x, o);
        if log && u == 0.0 {
            // log-softmax: dl_j = g_j − s_j Σ g_i (no division by a vanishing s).
            let total = reduce(g, g, 0.0, |g, _| g, |t, x| t + x);
            for (o, g) in o.iter_mut().zip(g) {
                *o = g - *o * total;
            }
        } else if log {
            let total = reduce(
                g,
                o,
                0.0,
                |g, s| g * s / ((1.0 - u) * s + floor),
                |t, x| t + x,
            );
            for (o, g) in o.iter_mut().zip(g) {
                let s = *o;
                *o = (1.0 - u) * (g * s / ((1.0 - u) * s + floor) - s * total);
            }
        } else {
            let dot = reduce(g, o, 0.0, |g, s| g * s, |t, x| t + x);
            for (o, g) in o.iter_mut().zip(g) {
                *o *= (1.0 - u) * (g - dot);
            }
        }
    }
}

/// The mixed softmax (`log = false`) or its logarithm (`log = true`) over the last
/// dimension.
struct MixedSoftmax {
    unimix: f32,
    log: bool,
}

impl CustomOp1 for MixedSoftmax {
    fn name(&self) -> &'static str {
        "mixed-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let logits = contiguous_f32(s, l, self.name())?;
        let classes = l.shape().dims().last().copied().unwrap_or(1).max(1);
        let mut out = uninit_like(logits);
        rows(logits, logits, &mut out, classes, |x, _, o| {
            forward(self.log, self.unimix, x, o, classes)
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        Ok(Some(arg.apply_op2_no_bwd(
            &grad,
            &MixedSoftmaxGrad {
                unimix: self.unimix,
                log: self.log,
            },
        )?))
    }
}

/// The logits' gradient of [`MixedSoftmax`] from the logits and the output's gradient `g`,
/// with `s = softmax(l)` and `p = (1 − u)s + u/K`:
/// - probabilities: `dl_j = (1 − u)·s_j·(g_j − Σ_i g_i s_i)`;
/// - log-probabilities: with `a_i = g_i s_i / p_i`, `dl_j = (1 − u)·(a_j − s_j Σ_i a_i)`
///   (for u = 0, `g_j − s_j Σ_i g_i`).
struct MixedSoftmaxGrad {
    unimix: f32,
    log: bool,
}

impl CustomOp2 for MixedSoftmaxGrad {
    fn name(&self) -> &'static str {
        "mixed-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let logits = contiguous_f32(s1, l1, self.name())?;
        let grad = contiguous_f32(s2, l2, self.name())?;
        let classes = l1.shape().dims().last().copied().unwrap_or(1).max(1);
        let mut dl = uninit_like(logits);
        rows(logits, grad, &mut dl, classes, |x, g, o| {
            backward(self.log, self.unimix, x, g, o, classes)
        });
        Ok((CpuStorage::F32(dl), l1.shape().clone()))
    }
}

/// See [`straight_through`].
struct StraightThrough;

impl CustomOp2 for StraightThrough {
    fn name(&self) -> &'static str {
        "straight-through"
    }

    fn cpu_fwd(
        &self,
        _s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        if l1.shape() != l2.shape() {
            candle_core::bail!(
                "straight-through: probabilities {:?}, sample {:?}",
                l1.shape(),
                l2.shape()
            );
        }
        let sample = contiguous_f32(s2, l2, self.name())?;
        Ok((CpuStorage::F32(sample.to_vec()), l2.shape().clone()))
    }

    fn bwd(
        &self,
        _probs: &Tensor,
        _sample: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(grad.clone()), None))
    }
}
