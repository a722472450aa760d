use reverie_core::env::{check_vector_action, observed_state};
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

use super::mountain_car::{
    mountain_car_observation_space, MAX_POSITION, MAX_SPEED, MIN_POSITION, RESET_HIGH, RESET_LOW,
};

const MIN_ACTION: f32 = -1.0;
const MAX_ACTION: f32 = 1.0;
const GOAL_POSITION: f64 = 0.45;
const POWER: f64 = 0.0015;
/// Coefficient of the slope term `cos(3 position)` in the velocity update.
const GRAVITY: f64 = 0.0025;
/// Reward for reaching the goal.
const GOAL_REWARD: f64 = 100.0;
/// Weight of the (unclipped) squared action in the per-step cost.
const ACTION_COST: f64 = 0.1;

/// Rounds to float32 and back: how numpy 2 stores a value in a float32 array or evaluates
/// an operation between a float32 scalar and a Python float.
#[inline]
fn f32r(x: f64) -> f64 {
    x as f32 as f64
}

/// MountainCarContinuous-v0: the mountain car with a continuous force, as Gymnasium 1.4.0's
/// `Continuous_MountainCarEnv`.
///
/// State `[position, velocity]`; observation the state as f32. The action is a force in
/// [-1, 1]: larger finite values are clipped for the dynamics, but the reward charges the
/// raw action: `-0.1 a²` per step, plus 100 on reaching the goal (`position >= 0.45` and
/// `velocity >= goal_velocity`, default 0), which terminates the episode. Registered with a
/// 999-step limit. Reset draws the position from U(-0.6, -0.4) with zero velocity.
///
/// Bit-exact to Gymnasium, whose numerics change after the first step: the reset state is a
/// float64 array, but every step stores the state as float32, and numpy 2 (NEP 50) then
/// evaluates the next update in float32 wherever a float32 scalar meets a Python float. The
/// env therefore remembers whether its state is float32 ([`Env::set_state`] loads a float64
/// state, like a reset) and follows the reference's types operation by operation.
#[derive(Clone, Debug)]
pub struct MountainCarContinuous {
    /// `[position, velocity]`; holds exact f32 values while `state_is_f32`.
    state: [f64; 2],
    /// Whether Gymnasium would hold the state as float32 (true after any step).
    state_is_f32: bool,
    rng: Rng,
    goal_velocity: f64,
}

impl Default for MountainCarContinuous {
    fn default() -> Self {
        Self::new()
    }
}

impl MountainCarContinuous {
    /// MountainCarContinuous-v0 with Gymnasium's default `goal_velocity` (0).
    pub fn new() -> Self {
        Self {
            state: [0.0; 2],
            state_is_f32: false,
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

impl Env for MountainCarContinuous {
    type Obs = [f32; 2];
    type Action = [f32; 1];

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, self.state_is_f32, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.state_is_f32, self.rng) =
            reverie_core::env::decode_state("MountainCarContinuous", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        mountain_car_observation_space()
    }

    fn action_space(&self) -> Space {
        Space::boxed(vec![MIN_ACTION], vec![MAX_ACTION])
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 2], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        self.state = [self.rng.uniform_range(RESET_LOW, RESET_HIGH), 0.0];
        self.state_is_f32 = false;
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &[f32; 1]) -> Result<Step<[f32; 2]>, EnvError> {
        check_vector_action(action)?;
        let a = action[0];
        let [mut position, mut velocity] = self.state;
        // Each `*_f32` flag says whether the reference holds that value as a float32 scalar
        // (its operations with Python floats then round to f32) or as a float64 / Python float.
        let f32_state = self.state_is_f32;

        // `3 * position` is float32 arithmetic on a float32 state; the cosine is f64.
        let slope = if f32_state {
            GRAVITY * f64::from(3.0f32 * position as f32).cos()
        } else {
            GRAVITY * (3.0 * position).cos()
        };
        // `min(max(a, -1.0), 1.0)` keeps the float32 action when it is in range, and yields
        // the Python float bound when it is clipped.
        let clipped = !(MIN_ACTION..=MAX_ACTION).contains(&a);
        let increment = if clipped {
            let force = if a < MIN_ACTION { -1.0 } else { 1.0 };
            force * POWER - slope
        } else {
            f64::from(a * POWER as f32 - slope as f32)
        };

        // velocity += increment: float32 (the increment rounded to f32 first) on a float32
        // state, float64 on the reset state.
        let mut velocity_f32 = f32_state;
        velocity = if f32_state {
            f64::from(velocity as f32 + increment as f32)
        } else {
            velocity + increment
        };
        // Comparing a float32 scalar with a Python float compares in float32.
        let bound = |x: f64, is_f32: bool| if is_f32 { f32r(x) } else { x };
        if velocity > bound(MAX_SPEED, velocity_f32) {
            velocity = MAX_SPEED;
            velocity_f32 = false;
        }
        if velocity < bound(-MAX_SPEED, velocity_f32) {
            velocity = -MAX_SPEED;
            velocity_f32 = false;
        }

        // position += velocity
        let mut position_f32 = f32_state;
        position = if f32_state {
            f64::from(position as f32 + velocity as f32)
        } else {
            position + velocity
        };
        if position > bound(MAX_POSITION, position_f32) {
            position = MAX_POSITION;
            position_f32 = false;
        }
        if position < bound(MIN_POSITION, position_f32) {
            position = MIN_POSITION;
            position_f32 = false;
        }
        // Hitting the left wall stops the car (an inelastic collision).
        if position == bound(MIN_POSITION, position_f32) && velocity < 0.0 {
            velocity = 0.0;
            velocity_f32 = false;
        }
        let terminated = position >= bound(GOAL_POSITION, position_f32)
            && velocity >= bound(self.goal_velocity, velocity_f32);

        let a = f64::from(a);
        let goal_reward = if terminated { GOAL_REWARD } else { 0.0 };
        let reward = goal_reward - (a * a) * ACTION_COST;
        self.state = [f32r(position), f32r(velocity)];
        self.state_is_f32 = true;
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

    /// 100 on reaching the goal (with this env's `goal_velocity`) minus 0.1 a² of the raw
    /// action, and the goal test, on observations.
    fn known_functions(&self) -> KnownFunctions {
        let goal_velocity = self.goal_velocity as f32;
        let reached =
            move |next: &[f32]| next[0] >= GOAL_POSITION as f32 && next[1] >= goal_velocity;
        KnownFunctions::new(
            move |_, action, next| {
                let goal = if reached(next) {
                    GOAL_REWARD as f32
                } else {
                    0.0
                };
                goal - ACTION_COST as f32 * action[0] * action[0]
            },
            move |_, _, next| reached(next),
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

impl SimulatorState for MountainCarContinuous {
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
                "MountainCarContinuous-v0",
                format!(
                    "expected 2 values [position, velocity], got {}",
                    state.len()
                ),
            )
        })?;
        // A loaded state is held as float64, like the reset state.
        self.state_is_f32 = false;
        Ok(self.obs().to_observation())
    }
}
