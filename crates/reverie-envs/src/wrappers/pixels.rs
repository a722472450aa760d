//! Pixel observations: any env that renders becomes an env observing `[H, W, C]` bytes.
//!
//! The frame is drawn directly at the observation size (the renderers scale their scene and
//! cover pixels by area), which gives the picture of Gymnasium's `render()` followed by
//! `cv2.resize(..., INTER_AREA)` without drawing the full-size frame first.

use reverie_core::{
    BoxSpace, Env, EnvError, Frame, Info, KnownFunctions, Observation, SimulatorState, Space, Step,
};

/// Settings of [`Pixels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelsConfig {
    /// Observation width in pixels.
    pub width: usize,
    /// Observation height in pixels.
    pub height: usize,
    /// One luminance channel instead of RGB (Gymnasium's `GrayscaleObservation` weights).
    pub grayscale: bool,
    /// Frames stacked along the channel axis, newest last: `[H, W, C × k]`.
    pub frame_stack: usize,
    /// Each action is repeated this many times (rewards summed; stops early at the end of
    /// an episode), as DreamerV1/PlaNet's action repeat.
    pub action_repeat: usize,
}

impl Default for PixelsConfig {
    /// 64×64 RGB, no stacking, no repeat: DreamerV3's image input.
    fn default() -> Self {
        Self {
            width: 64,
            height: 64,
            grayscale: false,
            frame_stack: 1,
            action_repeat: 1,
        }
    }
}

impl PixelsConfig {
    /// Checks the settings; the message says which one is wrong and what is expected.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("width", self.width),
            ("height", self.height),
            ("frame_stack", self.frame_stack),
            ("action_repeat", self.action_repeat),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("{key} must be at least 1, got 0"));
            }
        }
        for (key, value) in [("width", self.width), ("height", self.height)] {
            if value > 4096 {
                return Err(format!("{key} must be at most 4096 pixels, got {value}"));
            }
        }
        if self.frame_stack > 64 {
            return Err(format!(
                "frame_stack must be at most 64, got {}",
                self.frame_stack
            ));
        }
        Ok(())
    }

    /// Channels of one frame (1 grayscale, 3 RGB).
    pub fn frame_channels(&self) -> usize {
        if self.grayscale {
            1
        } else {
            3
        }
    }

    /// Channels of an observation (all stacked frames).
    pub fn channels(&self) -> usize {
        self.frame_channels() * self.frame_stack
    }
}

/// An env observed through its rendered frames.
///
/// Observations are `uint8` `[height, width, channels]` ([`BoxSpace::image`]); the inner
/// env's state, actions, rewards and flags pass through unchanged. Known reward and
/// termination functions are not published (they are written on the inner observations).
#[derive(Clone, Debug)]
pub struct Pixels<E> {
    inner: E,
    config: PixelsConfig,
    frame: Frame,
    /// `[H, W, C × k]`, the newest frame in the last `C` channels of every pixel.
    stacked: Vec<u8>,
}

