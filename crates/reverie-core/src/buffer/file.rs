//! Binary save/load of a [`ReplayBuffer`], written atomically and verified on load.
//!
//! Layout (little-endian): magic `RVRBUF01`; u64 capacity, obs_dim, action_dim, len, next;
//! the six columns (f32 / u8); then an FNV-1a 64 checksum of everything before it.

use std::path::Path;

use super::{ReplayBuffer, ReplayBufferConfig};
use crate::atomic::write_atomic;

const MAGIC: &[u8; 8] = b"RVRBUF01";

/// Why a buffer file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BufferFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a complete, intact replay buffer.
    #[error("{path} is not a valid reverie replay buffer: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

impl ReplayBuffer {
    /// Writes the buffer to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), BufferFileError> {
        let c = self.config;
        let mut out = Vec::with_capacity(
            64 + 4 * (self.obs.len() * 2 + self.actions.len() + self.rewards.len())
                + 2 * c.capacity,
        );
        out.extend_from_slice(MAGIC);
        for v in [c.capacity, c.obs_dim, c.action_dim, self.len, self.next] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for column in [&self.obs, &self.actions, &self.rewards, &self.next_obs] {
            for x in column.iter() {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out.extend(self.terminated.iter().map(|&b| b as u8));
        out.extend(self.truncated.iter().map(|&b| b as u8));
        let checksum = fnv1a(&out);
        out.extend_from_slice(&checksum.to_le_bytes());
        write_atomic(path, &out).map_err(|source| BufferFileError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a buffer written by [`ReplayBuffer::save`], refusing truncated, corrupted or
    /// foreign files with a clear error.
    pub fn load(path: &Path) -> Result<ReplayBuffer, BufferFileError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| BufferFileError::Io {
            path: p.clone(),
            source,
        })?;
        let corrupt = |reason: String| BufferFileError::Corrupt {
            path: p.clone(),
            reason,
        };
        if bytes.len() < 8 + 40 + 8 || &bytes[..8] != MAGIC {
            return Err(corrupt("missing RVRBUF01 header".into()));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 8);
        if fnv1a(body) != u64::from_le_bytes(tail.try_into().unwrap()) {
            return Err(corrupt(
                "checksum mismatch (the file is truncated or damaged)".into(),
            ));
        }
        let header: Vec<usize> = (0..5)
            .map(|i| u64::from_le_bytes(body[8 + 8 * i..16 + 8 * i].try_into().unwrap()) as usize)
            .collect();
        let [capacity, obs_dim, action_dim, len, next] = header[..] else {
            unreachable!()
        };
        let floats = capacity
            .checked_mul(2 * obs_dim + action_dim + 1)
            .ok_or_else(|| corrupt("implausible sizes in header".into()))?;
        let expected = 48 + 4 * floats + 2 * capacity;
        if capacity == 0 || len > capacity || next >= capacity || body.len() != expected {
            return Err(corrupt(format!(
                "header (capacity {capacity}, obs_dim {obs_dim}, action_dim {action_dim}, len {len}) \
                 does not match the file size"
            )));
        }
        let mut at = 48;
        let mut floats_of = |n: usize| -> Vec<f32> {
            let v = body[at..at + 4 * n]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            at += 4 * n;
            v
        };
        let obs = floats_of(capacity * obs_dim);
        let actions = floats_of(capacity * action_dim);
        let rewards = floats_of(capacity);
        let next_obs = floats_of(capacity * obs_dim);
        let flags = &body[at..];
        let terminated = flags[..capacity].iter().map(|&b| b != 0).collect();
        let truncated = flags[capacity..].iter().map(|&b| b != 0).collect();
        Ok(ReplayBuffer {
            config: ReplayBufferConfig {
                capacity,
                obs_dim,
                action_dim,
            },
            len,
            next,
            obs,
            actions,
            rewards,
            next_obs,
            terminated,
            truncated,
        })
    }
}
