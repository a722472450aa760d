//! # reverie-planning
//!
//! Model predictive control: at every step, optimise an action sequence inside a model,
//! execute its first action, replan.
//!
//! Planners optimise objectives and know nothing of models: this crate depends on
//! `reverie-core` only. The objectives that join a learned model to a planner
//! (`ModelObjective`, `ModelGradientObjective`) live on the agent side, in
//! `reverie_agents::planning`. For the same reason Monte Carlo tree search (MuZero,
//! AlphaZero) sees only a [`SearchModel`].
//!
//! - [`Objective`]: scores a batch of action sequences (higher is better). Implemented here
//!   by [`OracleObjective`] (the true simulator via its settable state: the planner's ceiling).
//! - Optimisers ([`Optimizer`]): [`RandomShooting`], [`Cem`], [`ICem`] (coloured noise,
//!   elite carry-over, decaying population), [`Mppi`], [`CategoricalCem`] for discrete
//!   actions, and [`GradientPlanner`] (Adam on the sequence, for a
//!   [`DifferentiableObjective`], such as the agents' model-gradient objective, which
//!   differentiates rollouts through the learned ensemble with candle's autodiff). Each keeps
//!   its last solution and warm-starts from it shifted by one step.
//! - [`CmaEs`]: CMA-ES over parameter vectors (ask/tell), for policy search such as
//!   World Models' controller.
//! - [`Mpc`]: the receding-horizon loop around an optimiser, built from an
//!   [`OptimizerConfig`].
//! - [`search`]: Monte Carlo tree search ([`Mcts`]) over a [`SearchModel`], N searches with
//!   batched leaf expansion; MuZero's pUCT or Gumbel MuZero's selection, one or two players,
//!   legal-action masks.

pub mod categorical;
pub mod cem;
pub mod cmaes;
pub mod gradient;
pub mod icem;
pub mod mpc;
pub mod mppi;
pub mod objective;
pub mod oracle;
pub mod search;
pub mod shooting;

pub use categorical::{CategoricalCem, CategoricalCemConfig};
pub use cem::{Cem, CemConfig, Sampling};
pub use cmaes::{CmaEs, CmaEsConfig};
pub use gradient::{DifferentiableObjective, GradientPlanner, GradientPlannerConfig};
pub use icem::{ICem, ICemConfig};
pub use mpc::{Mpc, OptimizerConfig, PlanSpace};
pub use mppi::{Mppi, MppiConfig};
pub use objective::{ActionBounds, Objective, Optimizer, Plan, TerminalValue, WarmStart};
pub use oracle::OracleObjective;
pub use search::{
    select_action, Evaluation, Evaluations, GumbelConfig, Leaves, Mcts, MctsConfig, PuctConfig,
    SearchModel, SearchOutput, Selection, UnvisitedQ,
};
pub use shooting::{RandomShooting, RandomShootingConfig};