impl<E: Env> Pixels<E> {
    /// Wraps `inner`; refuses bad settings and envs that do not render.
    pub fn new(inner: E, config: PixelsConfig) -> Result<Self, EnvError> {
        config.validate().map_err(EnvError::Unsupported)?;
        if inner.render_size().is_none() {
            return Err(EnvError::Unsupported(
                "pixel observations need an env that renders frames".into(),
            ));
        }
        let pixels = config.width * config.height;
        Ok(Self {
            frame: Frame::new(config.width, config.height),
            stacked: vec![0; pixels * config.channels()],
            inner,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> PixelsConfig {
        self.config
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.inner
    }

    /// Renders the inner env and shifts the new frame into the stack; `fill` copies it into
    /// every slot (at reset).
    fn capture(&mut self, fill: bool) -> Result<Vec<u8>, EnvError> {
        self.inner.render(&mut self.frame)?;
        let c = self.config.frame_channels();
        let k = self.config.frame_stack;
        let stride = c * k;
        let rgb = self.frame.data();
        if k == 1 {
            // The common case (DreamerV3's input): the frame is the observation. Measured: the
            // general per-pixel loop below cost ~17 µs a 64×64 frame, 9× the drawing itself.
            if self.config.grayscale {
                for (g, px) in self.stacked.iter_mut().zip(rgb.chunks_exact(3)) {
                    *g = luminance(px);
                }
            } else {
                self.stacked.copy_from_slice(rgb);
            }
            return Ok(self.stacked.clone());
        }
        for (out, px) in self
            .stacked
            .chunks_exact_mut(stride)
            .zip(rgb.chunks_exact(3))
        {
            let gray = [luminance(px)];
            let newest: &[u8] = if self.config.grayscale { &gray } else { px };
            if fill {
                for slot in out.chunks_exact_mut(c) {
                    slot.copy_from_slice(newest);
                }
            } else {
                out.copy_within(c.., 0);
                out[stride - c..].copy_from_slice(newest);
            }
        }
        Ok(self.stacked.clone())
    }
}

/// Gymnasium's `GrayscaleObservation`: 0.2125 R + 0.7154 G + 0.0721 B, truncated to a byte.
#[inline]
fn luminance(px: &[u8]) -> u8 {
    (0.2125 * f32::from(px[0]) + 0.7154 * f32::from(px[1]) + 0.0721 * f32::from(px[2])) as u8
}

impl<E: Env> Env for Pixels<E> {
    type Obs = Vec<u8>;
    type Action = E::Action;

    fn observation_space(&self) -> Space {
        Space::Box(BoxSpace::image(
            self.config.height,
            self.config.width,
            self.config.channels(),
        ))
    }

    fn action_space(&self) -> Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>) -> (Vec<u8>, Info) {
        let (_, info) = self.inner.reset(seed);
        let obs = self
            .capture(true)
            .expect("the env rendered when the wrapper was built");
        (obs, info)
    }

    fn step(&mut self, action: &E::Action) -> Result<Step<Vec<u8>>, EnvError> {
        let mut reward = 0.0;
        let mut last = None;
        for _ in 0..self.config.action_repeat {
            let step = self.inner.step(action)?;
            reward += step.reward;
            let end = step.terminated || step.truncated;
            last = Some(step);
            if end {
                break;
            }
        }
        let step = last.expect("action_repeat >= 1");
        Ok(Step {
            obs: self.capture(false)?,
            reward,
            terminated: step.terminated,
            truncated: step.truncated,
            info: step.info,
        })
    }

    /// Settable exactly when the inner env's state is (see the [`SimulatorState`] impl).
    fn simulator(&self) -> Option<&dyn SimulatorState> {
        self.inner.simulator()?;
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        self.inner.simulator_mut()?;
        Some(self)
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        let inner = self.inner.save_state()?;
        reverie_core::env::encode_state(&(inner, &self.stacked))
    }
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let (inner, own): (Vec<u8>, Vec<u8>) = reverie_core::env::decode_state("Pixels", bytes)?;
        self.inner.load_state(&inner)?;
        if own.len() != self.stacked.len() {
            return Err(EnvError::InvalidState {
                env: "Pixels".into(),
                reason: "the saved frames have another size".into(),
            });
        }
        self.stacked = own;
        Ok(())
    }
    fn render_size(&self) -> Option<(usize, usize)> {
        self.inner.render_size()
    }

    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        self.inner.render(frame)
    }

    fn known_functions(&self) -> KnownFunctions {
        KnownFunctions::none()
    }
}

/// The inner env's state, whose capability is looked up at run time: [`Env::simulator`]
/// offers this impl only when the inner env has one. Called directly on pixels over an env
/// without it, `state` is empty and `set_state` refuses with [`EnvError::Unsupported`].
impl<E: Env> SimulatorState for Pixels<E> {
    fn state(&self) -> Vec<f64> {
        self.inner.simulator().map_or_else(Vec::new, |s| s.state())
    }

    /// Sets the inner state and restarts the frame stack from its picture.
    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.inner
            .simulator_mut()
            .ok_or_else(|| EnvError::Unsupported("the wrapped env's state cannot be set".into()))?
            .set_state(state)?;
        self.capture(true).map(Observation::Bytes)
    }
}

#[cfg(test)]
mod tests;
