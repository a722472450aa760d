//! # reverie-run
//!
//! Everything between the library and the `reverie` command line: layered TOML
//! configuration ([`config`]), the algorithm table ([`algos`]), run directories
//! ([`run_dir`]), the one training driver with hooks ([`driver`]), `reverie train` ([`train`]), reloading a run to evaluate it ([`eval`]), learning-curve plots ([`plot`]), the
//! experiments that reproduce published results ([`experiments`]) and benchmarks ([`bench`]).

pub mod algos;
pub mod bench;
pub mod bench_model_free;
pub mod config;
pub mod driver;
pub mod eval;
pub mod experiments;
pub mod model_eval;
pub mod plot;
pub mod run_dir;
pub mod train;

pub use config::{resolve, ConfigRequest, TrainConfig};
pub use driver::{Flow, Hooks};
pub use train::{train, train_with_hooks, RunLocation, TrainSummary};
