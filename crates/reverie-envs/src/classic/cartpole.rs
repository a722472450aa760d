use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
const LENGTH: f64 = 0.5;
const POLEMASS_LENGTH: f64 = MASS_POLE * LENGTH;
/// Magnitude of the push on the cart (N); the continuous cart-poles scale their action by it.
pub(crate) const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
/// Half-length of the track (m): the cart leaving it ends the episode in every cart-pole.
pub(crate) const X_THRESHOLD: f64 = 2.4;
/// The thresholds as the f32 comparisons on observations use them (computed in f32, as the
/// known functions always have been, so planning runs stay bit for bit the same).
pub(crate) const X_THRESHOLD_F32: f32 = 2.4;
const THETA_THRESHOLD_F32: f32 = 12.0 * 2.0 * std::f32::consts::PI / 360.0;

/// CartPole-v1 (Barto, Sutton & Anderson 1983), as Gymnasium 1.4.0's `CartPoleEnv`.
///
/// State `[x, x_dot, theta, theta_dot]` in f64, observation its f32 cast. Action 0 pushes
/// left, 1 pushes right (±10 N). Reward 1 per step, including the terminating one;
/// terminated when |x| > 2.4 or |theta| > 12°. Registered with a 500-step limit.
/// Explicit Euler integration with τ = 0.02 s, in the reference's order of operations.
#[derive(Clone, Debug)]
pub struct CartPole {
    state: [f64; 4],
    rng: Rng,
    steps_beyond_terminated: Option<u32>,
    sutton_barto_reward: bool,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// CartPole-v1 with Gymnasium's default reward (+1 per step).
    pub fn new() -> Self {
        Self {
            state: [0.0; 4],
            rng: Rng::seed_from_u64(0),
            steps_beyond_terminated: None,
            sutton_barto_reward: false,
        }
    }

    /// Gymnasium's `sutton_barto_reward=True`: 0 per step, -1 on termination.
    pub fn with_sutton_barto_reward(mut self, on: bool) -> Self {
        self.sutton_barto_reward = on;
        self
    }

    #[inline]
    fn obs(&self) -> [f32; 4] {
        self.state.map(|x| x as f32)
    }

    /// One physics step of the reference dynamics from `state` with force `force` (N).
    /// Shared with the continuous cart-poles.
    #[inline]
    pub(crate) fn dynamics(state: [f64; 4], force: f64) -> [f64; 4] {
        let [x, x_dot, theta, theta_dot] = state;
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        [
            x + TAU * x_dot,
            x_dot + TAU * xacc,
            theta + TAU * theta_dot,
            theta_dot + TAU * thetaacc,
        ]
    }

    /// Whether the pole has fallen or the cart left the track.
    // Written as the reference's comparisons (a NaN state is not out of bounds there).
    #[allow(clippy::manual_range_contains)]
    #[inline]
    pub(crate) fn out_of_bounds(state: &[f64; 4]) -> bool {
        let [x, _, theta, _] = *state;
        x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD
    }

    /// [`CartPole::out_of_bounds`] on an f32 observation `[x, x_dot, theta, theta_dot]`, for
    /// the known termination of the balance tasks.
    pub(crate) fn observed_out_of_bounds(obs: &[f32]) -> bool {
        obs[0].abs() > X_THRESHOLD_F32 || obs[2].abs() > THETA_THRESHOLD_F32
    }

    /// Draws a balance cart-pole in `state` as Gymnasium's `rgb_array` (shared with the
    /// continuous cart-pole, which has the same track, cart and pole).
    pub(crate) fn draw(state: &[f64; 4], frame: &mut reverie_core::Frame) {
        let [x, _, theta, _] = *state;
        crate::render::scenes::cartpole(
            frame,
            x,
            theta,
            X_THRESHOLD,
            LENGTH,
            crate::render::scenes::CARTPOLE_TRACK_Y,
        );
    }

    /// The observation space shared by the cart-pole balance tasks.
    pub(crate) fn balance_observation_space() -> Space {
        let high = [
            (X_THRESHOLD * 2.0) as f32,
            f32::INFINITY,
            (THETA_THRESHOLD * 2.0) as f32,
            f32::INFINITY,
        ];
        Space::boxed(high.iter().map(|h| -h).collect(), high.to_vec())
    }
}

impl Env for CartPole {
    type Obs = [f32; 4];
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, &self.rng, self.steps_beyond_terminated))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.rng, self.steps_beyond_terminated) =
            reverie_core::env::decode_state("CartPole", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        Self::balance_observation_space()
    }

    fn action_space(&self) -> Space {
        Space::discrete(2)
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 4], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        for x in &mut self.state {
            *x = self.rng.uniform_range(-0.05, 0.05);
        }
        self.steps_beyond_terminated = None;
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &i64) -> Result<Step<[f32; 4]>, EnvError> {
        check_discrete_action(*action, 2)?;
        let force = if *action == 1 { FORCE_MAG } else { -FORCE_MAG };
        self.state = Self::dynamics(self.state, force);
        let terminated = Self::out_of_bounds(&self.state);
        let reward = if !terminated {
            if self.sutton_barto_reward {
                0.0
            } else {
                1.0
            }
        } else if self.steps_beyond_terminated.is_none() {
            self.steps_beyond_terminated = Some(0);
            if self.sutton_barto_reward {
                -1.0
            } else {
                1.0
            }
        } else {
            // Stepping past termination is allowed (as in Gymnasium) but earns nothing.
            self.steps_beyond_terminated = self.steps_beyond_terminated.map(|n| n + 1);
            if self.sutton_barto_reward {
                -1.0
            } else {
                0.0
            }
        };
        Ok(Step {
            obs: self.obs(),
            reward,
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }

    fn simulator(&self) -> Option<&dyn SimulatorState> {
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        Some(self)
    }

    /// Reward 1 (or Sutton & Barto's 0, −1 on failing) and the pole-fell or cart-left test,
    /// on observations.
    fn known_functions(&self) -> KnownFunctions {
        let sutton_barto = self.sutton_barto_reward;
        KnownFunctions::new(
            move |_, _, next| match (sutton_barto, Self::observed_out_of_bounds(next)) {
                (false, _) => 1.0,
                (true, false) => 0.0,
                (true, true) => -1.0,
            },
            |_, _, next| Self::observed_out_of_bounds(next),
        )
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::scenes::CARTPOLE_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        Self::draw(&self.state, frame);
        Ok(())
    }
}

impl SimulatorState for CartPole {
    /// The observation is the state (its f32 rounding).
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 4)
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        let state: [f64; 4] = state.try_into().map_err(|_| {
            EnvError::invalid_state(
                "CartPole-v1",
                format!(
                    "expected 4 values [x, x_dot, theta, theta_dot], got {}",
                    state.len()
                ),
            )
        })?;
        self.state = state;
        self.steps_beyond_terminated = None;
        Ok(self.obs().to_observation())
    }
}
