//! The columnar replay buffer.
//!
//! Transitions `(obs, action, reward, next_obs, terminated, truncated)` are stored column by
//! column in a ring of fixed capacity: `obs` is one `[capacity * obs_dim]` f32 array, and so
//! on. Sampling copies rows into a [`Batch`] of the same layout, ready to become tensors.
//!
//! Besides uniform sampling it offers contiguous sequences that never cross an episode end
//! (for latent models) and bootstrap index sets (one resample per ensemble member).
//!
//! [`sequence`] holds the DreamerV3-style [`SequenceBuffer`] for latent world models:
//! observations stored once in their own dtype, one ring per env, windows that may cross
//! episode boundaries.

mod file;
pub mod sequence;
mod stored;

use crate::rng::Rng;

pub use file::BufferFileError;
pub use sequence::{ObsLayout, SequenceBatch, SequenceBuffer, SequenceBufferConfig};

/// Shape and capacity of a [`ReplayBuffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplayBufferConfig {
    /// Maximum number of transitions kept; the oldest are overwritten first.
    pub capacity: usize,
    /// Length of a flattened observation.
    pub obs_dim: usize,
    /// Length of a flattened action (1 for discrete actions, stored as f32).
    pub action_dim: usize,
}

impl ReplayBufferConfig {
    /// The bytes [`ReplayBuffer::new`] allocates for this capacity (`None` if the count
    /// overflows): two observations, the action and the reward as f32, two flags.
    pub fn bytes(&self) -> Option<u64> {
        let floats = (2 * self.obs_dim as u64)
            .checked_add(self.action_dim as u64)?
            .checked_add(1)?;
        (self.capacity as u64).checked_mul(floats.checked_mul(4)?.checked_add(2)?)
    }

    /// Refuses a capacity whose memory the machine does not have, saying how much it needs.
    pub fn check_memory(&self) -> Result<(), String> {
        crate::memory::check_fits(self.bytes())
            .map_err(|e| format!("a replay buffer of {} transitions {e}", self.capacity))
    }
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BufferError {
    /// A column had the wrong length.
    #[error("{column} has {got} values, the buffer expects {expected}")]
    Shape {
        /// Column name.
        column: &'static str,
        /// Values given.
        got: usize,
        /// Values expected.
        expected: usize,
    },
    /// A value was NaN or infinite; nothing was stored.
    #[error("{column} contains a NaN or infinite value; the transition was not stored")]
    NotFinite {
        /// Column name.
        column: &'static str,
    },
    /// An observation batch of another kind than the buffer stores; nothing was stored.
    #[error("{column} holds {got}, the buffer stores {expected}")]
    Kind {
        /// Column name.
        column: &'static str,
        /// Kind given.
        got: &'static str,
        /// Kind stored.
        expected: &'static str,
    },
    /// Too little data for the request.
    #[error("{0}")]
    NotEnoughData(String),
}

/// A batch of transitions, row-major per column.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Batch {
    /// `[batch * obs_dim]`
    pub obs: Vec<f32>,
    /// `[batch * action_dim]`
    pub actions: Vec<f32>,
    /// `[batch]`
    pub rewards: Vec<f32>,
    /// `[batch * obs_dim]`
    pub next_obs: Vec<f32>,
    /// `[batch]`
    pub terminated: Vec<bool>,
    /// `[batch]`
    pub truncated: Vec<bool>,
}

impl Batch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// A ring buffer of transitions stored by column.
///
/// Serialises (for checkpoints) only the rows it holds, so a checkpoint of a large, mostly
/// empty buffer stays small; it comes back with its full capacity allocated.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(try_from = "stored::Stored")]
pub struct ReplayBuffer {
    config: ReplayBufferConfig,
    len: usize,
    /// Physical index the next transition is written to.
    next: usize,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

impl ReplayBuffer {
    /// An empty buffer; memory for the full capacity is allocated up front.
    pub fn new(config: ReplayBufferConfig) -> Self {
        assert!(config.capacity > 0, "replay buffer capacity must be > 0");
        let c = config.capacity;
        Self {
            config,
            len: 0,
            next: 0,
            obs: vec![0.0; c * config.obs_dim],
            actions: vec![0.0; c * config.action_dim],
            rewards: vec![0.0; c],
            next_obs: vec![0.0; c * config.obs_dim],
            terminated: vec![false; c],
            truncated: vec![false; c],
        }
    }

