//! The sequence replay buffer for latent world models (Dreamer, MuZero, World Models),
//! laid out the way DreamerV3's replay is.
//!
//! # What a step is
//!
//! One stored *step* is one observation and what came with it, DreamerV3's layout:
//!
//! | column | meaning at step `t` |
//! |---|---|
//! | `obs` | the observation `o_t`, stored **once** (there is no `next_obs` column) |
//! | `action` | the action taken *from* `o_t` (a dummy of zeros on the final step of an episode) |
//! | `reward` | the reward received on arriving at `o_t` (0 on an episode's first step) |
//! | `is_first` | `o_t` starts an episode (it came from a reset) |
//! | `terminated` | `o_t` is terminal (Gymnasium's `terminated` returned with it; DreamerV3's `is_terminal`) |
//! | `truncated` | the episode was cut at `o_t` (time limit); `is_last = terminated \|\| truncated` |
//!
//! That is, `reward`, `terminated` and `truncated` are stored with the observation that
//! `env.step` returned them with, and the action with the observation it was chosen on. A
//! world model reads `(o_t, a_{t-1})` as its input at step `t` and predicts `reward[t]` and
//! `continue[t] = !terminated[t]` from its state at `t`; `is_first[t]` resets that state (and
//! the previous action) to the initial one.
//!
//! # The final observation of an episode
//!
//! Vectorised envs reset on their own, so the observation a policy sees after an episode's
//! last step is already the *next* episode's first. The final observation is therefore stored
//! as a step of its own, exactly as DreamerV3 does: `obs` = the final observation, `reward` =
//! the last reward, `terminated`/`truncated` as returned, and a dummy action of zeros (no
//! action is taken from it). The next step in the stream is the reset observation with
//! `is_first`. An episode of `L` env steps thus takes `L + 1` stored steps.
//! [`SequenceBuffer::add_step`] does this bookkeeping from the driver's [`StepBatch`];
//! [`SequenceBuffer::add`] takes already laid-out steps.
//!
//! # Storage
//!
//! - Observations keep their dtype: uint8 observations as bytes (a 64×64×3 frame costs
//!   exactly 12,288 bytes), float observations as f32, discrete observations as i64 (exact,
//!   returned as [`ObsBatch::Discrete`]).
//! - Actions are f32 columns of `action_dim` values. Discrete actions are stored as **their
//!   value in one f32** (`action_dim = 1`, the value of [`Action::Discrete`], exact for
//!   |a| < 2²⁴); [`SequenceBatch::one_hot_actions`] expands them (final steps' dummy actions
//!   become all-zero rows, as DreamerV3's reset previous action).
//! - Rewards are f32; the three flags are packed into one byte. So a step costs
//!   [`SequenceBuffer::bytes_per_step`] = observation bytes + `4 · action_dim` + 4 + 1.
//! - N parallel envs write N *streams*, one ring each; the capacity (in steps) is split
//!   between them (the first `capacity % N` streams get one step more). Memory for the full
//!   capacity is reserved up front as zeroed pages, which the OS commits only when written.
//!
//! # Sampling
//!
//! [`SequenceBuffer::sample`] draws `batch` windows of `seq_len` consecutive steps, each
//! from one stream, uniformly over all windows that exist. Windows **may cross episode
//! boundaries** (`is_first` marks where the model must reset, as in DreamerV3) but never the
//! write head of a ring: a window never joins the newest data to the oldest. Output is
//! row-major `[B, T, ...]`. A window may start in the middle of an episode; a model starts
//! from its initial state there. Sampling is reproducible for a given [`Rng`] state and
//! allocates only the output ([`SequenceBuffer::sample_into`] reuses one).

use crate::agent::StepBatch;
use crate::obs_batch::ObsBatch;
use crate::rng::Rng;
use crate::space::{Action, Dtype, Space};

use super::BufferError;

const IS_FIRST: u8 = 1;
const TERMINATED: u8 = 2;
const TRUNCATED: u8 = 4;

/// What kind of observation a [`SequenceBuffer`] stores, and how wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ObsLayout {
    /// One discrete state per step, stored as i64.
    Discrete,
    /// `dim` f32 values per step.
    F32 {
        /// Values per observation.
        dim: usize,
    },
    /// `dim` bytes per step (an image is `H × W × C`).
    U8 {
        /// Bytes per observation.
        dim: usize,
    },
}

