//! The module layer's shared pieces: the [`Parameters`] every layer exposes (for optimisers
//! and checkpoints) and the fused [`Linear`] layer the MLPs are built from.
//!
//! Layers follow one shape (burn's): a serialisable `XConfig` whose `init(&self, rng,
//! device)` draws the initial weights from the run's [`Rng`] (never candle's global
//! generator, so runs reproduce bit for bit), and a layer that implements candle's
//! [`candle_core::Module`] (or a `step` for recurrent cells).

use std::collections::HashMap;

use candle_core::{Device, Module, Tensor, Var};
use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::ensemble::Activation;
use crate::ops::{linear, linear_taped, WeightGradTape};
use crate::params::load_var;
use crate::Result;

/// What an optimiser and a checkpoint need of a layer: its variables by name. A layer
/// names them once ([`Parameters::named_vars`]); the list for the optimiser and the
/// checkpoint round trip follow from it.
pub trait Parameters {
    /// Each trainable variable with its name inside the layer (`weight`, `0.bias`), in a
    /// fixed order. Names follow PyTorch's where there is one.
    fn named_vars(&self) -> Vec<(String, Var)>;

    /// The trainable variables, in [`Parameters::named_vars`] order.
    fn vars(&self) -> Vec<Var> {
        self.named_vars().into_iter().map(|(_, v)| v).collect()
    }

    /// The parameters as `{prefix}.{name}`, for checkpoints.
    fn named_tensors(&self, prefix: &str) -> HashMap<String, Tensor> {
        self.named_vars()
            .into_iter()
            .map(|(name, v)| (format!("{prefix}.{name}"), v.as_tensor().clone()))
            .collect()
    }

    /// Overwrites the parameters from [`Parameters::named_tensors`] output; refuses
    /// missing names or other shapes.
    fn load_named(&self, prefix: &str, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for (name, var) in self.named_vars() {
            load_var(&var, &format!("{prefix}.{name}"), tensors)?;
        }
        Ok(())
    }
}

/// `(name, var)` pairs for [`Parameters::named_vars`].
pub(crate) fn named(pairs: &[(&str, &Var)]) -> Vec<(String, Var)> {
    pairs
        .iter()
        .map(|(name, var)| (name.to_string(), (*var).clone()))
        .collect()
}

/// The variables of a module made of parts: each part's names prefixed by the part's
/// (`"rssm"` + `"gru.weight"` → `"rssm.gru.weight"`), in the parts' order.
pub fn nested(parts: Vec<(String, &dyn Parameters)>) -> Vec<(String, Var)> {
    parts
        .into_iter()
        .flat_map(|(prefix, part)| {
            part.named_vars()
                .into_iter()
                .map(move |(name, var)| (format!("{prefix}.{name}"), var))
        })
        .collect()
}

/// How a layer's weights are initialised.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Init {
    /// PyTorch's `nn.Linear` default: weights and biases uniform in ±1/√in (SB3's DQN and
    /// SAC networks).
    Torch,
    /// Orthogonal weights scaled by a gain, zero biases (SB3's and CleanRL's PPO: √2 for
    /// hidden layers, a separate gain for the output layer).
    Orthogonal {
        /// Gain of the hidden layers.
        hidden_gain: f64,
        /// Gain of the output layer (0.01 for a policy head, 1 for a value head).
        output_gain: f64,
    },
}

/// A fully connected layer with an optional fused activation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearConfig {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Applied to the output in the same pass as the bias (none: affine).
    pub activation: Option<Activation>,
}

impl LinearConfig {
    /// A layer drawn with PyTorch's default initialisation.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<Linear> {
        self.init_with(Init::Torch, 1.0, rng, device)
    }

    /// A layer drawn with `init`; `gain` scales orthogonal weights (ignored by `Torch`).
    pub fn init_with(
        &self,
        init: Init,
        gain: f64,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Linear> {
        let (inputs, outputs) = (self.inputs, self.outputs);
        let (w, b) = match init {
            Init::Torch => {
                let bound = 1.0 / (inputs as f64).sqrt();
                let mut draw = |n: usize| -> Vec<f32> {
                    (0..n)
                        .map(|_| rng.uniform_range(-bound, bound) as f32)
                        .collect()
                };
                (draw(inputs * outputs), draw(outputs))
            }
            Init::Orthogonal { .. } => {
                let w = orthogonal(inputs, outputs, rng)
                    .into_iter()
                    .map(|v| (v * gain) as f32)
                    .collect();
                (w, vec![0.0; outputs])
            }
        };
        Ok(Linear {
            weight: Var::from_tensor(&Tensor::from_vec(w, (inputs, outputs), device)?)?,
            bias: Var::from_tensor(&Tensor::from_vec(b, outputs, device)?)?,
            activation: self.activation,
        })
    }
}

/// `act(x · W + b)` as one fused op ([`crate::ops::linear`]).
///
/// # Shapes
/// `[B, in]` → `[B, out]`; weight `[in, out]`, bias `[out]`.
#[derive(Clone, Debug)]
pub struct Linear {
    weight: Var,
    bias: Var,
    activation: Option<Activation>,
}

impl Linear {
    /// `[in, out]` weights.
    pub fn weight(&self) -> &Var {
        &self.weight
    }

