use reverie_core::env::check_discrete_action;
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

use std::f64::consts::PI;

use super::py_square;

const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
/// Position of the centre of mass of each link, from its joint.
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
/// Moments of inertia of the links.
const LINK_MOI_1: f64 = 1.0;
const LINK_MOI_2: f64 = 1.0;
const GRAVITY: f64 = 9.8;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
/// Torque applied at the joint between the links for actions 0, 1, 2.
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
/// Half-width of the uniform start distribution of every state component.
const RESET_HALF_WIDTH: f64 = 0.1;

/// Acrobot-v1 (Sutton 1996): swing the tip of a two-link pendulum, actuated only at the
/// middle joint, above a line, as Gymnasium 1.4.0's `AcrobotEnv`.
///
/// State `[theta1, theta2, theta1_dot, theta2_dot]` in f64 (angles wrapped into [-π, π],
/// velocities clipped to ±4π and ±9π); observation `[cos theta1, sin theta1, cos theta2,
/// sin theta2, theta1_dot, theta2_dot]` as f32. Actions 0, 1, 2 apply a torque of -1, 0, +1.
/// Reward -1 per step and 0 on the terminating step, when `-cos theta1 - cos(theta1 +
/// theta2) > 1`. Registered with a 500-step limit. Reset draws every component from
/// U(-0.1, 0.1), rounded to f32 as Gymnasium stores it.
///
/// The dynamics are the "book" variant (Sutton & Barto), integrated with one RK4 step of
/// 0.2 s, in the reference's order of operations and with its squares computed by libm's
/// `pow`, so that it is bit-exact.
#[derive(Clone, Debug)]
pub struct Acrobot {
    state: [f64; 4],
    rng: Rng,
}

impl Default for Acrobot {
    fn default() -> Self {
        Self::new()
    }
}

/// Gymnasium's `wrap`: shifts `x` by multiples of `max - min` into [min, max].
#[inline]
fn wrap(mut x: f64, min: f64, max: f64) -> f64 {
    let diff = max - min;
    while x > max {
        x -= diff;
    }
    while x < min {
        x += diff;
    }
    x
}

/// Time derivative of the augmented state `[theta1, theta2, theta1_dot, theta2_dot, torque]`
/// (the torque is constant over the step), Gymnasium's `_dsdt` with book dynamics.
#[inline]
fn dsdt(s: [f64; 5]) -> [f64; 5] {
    let (m1, m2, l1) = (LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1);
    let (lc1, lc2) = (LINK_COM_POS_1, LINK_COM_POS_2);
    let (i1, i2, g) = (LINK_MOI_1, LINK_MOI_2, GRAVITY);
    let [theta1, theta2, dtheta1, dtheta2, a] = s;
    // Squares of the (exactly representable) constants are exact either way; squares of
    // variables go through libm's `pow`, as in the reference.
    let d1 =
        m1 * (lc1 * lc1) + m2 * ((l1 * l1) + (lc2 * lc2) + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * ((lc2 * lc2) + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * py_square(dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * py_square(dtheta1) * theta2.sin() - phi2)
        / (m2 * (lc2 * lc2) + i2 - py_square(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// `y + h * k`, element by element.
#[inline]
fn add_scaled(y: [f64; 5], h: f64, k: [f64; 5]) -> [f64; 5] {
    std::array::from_fn(|i| y[i] + h * k[i])
}

/// One classical Runge–Kutta step of length `dt`, as Gymnasium's `rk4` with `t = [0, dt]`.
#[inline]
fn rk4(y0: [f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let k1 = dsdt(y0);
    let k2 = dsdt(add_scaled(y0, dt2, k1));
    let k3 = dsdt(add_scaled(y0, dt2, k2));
    let k4 = dsdt(add_scaled(y0, dt, k3));
    let h = dt / 6.0;
    std::array::from_fn(|i| y0[i] + h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

impl Acrobot {
    /// Acrobot-v1 with Gymnasium's defaults (book dynamics, no torque noise).
    pub fn new() -> Self {
        Self {
            state: [0.0; 4],
            rng: Rng::seed_from_u64(0),
        }
    }

    #[inline]
    fn obs(&self) -> [f32; 6] {
        let [theta1, theta2, dtheta1, dtheta2] = self.state;
        [
            theta1.cos() as f32,
            theta1.sin() as f32,
            theta2.cos() as f32,
            theta2.sin() as f32,
            dtheta1 as f32,
            dtheta2 as f32,
        ]
    }
}

impl Env for Acrobot {
    type Obs = [f32; 6];
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.rng) = reverie_core::env::decode_state("Acrobot", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        let high = [1.0, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
        Space::boxed(high.iter().map(|h| -h).collect(), high.to_vec())
    }

    fn action_space(&self) -> Space {
        Space::discrete(3)
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 6], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        for x in &mut self.state {
            // Gymnasium stores the reset state as float32.
            *x = self.rng.uniform_range(-RESET_HALF_WIDTH, RESET_HALF_WIDTH) as f32 as f64;
        }
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &i64) -> Result<Step<[f32; 6]>, EnvError> {
        check_discrete_action(*action, 3)?;
        let [theta1, theta2, dtheta1, dtheta2] = self.state;
        let torque = AVAIL_TORQUE[*action as usize];
        let next = rk4([theta1, theta2, dtheta1, dtheta2, torque], DT);
        self.state = [
            wrap(next[0], -PI, PI),
            wrap(next[1], -PI, PI),
            next[2].clamp(-MAX_VEL_1, MAX_VEL_1),
            next[3].clamp(-MAX_VEL_2, MAX_VEL_2),
        ];
        let [theta1, theta2, _, _] = self.state;
        let terminated = -theta1.cos() - (theta2 + theta1).cos() > 1.0;
        Ok(Step {
            obs: self.obs(),
            reward: if terminated { 0.0 } else { -1.0 },
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

    /// The tip-above-the-line test on `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]`, where
    /// −cos θ1 − cos(θ1 + θ2) > 1, and reward −1 until then.
    fn known_functions(&self) -> KnownFunctions {
        fn reached(next: &[f32]) -> bool {
            let cos12 = next[0] * next[2] - next[1] * next[3];
            -next[0] - cos12 > 1.0
        }
        KnownFunctions::new(
            |_, _, next| if reached(next) { 0.0 } else { -1.0 },
            |_, _, next| reached(next),
        )
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::scenes::ACROBOT_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        let [theta1, theta2, _, _] = self.state;
        // Both links are 1 m long, as Gymnasium's LINK_LENGTH_1 and LINK_LENGTH_2.
        crate::render::scenes::acrobot(frame, theta1, theta2, LINK_LENGTH_1, LINK_LENGTH_1);
        Ok(())
    }
}

impl SimulatorState for Acrobot {
    /// `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]` → `[θ1, θ2, θ̇1, θ̇2]`.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        let v = obs.as_vector().filter(|v| v.len() == 6)?;
        let angle = |c: f32, s: f32| f64::from(s).atan2(f64::from(c));
        Some(vec![
            angle(v[0], v[1]),
            angle(v[2], v[3]),
            f64::from(v[4]),
            f64::from(v[5]),
        ])
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.state = state.try_into().map_err(|_| {
            EnvError::invalid_state(
                "Acrobot-v1",
                format!(
                    "expected 4 values [theta1, theta2, theta1_dot, theta2_dot], got {}",
                    state.len()
                ),
            )
        })?;
        Ok(self.obs().to_observation())
    }
}
