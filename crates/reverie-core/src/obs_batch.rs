//! [`ObsBatch`]: the observations of N envs at one step, stored by kind so that images stay
//! bytes (`[N, H, W, C]` u8, converted to f32 only inside a network) and discrete states
//! stay integers.

use crate::space::{Dtype, Observation, Space};

/// N envs' observations, row-major.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ObsBatch {
    /// One discrete state per env.
    Discrete(Vec<i64>),
    /// `[N, dim]` floats.
    F32 {
        /// The rows, concatenated.
        data: Vec<f32>,
        /// Values per row.
        dim: usize,
    },
    /// `[N, dim]` bytes (an image row is `H × W × C`).
    U8 {
        /// The rows, concatenated.
        data: Vec<u8>,
        /// Values per row.
        dim: usize,
    },
}

impl ObsBatch {
    /// `n` zero observations of `space`'s kind.
    pub fn zeros(space: &Space, n: usize) -> Self {
        match space {
            Space::Discrete { start, .. } => ObsBatch::Discrete(vec![*start; n]),
            Space::Box(b) if b.dtype == Dtype::U8 => ObsBatch::U8 {
                data: vec![0; n * b.dim()],
                dim: b.dim(),
            },
            Space::Box(b) => ObsBatch::F32 {
                data: vec![0.0; n * b.dim()],
                dim: b.dim(),
            },
        }
    }

    /// A float batch of rows of `dim` values.
    pub fn from_f32(data: Vec<f32>, dim: usize) -> Self {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "{} values do not make rows of {dim}",
            data.len()
        );
        ObsBatch::F32 { data, dim }
    }

    /// A batch of one observation.
    pub fn single(obs: &Observation) -> Self {
        match obs {
            Observation::Discrete(s) => ObsBatch::Discrete(vec![*s]),
            Observation::Vector(v) => ObsBatch::F32 {
                data: v.clone(),
                dim: v.len(),
            },
            Observation::Bytes(v) => ObsBatch::U8 {
                data: v.clone(),
                dim: v.len(),
            },
        }
    }

    /// Number of envs.
    pub fn len(&self) -> usize {
        match self {
            ObsBatch::Discrete(v) => v.len(),
            ObsBatch::F32 { data, dim } => data.len() / dim,
            ObsBatch::U8 { data, dim } => data.len() / dim,
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per row (1 for discrete states).
    pub fn dim(&self) -> usize {
        match self {
            ObsBatch::Discrete(_) => 1,
            ObsBatch::F32 { dim, .. } | ObsBatch::U8 { dim, .. } => *dim,
        }
    }

    /// Env `i`'s observation.
    pub fn get(&self, i: usize) -> Observation {
        match self {
            ObsBatch::Discrete(v) => Observation::Discrete(v[i]),
            ObsBatch::F32 { data, dim } => {
                Observation::Vector(data[i * dim..(i + 1) * dim].to_vec())
            }
            ObsBatch::U8 { data, dim } => Observation::Bytes(data[i * dim..(i + 1) * dim].to_vec()),
        }
    }

    /// The float rows, for agents built for vector observations (they check the space when
    /// built, so another kind here is a bug: it panics saying so).
    pub fn f32_rows(&self) -> &[f32] {
        match self {
            ObsBatch::F32 { data, .. } => data,
            other => panic!(
                "this agent needs float32 vector observations, got a batch of {}",
                other.kind()
            ),
        }
    }

    /// The bytes, for a `uint8` batch.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            ObsBatch::U8 { data, .. } => Some(data),
            _ => None,
        }
    }

    /// Appends every row as f32 values to `out` (discrete states as numbers, bytes 0–255).
    pub fn extend_f32(&self, out: &mut Vec<f32>) {
        match self {
            ObsBatch::Discrete(v) => out.extend(v.iter().map(|&s| s as f32)),
            ObsBatch::F32 { data, .. } => out.extend_from_slice(data),
            ObsBatch::U8 { data, .. } => out.extend(data.iter().map(|&b| f32::from(b))),
        }
    }

    /// Overwrites row `i` with row `j` of `other` (same kind and width).
    pub fn copy_row(&mut self, i: usize, other: &ObsBatch, j: usize) {
        match (self, other) {
            (ObsBatch::Discrete(a), ObsBatch::Discrete(b)) => a[i] = b[j],
            (ObsBatch::F32 { data: a, dim }, ObsBatch::F32 { data: b, .. }) => {
                let d = *dim;
                a[i * d..(i + 1) * d].copy_from_slice(&b[j * d..(j + 1) * d]);
            }
            (ObsBatch::U8 { data: a, dim }, ObsBatch::U8 { data: b, .. }) => {
                let d = *dim;
                a[i * d..(i + 1) * d].copy_from_slice(&b[j * d..(j + 1) * d]);
            }
            (a, b) => panic!("cannot copy a {} row into a {} batch", b.kind(), a.kind()),
        }
    }

    /// Appends row `j` of `other` (same kind and width) as a new last row.
    pub fn push_row(&mut self, other: &ObsBatch, j: usize) {
        match (self, other) {
            (ObsBatch::Discrete(a), ObsBatch::Discrete(b)) => a.push(b[j]),
            (ObsBatch::F32 { data: a, dim }, ObsBatch::F32 { data: b, .. }) => {
                a.extend_from_slice(&b[j * *dim..(j + 1) * *dim]);
            }
            (ObsBatch::U8 { data: a, dim }, ObsBatch::U8 { data: b, .. }) => {
                a.extend_from_slice(&b[j * *dim..(j + 1) * *dim]);
            }
            (a, b) => panic!("cannot push a {} row onto a {} batch", b.kind(), a.kind()),
        }
    }

    /// An empty batch of this batch's kind and width.
    pub fn empty_like(&self) -> ObsBatch {
        match self {
            ObsBatch::Discrete(_) => ObsBatch::Discrete(Vec::new()),
            ObsBatch::F32 { dim, .. } => ObsBatch::F32 {
                data: Vec::new(),
                dim: *dim,
            },
            ObsBatch::U8 { dim, .. } => ObsBatch::U8 {
                data: Vec::new(),
                dim: *dim,
            },
        }
    }

    /// Whether every value is finite (only float batches can fail).
    pub fn is_finite(&self) -> bool {
        match self {
            ObsBatch::F32 { data, .. } => data.iter().all(|x| x.is_finite()),
            _ => true,
        }
    }

    /// `discrete`, `float32` or `uint8`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            ObsBatch::Discrete(_) => "discrete states",
            ObsBatch::F32 { .. } => "float32 rows",
            ObsBatch::U8 { .. } => "uint8 rows",
        }
    }

    /// Row `i` as writable f32 values (float batches only).
    #[inline]
    pub(crate) fn f32_row_mut(&mut self, i: usize) -> &mut [f32] {
        match self {
            ObsBatch::F32 { data, dim } => &mut data[i * *dim..(i + 1) * *dim],
            other => wrong_kind(other.kind()),
        }
    }
}

