//! Run checkpoints: everything a stopped run needs to continue exactly where it was, in one
//! file sealed by [`reverie_core::snapshot`] (versioned header, checksum).
//!
//! `checkpoints/latest.bin` (and `step-N.bin`) hold a [`RunState`]; `best.bin` holds the
//! agent alone. Both load into `reverie eval` ([`agent_bytes`]).

use std::collections::VecDeque;

use reverie_core::metrics::LogPosition;
use reverie_core::snapshot;
use reverie_core::ObsBatch;
use serde::{Deserialize, Serialize};

/// The snapshot kind of a whole-run checkpoint.
pub const RUN_KIND: &str = "run";

/// A whole run at one step.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunState {
    /// Env steps taken.
    pub step: u64,
    /// [`reverie_core::Agent::save`]: the agent's whole state.
    pub agent: Vec<u8>,
    /// The training envs' states ([`reverie_core::VecEnv::save_state`]); `None` when an
    /// env cannot save its state (such a run cannot be resumed).
    pub envs: Option<Vec<u8>>,
    /// The driver's collection state.
    pub collector: CollectorState,
    /// Logging and guard counters.
    pub monitor: MonitorState,
    /// The best evaluation so far: `(step, mean, std)`.
    pub best: Option<(u64, f64, f64)>,
    /// Where the metric files ended when it was written.
    pub log: LogPosition,
}

/// The driver's collection state between steps.
#[derive(Debug, Serialize, Deserialize)]
pub struct CollectorState {
    /// The envs' current observations.
    pub obs: ObsBatch,
    /// Which envs start an episode at the next step.
    pub is_first: Vec<bool>,
    /// Returns of the episodes in progress.
    pub returns: Vec<f64>,
    /// Lengths of the episodes in progress.
    pub lengths: Vec<u64>,
    /// The agent's carry ([`reverie_core::Agent::save_carry`]); `None` when the agent
    /// cannot save it (such a run cannot be resumed).
    pub carry: Option<Vec<u8>>,
}

/// Counters of the driver's monitor (which keeps them in this form).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MonitorState {
    /// Training episodes finished.
    pub episodes: u64,
    /// The last 100 training returns.
    pub recent: VecDeque<f64>,
    /// Agent metrics summed in the current logging window: `(name, sum, count)`.
    pub sums: Vec<(String, f64, u32)>,
    /// Non-finite updates so far.
    pub nonfinite_total: u64,
    /// The current streak of them and the last one's metric.
    pub nonfinite_streak: (u64, String),
}

impl RunState {
    /// Sealed bytes of the checkpoint.
    pub fn seal(&self) -> Vec<u8> {
        snapshot::save(RUN_KIND, self)
    }

    /// Reads a run checkpoint.
    pub fn open(bytes: &[u8]) -> Result<Self, snapshot::SnapshotError> {
        snapshot::load(RUN_KIND, bytes)
    }
}

/// The agent's bytes in a checkpoint file: a run checkpoint's agent, or the file itself
/// when it holds an agent alone (`best.bin`).
pub fn agent_bytes(bytes: &[u8]) -> Result<Vec<u8>, snapshot::SnapshotError> {
    let (kind, _) = snapshot::unseal(bytes)?;
    if kind == RUN_KIND {
        Ok(RunState::open(bytes)?.agent)
    } else {
        Ok(bytes.to_vec())
    }
}
