//! Adam (Kingma & Ba 2015) with optional decoupled weight decay (Loshchilov & Hutter), and
//! gradient-norm clipping, over candle `Var`s.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

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
#[derive(Debug)]
pub struct Adam {
    vars: Vec<Var>,
    first: Vec<Tensor>,
    second: Vec<Tensor>,
    steps: i32,
    config: AdamConfig,
}

impl Adam {
    /// An optimiser for `vars`, moments initialised to zero.
    pub fn new(vars: Vec<Var>, config: AdamConfig) -> Result<Self> {
        let first = vars
            .iter()
            .map(|v| v.as_tensor().zeros_like())
            .collect::<Result<Vec<_>>>()?;
        let second = first.clone();
        Ok(Self {
            vars,
            first,
            second,
            steps: 0,
            config,
        })
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
        self.steps += 1;
        let c = &self.config;
        let bias1 = 1.0 - c.beta1.powi(self.steps);
        let bias2 = 1.0 - c.beta2.powi(self.steps);
        let step_size = c.lr / bias1;
        for ((var, m), v) in self.vars.iter().zip(&mut self.first).zip(&mut self.second) {
            let Some(g) = grads.get(var) else { continue };
            *m = ((&*m * c.beta1)? + (g * (1.0 - c.beta1))?)?;
            *v = ((&*v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let denom = ((v.sqrt()? / bias2.sqrt())? + c.eps)?;
            let update = ((&*m / denom)? * step_size)?;
            let mut next = var.as_tensor().sub(&update)?;
            if c.weight_decay > 0.0 {
                next = (next - (var.as_tensor() * (c.lr * c.weight_decay))?)?;
            }
            var.set(&next)?;
        }
        Ok(())
    }

    /// Back-propagates `loss`, clips the global gradient norm to `max_grad_norm` (if any),
    /// updates, and returns the gradient norm before clipping. A non-finite loss or gradient
    /// norm is refused without touching the parameters.
    pub fn backward_step(&mut self, loss: &Tensor, max_grad_norm: Option<f64>) -> Result<f64> {
        let value = loss.to_scalar::<f32>()?;
        if !value.is_finite() {
            candle_core::bail!("loss is {value}; parameters left unchanged (lower the learning rate or check the data for NaN/inf)");
        }
        let mut grads = loss.backward()?;
        let norm = clip_grad_norm(
            &mut grads,
            &self.vars,
            max_grad_norm.unwrap_or(f64::INFINITY),
        )?;
        if !norm.is_finite() {
            candle_core::bail!("gradient norm is {norm}; parameters left unchanged");
        }
        self.step(&grads)?;
        Ok(norm)
    }
}

/// Scales the gradients of `vars` so their global L2 norm is at most `max_norm`; returns
/// the norm before scaling.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> Result<f64> {
    let mut total = 0.0f64;
    for var in vars {
        if let Some(g) = grads.get(var) {
            total += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
        }
    }
    let norm = total.sqrt();
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
