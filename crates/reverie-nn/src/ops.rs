//! Fused candle ops for small networks, where candle's generic kernels lose to per-op costs.
//!
//! Measured on 2 cores: candle's `tanh` over a 256×64 activation took 204 µs (a libm call
//! per element) and the bias gradient (a `sum_keepdim(0)` over rows) 49 µs, against 15 µs
//! for the 256×64×64 matmul itself (`reverie bench model-free` compares whole training
//! steps). These ops keep candle's autodiff (each has a `bwd`) but run hand-written,
//! vectorised loops:
//!
//! - [`bias_act`]: `act(z + b)` in one pass; its backward is one fused pass for `dz` and a
//!   contiguous column sum for `db`.
//! - [`linear`]: `act(x·W + b)` = candle's matmul + [`bias_act`].
//! - [`activate`]: `act(x)` elementwise on a tensor of any shape (convolution layers), its
//!   backward one fused pass; split across threads for large tensors.
//! - [`polyak_update`]: `target ← (1 − τ)·target + τ·source` in place (target networks).
//! - [`ensemble_linear`]: `act(x[e]·W[e] + b[e])` for all members of an ensemble at once.
//!
//! Off the CPU every op falls back to plain candle ops.

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, InplaceOp2, Layout, Shape, Storage, Tensor, Var,
};

use crate::ensemble::Activation;
use crate::simd::{apply_in_place, fast_exp, vectorised};
use crate::Result;

mod ensemble;
pub(crate) mod matmul;
mod tape;
pub use ensemble::ensemble_linear;
pub use tape::WeightGradTape;

/// `act(x · w + b)`: `x [B, in]`, `w [in, out]`, `b [out]`; `act = None` is the identity.
///
/// On the CPU this is one op: the matmul writes onto the broadcast bias and the activation
/// runs in place; its backward computes only the gradients that are needed (candle's own
/// matmul backward computes both operands' gradients, even for a frozen weight).
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor, act: Option<Activation>) -> Result<Tensor> {
    linear_taped(x, w, b, act, None)
}

/// [`linear`] whose weight and bias gradients, on the CPU, are recorded on `tape` and formed
/// by [`WeightGradTape::flush`] after the backward pass, in one product over every step the
/// layer was applied at (a recurrent unroll's). `tape = None` is [`linear`].
pub fn linear_taped(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    act: Option<Activation>,
    tape: Option<&WeightGradTape>,
) -> Result<Tensor> {
    if x.device().is_cpu() {
        x.apply_op3(
            w,
            b,
            LinearAct {
                act,
                pre: SavedPreActivation::default(),
                tape: tape.cloned(),
            },
        )
    } else {
        bias_act(&x.matmul(w)?, b, act)
    }
}

/// Column sums of a `[rows, cols]` tensor, `[cols]` (no gradient).
fn column_sum(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&ColumnSum)
}

/// `act(z + b)` with `b [out]` added to every row of `z [B, out]`.
pub fn bias_act(z: &Tensor, b: &Tensor, act: Option<Activation>) -> Result<Tensor> {
    if z.device().is_cpu() {
        z.apply_op2(b, BiasAct { act })
    } else {
        let pre = z.broadcast_add(b)?;
        match act {
            Some(a) => a.apply(&pre),
            None => Ok(pre),
        }
    }
}

/// `act(x)` elementwise, any shape.
///
/// On the CPU one vectorised pass (candle's SiLU is several allocating passes with a libm
/// `exp` each) and a fused backward; elsewhere candle's ops.
pub fn activate(x: &Tensor, act: Activation) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        x.contiguous()?.apply_op1(Act(act))
    } else {
        act.apply(x)
    }
}