    /// Shape and capacity.
    pub fn config(&self) -> ReplayBufferConfig {
        self.config
    }

    /// Number of stored transitions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores one transition, overwriting the oldest when full. Refuses wrong shapes and
    /// non-finite values without storing anything.
    pub fn push(
        &mut self,
        obs: &[f32],
        action: &[f32],
        reward: f32,
        next_obs: &[f32],
        terminated: bool,
        truncated: bool,
    ) -> Result<(), BufferError> {
        let ReplayBufferConfig {
            obs_dim,
            action_dim,
            ..
        } = self.config;
        for (column, values, expected) in [
            ("obs", obs, obs_dim),
            ("action", action, action_dim),
            ("next_obs", next_obs, obs_dim),
        ] {
            if values.len() != expected {
                return Err(BufferError::Shape {
                    column,
                    got: values.len(),
                    expected,
                });
            }
            if values.iter().any(|x| !x.is_finite()) {
                return Err(BufferError::NotFinite { column });
            }
        }
        if !reward.is_finite() {
            return Err(BufferError::NotFinite { column: "reward" });
        }
        let i = self.next;
        self.obs[i * obs_dim..(i + 1) * obs_dim].copy_from_slice(obs);
        self.actions[i * action_dim..(i + 1) * action_dim].copy_from_slice(action);
        self.rewards[i] = reward;
        self.next_obs[i * obs_dim..(i + 1) * obs_dim].copy_from_slice(next_obs);
        self.terminated[i] = terminated;
        self.truncated[i] = truncated;
        self.next = (self.next + 1) % self.config.capacity;
        self.len = (self.len + 1).min(self.config.capacity);
        Ok(())
    }

    /// Physical index of the `k`-th oldest transition.
    #[inline]
    fn physical(&self, k: usize) -> usize {
        if self.len < self.config.capacity {
            k
        } else {
            (self.next + k) % self.config.capacity
        }
    }

    /// `count` indices drawn uniformly with replacement (physical indices, for
    /// [`ReplayBuffer::gather`]).
    pub fn sample_indices(&self, count: usize, rng: &mut Rng) -> Vec<usize> {
        assert!(
            !self.is_empty(),
            "cannot sample from an empty replay buffer"
        );
        (0..count).map(|_| rng.index(self.len)).collect()
    }

    /// Copies the rows at physical `indices` into `batch` (reusing its allocations).
    pub fn gather(&self, indices: &[usize], batch: &mut Batch) {
        let ReplayBufferConfig {
            obs_dim,
            action_dim,
            ..
        } = self.config;
        batch.obs.clear();
        batch.actions.clear();
        batch.rewards.clear();
        batch.next_obs.clear();
        batch.terminated.clear();
        batch.truncated.clear();
        for &i in indices {
            batch
                .obs
                .extend_from_slice(&self.obs[i * obs_dim..(i + 1) * obs_dim]);
            batch
                .actions
                .extend_from_slice(&self.actions[i * action_dim..(i + 1) * action_dim]);
            batch.rewards.push(self.rewards[i]);
            batch
                .next_obs
                .extend_from_slice(&self.next_obs[i * obs_dim..(i + 1) * obs_dim]);
            batch.terminated.push(self.terminated[i]);
            batch.truncated.push(self.truncated[i]);
        }
    }