impl ObsLayout {
    /// The layout of observations from `space` (uint8 boxes as bytes, other boxes as f32).
    pub fn of(space: &Space) -> Self {
        match space {
            Space::Discrete { .. } => ObsLayout::Discrete,
            Space::Box(b) if b.dtype == Dtype::U8 => ObsLayout::U8 { dim: b.dim() },
            Space::Box(b) => ObsLayout::F32 { dim: b.dim() },
        }
    }

    /// Values per observation (1 for discrete states).
    pub fn dim(self) -> usize {
        match self {
            ObsLayout::Discrete => 1,
            ObsLayout::F32 { dim } | ObsLayout::U8 { dim } => dim,
        }
    }

    /// Bytes one stored observation takes.
    pub fn bytes(self) -> usize {
        match self {
            ObsLayout::Discrete => std::mem::size_of::<i64>(),
            ObsLayout::F32 { dim } => dim * std::mem::size_of::<f32>(),
            ObsLayout::U8 { dim } => dim,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            ObsLayout::Discrete => "discrete states",
            ObsLayout::F32 { .. } => "float32 rows",
            ObsLayout::U8 { .. } => "uint8 rows",
        }
    }
}

/// Shape and capacity of a [`SequenceBuffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SequenceBufferConfig {
    /// Steps kept over all streams together; each stream's ring holds its share.
    pub capacity: usize,
    /// Parallel envs, one ring (stream) each.
    pub num_streams: usize,
    /// Observation kind and width.
    pub obs: ObsLayout,
    /// f32 values per action (1 for discrete actions, stored as their value).
    pub action_dim: usize,
}

impl SequenceBufferConfig {
    /// The bytes [`SequenceBuffer::new`] allocates (`None` if the count overflows).
    pub fn bytes(&self) -> Option<u64> {
        let per_step = (self.obs.bytes() as u64)
            .checked_add(4 * self.action_dim as u64)?
            .checked_add(5)?;
        (self.capacity as u64).checked_mul(per_step)
    }

    /// Refuses a capacity whose memory the machine does not have, saying how much it needs
    /// (a million 64 × 64 RGB frames take 12 GB).
    pub fn check_memory(&self) -> Result<(), String> {
        crate::memory::check_fits(self.bytes())
            .map_err(|e| format!("a sequence buffer of {} steps {e}", self.capacity))
    }

    /// The configuration for envs with these spaces.
    pub fn for_spaces(
        capacity: usize,
        num_streams: usize,
        observation_space: &Space,
        action_space: &Space,
    ) -> Self {
        let action_dim = match action_space {
            Space::Discrete { .. } => 1,
            Space::Box(b) => b.dim(),
        };
        Self {
            capacity,
            num_streams,
            obs: ObsLayout::of(observation_space),
            action_dim,
        }
    }
}

/// `batch_size` windows of `seq_len` steps, row-major `[B, T, ...]` per column (see the
/// [module docs](self) for what each column means at a step).
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceBatch {
    /// `B`: windows.
    pub batch_size: usize,
    /// `T`: steps per window.
    pub seq_len: usize,
    /// `[B, T, obs_dim]`: `B · T` rows of the buffer's observation kind.
    pub obs: ObsBatch,
    /// `[B, T, action_dim]`: the action taken from each observation (zeros on final steps).
    pub actions: Vec<f32>,
    /// `[B, T]`: the reward received on arriving at each observation.
    pub rewards: Vec<f32>,
    /// `[B, T]`: the observation starts an episode (reset the model's state here).
    pub is_first: Vec<bool>,
    /// `[B, T]`: the observation is terminal (no continuation).
    pub terminated: Vec<bool>,
    /// `[B, T]`: the episode was cut at the observation (time limit).
    pub truncated: Vec<bool>,
}

impl SequenceBatch {
    /// Number of steps (`B · T`).
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the batch has no steps.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Whether step `i` (flat index `b · T + t`) ends its episode (`terminated || truncated`).
    pub fn is_last(&self, i: usize) -> bool {
        self.terminated[i] || self.truncated[i]
    }

