//! Pieces the model-free agents share: spaces → network widths, running observation
//! statistics, rows → tensors, and checkpoint helpers.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use reverie_core::{Action, Dtype, Space};
use reverie_nn::Parameters;

use crate::AgentError;

/// What the policy outputs.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// `Discrete(n)` actions (starting at 0).
    Discrete(usize),
    /// Box actions within `[low, high]` per dimension.
    Continuous {
        /// Lower bounds.
        low: Vec<f32>,
        /// Upper bounds.
        high: Vec<f32>,
    },
}

/// The number of actions of a `Discrete` action space; any other space is refused with
/// `algo` named in the error.
pub fn discrete_actions(space: &Space, algo: &'static str) -> Result<usize, AgentError> {
    space
        .n()
        .map(|n| n as usize)
        .ok_or_else(|| AgentError::UnsupportedSpace {
            agent: algo,
            needs: "Discrete actions",
            found: space.describe(),
        })
}

impl ActionKind {
    /// From the env's action space; `algo` names the agent in the error.
    pub fn of(space: &Space, algo: &'static str) -> Result<Self, AgentError> {
        if let Some(n) = space.n() {
            return Ok(Self::Discrete(n as usize));
        }
        match space.as_box() {
            Some(b) if b.low.iter().chain(&b.high).all(|v| v.is_finite()) => Ok(Self::Continuous {
                low: b.low.clone(),
                high: b.high.clone(),
            }),
            _ => Err(AgentError::UnsupportedSpace {
                agent: algo,
                needs: "Discrete actions or a bounded Box",
                found: space.describe(),
            }),
        }
    }

    /// Width of one action as stored (1 for discrete).
    pub fn stored_dim(&self) -> usize {
        match self {
            Self::Discrete(_) => 1,
            Self::Continuous { low, .. } => low.len(),
        }
    }

    /// The env action from a stored row (continuous values clipped to the bounds).
    pub fn to_action(&self, row: &[f32]) -> Action {
        match self {
            Self::Discrete(_) => Action::Discrete(row[0] as i64),
            Self::Continuous { low, high } => Action::Vector(
                row.iter()
                    .zip(low.iter().zip(high))
                    .map(|(v, (l, h))| v.clamp(*l, *h))
                    .collect(),
            ),
        }
    }
}

/// Length of a flattened Box observation; other observation spaces are refused.
pub fn box_obs_dim(space: &Space, algo: &'static str) -> Result<usize, AgentError> {
    match space.as_box() {
        Some(b) if b.dtype == Dtype::F32 => Ok(b.dim()),
        Some(_) => Err(AgentError::UnsupportedSpace {
            agent: algo,
            needs: "float32 vector observations (pixel observations need a convolutional \
                    encoder, which the latent-model agents bring)",
            found: space.describe(),
        }),
        None => Err(AgentError::UnsupportedSpace {
            agent: algo,
            needs: "Box observations",
            found: space.describe(),
        }),
    }
}

/// Checks the network fields every model-free config has.
pub fn require_network(hidden: &[usize]) -> Result<(), AgentError> {
    crate::error::require(
        !hidden.is_empty() && hidden.iter().all(|h| *h > 0),
        "hidden",
        format!("{hidden:?}"),
        "one or more positive widths",
    )
}

/// A `[rows, cols]` f32 tensor from row-major data.
pub fn rows(data: &[f32], cols: usize, device: &Device) -> candle_core::Result<Tensor> {
    Tensor::from_slice(data, (data.len() / cols.max(1), cols), device)
}

/// An action on the unit scale [−1, 1] (tanh policies, Dreamer's actor) mapped to the env's
/// bounds `[low, high]`.
#[inline]
pub fn from_unit(a: f32, low: f32, high: f32) -> f32 {
    low + (a + 1.0) * 0.5 * (high - low)
}

/// An env-bounded action mapped to the unit scale (the inverse of [`from_unit`]).
#[inline]
pub fn to_unit(a: f32, low: f32, high: f32) -> f32 {
    2.0 * (a - low) / (high - low) - 1.0
}

/// Running mean and variance of observations (SB3's `VecNormalize`, parallel update of
/// Chan et al.), applied as `clip((x − μ) / √(σ² + 1e-8), ±10)`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunningMeanStd {
    mean: Vec<f64>,
    var: Vec<f64>,
    count: f64,
}

impl RunningMeanStd {
    /// Statistics for `dim`-wide rows (mean 0, variance 1, a tiny prior count).
    pub fn new(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            var: vec![1.0; dim],
            count: 1e-4,
        }
    }

    /// Folds in a batch of rows.
    pub fn update(&mut self, data: &[f32]) {
        let d = self.mean.len();
        let n = (data.len() / d) as f64;
        if n == 0.0 {
            return;
        }
        for j in 0..d {
            let col = data.iter().skip(j).step_by(d).map(|v| *v as f64);
            let mean = col.clone().sum::<f64>() / n;
            let var = col.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            let delta = mean - self.mean[j];
            let total = self.count + n;
            let m2 = self.var[j] * self.count + var * n + delta * delta * self.count * n / total;
            self.mean[j] += delta * n / total;
            self.var[j] = m2 / total;
        }
        self.count += n;
    }

    /// Normalises rows in place.
    pub fn normalize(&self, data: &mut [f32]) {
        let d = self.mean.len();
        for row in data.chunks_exact_mut(d) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.var) {
                *v = (((*v as f64 - m) / (s + 1e-8).sqrt()).clamp(-10.0, 10.0)) as f32;
            }
        }
    }

    /// Width of the rows it tracks.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }
}

/// Loads named tensors into networks (each under its prefix), mapping errors to strings
/// for `load`.
pub fn load_nets(
    tensors: &HashMap<String, Tensor>,
    nets: &[(&str, &dyn Parameters)],
) -> Result<(), String> {
    for (prefix, net) in nets {
        net.load_named(prefix, tensors).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_statistics_match_the_batch_formula() {
        let mut rms = RunningMeanStd::new(2);
        let data: Vec<f32> = (0..200)
            .map(|i| (i % 7) as f32 * if i % 2 == 0 { 1.0 } else { 3.0 })
            .collect();
        rms.update(&data[..60]);
        rms.update(&data[60..]);
        for j in 0..2 {
            let col: Vec<f64> = data.iter().skip(j).step_by(2).map(|v| *v as f64).collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64;
            assert!(
                (rms.mean[j] - mean).abs() < 1e-3,
                "{} vs {mean}",
                rms.mean[j]
            );
            assert!(
                (rms.var[j] - var).abs() / var < 1e-3,
                "{} vs {var}",
                rms.var[j]
            );
        }
    }
}
