//! # reverie-run
//!
//! The training driver and what it needs, and nothing that draws: layered TOML
//! configuration ([`config`]), the algorithm table ([`algos`]), run directories
//! ([`run_dir`]), the one training driver with hooks ([`driver`]), `reverie train`
//! ([`train`]) and reloading a run to evaluate it ([`eval`]).
//!
//! A binding (Python, another CLI) depends on this crate alone. Experiments, benchmarks,
//! world-model evaluation and plots live in `reverie-lab`, which builds on this crate;
//! `reverie train` draws its learning curve there, after [`train`] returns.

pub mod algos;
pub mod checkpoint;
pub mod config;
pub mod driver;
pub mod eval;
pub mod run_dir;
pub mod signals;
pub mod train;
pub mod versus;

pub use config::{resolve, ConfigRequest, TrainConfig};
pub use driver::{Diverged, Flow, Hooks, Interrupted};
pub use train::{train, train_with_hooks, RunLocation, TrainSummary};