    /// Discrete actions (`action_dim = 1`, values `start .. start + n`) as one-hot rows,
    /// `[B, T, n]`. The dummy action of a final step becomes a row of zeros. Panics on a
    /// value outside the range (the buffer stores what it was given).
    pub fn one_hot_actions(&self, n: usize, start: i64) -> Vec<f32> {
        assert_eq!(
            self.actions.len(),
            self.len(),
            "one-hot actions need one value per step (action_dim = 1)"
        );
        let mut out = vec![0.0; self.len() * n];
        for (i, &a) in self.actions.iter().enumerate() {
            if self.is_last(i) {
                continue;
            }
            let k = a as i64 - start;
            assert!(
                (0..n as i64).contains(&k),
                "action {a} is outside {start}..{}",
                start + n as i64
            );
            out[i * n + k as usize] = 1.0;
        }
        out
    }
}

/// Stored observations, by kind.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum ObsStore {
    Discrete(Vec<i64>),
    F32(Vec<f32>),
    U8(Vec<u8>),
}

/// One env's ring: rows `offset .. offset + capacity` of every column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Stream {
    offset: usize,
    capacity: usize,
    len: usize,
    /// Ring position the next step is written to.
    next: usize,
}

impl Stream {
    /// Row of the `k`-th oldest stored step.
    #[inline]
    fn row(&self, k: usize) -> usize {
        let pos = if self.len < self.capacity {
            k
        } else {
            (self.next + k) % self.capacity
        };
        self.offset + pos
    }

    /// Windows of `seq_len` steps that lie between the oldest and newest step.
    #[inline]
    fn windows(&self, seq_len: usize) -> usize {
        (self.len + 1).saturating_sub(seq_len)
    }
}

/// What [`SequenceBuffer::add_step`] knows about a stream's current observation before the
/// action taken from it is known.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Arrival {
    reward: f32,
    is_first: bool,
}

const FIRST: Arrival = Arrival {
    reward: 0.0,
    is_first: true,
};

/// DreamerV3-style replay: N rings of steps (observation stored once, in its own dtype),
/// sampled as windows of consecutive steps. See the [module docs](self).
///
/// Serialises (for checkpoints) only the steps each stream holds: a checkpoint of a large,
/// mostly empty replay of frames stays small.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(try_from = "stored::StoredSequences")]
pub struct SequenceBuffer {
    config: SequenceBufferConfig,
    streams: Vec<Stream>,
    obs: ObsStore,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    flags: Vec<u8>,
    /// Per stream, for [`SequenceBuffer::add_step`].
    arrivals: Vec<Arrival>,
}

impl SequenceBuffer {
    /// An empty buffer. Panics when there are no streams, when a stream would hold no step,
    /// or on a zero-width observation.
    pub fn new(config: SequenceBufferConfig) -> Self {
        let SequenceBufferConfig {
            capacity,
            num_streams,
            obs,
            action_dim,
        } = config;
        assert!(
            num_streams > 0,
            "a sequence buffer needs at least one stream"
        );
        assert!(
            capacity >= num_streams,
            "capacity {capacity} cannot give each of {num_streams} streams a step"
        );
        assert!(obs.dim() > 0, "observations must have at least one value");
        let mut streams = Vec::with_capacity(num_streams);
        let mut offset = 0;
        for s in 0..num_streams {
            let cap = capacity / num_streams + usize::from(s < capacity % num_streams);
            streams.push(Stream {
                offset,
                capacity: cap,
                len: 0,
                next: 0,
            });
            offset += cap;
        }
        let store = match obs {
            ObsLayout::Discrete => ObsStore::Discrete(vec![0; capacity]),
            ObsLayout::F32 { dim } => ObsStore::F32(vec![0.0; capacity * dim]),
            ObsLayout::U8 { dim } => ObsStore::U8(vec![0; capacity * dim]),
        };
        Self {
            config,
            streams,
            obs: store,
            actions: vec![0.0; capacity * action_dim],
            rewards: vec![0.0; capacity],
            flags: vec![0; capacity],
            arrivals: vec![FIRST; num_streams],
        }
    }

    /// Shape and capacity.
    pub fn config(&self) -> SequenceBufferConfig {
        self.config
    }

    /// Steps stored over all streams.
    pub fn len(&self) -> usize {
        self.streams.iter().map(|s| s.len).sum()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.streams.iter().all(|s| s.len == 0)
    }

    /// Steps stored in stream `s`.
    pub fn stream_len(&self, s: usize) -> usize {
        self.streams[s].len
    }

    /// Steps stream `s` holds when full.
    pub fn stream_capacity(&self, s: usize) -> usize {
        self.streams[s].capacity
    }

    /// Bytes one stored observation takes (12,288 for a 64×64×3 uint8 frame).
    pub fn obs_bytes_per_step(&self) -> usize {
        self.config.obs.bytes()
    }

