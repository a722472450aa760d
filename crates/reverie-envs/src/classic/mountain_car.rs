use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

pub(crate) const MIN_POSITION: f64 = -1.2;
pub(crate) const MAX_POSITION: f64 = 0.6;
pub(crate) const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.5;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;
/// Start positions are drawn uniformly from this interval (the bottom of the valley).
pub(crate) const RESET_LOW: f64 = -0.6;
pub(crate) const RESET_HIGH: f64 = -0.4;

/// The observation space shared by both mountain cars: `[position, velocity]` within the
/// track and the speed limit, as float32 (so the bounds are the f32-rounded constants).
pub(crate) fn mountain_car_observation_space() -> Space {
    Space::boxed(
        vec![MIN_POSITION as f32, -MAX_SPEED as f32],
        vec![MAX_POSITION as f32, MAX_SPEED as f32],
    )
}

/// MountainCar-v0 (Moore 1990): drive an underpowered car up a hill, as Gymnasium 1.4.0's
/// `MountainCarEnv`.
///
/// State `[position, velocity]` in f64, observation its f32 cast. Actions: 0 accelerates
/// left, 1 does nothing, 2 accelerates right. Reward -1 per step, including the terminating
/// one; terminated when `position >= 0.5` and `velocity >= goal_velocity` (default 0).
/// Registered with a 200-step limit. Reset draws the position from U(-0.6, -0.4) with zero
/// velocity. Plain f64 arithmetic in the reference's order of operations, so it is bit-exact.
#[derive(Clone, Debug)]
pub struct MountainCar {
    state: [f64; 2],
    rng: Rng,
    goal_velocity: f64,
}

impl Default for MountainCar {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCar {
    /// MountainCar-v0 with Gymnasium's default `goal_velocity` (0).
    pub fn new() -> Self {
        Self {
            state: [0.0; 2],
            rng: Rng::seed_from_u64(0),
            goal_velocity: 0.0,
        }
    }

    /// Gymnasium's `goal_velocity` option: the least velocity that counts as reaching the
    /// goal.
    pub fn with_goal_velocity(mut self, goal_velocity: f64) -> Self {
        self.goal_velocity = goal_velocity;
        self
    }

    #[inline]
    fn obs(&self) -> [f32; 2] {
        self.state.map(|x| x as f32)
    }
}

impl Env for MountainCar {
    type Obs = [f32; 2];
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.rng) = reverie_core::env::decode_state("MountainCar", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        mountain_car_observation_space()
    }

    fn action_space(&self) -> Space {
        Space::discrete(3)
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 2], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        self.state = [self.rng.uniform_range(RESET_LOW, RESET_HIGH), 0.0];
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &i64) -> Result<Step<[f32; 2]>, EnvError> {
        check_discrete_action(*action, 3)?;
        let [mut position, mut velocity] = self.state;
        velocity += (*action - 1) as f64 * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        // Hitting the left wall stops the car (an inelastic collision).
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= self.goal_velocity;
        self.state = [position, velocity];
        Ok(Step {
            obs: self.obs(),
            reward: -1.0,
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

    /// Reward −1 per step; the goal test with this env's `goal_velocity`, on observations.
    fn known_functions(&self) -> KnownFunctions {
        let goal_velocity = self.goal_velocity as f32;
        KnownFunctions::new(
            |_, _, _| -1.0,
            move |_, _, next| next[0] >= GOAL_POSITION as f32 && next[1] >= goal_velocity,
        )
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::scenes::MOUNTAIN_CAR_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        crate::render::scenes::mountain_car(
            frame,
            self.state[0],
            MIN_POSITION,
            MAX_POSITION,
            GOAL_POSITION,
        );
        Ok(())
    }
}

impl SimulatorState for MountainCar {
    /// The observation is the state (its f32 rounding).
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 2)
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.state = state.try_into().map_err(|_| {
            EnvError::invalid_state(
                "MountainCar-v0",
                format!(
                    "expected 2 values [position, velocity], got {}",
                    state.len()
                ),
            )
        })?;
        Ok(self.obs().to_observation())
    }
}
