//! The uniformly random agent: the baseline every learning curve is compared with.

use reverie_core::{Action, Observation, PerEnvAgent, Rng, Space, Transition};

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

impl PerEnvAgent for RandomAgent {
    fn act_one(&mut self, _obs: &Observation, _explore: bool) -> Action {
        self.action_space.sample(&mut self.rng)
    }

    fn observe_one(&mut self, _transition: &Transition<'_>) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// A random agent has no parameters: only its generator.
    fn checkpoint(&self) -> Vec<u8> {
        reverie_core::snapshot::save(crate::Algorithm::Random.name(), &self.rng)
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.rng = reverie_core::snapshot::load(crate::Algorithm::Random.name(), bytes)
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