/// `target ← (1 − tau) · target + tau · source`, in place (`tau = 1` copies).
pub fn polyak_update(target: &Var, source: &Tensor, tau: f64) -> Result<()> {
    if target.device().is_cpu() {
        target
            .as_tensor()
            .inplace_op2(source, &Lerp { tau: tau as f32 })
    } else {
        let next = ((target.as_tensor() * (1.0 - tau))? + (source * tau)?)?;
        target.set(&next)
    }
}

/// Matrix products below this many multiply-adds run on the calling thread: a GRU step's
/// `[16, 256] × [256, 768]` (3.1M) finished before a second thread had woken, and handing
/// it over made the GRU's backward ~20% slower (`examples/gru_speed.rs`).
pub(crate) const PARALLEL_MACS: usize = 1 << 22;

/// A pre-activation a fused op's forward pass keeps for its backward pass (SiLU's
/// derivative needs it and cannot be recovered from the output).
#[derive(Default)]
struct SavedPreActivation(std::sync::Mutex<Option<Tensor>>);

impl SavedPreActivation {
    fn save(&self, data: Vec<f32>, shape: Shape) -> Result<()> {
        let t = Tensor::from_vec(data, shape, &candle_core::Device::Cpu)?;
        *self.0.lock().expect("saved pre-activation lock") = Some(t);
        Ok(())
    }

    fn get(&self) -> Option<Tensor> {
        self.0.lock().expect("saved pre-activation lock").clone()
    }
}

/// A raw pointer handed to the workers that fill disjoint ranges of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(pub(crate) *mut f32);
// SAFETY: used only to hand disjoint ranges of one buffer to scoped workers.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    // A method, so that closures capture the whole (Sync) wrapper, not its raw field.
    pub(crate) fn get(self) -> *mut f32 {
        self.0
    }
}

/// The f32 slice a contiguous CPU tensor occupies.
pub(crate) fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: expects a contiguous tensor"),
    }
}

/// The f32 slice a contiguous tensor occupies, read from its storage (a tensor a custom op
/// holds, such as a gradient or saved activations, or a trained weight read in place);
/// refuses storage off the CPU.
pub(crate) fn cpu_f32<'a>(storage: &'a Storage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    match storage {
        Storage::Cpu(s) => contiguous_f32(s, l, op),
        _ => candle_core::bail!("{op}: expects tensors on the CPU"),
    }
}

/// The f32 data of a CPU storage, for in-place kernels.
pub(crate) fn f32_mut<'a>(s: &'a mut CpuStorage, op: &str) -> Result<&'a mut [f32]> {
    match s {
        CpuStorage::F32(v) => Ok(v.as_mut_slice()),
        _ => candle_core::bail!("{op}: expects f32 data"),
    }
}

fn rows_cols(l: &Layout, op: &str) -> Result<(usize, usize)> {
    match l.shape().dims() {
        [rows, cols] => Ok((*rows, *cols)),
        dims => candle_core::bail!("{op}: expects a [rows, cols] tensor, got {dims:?}"),
    }
}

struct LinearAct {
    act: Option<Activation>,
    /// SiLU's pre-activation, for the backward pass.
    pre: SavedPreActivation,
    /// Where the parameters' gradients are deferred to, if anywhere.
    tape: Option<WeightGradTape>,
}

