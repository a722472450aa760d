//! The receding-horizon loop: optimise, execute the first action, shift, repeat.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::categorical::{CategoricalCem, CategoricalCemConfig};
use crate::cem::{Cem, CemConfig};
use crate::gradient::GradientPlannerConfig;
use crate::icem::{ICem, ICemConfig};
use crate::mppi::{Mppi, MppiConfig};
use crate::objective::{ActionBounds, Objective, Optimizer, Plan};
use crate::shooting::{RandomShooting, RandomShootingConfig};

/// Which optimiser plans, with its settings (`kind = "cem"` etc. in TOML).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// [`RandomShooting`].
    RandomShooting(RandomShootingConfig),
    /// [`Cem`].
    Cem(CemConfig),
    /// [`ICem`].
    Icem(ICemConfig),
    /// [`Mppi`].
    Mppi(MppiConfig),
    /// [`CategoricalCem`] (discrete actions).
    CategoricalCem(CategoricalCemConfig),
    /// [`crate::GradientPlanner`] (needs a differentiable objective).
    Gradient(GradientPlannerConfig),
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Cem(CemConfig::default())
    }
}

/// What is planned: box actions within bounds, or indices of `n` discrete actions.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanSpace {
    /// Continuous actions.
    Continuous(ActionBounds),
    /// `horizon` steps of one of `n` actions.
    Discrete {
        /// Steps planned ahead.
        horizon: usize,
        /// Number of actions.
        n: usize,
    },
}

impl PlanSpace {
    /// Values per planned step.
    pub fn dim(&self) -> usize {
        match self {
            PlanSpace::Continuous(b) => b.dim(),
            PlanSpace::Discrete { .. } => 1,
        }
    }
}

impl OptimizerConfig {
    /// Builds the optimiser for `space`; refuses a continuous optimiser for discrete actions
    /// and the other way round.
    pub fn build(&self, space: &PlanSpace) -> Result<Box<dyn Optimizer + Send>, String> {
        Ok(match (self, space) {
            (OptimizerConfig::CategoricalCem(c), PlanSpace::Discrete { horizon, n }) => {
                Box::new(CategoricalCem::new(c.clone(), *horizon, *n)?)
            }
            (OptimizerConfig::CategoricalCem(_), PlanSpace::Continuous(_)) => {
                return Err("categorical-cem plans discrete actions; this env's are continuous (use cem, icem, mppi or random-shooting)".into())
            }
            (OptimizerConfig::Gradient(_), _) => {
                return Err("the gradient planner needs a differentiable objective; use GradientPlanner with one directly".into())
            }
            (_, PlanSpace::Discrete { .. }) => {
                return Err("this optimiser plans continuous actions; for discrete actions use kind = \"categorical-cem\"".into())
            }
            (OptimizerConfig::RandomShooting(c), PlanSpace::Continuous(b)) => {
                Box::new(RandomShooting::new(c.clone(), b.clone())?)
            }
            (OptimizerConfig::Cem(c), PlanSpace::Continuous(b)) => Box::new(Cem::new(c.clone(), b.clone())?),
            (OptimizerConfig::Icem(c), PlanSpace::Continuous(b)) => Box::new(ICem::new(c.clone(), b.clone())?),
            (OptimizerConfig::Mppi(c), PlanSpace::Continuous(b)) => Box::new(Mppi::new(c.clone(), b.clone())?),
        })
    }
}

/// Model predictive control around an [`Optimizer`].
pub struct Mpc {
    optimizer: Box<dyn Optimizer + Send>,
    dim: usize,
}

impl Mpc {
    /// MPC with the optimiser `config` builds for `space`.
    pub fn new(config: &OptimizerConfig, space: &PlanSpace) -> Result<Self, String> {
        Ok(Self {
            optimizer: config.build(space)?,
            dim: space.dim(),
        })
    }

    /// Plans against `objective` and returns the first action (and the whole plan); the
    /// rest of the plan warm-starts the next call.
    pub fn act(&mut self, objective: &mut dyn Objective, rng: &mut Rng) -> (Vec<f32>, Plan) {
        let plan = self.optimizer.optimize(objective, rng);
        self.optimizer.advance();
        (plan.actions[..self.dim].to_vec(), plan)
    }

    /// The warm start carried to the next call (for checkpoints).
    pub fn warm_start(&self) -> crate::WarmStart {
        self.optimizer.warm_start()
    }

    /// Restores [`Mpc::warm_start`].
    pub fn set_warm_start(&mut self, warm: crate::WarmStart) {
        self.optimizer.set_warm_start(warm);
    }

    /// Forgets the warm start (call at the start of an episode).
    pub fn reset(&mut self) {
        self.optimizer.reset();
    }
}