#[cold]
#[inline(never)]
fn wrong_kind(kind: &str) -> ! {
    panic!("float32 observation written into a batch of {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_keep_each_kind_and_copy_rows() {
        let image = Space::Box(crate::space::BoxSpace::image(2, 2, 3));
        let mut bytes = ObsBatch::zeros(&image, 3);
        assert_eq!((bytes.len(), bytes.dim()), (3, 12));
        assert_eq!(bytes.as_bytes().unwrap().len(), 36, "one byte a value");
        let one = ObsBatch::single(&Observation::Bytes(vec![7; 12]));
        bytes.copy_row(1, &one, 0);
        assert_eq!(bytes.get(1), Observation::Bytes(vec![7; 12]));
        assert_eq!(bytes.get(0), Observation::Bytes(vec![0; 12]));
        let mut f = Vec::new();
        bytes.extend_f32(&mut f);
        assert_eq!(f[12], 7.0);

        let mut states = ObsBatch::zeros(&Space::discrete(5), 2);
        states.copy_row(0, &ObsBatch::single(&Observation::Discrete(4)), 0);
        assert_eq!(states.get(0), Observation::Discrete(4));
        let floats = ObsBatch::from_f32(vec![1.0, 2.0, f32::NAN, 4.0], 2);
        assert_eq!(floats.get(0), Observation::Vector(vec![1.0, 2.0]));
        assert!(!floats.is_finite());

        let mut grown = bytes.empty_like();
        assert!(grown.is_empty());
        grown.push_row(&bytes, 1);
        grown.push_row(&bytes, 0);
        assert_eq!(
            (grown.len(), grown.get(0)),
            (2, Observation::Bytes(vec![7; 12]))
        );
        let mut rows = floats.empty_like();
        rows.push_row(&floats, 0);
        assert_eq!(rows, ObsBatch::from_f32(vec![1.0, 2.0], 2));
    }
}