impl CustomOp3 for LinearAct {
    fn name(&self) -> &'static str {
        "linear-act"
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
        let (rows, inputs) = rows_cols(l1, self.name())?;
        let (k, cols) = rows_cols(l2, self.name())?;
        if k != inputs {
            candle_core::bail!("linear-act: input width {inputs}, weight rows {k}");
        }
        let x = contiguous_f32(s1, l1, self.name())?;
        let w = contiguous_f32(s2, l2, self.name())?;
        let b = contiguous_f32(s3, l3, self.name())?;
        if b.len() != cols {
            candle_core::bail!("linear-act: bias of {} for {cols} columns", b.len());
        }
        let mut out = Vec::with_capacity(rows * cols);
        for _ in 0..rows {
            out.extend_from_slice(b);
        }
        matmul::matmul_into(
            (rows, cols, inputs),
            (&mut out, cols),
            true,
            matmul::Strided::rows(x, inputs),
            matmul::Strided::rows(w, cols),
            matmul::parallelism_for(rows * cols * inputs),
        );
        if self.act == Some(Activation::Silu) {
            self.pre.save(out.clone(), Shape::from((rows, cols)))?;
        }
        if let Some(act) = self.act {
            apply_in_place(act, &mut out);
        }
        Ok((CpuStorage::F32(out), Shape::from((rows, cols))))
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
                let pre = match self.pre.get() {
                    Some(pre) => pre,
                    None => x.matmul(w)?.broadcast_add(b)?,
                };
                grad.apply_op2_no_bwd(&pre, &ActGrad(Activation::Silu))?
            }
            Some(act) => grad.apply_op2_no_bwd(&res.contiguous()?, &ActGrad(act))?,
        };
        // Only what the graph needs: no dx for a network's input, no dw for frozen weights.
        let dx = if x.track_op() {
            Some(dz.matmul(&w.t()?)?)
        } else {
            None
        };
        if let (Some(tape), true) = (&self.tape, w.track_op()) {
            tape.record(w, b.track_op().then_some(b), x.clone(), dz);
            return Ok((dx, None, None));
        }
        let dw = if w.track_op() {
            Some(x.t()?.matmul(&dz)?)
        } else {
            None
        };
        let db = if b.track_op() {
            Some(column_sum(&dz)?.reshape(b.shape())?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

struct BiasAct {
    act: Option<Activation>,
}

impl CustomOp2 for BiasAct {
    fn name(&self) -> &'static str {
        "bias-act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (_, cols) = rows_cols(l1, self.name())?;
        let z = contiguous_f32(s1, l1, self.name())?;
        let b = contiguous_f32(s2, l2, self.name())?;
        if b.len() != cols {
            candle_core::bail!("bias-act: bias of {} for {cols} columns", b.len());
        }
        let mut out = z.to_vec();
        for row in out.chunks_exact_mut(cols) {
            for (o, bi) in row.iter_mut().zip(b) {
                *o += bi;
            }
        }
        if let Some(act) = self.act {
            apply_in_place(act, &mut out);
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        z: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dz = match self.act {
            None => grad,
            Some(Activation::Silu) => {
                // SiLU's derivative needs the pre-activation, not the output.
                let pre = z.broadcast_add(b)?;
                grad.apply_op2_no_bwd(&pre, &ActGrad(Activation::Silu))?
            }
            Some(act) => grad.apply_op2_no_bwd(&res.contiguous()?, &ActGrad(act))?,
        };
        let db = dz.apply_op1_no_bwd(&ColumnSum)?.reshape(b.shape())?;
        Ok((Some(dz), Some(db)))
    }
}

/// Elementwise passes split into chunks of this many values across rayon's pool: below it
/// the split costs more than it saves.
const PARALLEL_CHUNK: usize = 1 << 16;

/// `f` over `chunk`-sized pieces of `out` (with the matching pieces of `inputs`), in
/// parallel when there is more than one piece and more than one thread.
fn chunked<F>(out: &mut [f32], inputs: [&[f32]; 2], f: F)
where
    F: Fn(&mut [f32], &[f32], &[f32]) + Sync,
{
    use rayon::prelude::*;
    let [a, b] = inputs;
    if out.len() > PARALLEL_CHUNK && candle_core::utils::get_num_threads() > 1 {
        out.par_chunks_mut(PARALLEL_CHUNK)
            .zip(a.par_chunks(PARALLEL_CHUNK))
            .zip(b.par_chunks(PARALLEL_CHUNK))
            .for_each(|((o, a), b)| f(o, a, b));
    } else {
        f(out, a, b);
    }
}

/// `act` over `x` in place, split across threads when large.
pub(crate) fn activate_in_place(act: Activation, x: &mut [f32]) {
    use rayon::prelude::*;
    if x.len() > PARALLEL_CHUNK && candle_core::utils::get_num_threads() > 1 {
        x.par_chunks_mut(PARALLEL_CHUNK)
            .for_each(|o| apply_in_place(act, o));
    } else {
        apply_in_place(act, x);
    }
}

/// `act(x)` elementwise; see [`activate`].
struct Act(Activation);

impl CustomOp1 for Act {
    fn name(&self) -> &'static str {
        "activate"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let mut out = x.to_vec();
        activate_in_place(self.0, &mut out);
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // SiLU's derivative needs the input, the others' the output.
        let at = match self.0 {
            Activation::Silu => x,
            _ => res,
        };
        Ok(Some(
            grad.contiguous()?
                .apply_op2_no_bwd(&at.contiguous()?, &ActGrad(self.0))?,
        ))
    }
}

/// `grad ⊙ act'(·)`: from the output `y` for tanh (1 − y²) and ReLU (y > 0), from the
/// pre-activation for SiLU.
pub(crate) struct ActGrad(pub(crate) Activation);

impl CustomOp2 for ActGrad {
    fn name(&self) -> &'static str {
        "act-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = contiguous_f32(s1, l1, self.name())?;
        let y = contiguous_f32(s2, l2, self.name())?;
        if g.len() != y.len() {
            candle_core::bail!("act-grad: {} gradients for {} values", g.len(), y.len());
        }
        let mut out = vec![0.0f32; g.len()];
        let act = self.0;
        chunked(&mut out, [g, y], |o, g, y| act_grad(act, o, g, y));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

vectorised!(
    /// `out = g ⊙ act'(·)` from `y` (see [`ActGrad`]), vectorised like the forward pass.
    act_grad => act_grad_generic(act: Activation, out: &mut [f32], g: &[f32], y: &[f32])
);

#[inline(always)]
fn act_grad_generic(act: Activation, out: &mut [f32], g: &[f32], y: &[f32]) {
    let items = out.iter_mut().zip(g).zip(y);
    match act {
        Activation::Tanh => items.for_each(|((o, g), y)| *o = g * (1.0 - y * y)),
        Activation::Relu => items.for_each(|((o, g), y)| *o = if *y > 0.0 { *g } else { 0.0 }),
        Activation::Silu => items.for_each(|((o, g), x)| {
            let s = 1.0 / (1.0 + fast_exp(-x));
            *o = g * s * (1.0 + x * (1.0 - s));
        }),
    }
}

/// `[rows, cols] → [cols]`, summing each column (rows are walked contiguously).
struct ColumnSum;

impl CustomOp1 for ColumnSum {
    fn name(&self) -> &'static str {
        "column-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (_, cols) = rows_cols(l, self.name())?;
        let x = contiguous_f32(s, l, self.name())?;
        let mut out = vec![0.0f32; cols];
        for row in x.chunks_exact(cols) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        Ok((CpuStorage::F32(out), Shape::from(cols)))
    }
}

struct Lerp {
    tau: f32,
}

impl InplaceOp2 for Lerp {
    fn name(&self) -> &'static str {
        "polyak"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let src = contiguous_f32(s2, l2, self.name())?;
        let Some((start, end)) = l1.contiguous_offsets() else {
            candle_core::bail!("polyak: the target must be contiguous");
        };
        let dst = &mut f32_mut(s1, "polyak")?[start..end];
        if dst.len() != src.len() {
            candle_core::bail!("polyak: {} target values, {} source", dst.len(), src.len());
        }
        if self.tau == 1.0 {
            // A hard update is an exact copy (the lerp below rounds).
            dst.copy_from_slice(src);
        } else {
            for (d, s) in dst.iter_mut().zip(src) {
                *d += self.tau * (s - *d);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// `act(x · w + b)` in candle's own ops: what every fused linear op must equal.
    pub(super) fn reference(x: &Tensor, w: &Tensor, b: &Tensor, act: Option<Activation>) -> Tensor {
        let pre = x.matmul(w).unwrap().broadcast_add(b).unwrap();
        match act {
            Some(a) => a.apply(&pre).unwrap(),
            None => pre,
        }
    }

    #[test]
    fn linear_matches_candle_values_and_gradients() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (7, 5), &dev).unwrap()).unwrap();
        for act in [
            None,
            Some(Activation::Tanh),
            Some(Activation::Relu),
            Some(Activation::Silu),
        ] {
            let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (5, 3), &dev).unwrap()).unwrap();
            let b = Var::from_tensor(&Tensor::randn(0f32, 1.0, 3, &dev).unwrap()).unwrap();
            let target = Tensor::randn(0f32, 1.0, (7, 3), &dev).unwrap();
            let loss = |y: Tensor| (y - &target).unwrap().sqr().unwrap().sum_all().unwrap();
            let fused = linear(x.as_tensor(), w.as_tensor(), b.as_tensor(), act).unwrap();
            let plain = reference(x.as_tensor(), w.as_tensor(), b.as_tensor(), act);
            let diff = (&fused - &plain).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-5, "{act:?} forward");
            let g1 = loss(fused).backward().unwrap();
            let g2 = loss(plain).backward().unwrap();
            for v in [&x, &w, &b] {
                let d = (g1.get(v).unwrap() - g2.get(v).unwrap())
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap();
                assert!(d < 1e-4, "{act:?} gradient differs by {d}");
            }
        }
    }

    #[test]
    fn activate_matches_candle_values_and_gradients() {
        let dev = Device::Cpu;
        // Large enough to be split across threads.
        let x = Var::from_tensor(&Tensor::randn(0f32, 2.0, (3, 5, 70, 70), &dev).unwrap()).unwrap();
        for act in [Activation::Tanh, Activation::Relu, Activation::Silu] {
            let fast = activate(x.as_tensor(), act).unwrap();
            let plain = act.apply(x.as_tensor()).unwrap();
            let diff = (&fast - &plain).unwrap().abs().unwrap().max_all().unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-5, "{act:?} forward");
            let g1 = (fast.sqr().unwrap().sum_all().unwrap()).backward().unwrap();
            let g2 = (plain.sqr().unwrap().sum_all().unwrap())
                .backward()
                .unwrap();
            let d = (g1.get(&x).unwrap() - g2.get(&x).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(d < 1e-4, "{act:?} gradient differs by {d}");
        }
    }

    #[test]
    fn frozen_weights_get_no_gradient_but_the_input_does() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (4, 3), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (3, 2), &dev).unwrap()).unwrap();
        let b =
            Var::from_tensor(&Tensor::zeros(2, candle_core::DType::F32, &dev).unwrap()).unwrap();
        let y = linear(
            x.as_tensor(),
            &w.as_tensor().detach(),
            &b.as_tensor().detach(),
            Some(Activation::Relu),
        )
        .unwrap();
        let grads = y.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&x).is_some());
        assert!(grads.get(&w).is_none() && grads.get(&b).is_none());
    }

    #[test]
    fn polyak_moves_target_toward_source() {
        let dev = Device::Cpu;
        let target = Var::new(&[0.0f32, 10.0], &dev).unwrap();
        let source = Tensor::new(&[1.0f32, 0.0], &dev).unwrap();
        polyak_update(&target, &source, 0.1).unwrap();
        let v = target.as_tensor().to_vec1::<f32>().unwrap();
        assert!(
            (v[0] - 0.1).abs() < 1e-6 && (v[1] - 9.0).abs() < 1e-6,
            "{v:?}"
        );
        polyak_update(&target, &source, 1.0).unwrap();
        assert_eq!(target.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0, 0.0]);
    }
}
