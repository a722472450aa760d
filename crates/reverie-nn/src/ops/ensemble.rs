//! The fused layer of an ensemble: `act(x[e] · W[e] + b[e])` for every member `e` in one op,
//! with a backward pass that computes only the gradients the graph needs.
//!
//! Measured on 2 cores (`reverie bench nn`, 7 members of 5-200×4-8, 256 rows each): candle's
//! batched matmul + broadcast add + activation took a whole train step to ~40 ms, most of it
//! outside the arithmetic (thread hand-off between ops, fresh pages for every intermediate,
//! a libm call per element for the activation). Here each member's product is one `gemm`
//! call that starts from the bias, the activation runs in place vectorised, and members (or
//! halves of members) are spread over rayon's pool once per op rather than once per matmul.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use super::matmul::{matmul_into, Strided};
use super::{contiguous_f32, ActGrad, SavedPreActivation};
use crate::ensemble::Activation;
use crate::simd::apply_in_place;
use crate::Result;

/// `act(x · w + b)` per member: `x [E, B, in]`, `w [E, in, out]`, `b [E, 1, out]` →
/// `[E, B, out]`; `act = None` is the identity. Off the CPU, candle's own ops.
pub fn ensemble_linear(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    act: Option<Activation>,
) -> Result<Tensor> {
    if x.device().is_cpu() {
        x.apply_op3(w, b, EnsembleLinear::new(act))
    } else {
        let pre = x.matmul(w)?.broadcast_add(b)?;
        match act {
            Some(a) => a.apply(&pre),
            None => Ok(pre),
        }
    }
}

fn dims3(l: &Layout, op: &str) -> Result<(usize, usize, usize)> {
    match l.shape().dims() {
        [a, b, c] => Ok((*a, *b, *c)),
        dims => candle_core::bail!("{op}: expects a [members, rows, cols] tensor, got {dims:?}"),
    }
}

/// How many pieces to cut each member's work into so that the pieces fill every thread
/// evenly: 7 members on 2 threads run as 14 halves (7 + 7) rather than 4 + 3 members.
fn splits_per_member(members: usize, threads: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    threads / gcd(members.max(1), threads.max(1))
}

/// Runs `job(member, piece, dst)` over `members × pieces` disjoint chunks of `out` (each
/// member's `[rows, cols]` block cut into `pieces` row ranges), in parallel when the
/// configured thread count is above one.
fn for_each_piece<F>(out: &mut [f32], members: usize, rows: usize, cols: usize, job: F)
where
    F: Fn(usize, std::ops::Range<usize>, &mut [f32]) + Sync,
{
    let threads = candle_core::utils::get_num_threads();
    // Below ~32 rows a piece costs more to hand over than to compute.
    let pieces = splits_per_member(members, threads)
        .min(rows.div_ceil(32))
        .max(1);
    let per = rows.div_ceil(pieces).max(1);
    let chunks: Vec<(usize, std::ops::Range<usize>, &mut [f32])> = out
        .chunks_mut(rows * cols)
        .enumerate()
        .flat_map(|(e, block)| {
            block
                .chunks_mut(per * cols)
                .enumerate()
                .map(move |(p, piece)| {
                    let start = p * per;
                    (e, start..start + piece.len() / cols.max(1), piece)
                })
        })
        .collect();
    if threads > 1 && chunks.len() > 1 {
        chunks
            .into_par_iter()
            .for_each(|(e, range, dst)| job(e, range, dst));
    } else {
        for (e, range, dst) in chunks {
            job(e, range, dst);
        }
    }
}

struct EnsembleLinear {
    act: Option<Activation>,
    /// SiLU's pre-activation, kept by the forward pass for the backward (SiLU cannot be
    /// inverted from its output; recomputing it was a fourth matmul per layer).
    pre: SavedPreActivation,
}

impl EnsembleLinear {
    fn new(act: Option<Activation>) -> Self {
        Self {
            act,
            pre: SavedPreActivation::default(),
        }
    }
}

