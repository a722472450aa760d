//! [`Mlp`]: one trainable multilayer perceptron (policies, value functions, Q-networks),
//! built from the fused [`crate::ops::linear`] layers, with a [`FastMlp`] snapshot for acting.

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::ensemble::Activation;
use crate::fast::FastMlp;
use crate::ops::{linear, polyak_update};
use crate::Result;

/// How weights are initialised.
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

/// `in → hidden… → out`, `activation` between layers, none after the last.
#[derive(Clone, Debug)]
pub struct Mlp {
    layers: Vec<(Var, Var)>,
    activation: Activation,
}

impl Mlp {
    /// A network with layer sizes `sizes` (`[in, h1, …, out]`).
    pub fn new(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        assert!(sizes.len() >= 2, "an MLP needs input and output sizes");
        let last = sizes.len() - 2;
        let mut layers = Vec::with_capacity(sizes.len() - 1);
        for (i, pair) in sizes.windows(2).enumerate() {
            let (inputs, outputs) = (pair[0], pair[1]);
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
                Init::Orthogonal {
                    hidden_gain,
                    output_gain,
                } => {
                    let gain = if i == last { output_gain } else { hidden_gain };
                    let w = orthogonal(inputs, outputs, rng)
                        .into_iter()
                        .map(|v| (v * gain) as f32)
                        .collect();
                    (w, vec![0.0; outputs])
                }
            };
            layers.push((
                Var::from_tensor(&Tensor::from_vec(w, (inputs, outputs), device)?)?,
                Var::from_tensor(&Tensor::from_vec(b, outputs, device)?)?,
            ));
        }
        Ok(Self { layers, activation })
    }

    /// `[B, in]` → `[B, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let act = (i < last).then_some(self.activation);
            h = linear(&h, w.as_tensor(), b.as_tensor(), act)?;
        }
        Ok(h)
    }

    /// `[B, in]` → `[B, out]` with the parameters held constant: gradients flow to `x`
    /// only (a critic inside an actor's loss, a target network), which skips the weight
    /// gradients' matmuls in the backward pass.
    pub fn forward_frozen(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let act = (i < last).then_some(self.activation);
            h = linear(&h, &w.as_tensor().detach(), &b.as_tensor().detach(), act)?;
        }
        Ok(h)
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        self.layers[0].0.dims()[0]
    }

    /// Output width.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].1.dims()[0]
    }

    /// The trainable variables, weight then bias per layer.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    /// An allocation-free single-row copy for acting.
    pub fn fast(&self) -> Result<FastMlp> {
        let layers = self
            .layers
            .iter()
            .map(|(w, b)| {
                let (inputs, outputs) = w.dims2()?;
                Ok((
                    inputs,
                    outputs,
                    w.as_tensor().flatten_all()?.to_vec1::<f32>()?,
                    b.as_tensor().to_vec1::<f32>()?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FastMlp::from_layers(layers, self.activation))
    }

    /// A copy with its own parameters (a target network).
    pub fn deep_clone(&self) -> Result<Self> {
        let layers = self
            .layers
            .iter()
            .map(|(w, b)| {
                Ok((
                    Var::from_tensor(&w.as_tensor().copy()?)?,
                    Var::from_tensor(&b.as_tensor().copy()?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            layers,
            activation: self.activation,
        })
    }

    /// `self ← (1 − tau)·self + tau·source` (Polyak averaging; `tau = 1` is a hard copy).
    pub fn soft_update_from(&self, source: &Mlp, tau: f64) -> Result<()> {
        for ((w, b), (sw, sb)) in self.layers.iter().zip(&source.layers) {
            polyak_update(w, sw.as_tensor(), tau)?;
            polyak_update(b, sb.as_tensor(), tau)?;
        }
        Ok(())
    }

    /// Parameters by name (`{prefix}.{layer}.weight` / `.bias`), for checkpoints.
    pub fn named_tensors(&self, prefix: &str) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            out.insert(format!("{prefix}.{i}.weight"), w.as_tensor().clone());
            out.insert(format!("{prefix}.{i}.bias"), b.as_tensor().clone());
        }
        out
    }

    /// Overwrites the parameters from [`Mlp::named_tensors`] output; refuses missing names
    /// or other shapes.
    pub fn load_named(&self, prefix: &str, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for (i, (w, b)) in self.layers.iter().enumerate() {
            for (name, var) in [("weight", w), ("bias", b)] {
                let key = format!("{prefix}.{i}.{name}");
                let Some(t) = tensors.get(&key) else {
                    candle_core::bail!("missing parameter {key}");
                };
                if t.dims() != var.dims() {
                    candle_core::bail!("{key} has shape {:?}, expected {:?}", t.dims(), var.dims());
                }
                var.set(&t.to_device(var.device())?)?;
            }
        }
        Ok(())
    }
}

/// A `rows × cols` row-major matrix with orthonormal columns (rows ≥ cols) or rows (rows <
/// cols): Gram–Schmidt on a Gaussian matrix, which is Haar-distributed like PyTorch's QR.
fn orthogonal(rows: usize, cols: usize, rng: &mut Rng) -> Vec<f64> {
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
    fn fast_copy_and_soft_update_agree_with_forward() {
        let mut rng = Rng::seed_from_u64(2);
        let dev = Device::Cpu;
        let net = Mlp::new(&[3, 16, 2], Activation::Tanh, Init::Torch, &mut rng, &dev).unwrap();
        let x = [0.5f32, -1.0, 2.0];
        let want = net
            .forward(&Tensor::from_slice(&x, (1, 3), &dev).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let mut out = [0.0f32; 2];
        net.fast().unwrap().forward(&x, &mut out);
        assert!((out[0] - want[0]).abs() < 1e-5 && (out[1] - want[1]).abs() < 1e-5);

        let other = Mlp::new(&[3, 16, 2], Activation::Tanh, Init::Torch, &mut rng, &dev).unwrap();
        let copy = net.deep_clone().unwrap();
        copy.soft_update_from(&other, 1.0).unwrap();
        let a = copy.vars()[0].as_tensor().to_vec2::<f32>().unwrap();
        let b = other.vars()[0].as_tensor().to_vec2::<f32>().unwrap();
        assert_eq!(a, b);
        // The original is untouched by updates to its clone.
        let c = net.vars()[0].as_tensor().to_vec2::<f32>().unwrap();
        assert_ne!(a, c);
    }
}
