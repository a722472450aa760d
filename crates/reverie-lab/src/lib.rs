//! # reverie-lab
//!
//! Everything around the training driver of `reverie-run` that a binding does not need:
//! the experiments that reproduce published results ([`experiments`]), benchmarks
//! ([`bench`], [`bench_model_free`], [`bench_nn`]), world-model evaluation ([`model_eval`]) and
//! learning-curve plots in PNG and SVG ([`plot`], with [`plot::plot_run`] for a run
//! directory and [`plot::group`] to group run directories by configuration). It holds the plotting dependencies (plotters and the bundled font); the
//! experiments that train run on `reverie_run::train` or `reverie_run::driver::drive`.

pub mod bench;
pub mod bench_dreamer;
pub mod bench_mcts;
pub mod bench_model_free;
pub mod bench_nn;
pub mod experiments;
pub mod model_eval;
pub mod plot;
