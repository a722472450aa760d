//! MinAtar (Young & Tian 2019): Atari games on a 10 × 10 grid of binary channels, as the
//! reference `minatar` 1.0.15 package plays them, behind one [`MinAtar`] env.
//!
//! Each game is a [`MinAtarGame`]: its dynamics given its random draws, which come from the
//! env's generator. The reference draws from NumPy's `RandomState`, which reverie does not
//! reproduce; `tests/minatar_conformance.rs` replays trajectories recorded from the
//! reference with the same draws (which actions stuck, Breakout's ball start side, Freeway's
//! car velocities) and checks every frame, reward and termination.

mod breakout;
mod freeway;
mod space_invaders;

pub use breakout::Breakout;
pub use freeway::{Freeway, Velocities, EPISODE_STEPS as FREEWAY_EPISODE_STEPS};
pub use space_invaders::SpaceInvaders;

use reverie_core::env::{check_discrete_action, decode_state, encode_state};
use reverie_core::{
    BoxSpace, Env, EnvError, Frame, Info, KnownFunctions, Observation, Rng, SimulatorState, Space,
    Step,
};
use serde::{de::DeserializeOwned, Serialize};

/// Side of MinAtar's square grid.
pub const GRID: usize = 10;

/// The reference's six actions, by index: no-op, left, up, right, down, fire.
pub const ACTIONS: [char; 6] = ['n', 'l', 'u', 'r', 'd', 'f'];

/// One MinAtar game: its state and dynamics given its random draws.
pub trait MinAtarGame: Clone + std::fmt::Debug + Serialize + DeserializeOwned + Send {
    /// The game's name in the ids, e.g. `Breakout` (`MinAtar/Breakout-v1`).
    const NAME: &'static str;
    /// Channels of the observation, in the reference's order.
    const CHANNELS: &'static [&'static str];
    /// The actions (indices into [`ACTIONS`]) that do something, in the reference's order.
    const MINIMAL_ACTIONS: &'static [usize];

    /// A new episode, drawing what the reference draws at reset from `rng`.
    fn reset(rng: &mut Rng) -> Self;
    /// Applies one of the six actions; returns `(reward, terminal)`. After the end it
    /// changes nothing and returns `(0, true)`, as the reference does.
    fn act(&mut self, action: usize, rng: &mut Rng) -> (f32, bool);
    /// Writes the observation, `[row][col][channel]` with 0 or 1 (the reference's
    /// `state()` layout), into `out` of length `GRID² × CHANNELS.len()`.
    fn write_state(&self, out: &mut [f32]);
    /// The reward of the step from observation `obs` to `next`, read off the two (for
    /// planners and imagined rollouts).
    fn reward_of(obs: &[f32], next: &[f32]) -> f32;
    /// Whether observation `next` ends the episode.
    fn terminal_of(next: &[f32]) -> bool;
    /// The game's whole state as numbers (the layout its docs give).
    fn to_state(&self) -> Vec<f64>;
    /// The game in state `state` (the layout of [`MinAtarGame::to_state`]), or what is
    /// wrong with it.
    fn from_state(state: &[f64]) -> Result<Self, String>;
}

/// A MinAtar game as an env, with the reference's sticky actions: each step, with
/// probability `sticky_action_prob` (0.1), the previous action is repeated instead of the
/// chosen one.
///
/// - Observation: float32 `[10, 10, channels]` of 0 and 1 (the reference's boolean state).
/// - Action: `Discrete(6)` for `-v0` (all six), `Discrete(|minimal set|)` for `-v1` (the
///   reference's minimal action set, e.g. no-op, left, right for Breakout).
/// - Episodes end by the game's own rule; the reference registers no time limit.
#[derive(Clone, Debug)]
pub struct MinAtar<G: MinAtarGame> {
    game: G,
    rng: Rng,
    last_action: usize,
    sticky_action_prob: f64,
    minimal_action_set: bool,
}

impl<G: MinAtarGame> MinAtar<G> {
    /// The game with sticky actions at `sticky_action_prob` and the minimal (`-v1`) or full
    /// (`-v0`) action set.
    pub fn new(sticky_action_prob: f64, minimal_action_set: bool) -> Self {
        let mut rng = Rng::seed_from_u64(0);
        Self {
            game: G::reset(&mut rng),
            rng,
            last_action: 0,
            sticky_action_prob,
            minimal_action_set,
        }
    }

    fn actions(&self) -> &'static [usize] {
        const ALL: [usize; 6] = [0, 1, 2, 3, 4, 5];
        if self.minimal_action_set {
            G::MINIMAL_ACTIONS
        } else {
            &ALL
        }
    }

    fn observe(&self) -> Vec<f32> {
        let mut obs = vec![0.0; GRID * GRID * G::CHANNELS.len()];
        self.game.write_state(&mut obs);
        obs
    }
}

impl<G: MinAtarGame> Env for MinAtar<G> {
    type Obs = Vec<f32>;
    type Action = i64;

    fn observation_space(&self) -> Space {
        let channels = G::CHANNELS.len();
        let mut space = BoxSpace::uniform(0.0, 1.0, GRID * GRID * channels);
        space.shape = vec![GRID, GRID, channels];
        Space::Box(space)
    }

