//! Scoring action sequences with the true simulator: the planner's ceiling, free of model
//! error.

use reverie_core::{Action, BoxedEnv, Space};

use crate::model_objective::TerminalValue;
use crate::objective::Objective;

/// Rolls each candidate out in a copy of the real env from a saved simulator state
/// (`set_state` + `step`), summing discounted rewards until termination.
pub struct OracleObjective {
    env: BoxedEnv,
    horizon: usize,
    discount: f32,
    start: Vec<f64>,
    action: Action,
    discrete_start: i64,
    terminal_value: Option<TerminalValue>,
}

impl OracleObjective {
    /// An oracle over `env`, which should have no time limit shorter than the planning
    /// budget (build it with a large `max_episode_steps`). It is reset once here.
    pub fn new(mut env: BoxedEnv, horizon: usize, discount: f32) -> Self {
        env.reset(Some(0));
        let (action, discrete_start) = match env.action_space() {
            Space::Discrete { start, .. } => (Action::Discrete(start), start),
            Space::Box(b) => (Action::Vector(vec![0.0; b.dim()]), 0),
        };
        Self {
            start: env.state(),
            env,
            horizon,
            discount,
            action,
            discrete_start,
            terminal_value: None,
        }
    }

    /// Sets the simulator state rollouts start from (from the real env's `state()`).
    pub fn set_start(&mut self, state: &[f64]) {
        self.start.clear();
        self.start.extend_from_slice(state);
    }

    /// Adds `V(s_H)` for rollouts that did not terminate.
    pub fn set_terminal_value(&mut self, value: Option<TerminalValue>) {
        self.terminal_value = value;
    }
}

impl Objective for OracleObjective {
    fn evaluate(&mut self, candidates: &[f32], scores: &mut [f32]) {
        let h = self.horizon;
        let d = candidates.len() / (scores.len() * h);
        for (c, score) in scores.iter_mut().enumerate() {
            let mut obs = self.env.set_state(&self.start).expect("oracle start state");
            let (mut total, mut discount, mut alive) = (0.0f32, 1.0f32, true);
            for t in 0..h {
                let planned = &candidates[(c * h + t) * d..(c * h + t + 1) * d];
                match &mut self.action {
                    Action::Discrete(a) => *a = self.discrete_start + planned[0].max(0.0) as i64,
                    Action::Vector(v) => v.copy_from_slice(planned),
                }
                let step = self.env.step(&self.action).expect("oracle step");
                total += discount * step.reward as f32;
                discount *= self.discount;
                obs = step.obs;
                if step.terminated {
                    alive = false;
                    break;
                }
            }
            if let (true, Some(v), Some(o)) = (alive, &mut self.terminal_value, obs.as_vector()) {
                let mut value = [0.0f32];
                v(o, &mut value);
                total += discount * value[0];
            }
            *score = if total.is_finite() {
                total
            } else {
                f32::NEG_INFINITY
            };
        }
    }
}
