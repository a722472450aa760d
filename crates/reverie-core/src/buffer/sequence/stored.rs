//! How a [`SequenceBuffer`] is written into checkpoints: its shape, each stream's cursor and
//! the steps each stream holds (a stream fills its rows from its offset up, so those are
//! the first `len` rows of its range), not the whole reserved capacity.

use serde::{Deserialize, Serialize};

use super::{Arrival, ObsStore, SequenceBuffer, SequenceBufferConfig, Stream};

/// The held steps of every stream, concatenated in stream order.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredSequences {
    config: SequenceBufferConfig,
    streams: Vec<Stream>,
    arrivals: Vec<Arrival>,
    obs: ObsStore,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    flags: Vec<u8>,
}

/// Copies each stream's held rows (`width` values a row) out of `column`.
fn gather<T: Copy>(column: &[T], streams: &[Stream], width: usize) -> Vec<T> {
    let mut out = Vec::new();
    for s in streams {
        out.extend_from_slice(&column[s.offset * width..(s.offset + s.len) * width]);
    }
    out
}

/// Copies the held rows back into each stream's range; `false` if the sizes do not fit.
fn scatter<T: Copy>(held: &[T], column: &mut [T], streams: &[Stream], width: usize) -> bool {
    let mut at = 0;
    for s in streams {
        let n = s.len * width;
        let (Some(from), Some(to)) = (
            held.get(at..at + n),
            column.get_mut(s.offset * width..s.offset * width + n),
        ) else {
            return false;
        };
        to.copy_from_slice(from);
        at += n;
    }
    at == held.len()
}

impl Serialize for SequenceBuffer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let dim = self.config.obs.dim();
        let obs = match &self.obs {
            ObsStore::Discrete(v) => ObsStore::Discrete(gather(v, &self.streams, 1)),
            ObsStore::F32(v) => ObsStore::F32(gather(v, &self.streams, dim)),
            ObsStore::U8(v) => ObsStore::U8(gather(v, &self.streams, dim)),
        };
        StoredSequences {
            config: self.config,
            streams: self.streams.clone(),
            arrivals: self.arrivals.clone(),
            obs,
            actions: gather(&self.actions, &self.streams, self.config.action_dim),
            rewards: gather(&self.rewards, &self.streams, 1),
            flags: gather(&self.flags, &self.streams, 1),
        }
        .serialize(serializer)
    }
}

impl TryFrom<StoredSequences> for SequenceBuffer {
    type Error = String;

    fn try_from(s: StoredSequences) -> Result<Self, String> {
        let fits = s.config.num_streams > 0
            && s.config.capacity >= s.config.num_streams
            && s.config.obs.dim() > 0;
        if !fits {
            return Err("sequence buffer shape is invalid".into());
        }
        s.config.check_memory()?;
        let mut buffer = SequenceBuffer::new(s.config);
        let same_layout = buffer.streams.len() == s.streams.len()
            && buffer.streams.iter().zip(&s.streams).all(|(a, b)| {
                a.offset == b.offset
                    && a.capacity == b.capacity
                    && b.len <= b.capacity
                    && b.next < b.capacity.max(1)
            })
            && s.arrivals.len() == s.streams.len();
        if !same_layout {
            return Err("sequence buffer streams do not match its shape".into());
        }
        let dim = s.config.obs.dim();
        let obs_ok = match (&mut buffer.obs, &s.obs) {
            (ObsStore::Discrete(to), ObsStore::Discrete(from)) => scatter(from, to, &s.streams, 1),
            (ObsStore::F32(to), ObsStore::F32(from)) => scatter(from, to, &s.streams, dim),
            (ObsStore::U8(to), ObsStore::U8(from)) => scatter(from, to, &s.streams, dim),
            _ => false,
        };
        let a = s.config.action_dim;
        let columns_ok = obs_ok
            && scatter(&s.actions, &mut buffer.actions, &s.streams, a)
            && scatter(&s.rewards, &mut buffer.rewards, &s.streams, 1)
            && scatter(&s.flags, &mut buffer.flags, &s.streams, 1);
        if !columns_ok {
            return Err("sequence buffer rows do not match its streams".into());
        }
        buffer.streams = s.streams;
        buffer.arrivals = s.arrivals;
        Ok(buffer)
    }
}
