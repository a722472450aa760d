use reverie_core::env::check_vector_action;
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

use std::f64::consts::PI;

use super::py_square;

/// Gymnasium's default gravity (m/s²), the `g` option.
const DEFAULT_GRAVITY: f64 = 10.0;
const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f32 = 2.0;
const DT: f64 = 0.05;
const MASS: f64 = 1.0;
const LENGTH: f64 = 1.0;
/// Coefficient of the torque in the angular acceleration, `3 / (m l²)`. Gymnasium multiplies
/// it (a Python float) with the float32 action, which numpy 2 evaluates in float32.
const TORQUE_GAIN: f64 = 3.0 / (MASS * LENGTH * LENGTH);
/// Weight of the control cost. Also applied in float32, for the same reason.
const CONTROL_COST: f32 = 0.001;
/// Half-widths of the uniform start distribution of `[theta, theta_dot]`.
const RESET_THETA: f64 = PI;
const RESET_THETA_DOT: f64 = 1.0;

/// Pendulum-v1: swing a frictionless pendulum up and hold it, as Gymnasium 1.4.0's
/// `PendulumEnv`.
///
/// State `[theta, theta_dot]` in f64, with `theta` not wrapped (0 is upright); observation
/// `[cos theta, sin theta, theta_dot]` as f32. The action is a torque in [-2, 2] N·m;
/// larger finite torques are clipped, as Gymnasium does. Reward
/// `-(normalize(theta)² + 0.1 theta_dot² + 0.001 u²)`, never terminated; registered with a
/// 200-step limit. Reset draws `theta ~ U(-π, π)`, `theta_dot ~ U(-1, 1)`.
///
/// Bit-exact to Gymnasium: the clipped torque `u` stays float32, as numpy 2 keeps it, so the
/// control cost `0.001 u²` and the torque term `3 u` are rounded to f32 before joining the
/// f64 sums; the squares are libm's `pow(x, 2)` (f64) and `powf(u, 2)` (f32), as numpy's
/// scalar `**` is, not exact products; the angle is normalized with Python's floor modulo.
#[derive(Clone, Debug)]
pub struct Pendulum {
    state: [f64; 2],
    rng: Rng,
    gravity: f64,
    /// The clipped torque of the last step (`None` after a reset), drawn as Gymnasium's
    /// arrow; it plays no part in the dynamics.
    last_u: Option<f32>,
}

impl Default for Pendulum {
    fn default() -> Self {
        Self::new()
    }
}

/// Python's (and numpy's) float `%`: the result takes the sign of the divisor, unlike
/// Rust's `%` (C's `fmod`), which takes the sign of the dividend.
#[inline]
fn floor_mod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        m + b
    } else {
        m
    }
}

/// numpy's `u**2` on a float32 scalar: libm's `powf(u, 2)`, not the correctly rounded `u * u`.
///
/// Why: numpy's scalar power calls `powf`, and glibc's `powf` is accurate to about 0.82 ULP,
/// not correctly rounded, so near a float32 rounding tie it can land on the other neighbour.
/// Measured (Gymnasium 1.4.0, numpy 2.4.6, glibc 2.36): seed 5002, step 134, action
/// `u = 1.9612454f32`; the exact square is 3.8464835880370316, just below the midpoint of its
/// float32 neighbours, so `u * u` = 3.8464834690093994 but `powf(u, 2)` = 3.8464837074279785
/// (one float32 ULP up). The control cost `0.001 u²` then becomes 0.0038464840035885572
/// instead of 0.00384648353792727 (4.7e-10, two float32 ULPs), and the reward was
/// -2.7365395216635227 here against Gymnasium's -2.736539522129184.
/// About 0.07% of uniform actions in [-2, 2] are affected. `black_box` keeps LLVM from
/// folding `powf(u, 2.0)` back into `u * u`.
#[inline]
fn py_square_f32(u: f32) -> f32 {
    u.powf(std::hint::black_box(2.0))
}

