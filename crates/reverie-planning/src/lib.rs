//! # reverie-planning
//!
//! Model predictive control: at every step, optimise an action sequence inside a model,
//! execute its first action, replan.
//!
//! - [`Objective`]: scores a batch of action sequences (higher is better). Implemented by
//!   [`ModelObjective`] (P particles per candidate through a learned ensemble, known or
//!   learned reward and termination, discount, optional terminal value V(s_H)) and by
//!   [`OracleObjective`] (the true simulator via `set_state`: the planner's ceiling).
//! - Optimisers ([`Optimizer`]): [`RandomShooting`], [`Cem`], [`ICem`] (coloured noise,
//!   elite carry-over, decaying population), [`Mppi`], [`CategoricalCem`] for discrete
//!   actions, and [`GradientPlanner`] (Adam on the sequence, for a
//!   [`DifferentiableObjective`] such as [`ModelGradientObjective`], which differentiates
//!   rollouts through the learned ensemble with candle's autodiff). Each keeps its last solution and warm-starts from it
//!   shifted by one step.
//! - [`Mpc`]: the receding-horizon loop around an optimiser, built from an
//!   [`OptimizerConfig`].

pub mod categorical;
pub mod cem;
pub mod gradient;
pub mod icem;
pub mod model_gradient;
pub mod model_objective;
pub mod mpc;
pub mod mppi;
pub mod objective;
pub mod oracle;
pub mod shooting;

pub use categorical::{CategoricalCem, CategoricalCemConfig};
pub use cem::{Cem, CemConfig, Sampling};
pub use gradient::{DifferentiableObjective, GradientPlanner, GradientPlannerConfig};
pub use icem::{ICem, ICemConfig};
pub use model_gradient::ModelGradientObjective;
pub use model_objective::{ActionEncoding, ModelObjective, ModelObjectiveConfig, TerminalValue};
pub use mpc::{Mpc, OptimizerConfig, PlanSpace};
pub use mppi::{Mppi, MppiConfig};
pub use objective::{ActionBounds, Objective, Optimizer, Plan};
pub use oracle::OracleObjective;
pub use shooting::{RandomShooting, RandomShootingConfig};
