//! Spaces (Gymnasium's `Discrete` and `Box`) and the dynamic observation / action values.

use crate::error::EnvError;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// A dynamically typed observation, as returned by [`crate::DynEnv`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Observation {
    /// An element of a `Discrete` space (Gymnasium's int64).
    Discrete(i64),
    /// A flattened element of a `Box` space (Gymnasium's float32 array).
    Vector(Vec<f32>),
    /// A flattened element of a `uint8` `Box` space, e.g. an `[H, W, C]` image: one byte a
    /// value, converted to f32 only inside a network.
    Bytes(Vec<u8>),
}

impl Observation {
    /// The discrete value, or `None` for a vector observation.
    pub fn as_discrete(&self) -> Option<i64> {
        match self {
            Observation::Discrete(v) => Some(*v),
            _ => None,
        }
    }

    /// The vector values, or `None` for a discrete or byte observation.
    pub fn as_vector(&self) -> Option<&[f32]> {
        match self {
            Observation::Vector(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes of a `uint8` observation, or `None` for other kinds.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Observation::Bytes(v) => Some(v),
            _ => None,
        }
    }

    /// Number of scalars when flattened (1 for a discrete observation).
    pub fn flat_len(&self) -> usize {
        match self {
            Observation::Discrete(_) => 1,
            Observation::Vector(v) => v.len(),
            Observation::Bytes(v) => v.len(),
        }
    }

    /// Writes the observation as f32 values into `out` (`out.len() == self.flat_len()`):
    /// a discrete value as its number, bytes as 0–255.
    pub fn write_f32(&self, out: &mut [f32]) {
        match self {
            Observation::Discrete(v) => out[0] = *v as f32,
            Observation::Vector(v) => out.copy_from_slice(v),
            Observation::Bytes(v) => {
                for (o, &b) in out.iter_mut().zip(v) {
                    *o = f32::from(b);
                }
            }
        }
    }

    /// Whether every value is finite (discrete and byte observations always are).
    pub fn is_finite(&self) -> bool {
        match self {
            Observation::Vector(v) => v.iter().all(|x| x.is_finite()),
            Observation::Discrete(_) | Observation::Bytes(_) => true,
        }
    }
}

/// A dynamically typed action, as accepted by [`crate::DynEnv`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// An element of a `Discrete` space.
    Discrete(i64),
    /// A flattened element of a `Box` space.
    Vector(Vec<f32>),
}

impl Action {
    /// The discrete value, or `None` for a vector action.
    pub fn as_discrete(&self) -> Option<i64> {
        match self {
            Action::Discrete(v) => Some(*v),
            Action::Vector(_) => None,
        }
    }

    /// The vector values, or `None` for a discrete action.
    pub fn as_vector(&self) -> Option<&[f32]> {
        match self {
            Action::Discrete(_) => None,
            Action::Vector(v) => Some(v),
        }
    }
}

/// The element type of a [`BoxSpace`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 32-bit floats (Gymnasium's default `float32`).
    #[default]
    F32,
    /// Bytes (`uint8`): images and binary channels, stored one byte a value.
    U8,
}

impl Dtype {
    /// NumPy's name, e.g. `float32`.
    pub fn numpy_name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::U8 => "uint8",
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::U8 => 1,
        }
    }
}

/// A box `[low, high]` of a given shape and dtype (Gymnasium's `Box`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoxSpace {
    /// Lower bounds, flattened (may be `-inf`).
    pub low: Vec<f32>,
    /// Upper bounds, flattened (may be `+inf`).
    pub high: Vec<f32>,
    /// Shape; the product of its entries equals `low.len()`; images are `[H, W, C]`.
    pub shape: Vec<usize>,
    /// Element type: observations of a `U8` box are [`Observation::Bytes`].
    #[serde(default)]
    pub dtype: Dtype,
}

impl BoxSpace {
    /// A box of shape `[low.len()]`. Panics if the bounds differ in length or `low > high`.
    pub fn new(low: Vec<f32>, high: Vec<f32>) -> Self {
        assert_eq!(low.len(), high.len(), "Box bounds must have equal lengths");
        assert!(
            low.iter().zip(&high).all(|(l, h)| l <= h),
            "Box needs low <= high"
        );
        let shape = vec![low.len()];
        Self {
            low,
            high,
            shape,
            dtype: Dtype::F32,
        }
    }