    /// Bytes one stored step takes: observation, `action_dim` f32 values, an f32 reward
    /// and one byte of flags.
    pub fn bytes_per_step(&self) -> usize {
        self.obs_bytes_per_step() + 4 * self.config.action_dim + 4 + 1
    }

    /// Bytes reserved for the whole capacity.
    pub fn storage_bytes(&self) -> usize {
        self.config.capacity * self.bytes_per_step()
    }

    /// Windows of `seq_len` steps [`SequenceBuffer::sample`] can draw from.
    pub fn num_windows(&self, seq_len: usize) -> usize {
        if seq_len == 0 {
            return 0;
        }
        self.streams.iter().map(|s| s.windows(seq_len)).sum()
    }

    /// Pushes one step to every stream, already in the buffer's layout: `obs[i]` with the
    /// `rewards[i]`, `terminated[i]`, `truncated[i]` that came *with* it, `is_first[i]` when
    /// it came from a reset, and `actions[i * action_dim ..]` taken from it (zeros when it is
    /// final). Wrong shapes, another observation kind, and NaN or infinite values in
    /// observations, actions or rewards are refused, and then nothing is stored.
    ///
    /// Use either this or [`SequenceBuffer::add_step`] on one buffer, not both.
    pub fn add(
        &mut self,
        obs: &ObsBatch,
        actions: &[f32],
        rewards: &[f32],
        terminated: &[bool],
        truncated: &[bool],
        is_first: &[bool],
    ) -> Result<(), BufferError> {
        let n = self.config.num_streams;
        self.check_obs("obs", obs)?;
        check_len("actions", actions.len(), n * self.config.action_dim)?;
        check_len("rewards", rewards.len(), n)?;
        check_len("terminated", terminated.len(), n)?;
        check_len("truncated", truncated.len(), n)?;
        check_len("is_first", is_first.len(), n)?;
        if !obs.is_finite() {
            return Err(BufferError::NotFinite { column: "obs" });
        }
        check_finite("actions", actions)?;
        check_finite("rewards", rewards)?;
        let a = self.config.action_dim;
        for i in 0..n {
            self.write(
                i,
                obs,
                i,
                &actions[i * a..(i + 1) * a],
                rewards[i],
                flags(is_first[i], terminated[i], truncated[i]),
            );
        }
        Ok(())
    }

    /// Stores one driver step of every env (`step.obs`, the actions taken from it, and what
    /// came back), doing the DreamerV3 bookkeeping: the step of `obs[i]` gets the reward and
    /// `is_first` it arrived with (the first observation a stream sees counts as a reset), and
    /// where env `i`'s episode ended, `next_obs[i]` (the true final observation) is stored as
    /// a step of its own with the last reward, the flags and a dummy action of zeros; the
    /// env's next observation is then marked `is_first`. Discrete actions are stored as
    /// their value. Nothing is stored if anything is refused (see [`SequenceBuffer::add`]).
    ///
    /// The observation of the latest step is stored by the next call, once its action is
    /// known.
    pub fn add_step(&mut self, step: &StepBatch<'_>) -> Result<(), BufferError> {
        let n = self.config.num_streams;
        let a = self.config.action_dim;
        self.check_obs("obs", step.obs)?;
        self.check_obs("next_obs", step.next_obs)?;
        check_len("actions", step.actions.len(), n)?;
        check_len("rewards", step.rewards.len(), n)?;
        check_len("terminated", step.terminated.len(), n)?;
        check_len("truncated", step.truncated.len(), n)?;
        if !step.obs.is_finite() {
            return Err(BufferError::NotFinite { column: "obs" });
        }
        for i in 0..n {
            match &step.actions[i] {
                Action::Discrete(_) if a == 1 => {}
                Action::Vector(v) if v.len() == a => {
                    check_finite("actions", v)?;
                }
                other => {
                    return Err(BufferError::Shape {
                        column: "actions",
                        got: match other {
                            Action::Discrete(_) => 1,
                            Action::Vector(v) => v.len(),
                        },
                        expected: a,
                    })
                }
            }
            if !step.rewards[i].is_finite() || !(step.rewards[i] as f32).is_finite() {
                return Err(BufferError::NotFinite { column: "rewards" });
            }
            if (step.terminated[i] || step.truncated[i]) && !row_is_finite(step.next_obs, i) {
                return Err(BufferError::NotFinite { column: "next_obs" });
            }
        }
        // Validated: write. One action's f32 values on the stack for vector actions up to 16
        // wide, so a step allocates nothing.
        let mut scratch = [0.0f32; 16];
        let mut heap = Vec::new();
        for i in 0..n {
            let arrival = self.arrivals[i];
            let action: &[f32] = match &step.actions[i] {
                Action::Discrete(v) => {
                    scratch[0] = *v as f32;
                    &scratch[..1]
                }
                Action::Vector(v) => v,
            };
            self.write(
                i,
                step.obs,
                i,
                action,
                arrival.reward,
                flags(arrival.is_first, false, false),
            );
            let reward = step.rewards[i] as f32;
            if step.terminated[i] || step.truncated[i] {
                let dummy: &[f32] = if a <= scratch.len() {
                    scratch[..a].fill(0.0);
                    &scratch[..a]
                } else {
                    heap.resize(a, 0.0);
                    &heap
                };
                self.write(
                    i,
                    step.next_obs,
                    i,
                    dummy,
                    reward,
                    flags(false, step.terminated[i], step.truncated[i]),
                );
                self.arrivals[i] = FIRST;
            } else {
                self.arrivals[i] = Arrival {
                    reward,
                    is_first: false,
                };
            }
        }
        Ok(())
    }