    /// `[out]` biases.
    pub fn bias(&self) -> &Var {
        &self.bias
    }

    /// The fused activation.
    pub fn activation(&self) -> Option<Activation> {
        self.activation
    }

    /// `[B, in]` → `[B, out]` with the weight and bias gradients deferred to `tape`
    /// ([`crate::ops::linear_taped`]): a layer applied at every step of an unroll.
    pub fn forward_taped(&self, x: &Tensor, tape: Option<&WeightGradTape>) -> Result<Tensor> {
        linear_taped(
            x,
            self.weight.as_tensor(),
            self.bias.as_tensor(),
            self.activation,
            tape,
        )
    }

    /// `[B, in]` → `[B, out]` with the parameters held constant: gradients reach `x` only
    /// (a critic inside an actor's loss, a target network), which skips the weight
    /// gradients' matmuls in the backward pass.
    pub fn forward_frozen(&self, x: &Tensor) -> Result<Tensor> {
        linear(
            x,
            &self.weight.as_tensor().detach(),
            &self.bias.as_tensor().detach(),
            self.activation,
        )
    }

    /// A copy with its own parameters.
    pub fn deep_clone(&self) -> Result<Self> {
        Ok(Self {
            weight: Var::from_tensor(&self.weight.as_tensor().copy()?)?,
            bias: Var::from_tensor(&self.bias.as_tensor().copy()?)?,
            activation: self.activation,
        })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        linear(
            x,
            self.weight.as_tensor(),
            self.bias.as_tensor(),
            self.activation,
        )
    }
}

impl Parameters for Linear {
    fn named_vars(&self) -> Vec<(String, Var)> {
        named(&[("weight", &self.weight), ("bias", &self.bias)])
    }
}

/// A `rows × cols` row-major matrix with orthonormal columns (rows ≥ cols) or rows (rows <
/// cols): Gram–Schmidt on a Gaussian matrix, which is Haar-distributed like PyTorch's QR.
pub(crate) fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
    let (tall, short) = (rows.max(cols), rows.min(cols));
    // `short` orthonormal vectors of length `tall`.
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(short);
    while basis.len() < short {
        let mut v: Vec<f64> = (0..tall).map(|_| rng.normal()).collect();
        for u in &basis {
            let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
            for (a, b) in v.iter_mut().zip(u) {
                *a -= dot * b;
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-6 {
            basis.push(v.into_iter().map(|a| a / norm).collect());
        }
    }
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[r * cols + c] = if rows >= cols {
                basis[c][r]
            } else {
                basis[r][c]
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_columns_are_orthonormal() {
        let mut rng = Rng::seed_from_u64(1);
        for (rows, cols) in [(8, 3), (3, 8), (5, 5)] {
            let m = orthogonal(rows, cols, &mut rng);
            // W·Wᵀ = I (rows < cols) or WᵀW = I (rows ≥ cols).
            let tall = rows >= cols;
            let n = rows.min(cols);
            // Entry k of orthonormal vector i: column i when tall, row i otherwise.
            let at = |k: usize, i: usize| {
                if tall {
                    m[k * cols + i]
                } else {
                    m[i * cols + k]
                }
            };
            let inner = rows.max(cols);
            for i in 0..n {
                for j in 0..n {
                    let dot: f64 = (0..inner).map(|k| at(k, i) * at(k, j)).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-9, "{rows}x{cols} ({i},{j}) {dot}");
                }
            }
        }
    }

    #[test]
    fn linear_and_mlp_gradients_match_finite_differences() {
        use crate::gradcheck::{check_gradients, var};
        let mut rng = Rng::seed_from_u64(5);
        let x = var(6, &[4, 3], 1.0);
        for activation in [Activation::Tanh, Activation::Silu] {
            let mlp = crate::MlpConfig {
                sizes: vec![3, 8, 2],
                activation,
                init: Init::Torch,
            }
            .init(&mut rng, &Device::Cpu)
            .unwrap();
            let vars = mlp.vars();
            let mut all: Vec<&Var> = vars.iter().collect();
            all.push(&x);
            check_gradients(&format!("mlp {activation:?}"), &all, 10, || {
                mlp.forward(x.as_tensor())
            });
        }
    }

    #[test]
    fn linear_round_trips_through_named_tensors_and_refuses_other_shapes() {
        let mut rng = Rng::seed_from_u64(2);
        let config = LinearConfig {
            inputs: 3,
            outputs: 2,
            activation: Some(Activation::Tanh),
        };
        let a = config.init(&mut rng, &Device::Cpu).unwrap();
        let b = config.init(&mut rng, &Device::Cpu).unwrap();
        b.load_named("l", &a.named_tensors("l")).unwrap();
        let x = Tensor::new(&[[0.5f32, -1.0, 2.0]], &Device::Cpu).unwrap();
        let (ya, yb) = (a.forward(&x).unwrap(), b.forward(&x).unwrap());
        assert_eq!(ya.to_vec2::<f32>().unwrap(), yb.to_vec2::<f32>().unwrap());
        let wide = LinearConfig {
            inputs: 4,
            ..config
        }
        .init(&mut rng, &Device::Cpu)
        .unwrap();
        let err = wide.load_named("l", &a.named_tensors("l")).unwrap_err();
        assert!(err.to_string().contains("shape"), "{err}");
    }
}