    /// A `uint8` image box `[0, 255]` of shape `[height, width, channels]`.
    pub fn image(height: usize, width: usize, channels: usize) -> Self {
        let n = height * width * channels;
        Self {
            low: vec![0.0; n],
            high: vec![255.0; n],
            shape: vec![height, width, channels],
            dtype: Dtype::U8,
        }
    }

    /// A box with the same bounds on every one of `dim` dimensions.
    pub fn uniform(low: f32, high: f32, dim: usize) -> Self {
        Self::new(vec![low; dim], vec![high; dim])
    }

    /// Number of scalars in an element.
    pub fn dim(&self) -> usize {
        self.low.len()
    }
}

/// A Gymnasium space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Space {
    /// Integers `start .. start + n` (Gymnasium's `Discrete(n, start)`), dtype int64.
    Discrete {
        /// Number of elements.
        n: u64,
        /// Smallest element.
        start: i64,
    },
    /// A float32 box.
    Box(BoxSpace),
}

impl Space {
    /// `Discrete(n)` starting at 0.
    pub fn discrete(n: u64) -> Self {
        Space::Discrete { n, start: 0 }
    }

    /// A one-dimensional float32 box.
    pub fn boxed(low: Vec<f32>, high: Vec<f32>) -> Self {
        Space::Box(BoxSpace::new(low, high))
    }

    /// Number of elements of a discrete space, `None` for a box.
    pub fn n(&self) -> Option<u64> {
        match self {
            Space::Discrete { n, .. } => Some(*n),
            Space::Box(_) => None,
        }
    }

    /// The box, `None` for a discrete space.
    pub fn as_box(&self) -> Option<&BoxSpace> {
        match self {
            Space::Box(b) => Some(b),
            Space::Discrete { .. } => None,
        }
    }

