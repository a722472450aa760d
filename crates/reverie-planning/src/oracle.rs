//! Scoring action sequences with the true simulator: the planner's ceiling, free of model
//! error.

use reverie_core::{Action, BoxedEnv, EnvError, Observation, SimulatorState, Space};

use crate::objective::Objective;
use crate::objective::TerminalValue;

/// Rolls each candidate out in a copy of the real env from a saved simulator state
/// ([`SimulatorState::set_state`] + `step`), summing discounted rewards until termination.
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
    /// An oracle over `env` (named `id` in errors), which should have no time limit shorter
    /// than the planning budget (build it with a large `max_episode_steps`). It is reset
    /// once here. An env whose state cannot be set ([`reverie_core::Env::simulator`] is
    /// `None`) is refused with [`EnvError::Unsupported`].
    pub fn new(
        mut env: BoxedEnv,
        id: &str,
        horizon: usize,
        discount: f32,
    ) -> Result<Self, EnvError> {
        if env.simulator().is_none() {
            return Err(EnvError::Unsupported(format!(
                "oracle planning needs an env whose state can be set; {id} cannot"
            )));
        }
        let (first, _) = env.reset(Some(0));
        if env
            .simulator()
            .and_then(|sim| sim.state_of_observation(&first))
            .is_none()
        {
            return Err(EnvError::Unsupported(format!(
                "oracle planning starts from the state behind each observation; {id}'s observations do not determine its state"
            )));
        }
        let (action, discrete_start) = match env.action_space() {
            Space::Discrete { start, .. } => (Action::Discrete(start), start),
            Space::Box(b) => (Action::Vector(vec![0.0; b.dim()]), 0),
        };
        let start = Self::simulator(&mut env).state();
        Ok(Self {
            start,
            env,
            horizon,
            discount,
            action,
            discrete_start,
            terminal_value: None,
        })
    }

    /// The env's settable state, which [`OracleObjective::new`] checked is there.
    fn simulator(env: &mut BoxedEnv) -> &mut dyn SimulatorState {
        env.simulator_mut()
            .expect("the oracle's env had a settable state when it was built")
    }

    /// Sets the simulator state rollouts start from (the layout of
    /// [`SimulatorState::state`]).
    pub fn set_start(&mut self, state: &[f64]) {
        self.start.clear();
        self.start.extend_from_slice(state);
    }

    /// Starts rollouts from the state behind observation `obs`
    /// ([`SimulatorState::state_of_observation`]); `false` (and nothing changed) when the env
    /// cannot recover it from this observation.
    pub fn set_start_from_observation(&mut self, obs: &Observation) -> bool {
        match Self::simulator(&mut self.env).state_of_observation(obs) {
            Some(state) => {
                self.start = state;
                true
            }
            None => false,
        }
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
            let mut obs = Self::simulator(&mut self.env)
                .set_state(&self.start)
                .expect("oracle start state");
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

#[cfg(test)]
mod tests {
    use super::*;
    use reverie_envs::{make_with, EnvOptions, OptionValue};

    fn oracle(horizon: usize) -> OracleObjective {
        let env = make_with(
            "CartPoleContinuous-v0",
            &EnvOptions::new().with("max_episode_steps", OptionValue::Int(1 << 30)),
        )
        .unwrap();
        let mut o = OracleObjective::new(env, "CartPoleContinuous-v0", horizon, 1.0).unwrap();
        o.set_start(&[0.0, 0.0, 0.01, 0.0]);
        o
    }

    #[test]
    fn scores_are_true_returns_plus_the_terminal_value() {
        let mut o = oracle(10);
        // Doing nothing for 10 steps from near-upright survives: return 10.
        let idle = vec![0.0f32; 10];
        // Pushing hard one way for 10 steps ... also survives 10 steps; over 60 it falls.
        let mut scores = [0.0f32];
        o.evaluate(&idle, &mut scores);
        assert_eq!(scores[0], 10.0);
        o.set_terminal_value(Some(Box::new(|obs: &[f32], v: &mut [f32]| {
            v[0] = 100.0 - obs[2].abs()
        })));
        o.evaluate(&idle, &mut scores);
        assert!(scores[0] > 109.0 && scores[0] < 110.0, "{}", scores[0]);
        let mut long = oracle(60);
        let push = vec![1.0f32; 60];
        long.evaluate(&push, &mut scores);
        assert!(
            scores[0] < 60.0,
            "pushing one way for 60 steps must fail: {}",
            scores[0]
        );
    }
}