/// Gymnasium's `angle_normalize`: maps an angle into [-π, π).
#[inline]
fn angle_normalize(x: f64) -> f64 {
    floor_mod(x + PI, 2.0 * PI) - PI
}

impl Pendulum {
    /// Pendulum-v1 with Gymnasium's default gravity (10 m/s²).
    pub fn new() -> Self {
        Self {
            state: [0.0; 2],
            rng: Rng::seed_from_u64(0),
            gravity: DEFAULT_GRAVITY,
            last_u: None,
        }
    }

    /// Gymnasium's `g` option: the gravitational acceleration (m/s²).
    pub fn with_gravity(mut self, g: f64) -> Self {
        self.gravity = g;
        self
    }

    #[inline]
    fn obs(&self) -> [f32; 3] {
        let [theta, theta_dot] = self.state;
        [theta.cos() as f32, theta.sin() as f32, theta_dot as f32]
    }
}

impl Env for Pendulum {
    type Obs = [f32; 3];
    type Action = [f32; 1];

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, &self.rng, self.last_u))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.rng, self.last_u) = reverie_core::env::decode_state("Pendulum", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        Space::boxed(
            vec![-1.0, -1.0, -MAX_SPEED as f32],
            vec![1.0, 1.0, MAX_SPEED as f32],
        )
    }

    fn action_space(&self) -> Space {
        Space::boxed(vec![-MAX_TORQUE], vec![MAX_TORQUE])
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 3], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        self.last_u = None;
        self.state = [
            self.rng.uniform_range(-RESET_THETA, RESET_THETA),
            self.rng.uniform_range(-RESET_THETA_DOT, RESET_THETA_DOT),
        ];
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &[f32; 1]) -> Result<Step<[f32; 3]>, EnvError> {
        check_vector_action(action)?;
        let [theta, theta_dot] = self.state;
        // np.clip of a float32 array stays float32.
        let u = action[0].clamp(-MAX_TORQUE, MAX_TORQUE);
        let control_cost = CONTROL_COST * py_square_f32(u);
        let torque = TORQUE_GAIN as f32 * u;
        let costs = py_square(angle_normalize(theta))
            + 0.1 * py_square(theta_dot)
            + f64::from(control_cost);
        let gravity_gain = 3.0 * self.gravity / (2.0 * LENGTH);
        let new_theta_dot = (theta_dot + (gravity_gain * theta.sin() + f64::from(torque)) * DT)
            .clamp(-MAX_SPEED, MAX_SPEED);
        let new_theta = theta + new_theta_dot * DT;
        self.last_u = Some(u);
        self.state = [new_theta, new_theta_dot];
        Ok(Step {
            obs: self.obs(),
            reward: -costs,
            terminated: false,
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

    /// Pendulum's cost on the state before the step, θ² + 0.1 θ̇² + 0.001 u² (u clipped to
    /// the torque limit), written on `[cos θ, sin θ, θ̇]`; it never terminates.
    fn known_functions(&self) -> KnownFunctions {
        KnownFunctions::new(
            |obs, action, _| {
                let theta = obs[1].atan2(obs[0]);
                let u = action[0].clamp(-MAX_TORQUE, MAX_TORQUE);
                -(theta * theta + 0.1 * obs[2] * obs[2] + CONTROL_COST * u * u)
            },
            |_, _, _| false,
        )
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::scenes::PENDULUM_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        crate::render::scenes::pendulum(frame, self.state[0], self.last_u.map(f64::from));
        Ok(())
    }
}

impl SimulatorState for Pendulum {
    /// `[cos θ, sin θ, θ̇]` → `[θ, θ̇]`.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        let v = obs.as_vector().filter(|v| v.len() == 3)?;
        Some(vec![
            f64::from(v[1]).atan2(f64::from(v[0])),
            f64::from(v[2]),
        ])
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.state = state.try_into().map_err(|_| {
            EnvError::invalid_state(
                "Pendulum-v1",
                format!("expected 2 values [theta, theta_dot], got {}", state.len()),
            )
        })?;
        Ok(self.obs().to_observation())
    }
}