    /// Length of an element when written as a flat f32 vector (1 for discrete spaces).
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Discrete { .. } => 1,
            Space::Box(b) => b.dim(),
        }
    }

    /// A short Gymnasium-like description, e.g. `Discrete(2)` or `Box(-2.0, 2.0, (1,), float32)`.
    pub fn describe(&self) -> String {
        match self {
            Space::Discrete { n, start: 0 } => format!("Discrete({n})"),
            Space::Discrete { n, start } => format!("Discrete({n}, start={start})"),
            Space::Box(b) => {
                let dims: Vec<String> = b.shape.iter().map(|s| s.to_string()).collect();
                // Python's tuple syntax: `(4,)` but `(64, 64, 3)`.
                let shape = match dims.len() {
                    1 => format!("({},)", dims[0]),
                    _ => format!("({})", dims.join(", ")),
                };
                let dtype = b.dtype.numpy_name();
                let same = |v: &[f32]| v.iter().all(|x| x.to_bits() == v[0].to_bits());
                if !b.low.is_empty() && same(&b.low) && same(&b.high) {
                    format!("Box({}, {}, {shape}, {dtype})", b.low[0], b.high[0])
                } else {
                    format!("Box({shape}, {dtype})")
                }
            }
        }
    }

    /// A random element, drawn like Gymnasium: uniform on bounded boxes, exponential on
    /// half-bounded dimensions, standard normal on unbounded ones.
    pub fn sample(&self, rng: &mut Rng) -> Action {
        match self {
            Space::Discrete { n, start } => Action::Discrete(start + rng.below(*n) as i64),
            Space::Box(b) => Action::Vector(
                b.low
                    .iter()
                    .zip(&b.high)
                    .map(|(&low, &high)| sample_interval(low, high, rng))
                    .collect(),
            ),
        }
    }

    /// A random element among those `mask` allows (Gymnasium's `Discrete.sample(mask)`,
    /// with the mask of [`crate::Info::action_mask`]): uniform over the actions `start + i`
    /// with `mask[i] != 0`. Without a mask, for a box, or when the mask allows nothing (a
    /// finished game) it is [`Space::sample`], drawing the same numbers.
    pub fn sample_masked(&self, mask: Option<&[i64]>, rng: &mut Rng) -> Action {
        match (self, mask) {
            (Space::Discrete { n, start }, Some(mask)) => {
                let allowed: Vec<i64> = (0..*n as usize)
                    .filter(|&i| mask.get(i).is_some_and(|&m| m != 0))
                    .map(|i| start + i as i64)
                    .collect();
                if allowed.is_empty() {
                    self.sample(rng)
                } else {
                    Action::Discrete(allowed[rng.index(allowed.len())])
                }
            }
            _ => self.sample(rng),
        }
    }

    /// Whether `action` is an element of this space.
    pub fn contains_action(&self, action: &Action) -> bool {
        self.check_action(action).is_ok()
    }

    /// `Ok` if `action` is an element of this space, else an error saying why not.
    pub fn check_action(&self, action: &Action) -> Result<(), EnvError> {
        match (self, action) {
            (Space::Discrete { n, start }, Action::Discrete(a)) => check_discrete(*a, *n, *start),
            (Space::Box(b), Action::Vector(v)) => {
                check_vector(v, b.dim())?;
                for (i, ((x, l), h)) in v.iter().zip(&b.low).zip(&b.high).enumerate() {
                    if x < l || x > h {
                        return Err(EnvError::invalid_action(
                            v,
                            format!("component {i} = {x} is outside [{l}, {h}]"),
                        ));
                    }
                }
                Ok(())
            }
            (space, action) => Err(EnvError::invalid_action(
                action,
                format!("expected an element of {}", space.describe()),
            )),
        }
    }

    /// Whether `obs` is an element of this space (finite vector values inside the bounds).
    pub fn contains_obs(&self, obs: &Observation) -> bool {
        match (self, obs) {
            (Space::Discrete { n, start }, Observation::Discrete(v)) => {
                *v >= *start && *v < start + *n as i64
            }
            (Space::Box(b), Observation::Bytes(v)) => {
                b.dtype == Dtype::U8
                    && v.len() == b.dim()
                    && v.iter()
                        .zip(&b.low)
                        .zip(&b.high)
                        .all(|((&x, l), h)| f32::from(x) >= *l && f32::from(x) <= *h)
            }
            (Space::Box(b), Observation::Vector(v)) => {
                b.dtype == Dtype::F32
                    && v.len() == b.dim()
                    && v.iter()
                        .zip(&b.low)
                        .zip(&b.high)
                        .all(|((x, l), h)| !x.is_nan() && x >= l && x <= h)
            }
            _ => false,
        }
    }
}

/// Gymnasium's per-dimension Box sampling rule.
fn sample_interval(low: f32, high: f32, rng: &mut Rng) -> f32 {
    match (low.is_finite(), high.is_finite()) {
        (true, true) => {
            let x = rng.uniform_range(low as f64, high as f64) as f32;
            x.clamp(low, high)
        }
        (true, false) => (low as f64 + rng.exponential()) as f32,
        (false, true) => (high as f64 - rng.exponential()) as f32,
        (false, false) => rng.normal() as f32,
    }
}

/// Checks a discrete action `a` against `Discrete(n, start)`.
#[inline]
pub fn check_discrete(a: i64, n: u64, start: i64) -> Result<(), EnvError> {
    if a >= start && a < start + n as i64 {
        Ok(())
    } else {
        Err(EnvError::invalid_action(
            a,
            format!(
                "out of range: expected an integer in {start}..{} (Discrete({n}))",
                start + n as i64
            ),
        ))
    }
}

/// Checks a vector action's length and that every component is finite. Bounds are not
/// checked here: as in Gymnasium, the environment decides what an out-of-bounds action does
/// (Pendulum clips it, MountainCarContinuous clips the force but charges the raw action).
#[inline]
pub fn check_vector(v: &[f32], dim: usize) -> Result<(), EnvError> {
    if v.len() != dim {
        return Err(EnvError::invalid_action(
            v,
            format!("wrong shape: expected {dim} values, got {}", v.len()),
        ));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(EnvError::invalid_action(
            v,
            format!("component {i} is {} (NaN or infinite)", v[i]),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
