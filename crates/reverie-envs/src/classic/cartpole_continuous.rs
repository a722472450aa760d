use reverie_core::env::{check_vector_action, observed_state};
use reverie_core::{
    Env, EnvError, Info, KnownFunctions, ObsValue, Observation, Rng, SimulatorState, Space, Step,
};

use super::cartpole::{CartPole, FORCE_MAG};

const MAX_ACTION: f32 = 1.0;
/// Half-width of the uniform start distribution of every state component (as CartPole).
const RESET_HALF_WIDTH: f64 = 0.05;

/// CartPoleContinuous-v0: CartPole balancing with a continuous push, the
/// `cartpole_continuous` task of mbrl-lib (Pineda et al. 2021).
///
/// The physics, start distribution, observation and termination are CartPole-v1's: state
/// `[x, x_dot, theta, theta_dot]` in f64, observation its f32 cast, terminated when
/// |x| > 2.4 or |theta| > 12°. The action `a` in [-1, 1] pushes the cart with `10 a` N;
/// finite actions outside the box are clipped to it. Reward 1 per step, including the
/// terminating one (stepping past termination earns 0, as in CartPole). Registered with a
/// 200-step limit. Not a Gymnasium env, so there is no reference trajectory to match.
#[derive(Clone, Debug)]
pub struct CartPoleContinuous {
    state: [f64; 4],
    rng: Rng,
    steps_beyond_terminated: Option<u32>,
}

impl Default for CartPoleContinuous {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPoleContinuous {
    /// CartPoleContinuous-v0.
    pub fn new() -> Self {
        Self {
            state: [0.0; 4],
            rng: Rng::seed_from_u64(0),
            steps_beyond_terminated: None,
        }
    }

    #[inline]
    fn obs(&self) -> [f32; 4] {
        self.state.map(|x| x as f32)
    }
}

impl Env for CartPoleContinuous {
    type Obs = [f32; 4];
    type Action = [f32; 1];

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.state, &self.rng, self.steps_beyond_terminated))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.state, self.rng, self.steps_beyond_terminated) =
            reverie_core::env::decode_state("CartPoleContinuous", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        CartPole::balance_observation_space()
    }

    fn action_space(&self) -> Space {
        Space::boxed(vec![-MAX_ACTION], vec![MAX_ACTION])
    }

    fn reset(&mut self, seed: Option<u64>) -> ([f32; 4], Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        for x in &mut self.state {
            *x = self.rng.uniform_range(-RESET_HALF_WIDTH, RESET_HALF_WIDTH);
        }
        self.steps_beyond_terminated = None;
        (self.obs(), Info::new())
    }

    #[inline]
    fn step(&mut self, action: &[f32; 1]) -> Result<Step<[f32; 4]>, EnvError> {
        check_vector_action(action)?;
        let force = f64::from(action[0].clamp(-MAX_ACTION, MAX_ACTION)) * FORCE_MAG;
        self.state = CartPole::dynamics(self.state, force);
        let terminated = CartPole::out_of_bounds(&self.state);
        let reward = if !terminated {
            1.0
        } else if self.steps_beyond_terminated.is_none() {
            self.steps_beyond_terminated = Some(0);
            1.0
        } else {
            // Stepping past termination is allowed (as in Gymnasium) but earns nothing.
            self.steps_beyond_terminated = self.steps_beyond_terminated.map(|n| n + 1);
            0.0
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

    /// Reward 1 per step and CartPole's failure test, on observations.
    fn known_functions(&self) -> KnownFunctions {
        KnownFunctions::new(
            |_, _, _| 1.0,
            |_, _, next| CartPole::observed_out_of_bounds(next),
        )
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::scenes::CARTPOLE_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        CartPole::draw(&self.state, frame);
        Ok(())
    }
}

impl SimulatorState for CartPoleContinuous {
    /// The observation is the state (its f32 rounding).
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 4)
    }

    fn state(&self) -> Vec<f64> {
        self.state.to_vec()
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.state = state.try_into().map_err(|_| {
            EnvError::invalid_state(
                "CartPoleContinuous-v0",
                format!(
                    "expected 4 values [x, x_dot, theta, theta_dot], got {}",
                    state.len()
                ),
            )
        })?;
        self.steps_beyond_terminated = None;
        Ok(self.obs().to_observation())
    }
}

#[cfg(test)]
mod tests;
