use crate::env::{Env, Info, InfoValue, SimulatorState, Step};
use crate::error::EnvError;
use crate::frame::Frame;
use crate::known::KnownFunctions;
use crate::space::Space;

/// Return and length of one finished episode.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpisodeStats {
    /// Undiscounted sum of rewards.
    pub episode_return: f64,
    /// Number of steps.
    pub length: u64,
}

/// Gymnasium's `RecordEpisodeStatistics`: accumulates return and length, and at the end of
/// an episode (terminated or truncated) adds `episode_return` and `episode_length` to the
/// step's info and keeps them in [`RecordEpisodeStats::last_episode`].
#[derive(Clone, Debug)]
pub struct RecordEpisodeStats<E> {
    inner: E,
    episode_return: f64,
    length: u64,
    last: Option<EpisodeStats>,
    episodes: u64,
}

impl<E: Env> RecordEpisodeStats<E> {
    /// Wraps `inner`.
    pub fn new(inner: E) -> Self {
        Self {
            inner,
            episode_return: 0.0,
            length: 0,
            last: None,
            episodes: 0,
        }
    }

    /// Statistics of the most recently finished episode.
    pub fn last_episode(&self) -> Option<EpisodeStats> {
        self.last
    }

    /// Number of finished episodes.
    pub fn episodes(&self) -> u64 {
        self.episodes
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<E: Env> Env for RecordEpisodeStats<E> {
    type Obs = E::Obs;
    type Action = E::Action;

    fn observation_space(&self) -> Space {
        self.inner.observation_space()
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> (E::Obs, Info) {
        self.episode_return = 0.0;
        self.length = 0;
        self.inner.reset(seed)
    }

    fn step(&mut self, action: &E::Action) -> Result<Step<E::Obs>, EnvError> {
        let mut step = self.inner.step(action)?;
        self.episode_return += step.reward;
        self.length += 1;
        if step.terminated || step.truncated {
            let stats = EpisodeStats {
                episode_return: self.episode_return,
                length: self.length,
            };
            self.last = Some(stats);
            self.episodes += 1;
            step.info
                .insert("episode_return", InfoValue::Float(stats.episode_return));
            step.info
                .insert("episode_length", InfoValue::Int(stats.length as i64));
        }
        Ok(step)
    }

    /// The inner env's settable state; setting it leaves this wrapper's counters as they are.
    fn simulator(&self) -> Option<&dyn SimulatorState> {
        self.inner.simulator()
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        self.inner.simulator_mut()
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        let inner = self.inner.save_state()?;
        crate::env::encode_state(&(
            inner,
            (self.episode_return, self.length, self.last, self.episodes),
        ))
    }
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let (inner, own): (Vec<u8>, _) = crate::env::decode_state("RecordEpisodeStats", bytes)?;
        self.inner.load_state(&inner)?;
        (self.episode_return, self.length, self.last, self.episodes) = own;
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
