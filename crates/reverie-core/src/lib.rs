//! # reverie-core
//!
//! The bottom layer of reverie: everything an environment, an agent or a training loop
//! needs to agree on, with no deep-learning dependency.
//!
//! - [`space`]: [`Space`] (Discrete, Box) with seeded sampling and membership checks, and the
//!   dynamic [`Observation`] / [`Action`] values.
//! - [`env`]: the [`Env`] trait with Gymnasium 1.x semantics (`reset(seed) -> (obs, info)`,
//!   `step(action) -> Step { obs, reward, terminated, truncated, info }`), its object-safe
//!   twin [`DynEnv`], and the optional settable simulator state ([`SimulatorState`]) for
//!   planning with true dynamics.
//! - [`wrappers`]: [`TimeLimit`] (Gymnasium's `max_episode_steps`) and episode statistics.
//! - [`vec_env`]: [`VecEnv`], N copies stepped in one call into structure-of-arrays buffers.
//! - [`buffer`]: the columnar [`ReplayBuffer`], and the DreamerV3-style [`SequenceBuffer`]
//!   for latent world models.
//! - [`rng`]: the seeded [`Rng`] and [`SeedStreams`] (one root seed, independent named streams).
//! - [`metrics`]: metric records appended to CSV, JSONL and TensorBoard event files.
//! - [`tfevents`]: a dependency-free writer (and checking reader) of TensorBoard event files.
//! - [`snapshot`]: checkpoint files: any state behind a versioned header and a checksum.
//! - [`env_check`]: checks any env against the API contract.
//! - [`agent`]: the one [`Agent`] trait every algorithm implements: N envs, a carry, a mode.
//! - [`obs_batch`]: [`ObsBatch`], N envs' observations kept as integers, floats or bytes.
//! - [`frame`]: [`Frame`], the RGB image envs render into.
//! - [`known`]: [`KnownFunctions`], the reward and termination an env publishes.

pub mod act_context;
pub mod agent;
pub mod atomic;
pub mod buffer;
pub mod env;
pub mod env_check;
pub mod error;
pub mod frame;
pub mod known;
pub mod memory;
pub mod metrics;
pub mod obs_batch;
pub mod rng;
pub mod snapshot;
pub mod space;
pub mod tfevents;
pub mod vec_env;
pub mod wrappers;

pub use act_context::{mover_before, mover_reward, read_action_mask, ActContext, Turns};
pub use agent::{Agent, Carry, Metrics, Mode, PerEnvAgent, StepBatch, Transition};
pub use buffer::{
    Batch, BufferError, ObsLayout, ReplayBuffer, ReplayBufferConfig, SequenceBatch, SequenceBuffer,
    SequenceBufferConfig,
};
pub use env::{
    ActionValue, BoxedEnv, DynEnv, Env, Info, InfoValue, ObsValue, SimulatorState, Step,
};
pub use error::EnvError;
pub use frame::Frame;
pub use known::KnownFunctions;
pub use obs_batch::ObsBatch;
pub use rng::{Rng, SeedStreams};
pub use space::{Action, BoxSpace, Dtype, Observation, Space};
pub use vec_env::{AutoresetMode, VecEnv};
pub use wrappers::{EpisodeStats, RecordEpisodeStats, TimeLimit};