    /// `batch` windows of `seq_len` consecutive steps, each from one stream, drawn uniformly
    /// (with replacement) over all windows; see the [module docs](self).
    pub fn sample(
        &self,
        batch: usize,
        seq_len: usize,
        rng: &mut Rng,
    ) -> Result<SequenceBatch, BufferError> {
        let mut out = SequenceBatch {
            batch_size: 0,
            seq_len: 0,
            obs: self.empty_obs(batch * seq_len),
            actions: Vec::with_capacity(batch * seq_len * self.config.action_dim),
            rewards: Vec::with_capacity(batch * seq_len),
            is_first: Vec::with_capacity(batch * seq_len),
            terminated: Vec::with_capacity(batch * seq_len),
            truncated: Vec::with_capacity(batch * seq_len),
        };
        self.sample_into(batch, seq_len, rng, &mut out)?;
        Ok(out)
    }

    /// [`SequenceBuffer::sample`] into `out`, reusing its allocations (no allocation once
    /// `out` has held a batch this large). On an error `out` is left untouched.
    pub fn sample_into(
        &self,
        batch: usize,
        seq_len: usize,
        rng: &mut Rng,
        out: &mut SequenceBatch,
    ) -> Result<(), BufferError> {
        let total = self.num_windows(seq_len);
        if seq_len == 0 || total == 0 {
            let longest = self.streams.iter().map(|s| s.len).max().unwrap_or(0);
            return Err(BufferError::NotEnoughData(format!(
                "sequences of {seq_len} steps need a stream holding at least {} steps; the \
                 longest holds {longest}",
                seq_len.max(1)
            )));
        }
        let a = self.config.action_dim;
        out.batch_size = batch;
        out.seq_len = seq_len;
        out.actions.clear();
        out.rewards.clear();
        out.is_first.clear();
        out.terminated.clear();
        out.truncated.clear();
        match (&mut out.obs, &self.obs) {
            (ObsBatch::Discrete(v), ObsStore::Discrete(_)) => v.clear(),
            (ObsBatch::F32 { data, dim }, ObsStore::F32(_)) => {
                data.clear();
                *dim = self.config.obs.dim();
            }
            (ObsBatch::U8 { data, dim }, ObsStore::U8(_)) => {
                data.clear();
                *dim = self.config.obs.dim();
            }
            (obs, _) => *obs = self.empty_obs(batch * seq_len),
        }
        for _ in 0..batch {
            let mut k = rng.index(total);
            let mut s = 0;
            while k >= self.streams[s].windows(seq_len) {
                k -= self.streams[s].windows(seq_len);
                s += 1;
            }
            let stream = self.streams[s];
            for t in k..k + seq_len {
                let r = stream.row(t);
                match (&self.obs, &mut out.obs) {
                    (ObsStore::Discrete(src), ObsBatch::Discrete(dst)) => dst.push(src[r]),
                    (ObsStore::F32(src), ObsBatch::F32 { data, dim }) => {
                        data.extend_from_slice(&src[r * *dim..(r + 1) * *dim]);
                    }
                    (ObsStore::U8(src), ObsBatch::U8 { data, dim }) => {
                        data.extend_from_slice(&src[r * *dim..(r + 1) * *dim]);
                    }
                    _ => unreachable!("output observations match the store"),
                }
                out.actions
                    .extend_from_slice(&self.actions[r * a..(r + 1) * a]);
                out.rewards.push(self.rewards[r]);
                let f = self.flags[r];
                out.is_first.push(f & IS_FIRST != 0);
                out.terminated.push(f & TERMINATED != 0);
                out.truncated.push(f & TRUNCATED != 0);
            }
        }
        Ok(())
    }

