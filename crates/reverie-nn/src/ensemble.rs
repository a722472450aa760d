//! Ensembles of MLPs with their members' weights stacked: `[E, in, out]` per layer.
//!
//! # Shapes
//! - input `[E, B, in]` (each member sees its own batch) → output `[E, B, out]`
//! - [`EnsembleMlp::forward_member`]: `[B, in]` → `[B, out]` for one member.
//!
//! Two execution strategies give identical results: one batched matmul per layer over all
//! members ([`Execution::Batched`]) or a loop over members ([`Execution::PerMember`]); which
//! is faster depends on sizes and backend, so it is a setting (see BENCHMARKS.md).

use candle_core::{Device, IndexOp, Tensor, Var};
use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::module::Parameters;
use crate::Result;

/// Hidden-layer nonlinearity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// x · sigmoid(x) (PETS / MBPO default).
    #[default]
    Silu,
    /// max(0, x).
    Relu,
    /// tanh(x).
    Tanh,
}

impl Activation {
    /// Applies the nonlinearity.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Silu => candle_nn::ops::silu(x),
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// How an ensemble runs its members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Execution {
    /// One `[E, B, in] × [E, in, out]` matmul per layer.
    #[default]
    Batched,
    /// A loop over members, `[B, in] × [in, out]` each, stacked at the end.
    PerMember,
}

/// E linear layers stored together.
#[derive(Clone, Debug)]
pub struct EnsembleLinear {
    weight: Var,
    bias: Var,
}

impl EnsembleLinear {
    /// PyTorch's default `Linear` initialisation per member: weights and biases uniform in
    /// `±1/√in`, drawn from `rng`.
    pub fn new(
        members: usize,
        inputs: usize,
        outputs: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        let bound = 1.0 / (inputs as f64).sqrt();
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| rng.uniform_range(-bound, bound) as f32)
                .collect()
        };
        let weight = Tensor::from_vec(
            draw(members * inputs * outputs),
            (members, inputs, outputs),
            device,
        )?;
        let bias = Tensor::from_vec(draw(members * outputs), (members, 1, outputs), device)?;
        Ok(Self {
            weight: Var::from_tensor(&weight)?,
            bias: Var::from_tensor(&bias)?,
        })
    }

    /// `[E, B, in]` → `[E, B, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, None)
    }

    /// `act(x · W + b)` per member, as one fused op: `[E, B, in]` → `[E, B, out]`.
    pub fn forward_act(&self, x: &Tensor, act: Option<Activation>) -> Result<Tensor> {
        crate::ops::ensemble_linear(x, self.weight.as_tensor(), self.bias.as_tensor(), act)
    }

    /// Member `e`: `[B, in]` → `[B, out]`.
    pub fn forward_member(&self, e: usize, x: &Tensor) -> Result<Tensor> {
        self.forward_member_act(e, x, None)
    }

    /// Member `e` with a fused activation: `[B, in]` → `[B, out]`.
    pub fn forward_member_act(
        &self,
        e: usize,
        x: &Tensor,
        act: Option<Activation>,
    ) -> Result<Tensor> {
        let bias = self.bias.as_tensor().i(e)?.squeeze(0)?;
        crate::ops::linear(x, &self.weight.as_tensor().i(e)?, &bias, act)
    }

    /// `[E, in, out]` weights.
    pub fn weight(&self) -> &Var {
        &self.weight
    }

    /// `[E, 1, out]` biases.
    pub fn bias(&self) -> &Var {
        &self.bias
    }
}

/// E MLPs of the same shape: `in → hidden… → out`, activation between layers, none after the
/// last.
#[derive(Clone, Debug)]
pub struct EnsembleMlp {
    layers: Vec<EnsembleLinear>,
    activation: Activation,
    members: usize,
    execution: Execution,
}

impl EnsembleMlp {
    /// Builds `members` MLPs with layer sizes `sizes` (`[in, h1, …, out]`).
    pub fn new(
        members: usize,
        sizes: &[usize],
        activation: Activation,
        execution: Execution,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        assert!(
            sizes.len() >= 2 && members >= 1,
            "an MLP needs input and output sizes and one member"
        );
        let layers = sizes
            .windows(2)
            .map(|w| EnsembleLinear::new(members, w[0], w[1], rng, device))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            layers,
            activation,
            members,
            execution,
        })
    }

    /// Number of members.
    pub fn members(&self) -> usize {
        self.members
    }

    /// The layers.
    pub fn layers(&self) -> &[EnsembleLinear] {
        &self.layers
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Chooses batched or per-member execution.
    pub fn set_execution(&mut self, execution: Execution) {
        self.execution = execution;
    }

    /// `[E, B, in]` → `[E, B, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.execution {
            Execution::Batched => {
                let mut h = x.clone();
                let last = self.layers.len() - 1;
                for (i, layer) in self.layers.iter().enumerate() {
                    h = layer.forward_act(&h, (i < last).then_some(self.activation))?;
                }
                Ok(h)
            }
            Execution::PerMember => {
                let outputs = (0..self.members)
                    .map(|e| self.forward_member(e, &x.i(e)?))
                    .collect::<Result<Vec<_>>>()?;
                Tensor::stack(&outputs, 0)
            }
        }
    }

    /// Member `e`: `[B, in]` → `[B, out]`.
    pub fn forward_member(&self, e: usize, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward_member_act(e, &h, (i < last).then_some(self.activation))?;
        }
        Ok(h)
    }
}

impl Parameters for EnsembleMlp {
    /// `layers.{i}.weight` (`[E, in, out]`) and `layers.{i}.bias` (`[E, 1, out]`).
    fn named_vars(&self) -> Vec<(String, Var)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                [
                    (format!("layers.{i}.weight"), l.weight.clone()),
                    (format!("layers.{i}.bias"), l.bias.clone()),
                ]
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;

    #[test]
    fn batched_and_per_member_agree() {
        let mut rng = Rng::seed_from_u64(0);
        let mut mlp = EnsembleMlp::new(
            3,
            &[4, 8, 8, 2],
            Activation::Silu,
            Execution::Batched,
            &mut rng,
            &Device::Cpu,
        )
        .unwrap();
        let data: Vec<f32> = (0..3 * 5 * 4).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = Tensor::from_vec(data, (3, 5, 4), &Device::Cpu).unwrap();
        let a = mlp
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        mlp.set_execution(Execution::PerMember);
        let b = mlp
            .forward(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn members_differ_and_gradients_reach_every_layer() {
        let mut rng = Rng::seed_from_u64(1);
        let mlp = EnsembleMlp::new(
            2,
            &[3, 4, 1],
            Activation::Relu,
            Execution::Batched,
            &mut rng,
            &Device::Cpu,
        )
        .unwrap();
        let x = Tensor::ones((2, 6, 3), DType::F32, &Device::Cpu).unwrap();
        let y = mlp.forward(&x).unwrap();
        let out = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_ne!(out[0], out[6], "members share weights");
        let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for v in mlp.vars() {
            assert!(grads.get(&v).is_some());
        }
    }
}