    /// [`ReplayBuffer::gather`] with n-step returns (Sutton & Barto §7.1; Rainbow, Hessel
    /// et al. 2018): row `t` gets `Σ_{k<m} γ^k r_{t+k}` as its reward and the next
    /// observation and flags of step `t+m−1`, where `m ≤ n` stops early at the episode's end
    /// (terminated or truncated) or at the newest stored transition. `discounts[i]` is
    /// `γ^m`, the weight of row `i`'s bootstrap value. `stride` is the number of rows
    /// between consecutive steps of one env: the envs that push in turn each step (rows of
    /// env `e` lie `stride` apart). `n = 1` gathers exactly what `gather` does.
    pub fn gather_n_step(
        &self,
        indices: &[usize],
        n: usize,
        gamma: f32,
        stride: usize,
        batch: &mut Batch,
        discounts: &mut Vec<f32>,
    ) {
        let obs_dim = self.config.obs_dim;
        self.gather(indices, batch);
        discounts.clear();
        let capacity = self.config.capacity;
        // The logical (age) order of a physical row: 0 is the oldest.
        let oldest = if self.len < capacity { 0 } else { self.next };
        for (row, &p) in indices.iter().enumerate() {
            let start = (p + capacity - oldest) % capacity;
            let (mut last, mut reward, mut discount) = (p, self.rewards[p], gamma);
            for k in 1..n.max(1) {
                if self.terminated[last] || self.truncated[last] {
                    break;
                }
                let step = start + k * stride.max(1);
                if step >= self.len {
                    break;
                }
                last = self.physical(step);
                reward += discount * self.rewards[last];
                discount *= gamma;
            }
            batch.rewards[row] = reward;
            batch.terminated[row] = self.terminated[last];
            batch.truncated[row] = self.truncated[last];
            batch.next_obs[row * obs_dim..(row + 1) * obs_dim]
                .copy_from_slice(&self.next_obs[last * obs_dim..(last + 1) * obs_dim]);
            discounts.push(discount);
        }
    }

    /// A uniform batch of `batch_size` transitions (with replacement).
    pub fn sample(&self, batch_size: usize, rng: &mut Rng) -> Batch {
        let indices = self.sample_indices(batch_size, rng);
        let mut batch = Batch::default();
        self.gather(&indices, &mut batch);
        batch
    }

    /// `batch_size` windows of `seq_len` consecutive transitions, in time order, none of
    /// which crosses an episode end (a terminated or truncated transition may only be the
    /// last of its window) or the ring's seam between newest and oldest data. The batch is
    /// laid out `[batch_size, seq_len, ...]`.
    pub fn sample_sequences(
        &self,
        batch_size: usize,
        seq_len: usize,
        rng: &mut Rng,
    ) -> Result<Batch, BufferError> {
        if seq_len == 0 || self.len < seq_len {
            return Err(BufferError::NotEnoughData(format!(
                "need at least {seq_len} transitions for sequences of length {seq_len}, have {}",
                self.len
            )));
        }
        let starts = self.len - seq_len + 1;
        let window_ok = |k: usize| {
            (k..k + seq_len - 1).all(|j| {
                let p = self.physical(j);
                !self.terminated[p] && !self.truncated[p]
            })
        };
        let mut indices = Vec::with_capacity(batch_size * seq_len);
        for _ in 0..batch_size {
            // Rejection sampling is fast when episodes are long compared with seq_len; fall
            // back to listing the valid starts when they are rare.
            let mut start = None;
            for _ in 0..64 {
                let k = rng.index(starts);
                if window_ok(k) {
                    start = Some(k);
                    break;
                }
            }
            let k = match start {
                Some(k) => k,
                None => {
                    let valid: Vec<usize> = (0..starts).filter(|&k| window_ok(k)).collect();
                    if valid.is_empty() {
                        return Err(BufferError::NotEnoughData(format!(
                            "no window of {seq_len} steps lies inside one episode; \
                             use shorter sequences or collect longer episodes"
                        )));
                    }
                    valid[rng.index(valid.len())]
                }
            };
            indices.extend((k..k + seq_len).map(|j| self.physical(j)));
        }
        let mut batch = Batch::default();
        self.gather(&indices, &mut batch);
        Ok(batch)
    }

    /// One bootstrap resample per ensemble member: `members` lists of `len()` physical
    /// indices drawn with replacement.
    pub fn bootstrap_indices(&self, members: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
        (0..members)
            .map(|_| self.sample_indices(self.len, rng))
            .collect()
    }

    /// All stored transitions, oldest first.
    pub fn all(&self) -> Batch {
        let indices: Vec<usize> = (0..self.len).map(|k| self.physical(k)).collect();
        let mut batch = Batch::default();
        self.gather(&indices, &mut batch);
        batch
    }
}

#[cfg(test)]
mod tests;