    /// An empty observation batch of the stored kind with room for `rows` rows.
    fn empty_obs(&self, rows: usize) -> ObsBatch {
        match self.config.obs {
            ObsLayout::Discrete => ObsBatch::Discrete(Vec::with_capacity(rows)),
            ObsLayout::F32 { dim } => ObsBatch::F32 {
                data: Vec::with_capacity(rows * dim),
                dim,
            },
            ObsLayout::U8 { dim } => ObsBatch::U8 {
                data: Vec::with_capacity(rows * dim),
                dim,
            },
        }
    }

    /// Refuses a batch of another kind, width or number of envs.
    fn check_obs(&self, column: &'static str, obs: &ObsBatch) -> Result<(), BufferError> {
        let layout = self.config.obs;
        let kind_ok = matches!(
            (obs, layout),
            (ObsBatch::Discrete(_), ObsLayout::Discrete)
                | (ObsBatch::F32 { .. }, ObsLayout::F32 { .. })
                | (ObsBatch::U8 { .. }, ObsLayout::U8 { .. })
        );
        if !kind_ok {
            return Err(BufferError::Kind {
                column,
                got: obs.kind(),
                expected: layout.kind(),
            });
        }
        let n = self.config.num_streams;
        let values = match obs {
            ObsBatch::Discrete(v) => v.len(),
            ObsBatch::F32 { data, dim } => {
                check_len(column, *dim, layout.dim())?;
                data.len()
            }
            ObsBatch::U8 { data, dim } => {
                check_len(column, *dim, layout.dim())?;
                data.len()
            }
        };
        check_len(column, values, n * layout.dim())
    }

    /// Writes one step at stream `s`'s head: row `j` of `obs`, and the rest.
    fn write(&mut self, s: usize, obs: &ObsBatch, j: usize, action: &[f32], reward: f32, f: u8) {
        let stream = &mut self.streams[s];
        let r = stream.offset + stream.next;
        stream.next = (stream.next + 1) % stream.capacity;
        stream.len = (stream.len + 1).min(stream.capacity);
        match (&mut self.obs, obs) {
            (ObsStore::Discrete(dst), ObsBatch::Discrete(src)) => dst[r] = src[j],
            (ObsStore::F32(dst), ObsBatch::F32 { data, dim }) => {
                dst[r * dim..(r + 1) * dim].copy_from_slice(&data[j * dim..(j + 1) * dim]);
            }
            (ObsStore::U8(dst), ObsBatch::U8 { data, dim }) => {
                dst[r * dim..(r + 1) * dim].copy_from_slice(&data[j * dim..(j + 1) * dim]);
            }
            _ => unreachable!("observation kinds are checked before writing"),
        }
        let a = self.config.action_dim;
        self.actions[r * a..(r + 1) * a].copy_from_slice(action);
        self.rewards[r] = reward;
        self.flags[r] = f;
    }
}

fn flags(is_first: bool, terminated: bool, truncated: bool) -> u8 {
    u8::from(is_first) * IS_FIRST
        + u8::from(terminated) * TERMINATED
        + u8::from(truncated) * TRUNCATED
}

fn check_len(column: &'static str, got: usize, expected: usize) -> Result<(), BufferError> {
    if got == expected {
        Ok(())
    } else {
        Err(BufferError::Shape {
            column,
            got,
            expected,
        })
    }
}

fn check_finite(column: &'static str, values: &[f32]) -> Result<(), BufferError> {
    if values.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(BufferError::NotFinite { column })
    }
}

fn row_is_finite(obs: &ObsBatch, i: usize) -> bool {
    match obs {
        ObsBatch::F32 { data, dim } => data[i * dim..(i + 1) * dim].iter().all(|x| x.is_finite()),
        _ => true,
    }
}

mod stored;
#[cfg(test)]
mod tests;
