use reverie_core::env::check_vector_action;
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

use std::f64::consts::PI;

use super::cartpole::{CartPole, FORCE_MAG, X_THRESHOLD, X_THRESHOLD_F32};

const MAX_ACTION: f32 = 1.0;
/// Length scale of the reward (m): PETS' pole length, used both for the tip position and as
/// the width of the reward bump, so the reward depends only on the pose, not on the
/// physics' pole length.
const REWARD_LENGTH: f64 = 0.6;
/// Half-width of the uniform start noise on every state component.
const RESET_HALF_WIDTH: f64 = 0.05;

/// CartPoleSwingUp-v0: swing the pole up from hanging down and balance it over the centre
/// of the track, the cart-pole task of PETS (Chua et al. 2018) on CartPole's physics.
///
/// **Dynamics.** CartPole-v1's equations of motion and Euler step (τ = 0.02 s, cart 1 kg,
/// pole 0.1 kg with half-length 0.5 m, gravity 9.8 m/s²), valid at any pole angle. The
/// state is `[x, x_dot, theta, theta_dot]` in f64, with `theta` measured from upright
/// (positive leaning towards +x) and not wrapped. The action `a` in [-1, 1] pushes the cart
/// with `10 a` N; finite actions outside the box are clipped to it.
///
/// **Observation.** `[x, x_dot, cos theta, sin theta, theta_dot]` as f32, so the angle is
/// continuous across ±π.
///
/// **Reward.** With `l = 0.6` m (PETS' pole length), the pole tip is
/// `p = (x + l sin theta, l cos theta)` and its target is upright over the track centre,
/// `p* = (0, l)`. The reward is `exp(-|p - p*|² / l²)`: in (0, 1], exactly 1 when the pole
/// is upright and the cart centred, `exp(-4) ≈ 0.018` when it hangs down at the centre.
/// PETS' small action penalty is left out, so the reward stays in [0, 1].
///
/// **Episode.** Terminated when the cart leaves the track (|x| > 2.4 m); the pole angle
/// never terminates. The reward is computed from the new state on every step, including the
/// terminating one. Registered with a 200-step limit. Reset puts the pole hanging down: every
/// component is drawn from U(-0.05, 0.05) and π is added to `theta`.
#[derive(Clone, Debug)]
pub struct CartPoleSwingUp {
    state: [f64; 4],
    rng: Rng,
}

impl Default for CartPoleSwingUp {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPoleSwingUp {
    /// CartPoleSwingUp-v0.
    pub fn new() -> Self {
        Self {
            state: [0.0; 4],
            rng: Rng::seed_from_u64(0),
        }
    }

    #[inline]
    fn obs(&self) -> [f32; 5] {
        let [x, x_dot, theta, theta_dot] = self.state;
        [
            x as f32,
            x_dot as f32,
            theta.cos() as f32,
            theta.sin() as f32,
            theta_dot as f32,
        ]
    }

    /// The reward of a state: `exp(-|tip - target|² / l²)`, see the type's documentation.
    #[inline]
    fn reward(state: &[f64; 4]) -> f64 {
        let [x, _, theta, _] = *state;
        let dx = x + REWARD_LENGTH * theta.sin();
        let dy = REWARD_LENGTH * theta.cos() - REWARD_LENGTH;
        (-(dx * dx + dy * dy) / (REWARD_LENGTH * REWARD_LENGTH)).exp()
    }
}

impl Env for CartPoleSwingUp {
    type Obs = [f32; 5];
    type Action = [f32; 1];

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.rng) = reverie_core::env::decode_state("CartPoleSwingUp", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        // The cart can overshoot the track by one step before the episode ends; twice the
        // track, as in CartPole, bounds that.
        let high = [
            (X_THRESHOLD * 2.0) as f32,
            f32::INFINITY,
            1.0,
            1.0,
            f32::INFINITY,
        ];
        Space::boxed(high.iter().map(|h| -h).collect(), high.to_vec())
    }

    fn action_space(&self) -> Space {
        Space::boxed(vec![-MAX_ACTION], vec![MAX_ACTION])
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 5], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        for x in &mut self.state {
            *x = self.rng.uniform_range(-RESET_HALF_WIDTH, RESET_HALF_WIDTH);
        }
        // Hanging down.
        self.state[2] += PI;
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &[f32; 1]) -> Result<Step<[f32; 5]>, EnvError> {
        check_vector_action(action)?;
        let force = f64::from(action[0].clamp(-MAX_ACTION, MAX_ACTION)) * FORCE_MAG;
        // CartPole's equations hold at any angle: theta is measured from upright there too.
        self.state = CartPole::dynamics(self.state, force);
        let x = self.state[0];
        let terminated = !(-X_THRESHOLD..=X_THRESHOLD).contains(&x);
        Ok(Step {
            obs: self.obs(),
            reward: Self::reward(&self.state),
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

    /// The tip-distance reward and the cart-left-the-track test on
    /// `[x, x_dot, cos theta, sin theta, theta_dot]`.
    fn known_functions(&self) -> KnownFunctions {
        KnownFunctions::new(
            |_, _, next| {
                let l = REWARD_LENGTH as f32;
                let dx = next[0] + l * next[3];
                let dy = l * next[2] - l;
                (-(dx * dx + dy * dy) / (l * l)).exp()
            },
            |_, _, next| next[0].abs() > X_THRESHOLD_F32,
        )
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::scenes::CARTPOLE_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        // CartPole's picture (same ±2.4 m track, pole half-length 0.5 m), with the track
        // raised to mid-height so that the hanging pole (1 m + axle) stays in the frame.
        let [x, _, theta, _] = self.state;
        crate::render::scenes::cartpole(frame, x, theta, X_THRESHOLD, 0.5, 200.0);
        Ok(())
    }
}

impl SimulatorState for CartPoleSwingUp {
    /// `[x, ẋ, cos θ, sin θ, θ̇]` → `[x, ẋ, θ, θ̇]` (θ in (−π, π]).
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        let v = obs.as_vector().filter(|v| v.len() == 5)?;
        Some(vec![
            f64::from(v[0]),
            f64::from(v[1]),
            f64::from(v[3]).atan2(f64::from(v[2])),
            f64::from(v[4]),
        ])
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.state = state.try_into().map_err(|_| {
            EnvError::invalid_state(
                "CartPoleSwingUp-v0",
                format!(
                    "expected 4 values [x, x_dot, theta, theta_dot], got {}",
                    state.len()
                ),
            )
        })?;
        Ok(self.obs().to_observation())
    }
}

#[cfg(test)]
mod tests;
