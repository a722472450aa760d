//! How a [`ReplayBuffer`] is written into checkpoints: its shape, its cursor and the rows
//! it holds (a buffer fills from row 0, so those are the first `len` rows).

use serde::{Deserialize, Serialize};

use super::{ReplayBuffer, ReplayBufferConfig};

/// The rows a buffer holds, borrowed for writing.
#[derive(Serialize)]
struct Rows<'a> {
    config: ReplayBufferConfig,
    len: usize,
    next: usize,
    obs: &'a [f32],
    actions: &'a [f32],
    rewards: &'a [f32],
    next_obs: &'a [f32],
    terminated: &'a [bool],
    truncated: &'a [bool],
}

/// The same, owned, as read back (bincode encodes a slice and a `Vec` alike).
#[derive(Deserialize)]
pub(super) struct Stored {
    config: ReplayBufferConfig,
    len: usize,
    next: usize,
    obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    next_obs: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

impl Serialize for ReplayBuffer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (n, o, a) = (self.len, self.config.obs_dim, self.config.action_dim);
        Rows {
            config: self.config,
            len: n,
            next: self.next,
            obs: &self.obs[..n * o],
            actions: &self.actions[..n * a],
            rewards: &self.rewards[..n],
            next_obs: &self.next_obs[..n * o],
            terminated: &self.terminated[..n],
            truncated: &self.truncated[..n],
        }
        .serialize(serializer)
    }
}

impl TryFrom<Stored> for ReplayBuffer {
    type Error = String;

    fn try_from(s: Stored) -> Result<Self, String> {
        let c = s.config;
        let fits = c.capacity > 0
            && s.len <= c.capacity
            && s.next < c.capacity
            && (s.len == c.capacity || s.next == s.len)
            && s.obs.len() == s.len * c.obs_dim
            && s.next_obs.len() == s.len * c.obs_dim
            && s.actions.len() == s.len * c.action_dim
            && [s.rewards.len(), s.terminated.len(), s.truncated.len()] == [s.len; 3];
        if !fits {
            return Err("replay buffer rows do not match its shape".into());
        }
        c.check_memory()?;
        let mut buffer = ReplayBuffer::new(c);
        let (n, o, a) = (s.len, c.obs_dim, c.action_dim);
        buffer.obs[..n * o].copy_from_slice(&s.obs);
        buffer.next_obs[..n * o].copy_from_slice(&s.next_obs);
        buffer.actions[..n * a].copy_from_slice(&s.actions);
        buffer.rewards[..n].copy_from_slice(&s.rewards);
        buffer.terminated[..n].copy_from_slice(&s.terminated);
        buffer.truncated[..n].copy_from_slice(&s.truncated);
        buffer.len = n;
        buffer.next = s.next;
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot;

    #[test]
    fn a_partly_filled_and_a_wrapped_buffer_come_back_equal() {
        for pushes in [3, 7] {
            let mut buffer = ReplayBuffer::new(ReplayBufferConfig {
                capacity: 5,
                obs_dim: 2,
                action_dim: 1,
            });
            for i in 0..pushes {
                let x = i as f32;
                buffer
                    .push(
                        &[x, -x],
                        &[0.5 * x],
                        x,
                        &[x + 1.0, 0.0],
                        i % 2 == 0,
                        i % 3 == 0,
                    )
                    .unwrap();
            }
            let bytes = snapshot::encode(&buffer);
            let back: ReplayBuffer = snapshot::decode("buffer", &bytes).unwrap();
            assert_eq!(back, buffer);
        }
    }
}
