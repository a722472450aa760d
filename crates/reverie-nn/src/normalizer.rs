//! Per-dimension standardisation fitted from data.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::Result;

/// Smallest standard deviation treated as variation; below it a dimension is constant and
/// is only centred (dividing by ~0 would turn its noise into NaN or huge values).
pub const MIN_STD: f32 = 1e-6;

/// `x ↦ (x − mean) / std` per dimension.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Per-dimension means.
    pub mean: Vec<f32>,
    /// Per-dimension standard deviations (1 for constant dimensions).
    pub std: Vec<f32>,
    /// Dimensions that were constant in the fitted data.
    #[serde(default)]
    pub constant: Vec<bool>,
}

impl Normalizer {
    /// The identity on `dim` dimensions.
    pub fn identity(dim: usize) -> Self {
        Self {
            mean: vec![0.0; dim],
            std: vec![1.0; dim],
            constant: vec![false; dim],
        }
    }

    /// Fits to `data`, row-major `[rows, dim]` (f64 accumulation).
    pub fn fit(data: &[f32], dim: usize) -> Self {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "data length must be a multiple of dim"
        );
        let rows = data.len() / dim;
        if rows == 0 {
            return Self::identity(dim);
        }
        let mut mean = vec![0.0f64; dim];
        for row in data.chunks_exact(dim) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= rows as f64);
        let mut var = vec![0.0f64; dim];
        for row in data.chunks_exact(dim) {
            for ((v, &x), m) in var.iter_mut().zip(row).zip(&mean) {
                *v += (x as f64 - m).powi(2);
            }
        }
        let raw: Vec<f32> = var
            .iter()
            .map(|v| (v / rows as f64).sqrt() as f32)
            .collect();
        let constant: Vec<bool> = raw
            .iter()
            .map(|s| !(s.is_finite() && *s >= MIN_STD))
            .collect();
        let std = raw
            .iter()
            .zip(&constant)
            .map(|(s, c)| if *c { 1.0 } else { *s })
            .collect();
        Self {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
            constant,
        }
    }

    /// Number of dimensions.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Normalises rows in place.
    pub fn normalize_in_place(&self, data: &mut [f32]) {
        for row in data.chunks_exact_mut(self.dim()) {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - m) / s;
            }
        }
    }

    /// Whether dimension `j` was constant in the fitted data.
    pub fn is_constant(&self, j: usize) -> bool {
        self.constant.get(j).copied().unwrap_or(false)
    }

    /// Undoes [`Normalizer::normalize_in_place`].
    pub fn denormalize_in_place(&self, data: &mut [f32]) {
        for row in data.chunks_exact_mut(self.dim()) {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = *x * s + m;
            }
        }
    }

    /// `(mean, std)` as `[1, dim]` tensors for broadcasting.
    pub fn tensors(&self, device: &Device) -> Result<(Tensor, Tensor)> {
        Ok((
            Tensor::from_slice(&self.mean, (1, self.dim()), device)?,
            Tensor::from_slice(&self.std, (1, self.dim()), device)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_dimensions_stay_finite() {
        let data = [1.0, 5.0, 3.0, 5.0, 5.0, 5.0];
        let n = Normalizer::fit(&data, 2);
        assert_eq!(n.std[1], 1.0);
        assert!(n.is_constant(1) && !n.is_constant(0));
        let mut copy = data;
        n.normalize_in_place(&mut copy);
        assert!(copy.iter().all(|x| x.is_finite()));
        assert_eq!(copy[1], 0.0);
        n.denormalize_in_place(&mut copy);
        for (a, b) in copy.iter().zip(&data) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn standardises_mean_and_variance() {
        let data: Vec<f32> = (0..1000)
            .map(|i| 3.0 + 2.0 * ((i as f32) * 0.1).sin())
            .collect();
        let n = Normalizer::fit(&data, 1);
        let mut copy = data.clone();
        n.normalize_in_place(&mut copy);
        let mean: f32 = copy.iter().sum::<f32>() / 1000.0;
        let var: f32 = copy.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 1000.0;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "{mean} {var}"
        );
    }
}
