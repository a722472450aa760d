//! The uniformly random agent: the baseline every learning curve is compared with.

use reverie_core::{
    ActContext, Action, Agent, Carry, Metrics, Mode, ObsBatch, Rng, Space, StepBatch,
};

/// Samples actions uniformly from the action space (from the legal ones, where the env
/// reports them); learns nothing.
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

impl Agent for RandomAgent {
    fn act(
        &mut self,
        obs: &ObsBatch,
        ctx: &ActContext<'_>,
        _carry: &mut Carry,
        _mode: Mode,
        actions: &mut Vec<Action>,
    ) {
        actions.clear();
        let n = match self.action_space {
            Space::Discrete { n, .. } => n as usize,
            _ => 0,
        };
        for i in 0..obs.len() {
            let action = match ctx.legal_row(i, n) {
                Some(legal) => {
                    let mask: Vec<i64> = legal.iter().map(|&l| i64::from(l)).collect();
                    self.action_space.sample_masked(Some(&mask), &mut self.rng)
                }
                None => self.action_space.sample(&mut self.rng),
            };
            actions.push(action);
        }
    }

    fn observe(&mut self, _step: &StepBatch<'_>) -> Metrics {
        Metrics::new()
    }

    /// A random agent has no parameters: only its generator.
    fn save(&self) -> Vec<u8> {
        reverie_core::snapshot::save(crate::Algorithm::Random.name(), &self.rng)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.rng = reverie_core::snapshot::load(crate::Algorithm::Random.name(), bytes)
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
