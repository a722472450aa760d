use crate::env::{Env, Info, SimulatorState, Step};
use crate::error::EnvError;
use crate::frame::Frame;
use crate::known::KnownFunctions;
use crate::space::Space;

/// Gymnasium's `TimeLimit` plus `OrderEnforcing`: truncates an episode after
/// `max_episode_steps` steps and refuses `step` before the first `reset`.
///
/// As in Gymnasium, `truncated` is set when the limit is reached even if the same step also
/// terminates, and the counter restarts at every `reset`.
#[derive(Clone, Debug)]
pub struct TimeLimit<E> {
    inner: E,
    max_episode_steps: Option<u32>,
    /// `None` until the first reset.
    elapsed: Option<u32>,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `inner`; `None` means no limit (only the reset-before-step check).
    pub fn new(inner: E, max_episode_steps: Option<u32>) -> Self {
        Self {
            inner,
            max_episode_steps,
            elapsed: None,
        }
    }

    /// The limit, if any.
    pub fn max_episode_steps(&self) -> Option<u32> {
        self.max_episode_steps
    }

    /// Steps taken since the last reset (`None` before the first reset).
    pub fn elapsed_steps(&self) -> Option<u32> {
        self.elapsed
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// The wrapped env, mutably (stepping it directly bypasses the counter).
    pub fn inner_mut(&mut self) -> &mut E {
        &mut self.inner
    }
}

impl<E: Env> Env for TimeLimit<E> {
    type Obs = E::Obs;
    type Action = E::Action;

    fn observation_space(&self) -> Space {
        self.inner.observation_space()
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    #[inline]
    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.elapsed = Some(0);
        self.inner.reset(seed)
    }

    #[inline]
    fn step(&mut self, action: &E::Action) -> Result<Step<E::Obs>, EnvError> {
        let elapsed = self.elapsed.ok_or(EnvError::ResetNeeded)?;
        let mut step = self.inner.step(action)?;
        let elapsed = elapsed + 1;
        self.elapsed = Some(elapsed);
        if let Some(max) = self.max_episode_steps {
            if elapsed >= max {
                step.truncated = true;
            }
        }
        Ok(step)
    }

    /// The inner env's settable state; setting it leaves this wrapper's counter as it is.
    fn simulator(&self) -> Option<&dyn SimulatorState> {
        self.inner.simulator()
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        self.inner.simulator_mut()
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        let inner = self.inner.save_state()?;
        crate::env::encode_state(&(inner, self.elapsed))
    }
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let (inner, own): (Vec<u8>, _) = crate::env::decode_state("TimeLimit", bytes)?;
        self.inner.load_state(&inner)?;
        self.elapsed = own;
        Ok(())
    }
    fn render_size(&self) -> Option<(usize, usize)> {
        self.inner.render_size()
    }
    fn known_functions(&self) -> KnownFunctions {
        self.inner.known_functions()
    }
    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        self.inner.render(frame)
    }
}
