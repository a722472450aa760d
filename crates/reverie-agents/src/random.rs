//! The uniformly random agent: the baseline every learning curve is compared with.

use reverie_core::{
    act_each, observe_each, Action, Agent, Carry, Metrics, Mode, ObsBatch, Observation, Rng, Space,
    StepBatch, Transition,
};

/// Samples actions uniformly from the action space; learns nothing.
#[derive(Clone, Debug)]
pub struct RandomAgent {
    action_space: Space,
    rng: Rng,
}

impl RandomAgent {
    /// A random agent over `action_space`, drawing from `rng`.
    pub fn new(action_space: Space, rng: Rng) -> Self {
        Self { action_space, rng }
    }
}

impl RandomAgent {
    /// Chooses an action for one env's observation; `explore` is false for evaluation.
    pub fn act_one(&mut self, _obs: &Observation, _explore: bool) -> Action {
        self.action_space.sample(&mut self.rng)
    }

    /// Learns from one env's transition; returns metrics to log.
    pub fn observe_one(&mut self, _transition: &Transition<'_>) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}

impl Agent for RandomAgent {
    fn act(
        &mut self,
        obs: &ObsBatch,
        _is_first: &[bool],
        _carry: &mut Carry,
        mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        act_each(obs, actions, |o| self.act_one(o, mode.explores()));
    }

    fn observe(&mut self, step: &StepBatch<'_>) -> Metrics {
        observe_each(step, |t| self.observe_one(t))
    }

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            Ok(())
        } else {
            Err("a random agent has no parameters, but the checkpoint is not empty".into())
        }
    }
}