impl CustomOp3 for EnsembleLinear {
    fn name(&self) -> &'static str {
        "ensemble-linear"
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
        let (members, rows, inputs) = dims3(l1, self.name())?;
        let (we, k, cols) = dims3(l2, self.name())?;
        if we != members || k != inputs {
            candle_core::bail!(
                "ensemble-linear: input [{members}, {rows}, {inputs}], weight [{we}, {k}, {cols}]"
            );
        }
        let x = contiguous_f32(s1, l1, self.name())?;
        let w = contiguous_f32(s2, l2, self.name())?;
        let b = contiguous_f32(s3, l3, self.name())?;
        if b.len() != members * cols {
            candle_core::bail!("ensemble-linear: bias of {} for {members}×{cols}", b.len());
        }
        let mut out = vec![0.0f32; members * rows * cols];
        let act = self.act;
        let keep = act == Some(Activation::Silu);
        let mut pre = if keep {
            vec![0.0f32; out.len()]
        } else {
            Vec::new()
        };
        let pre_ptr = super::SendPtr(pre.as_mut_ptr());
        for_each_piece(&mut out, members, rows, cols, |e, range, dst| {
            let bias = &b[e * cols..(e + 1) * cols];
            for row in dst.chunks_exact_mut(cols) {
                row.copy_from_slice(bias);
            }
            let x = &x[(e * rows + range.start) * inputs..(e * rows + range.end) * inputs];
            let w = &w[e * inputs * cols..(e + 1) * inputs * cols];
            matmul_into(
                (range.len(), cols, inputs),
                (dst, cols),
                true,
                Strided::rows(x, inputs),
                Strided::rows(w, cols),
                gemm::Parallelism::None,
            );
            if keep {
                let offset = (e * rows + range.start) * cols;
                // SAFETY: pieces cover disjoint ranges of `out`, and `pre` has its length.
                let saved =
                    unsafe { std::slice::from_raw_parts_mut(pre_ptr.get().add(offset), dst.len()) };
                saved.copy_from_slice(dst);
            }
            if let Some(act) = act {
                apply_in_place(act, dst);
            }
        });
        let shape = Shape::from((members, rows, cols));
        if keep {
            self.pre.save(pre, shape.clone())?;
        }
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dz = match self.act {
            None => grad,
            Some(Activation::Silu) => {
                // SiLU's derivative needs the pre-activation, not the output.
                let pre = match self.pre.get() {
                    Some(pre) => pre,
                    None => ensemble_linear(&x.detach(), &w.detach(), &b.detach(), None)?,
                };
                grad.apply_op2_no_bwd(&pre, &ActGrad(Activation::Silu))?
            }
            Some(act) => grad.apply_op2_no_bwd(&res.contiguous()?, &ActGrad(act))?,
        };
        // Only what the graph needs: no dx for the network's input, none for frozen weights.
        let dx = if x.track_op() {
            Some(dz.apply_op2_no_bwd(&w.contiguous()?, &InputGrad)?)
        } else {
            None
        };
        let dw = if w.track_op() {
            Some(x.contiguous()?.apply_op2_no_bwd(&dz, &WeightGrad)?)
        } else {
            None
        };
        let db = if b.track_op() {
            Some(dz.apply_op1_no_bwd(&MemberColumnSum)?.reshape(b.shape())?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

/// `dx[e] = dz[e] · w[e]ᵀ`: `dz [E, B, out]`, `w [E, in, out]` → `[E, B, in]`.
struct InputGrad;

impl CustomOp2 for InputGrad {
    fn name(&self) -> &'static str {
        "ensemble-linear-input-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (members, rows, cols) = dims3(l1, self.name())?;
        let (_, inputs, _) = dims3(l2, self.name())?;
        let dz = contiguous_f32(s1, l1, self.name())?;
        let w = contiguous_f32(s2, l2, self.name())?;
        let mut out = vec![0.0f32; members * rows * inputs];
        for_each_piece(&mut out, members, rows, inputs, |e, range, dst| {
            let dz = &dz[(e * rows + range.start) * cols..(e * rows + range.end) * cols];
            let w = &w[e * inputs * cols..(e + 1) * inputs * cols];
            // wᵀ [out, in]: element (o, i) sits at i·out + o.
            matmul_into(
                (range.len(), inputs, cols),
                (dst, inputs),
                false,
                Strided::rows(dz, cols),
                Strided::transposed(w, cols),
                gemm::Parallelism::None,
            );
        });
        Ok((CpuStorage::F32(out), Shape::from((members, rows, inputs))))
    }
}

/// `dw[e] = x[e]ᵀ · dz[e]`: `x [E, B, in]`, `dz [E, B, out]` → `[E, in, out]`.
struct WeightGrad;

impl CustomOp2 for WeightGrad {
    fn name(&self) -> &'static str {
        "ensemble-linear-weight-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (members, rows, inputs) = dims3(l1, self.name())?;
        let (_, _, cols) = dims3(l2, self.name())?;
        let x = contiguous_f32(s1, l1, self.name())?;
        let dz = contiguous_f32(s2, l2, self.name())?;
        let mut out = vec![0.0f32; members * inputs * cols];
        // Pieces are ranges of the weight's input rows: each sums over all B rows itself.
        for_each_piece(&mut out, members, inputs, cols, |e, range, dst| {
            let x = &x[e * rows * inputs..(e + 1) * rows * inputs];
            let dz = &dz[e * rows * cols..(e + 1) * rows * cols];
            // xᵀ [in, B] restricted to rows `range`: element (i, r) sits at r·in + i.
            matmul_into(
                (range.len(), cols, rows),
                (dst, cols),
                false,
                Strided::transposed(&x[range.start..], inputs),
                Strided::rows(dz, cols),
                gemm::Parallelism::None,
            );
        });
        Ok((CpuStorage::F32(out), Shape::from((members, inputs, cols))))
    }
}

/// `[E, B, cols] → [E, cols]`: each member's column sums, rows walked contiguously.
struct MemberColumnSum;

impl CustomOp1 for MemberColumnSum {
    fn name(&self) -> &'static str {
        "member-column-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (members, rows, cols) = dims3(l, self.name())?;
        let x = contiguous_f32(s, l, self.name())?;
        let mut out = vec![0.0f32; members * cols];
        for (sum, block) in out.chunks_exact_mut(cols).zip(x.chunks_exact(rows * cols)) {
            for row in block.chunks_exact(cols) {
                for (o, v) in sum.iter_mut().zip(row) {
                    *o += v;
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((members, cols))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::max_diff;
    use crate::ops::tests::reference;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candle_values_and_gradients_for_every_activation() {
        let dev = Device::Cpu;
        // Odd sizes: pieces of unequal length, members that do not divide the threads.
        for (members, rows, inputs, cols) in [(3, 37, 5, 7), (1, 70, 4, 3), (7, 65, 6, 9)] {
            let x =
                Var::from_tensor(&Tensor::randn(0f32, 1.0, (members, rows, inputs), &dev).unwrap())
                    .unwrap();
            for act in [
                None,
                Some(Activation::Tanh),
                Some(Activation::Relu),
                Some(Activation::Silu),
            ] {
                let w = Var::from_tensor(
                    &Tensor::randn(0f32, 1.0, (members, inputs, cols), &dev).unwrap(),
                )
                .unwrap();
                let b =
                    Var::from_tensor(&Tensor::randn(0f32, 1.0, (members, 1, cols), &dev).unwrap())
                        .unwrap();
                let target = Tensor::randn(0f32, 1.0, (members, rows, cols), &dev).unwrap();
                let loss = |y: Tensor| (y - &target).unwrap().sqr().unwrap().sum_all().unwrap();
                let fused =
                    ensemble_linear(x.as_tensor(), w.as_tensor(), b.as_tensor(), act).unwrap();
                let plain = reference(x.as_tensor(), w.as_tensor(), b.as_tensor(), act);
                assert!(max_diff(&fused, &plain) < 1e-4, "{act:?} forward");
                let g1 = loss(fused).backward().unwrap();
                let g2 = loss(plain).backward().unwrap();
                for v in [&x, &w, &b] {
                    let (a, r) = (g1.get(v).unwrap(), g2.get(v).unwrap());
                    let scale = r.abs().unwrap().flatten_all().unwrap().max(0).unwrap();
                    let d = max_diff(a, r) / scale.to_scalar::<f32>().unwrap().max(1.0);
                    assert!(d < 1e-4, "{act:?} gradient differs by {d} (relative)");
                }
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        use crate::gradcheck::{check_gradients, var};
        // Smooth activations only: ReLU's kink makes central differences meaningless at 0
        // (its gradient is checked against candle's above).
        for act in [None, Some(Activation::Tanh), Some(Activation::Silu)] {
            let (x, w, b) = (
                var(1, &[3, 5, 4], 1.0),
                var(2, &[3, 4, 6], 0.5),
                var(3, &[3, 1, 6], 0.5),
            );
            check_gradients(
                &format!("ensemble_linear {act:?}"),
                &[&x, &w, &b],
                12,
                || ensemble_linear(x.as_tensor(), w.as_tensor(), b.as_tensor(), act),
            );
        }
    }

    #[test]
    fn frozen_weights_get_no_gradient_but_the_input_does() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 4, 3), &dev).unwrap()).unwrap();
        let w = Tensor::randn(0f32, 1.0, (2, 3, 2), &dev).unwrap();
        let b = Tensor::zeros((2, 1, 2), candle_core::DType::F32, &dev).unwrap();
        let y = ensemble_linear(x.as_tensor(), &w, &b, Some(Activation::Relu)).unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_some());
    }

    #[test]
    fn pieces_fill_the_threads_evenly() {
        assert_eq!(splits_per_member(7, 2), 2);
        assert_eq!(splits_per_member(8, 2), 1);
        assert_eq!(splits_per_member(1, 4), 4);
        assert_eq!(splits_per_member(6, 4), 2);
        assert_eq!(splits_per_member(5, 1), 1);
    }
}