    fn action_space(&self) -> Space {
        Space::discrete(self.actions().len() as u64)
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<f32>, Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        // As the reference's `Environment.reset`: the last action carries over.
        self.game = G::reset(&mut self.rng);
        (self.observe(), Info::new())
    }

    fn step(&mut self, action: &i64) -> Result<Step<Vec<f32>>, EnvError> {
        let actions = self.actions();
        check_discrete_action(*action, actions.len() as u64)?;
        let mut chosen = actions[*action as usize];
        if self.rng.uniform() < self.sticky_action_prob {
            chosen = self.last_action;
        }
        self.last_action = chosen;
        let (reward, terminated) = self.game.act(chosen, &mut self.rng);
        Ok(Step {
            obs: self.observe(),
            reward: reward as f64,
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        encode_state(&(&self.game, &self.rng, self.last_action))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.game, self.rng, self.last_action) = decode_state(G::NAME, bytes)?;
        Ok(())
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::grid::grid_size(GRID, GRID, 320))
    }

    fn simulator(&self) -> Option<&dyn SimulatorState> {
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        Some(self)
    }

    fn known_functions(&self) -> KnownFunctions {
        KnownFunctions::new(
            |obs, _, next| G::reward_of(obs, next),
            |_, _, next| G::terminal_of(next),
        )
    }

    /// The reference's picture: each cell in the colour of its highest set channel
    /// (seaborn's cubehelix palette), black where none is set.
    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        let obs = self.observe();
        let channels = G::CHANNELS.len();
        let palette = cubehelix(channels);
        let mut canvas = crate::render::grid::grid_canvas(frame, GRID, GRID);
        canvas.clear([0, 0, 0]);
        for row in 0..GRID {
            for col in 0..GRID {
                let cell = &obs[(row * GRID + col) * channels..][..channels];
                if let Some(c) = (0..channels).rev().find(|&c| cell[c] > 0.5) {
                    crate::render::grid::cell(&mut canvas, row, col, palette[c]);
                }
            }
        }
        Ok(())
    }
}

/// `[last action, the game's state…]`: the action that sticks with probability
/// `sticky_action_prob` on the next step, then [`MinAtarGame::to_state`]. The observation
/// does not determine it (Breakout's ball direction after a bounce and its strike flag are
/// not drawn), so [`SimulatorState::state_of_observation`] gives none.
impl<G: MinAtarGame> SimulatorState for MinAtar<G> {
    fn state(&self) -> Vec<f64> {
        let mut state = vec![self.last_action as f64];
        state.extend(self.game.to_state());
        state
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        let invalid = |reason: String| EnvError::invalid_state(G::NAME, reason);
        let (&last, game) = state
            .split_first()
            .ok_or_else(|| invalid("an empty state".into()))?;
        if !(0.0..6.0).contains(&last) || last.fract() != 0.0 {
            return Err(invalid(format!(
                "the last action is {last}; expected one of 0..=5"
            )));
        }
        self.game = G::from_state(game).map_err(invalid)?;
        self.last_action = last as usize;
        Ok(Observation::Vector(self.observe()))
    }
}

/// Value `i` of a game's state ([`MinAtarGame::to_state`]) as an integer in `range`, or
/// what is wrong with it; `name` says what the value is.
fn state_int(
    state: &[f64],
    i: usize,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, String> {
    let v = state[i];
    if v.fract() == 0.0 && (*range.start() as f64..=*range.end() as f64).contains(&v) {
        Ok(v as i64)
    } else {
        Err(format!("{name} is {v}; expected an integer in {range:?}"))
    }
}

/// The `GRID × GRID` cells (0 or 1, row-major from the top) at values `from..` of a game's
/// state.
fn state_grid(state: &[f64], from: usize, name: &str) -> Result<[[bool; GRID]; GRID], String> {
    let mut grid = [[false; GRID]; GRID];
    for (k, cell) in grid.iter_mut().flatten().enumerate() {
        *cell = state_int(state, from + k, name, 0..=1)? == 1;
    }
    Ok(grid)
}

/// `seaborn.color_palette("cubehelix", n)`, which the reference draws channel k in:
/// matplotlib's cubehelix map (Green 2011; start 0.5, rotations −1.5, hue 1, gamma 1)
/// sampled at `n` points strictly inside [0, 1].
fn cubehelix(n: usize) -> Vec<[u8; 3]> {
    let (start, rotations, hue) = (0.5f64, -1.5f64, 1.0f64);
    (1..=n)
        .map(|k| {
            let x = k as f64 / (n + 1) as f64;
            let phi = 2.0 * std::f64::consts::PI * (start / 3.0 + rotations * x);
            let amp = hue * x * (1.0 - x) / 2.0;
            let (c, s) = (phi.cos(), phi.sin());
            let rgb = [
                x + amp * (-0.14861 * c + 1.78277 * s),
                x + amp * (-0.29227 * c - 0.90649 * s),
                x + amp * (1.97294 * c),
            ];
            rgb.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
        })
        .collect()
}
