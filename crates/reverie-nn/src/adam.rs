//! Adam (Kingma & Ba 2015) with optional decoupled weight decay (Loshchilov & Hutter), and
//! gradient-norm clipping, over candle `Var`s.

use candle_core::backprop::GradStore;
use std::cell::RefCell;

use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::ops::WeightGradTape;
use crate::Result;

/// Adam hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// Denominator constant ε.
    pub eps: f64,
    /// Decoupled weight decay (0: plain Adam).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Adam over a fixed list of variables.
///
/// On the CPU each variable is updated by one fused in-place pass over parameter, gradient
/// and moments (candle's elementwise ops would take about a dozen allocating passes); on
/// other devices the update is written with tensor ops.
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    moments: Vec<Moments>,
    steps: i32,
    config: AdamConfig,
}

/// What [`Adam::state`] saves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamState {
    steps: i32,
    lr: f64,
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

#[derive(Debug)]
enum Moments {
    Cpu(Vec<f32>, Vec<f32>),
    Device(Tensor, Tensor),
}

impl Adam {
    /// An optimiser for `vars`, moments initialised to zero.
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        let moments = vars
            .iter()
            .map(|v| {
                Ok(if v.device().is_cpu() {
                    Moments::Cpu(vec![0.0; v.elem_count()], vec![0.0; v.elem_count()])
                } else {
                    let zeros = v.as_tensor().zeros_like()?;
                    Moments::Device(zeros.clone(), zeros)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            vars,
            moments,
            steps: 0,
            config,
        })
    }

    /// The step count and both moments of every variable, for checkpoints that resume
    /// training exactly (a fresh Adam would restart its bias correction).
    pub fn state(&self) -> Result<AdamState> {
        let moments = self
            .moments
            .iter()
            .map(|m| {
                Ok(match m {
                    Moments::Cpu(m, v) => (m.clone(), v.clone()),
                    Moments::Device(m, v) => {
                        (m.flatten_all()?.to_vec1()?, v.flatten_all()?.to_vec1()?)
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamState {
            steps: self.steps,
            lr: self.config.lr,
            moments,
        })
    }

    /// Restores [`Adam::state`] of an optimiser over variables of the same shapes.
    pub fn load_state(&mut self, state: &AdamState) -> Result<()> {
        let fits =
            state.moments.len() == self.vars.len()
                && state.moments.iter().zip(&self.vars).all(|((m, v), var)| {
                    m.len() == var.elem_count() && v.len() == var.elem_count()
                });
        if !fits {
            candle_core::bail!("the saved optimiser state is for other variables");
        }
        for ((m, v), (moments, var)) in state
            .moments
            .iter()
            .zip(self.moments.iter_mut().zip(&self.vars))
        {
            *moments = match moments {
                Moments::Cpu(..) => Moments::Cpu(m.clone(), v.clone()),
                Moments::Device(..) => {
                    let shape = var.shape();
                    Moments::Device(
                        Tensor::from_slice(m, shape, var.device())?,
                        Tensor::from_slice(v, shape, var.device())?,
                    )
                }
            };
        }
        self.steps = state.steps;
        self.config.lr = state.lr;
        Ok(())
    }

    /// The optimised variables.
    pub fn vars(&self) -> &[Var] {
        &self.vars
    }

    /// Current learning rate.
    pub fn lr(&self) -> f64 {
        self.config.lr
    }

    /// Changes the learning rate (schedules).
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// One update from `grads`; variables without a gradient are left alone.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step_scaled(grads, 1.0)
    }

    /// One update from `grads` multiplied by `scale` (how clipping is applied without
    /// rewriting the gradients).
    fn step_scaled(&mut self, grads: &GradStore, scale: f64) -> Result<()> {
        self.steps += 1;
        let c = &self.config;
        let bias1 = 1.0 - c.beta1.powi(self.steps);
        let bias2 = 1.0 - c.beta2.powi(self.steps);
        for (var, moments) in self.vars.iter().zip(&mut self.moments) {
            let Some(g) = grads.get(var) else { continue };
            match moments {
                Moments::Cpu(m, v) => {
                    let kernel = AdamKernel {
                        moments: RefCell::new((m, v)),
                        step: AdamStep {
                            beta1: c.beta1 as f32,
                            beta2: c.beta2 as f32,
                            eps: c.eps as f32,
                            decay: (c.lr * c.weight_decay) as f32,
                            step_size: (c.lr / bias1) as f32,
                            sqrt_bias2: bias2.sqrt() as f32,
                            scale: scale as f32,
                        },
                    };
                    var.as_tensor().inplace_op2(&g.contiguous()?, &kernel)?;
                }
                Moments::Device(m, v) => {
                    let g = (g * scale)?;
                    *m = ((&*m * c.beta1)? + (&g * (1.0 - c.beta1))?)?;
                    *v = ((&*v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
                    let denom = ((v.sqrt()? / bias2.sqrt())? + c.eps)?;
                    let update = ((&*m / denom)? * (c.lr / bias1))?;
                    let mut next = var.as_tensor().sub(&update)?;
                    if c.weight_decay > 0.0 {
                        next = (next - (var.as_tensor() * (c.lr * c.weight_decay))?)?;
                    }
                    var.set(&next)?;
                }
            }
        }
        Ok(())
    }

    /// Back-propagates `loss`, clips the global gradient norm to `max_grad_norm` (if any),
    /// updates, and returns the gradient norm before clipping. A non-finite loss or gradient
    /// norm is refused without touching the parameters.
    pub fn backward_step(&mut self, loss: &Tensor, max_grad_norm: Option<f64>) -> Result<f64> {
        self.backward_step_taped(loss, None, max_grad_norm)
    }

    /// [`backward_step`](Self::backward_step) for a loss whose graph has layers taped on
    /// `tape` ([`crate::ops::linear_taped`]): their gradients are formed after the backward
    /// pass, before the norm is taken.
    pub fn backward_step_taped(
        &mut self,
        loss: &Tensor,
        tape: Option<&WeightGradTape>,
        max_grad_norm: Option<f64>,
    ) -> Result<f64> {
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            candle_core::bail!("loss is {value}; parameters left unchanged (lower the learning rate or check the data for NaN/inf)");
        }
        let mut grads = loss.backward()?;
        if let Some(tape) = tape {
            tape.flush(&mut grads)?;
        }
        let norm = grad_norm(&grads, &self.vars)?;
        if !norm.is_finite() {
            candle_core::bail!("gradient norm is {norm}; parameters left unchanged");
        }
        let scale = match max_grad_norm {
            Some(max) if norm > max => max / (norm + 1e-6),
            _ => 1.0,
        };
        self.step_scaled(&grads, scale)?;
        Ok(norm)
    }
}

/// The fused per-variable update (decoupled decay uses the parameter before the step).
struct AdamKernel<'a> {
    moments: RefCell<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
    step: AdamStep,
}

/// The scalars of one Adam step.
#[derive(Clone, Copy)]
struct AdamStep {
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: f32,
    step_size: f32,
    sqrt_bias2: f32,
    scale: f32,
}

/// Elements per parallel piece: below ~64k elements a piece costs more to hand over than
/// to update (an ensemble of 7 × 200 × 200 weights is 280k).
const PARALLEL_PIECE: usize = 1 << 15;

impl InplaceOp2 for AdamKernel<'_> {
    fn name(&self) -> &'static str {
        "adam"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let g = crate::ops::contiguous_f32(s2, l2, "adam")?;
        let Some((start, end)) = l1.contiguous_offsets() else {
            candle_core::bail!("adam: parameters must be contiguous");
        };
        let p = &mut crate::ops::f32_mut(s1, "adam")?[start..end];
        let mut moments = self.moments.borrow_mut();
        let (m, v) = &mut *moments;
        if p.len() != g.len() || m.len() != p.len() {
            candle_core::bail!("adam: {} parameters, {} gradients", p.len(), g.len());
        }
        let step = self.step;
        if p.len() >= 2 * PARALLEL_PIECE && candle_core::utils::get_num_threads() > 1 {
            use rayon::prelude::*;
            p.par_chunks_mut(PARALLEL_PIECE)
                .zip(g.par_chunks(PARALLEL_PIECE))
                .zip(m.par_chunks_mut(PARALLEL_PIECE))
                .zip(v.par_chunks_mut(PARALLEL_PIECE))
                .for_each(|(((p, g), m), v)| adam_update(&step, p, g, m, v));
        } else {
            adam_update(&step, p, g, m, v);
        }
        Ok(())
    }
}

/// The update over slices, compiled for the widest vector instructions the CPU has.
fn adam_update(k: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function is compiled for.
            unsafe { adam_avx512(k, p, g, m, v) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            unsafe { adam_avx2(k, p, g, m, v) };
            return;
        }
    }
    adam_generic(k, p, g, m, v);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn adam_avx512(k: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    adam_generic(k, p, g, m, v);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn adam_avx2(k: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    adam_generic(k, p, g, m, v);
}

#[inline(always)]
fn adam_generic(k: &AdamStep, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = g * k.scale;
        let m_next = k.beta1 * *m + (1.0 - k.beta1) * g;
        let v_next = k.beta2 * *v + (1.0 - k.beta2) * g * g;
        // Moments of parameters whose gradient stays zero (dead ReLUs) decay into
        // subnormal floats, which the FPU handles ~100× slower: flush them to zero.
        *m = if m_next.abs() < f32::MIN_POSITIVE {
            0.0
        } else {
            m_next
        };
        *v = if v_next < f32::MIN_POSITIVE {
            0.0
        } else {
            v_next
        };
        let update = k.step_size * *m / (v.sqrt() / k.sqrt_bias2 + k.eps);
        *p -= update + k.decay * *p;
    }
}

/// Sum of squares of a tensor, read in place on the CPU.
fn sum_squares(t: &Tensor) -> Result<f64> {
    if t.device().is_cpu() && t.is_contiguous() {
        let (storage, layout) = t.storage_and_layout();
        if let candle_core::Storage::Cpu(cpu) = &*storage {
            let x = crate::ops::contiguous_f32(cpu, layout, "grad-norm")?;
            // 16 f32 lanes per chunk vectorise; chunk sums are accumulated in f64.
            let mut total = 0.0f64;
            for chunk in x.chunks(4096) {
                let mut lanes = [0.0f32; 16];
                let mut rows = chunk.chunks_exact(16);
                for row in &mut rows {
                    for (l, v) in lanes.iter_mut().zip(row) {
                        *l += v * v;
                    }
                }
                let tail: f32 = rows.remainder().iter().map(|v| v * v).sum();
                total += lanes.iter().map(|l| *l as f64).sum::<f64>() + tail as f64;
            }
            return Ok(total);
        }
    }
    Ok(t.sqr()?.sum_all()?.to_scalar::<f32>()? as f64)
}

/// The global L2 norm of the gradients of `vars`.
pub fn grad_norm(grads: &GradStore, vars: &[Var]) -> Result<f64> {
    let mut total = 0.0f64;
    for var in vars {
        if let Some(g) = grads.get(var) {
            total += sum_squares(g)?;
        }
    }
    Ok(total.sqrt())
}

/// Scales the gradients of `vars` so their global L2 norm is at most `max_norm`; returns
/// the norm before scaling.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    let norm = grad_norm(grads, vars)?;
    if norm.is_finite() && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for var in vars {
            if let Some(g) = grads.remove(var) {
                grads.insert(var, (g * scale)?);
            }
        }
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn adam_minimises_a_quadratic() {
        let x = Var::new(&[3.0f32, -2.0], &Device::Cpu).unwrap();
        let mut adam = Adam::new(
            vec![x.clone()],
            AdamConfig {
                lr: 0.1,
                ..Default::default()
            },
        )
        .unwrap();
        for _ in 0..300 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            adam.backward_step(&loss, None).unwrap();
        }
        let v = x.as_tensor().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|a| a.abs() < 1e-2), "{v:?}");
    }

    #[test]
    fn first_step_moves_each_parameter_by_lr() {
        // Adam's first step is lr * sign(g) (bias-corrected m / sqrt(v) = g / |g|).
        let x = Var::new(&[1.0f32, -4.0], &Device::Cpu).unwrap();
        let mut adam = Adam::new(
            vec![x.clone()],
            AdamConfig {
                lr: 0.01,
                ..Default::default()
            },
        )
        .unwrap();
        let loss = (x.as_tensor() * 5.0).unwrap().sum_all().unwrap();
        adam.backward_step(&loss, None).unwrap();
        let v = x.as_tensor().to_vec1::<f32>().unwrap();
        assert!(
            (v[0] - 0.99).abs() < 1e-6 && (v[1] + 4.01).abs() < 1e-6,
            "{v:?}"
        );
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let x = Var::new(&[1.0f32, 1.0], &Device::Cpu).unwrap();
        let loss = (x.as_tensor() * 100.0).unwrap().sum_all().unwrap();
        let mut grads = loss.backward().unwrap();
        let norm = clip_grad_norm(&mut grads, std::slice::from_ref(&x), 1.0).unwrap();
        assert!((norm - 141.42).abs() < 0.01);
        let g = grads.get(&x).unwrap().to_vec1::<f32>().unwrap();
        let clipped = (g[0] * g[0] + g[1] * g[1]).sqrt();
        assert!((clipped - 1.0).abs() < 1e-3, "{clipped}");
    }

    #[test]
    fn nan_loss_is_refused_and_changes_nothing() {
        let x = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let mut adam = Adam::new(vec![x.clone()], AdamConfig::default()).unwrap();
        let loss = (x.as_tensor() * f64::NAN).unwrap().sum_all().unwrap();
        let err = adam.backward_step(&loss, Some(1.0)).unwrap_err();
        assert!(err.to_string().contains("unchanged"), "{err}");
        assert_eq!(x.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0]);
    }
}
