use super::*;
use reverie_core::env::check_discrete_action;

/// Counts steps; renders every pixel as `(10 t, 20 t, 30 t)` at step `t`; terminates at 5.
#[derive(Debug)]
struct Counter {
    t: u8,
}

impl Env for Counter {
    type Obs = [f32; 1];
    type Action = i64;
    fn observation_space(&self) -> Space {
        Space::boxed(vec![0.0], vec![10.0])
    }
    fn action_space(&self) -> Space {
        Space::discrete(2)
    }
    fn reset(&mut self, _: Option<u64>) -> ([f32; 1], Info) {
        self.t = 0;
        ([0.0], Info::new())
    }
    fn step(&mut self, action: &i64) -> Result<Step<[f32; 1]>, EnvError> {
        check_discrete_action(*action, 2)?;
        self.t += 1;
        Ok(Step {
            obs: [f32::from(self.t)],
            reward: 1.0,
            terminated: self.t >= 5,
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
    fn render_size(&self) -> Option<(usize, usize)> {
        Some((8, 6))
    }
    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        frame.fill([10 * self.t, 20 * self.t, 30 * self.t]);
        Ok(())
    }
}

impl SimulatorState for Counter {
    fn state(&self) -> Vec<f64> {
        vec![f64::from(self.t)]
    }
    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.t = state[0] as u8;
        Ok(Observation::Vector(vec![f32::from(self.t)]))
    }
}

fn config(grayscale: bool, frame_stack: usize, action_repeat: usize) -> PixelsConfig {
    PixelsConfig {
        width: 4,
        height: 3,
        grayscale,
        frame_stack,
        action_repeat,
    }
}

#[test]
fn observations_are_hwc_bytes_with_the_newest_frame_last() {
    let mut env = Pixels::new(Counter { t: 0 }, config(false, 2, 1)).unwrap();
    assert_eq!(
        env.observation_space().describe(),
        "Box(0, 255, (3, 4, 6), uint8)"
    );
    let (obs, _) = env.reset(Some(0));
    assert_eq!(obs.len(), 3 * 4 * 6);
    assert_eq!(&obs[..6], &[0, 0, 0, 0, 0, 0]);
    let step = env.step(&1).unwrap();
    // Every pixel: the previous frame (t = 0), then the new one (t = 1).
    assert_eq!(&step.obs[..6], &[0, 0, 0, 10, 20, 30]);
    let step = env.step(&1).unwrap();
    assert_eq!(&step.obs[..6], &[10, 20, 30, 20, 40, 60]);
    assert!(step.obs.chunks_exact(6).all(|p| p == &step.obs[..6]));
}

#[test]
fn grayscale_uses_gymnasium_weights() {
    let mut env = Pixels::new(Counter { t: 0 }, config(true, 1, 1)).unwrap();
    env.reset(None);
    let step = env.step(&0).unwrap();
    let expected = (0.2125f32 * 10.0 + 0.7154 * 20.0 + 0.0721 * 30.0) as u8;
    assert_eq!(step.obs, vec![expected; 12]);
}

#[test]
fn action_repeat_sums_rewards_and_stops_at_the_end_of_an_episode() {
    let mut env = Pixels::new(Counter { t: 0 }, config(false, 1, 3)).unwrap();
    env.reset(None);
    let step = env.step(&0).unwrap();
    assert_eq!((step.reward, step.terminated), (3.0, false));
    let step = env.step(&0).unwrap();
    assert_eq!(
        (step.reward, step.terminated),
        (2.0, true),
        "stops at t = 5"
    );
    assert_eq!(&step.obs[..3], &[50, 100, 150]);
    assert!(env.step(&7).is_err(), "invalid actions are still refused");
}

#[test]
fn bad_settings_and_envs_without_frames_are_refused() {
    let err = Pixels::new(Counter { t: 0 }, config(false, 0, 1)).unwrap_err();
    assert!(err.to_string().contains("frame_stack"), "{err}");
    let err = Pixels::new(Blind, PixelsConfig::default()).unwrap_err();
    assert!(err.to_string().contains("renders"), "{err}");
}

/// An env without frames.
#[derive(Debug)]
struct Blind;

impl Env for Blind {
    type Obs = i64;
    type Action = i64;
    fn observation_space(&self) -> Space {
        Space::discrete(1)
    }
    fn action_space(&self) -> Space {
        Space::discrete(1)
    }
    fn reset(&mut self, _: Option<u64>) -> (i64, Info) {
        (0, Info::new())
    }
    fn step(&mut self, _: &i64) -> Result<Step<i64>, EnvError> {
        Err(EnvError::ResetNeeded)
    }
}

#[test]
fn setting_the_state_redraws_and_refills_the_stack() {
    let mut env = Pixels::new(Counter { t: 0 }, config(false, 2, 1)).unwrap();
    env.reset(None);
    env.step(&1).unwrap();
    let simulator = env.simulator_mut().expect("Counter's state can be set");
    assert_eq!(simulator.state(), vec![1.0]);
    let obs = simulator.set_state(&[3.0]).unwrap();
    // Both stacked frames are the picture of t = 3.
    assert_eq!(obs, Observation::Bytes([30, 60, 90].repeat(2 * 12)));
    assert_eq!(env.simulator().unwrap().state(), vec![3.0]);
    let step = env.step(&1).unwrap();
    assert_eq!(&step.obs[..6], &[30, 60, 90, 40, 80, 120]);
}

/// A rendering env whose state cannot be set.
#[derive(Debug)]
struct Opaque(Counter);

impl Env for Opaque {
    type Obs = [f32; 1];
    type Action = i64;
    fn observation_space(&self) -> Space {
        self.0.observation_space()
    }
    fn action_space(&self) -> Space {
        self.0.action_space()
    }
    fn reset(&mut self, seed: Option<u64>) -> ([f32; 1], Info) {
        self.0.reset(seed)
    }
    fn step(&mut self, action: &i64) -> Result<Step<[f32; 1]>, EnvError> {
        self.0.step(action)
    }
    fn render_size(&self) -> Option<(usize, usize)> {
        self.0.render_size()
    }
    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        self.0.render(frame)
    }
}

#[test]
fn pixels_over_an_env_without_settable_state_have_none() {
    let mut env = Pixels::new(Opaque(Counter { t: 0 }), config(false, 1, 1)).unwrap();
    env.reset(None);
    assert!(env.simulator().is_none());
    assert!(env.simulator_mut().is_none());
    // Reached directly, the impl refuses rather than pretending.
    assert!(SimulatorState::state(&env).is_empty());
    assert!(matches!(
        SimulatorState::set_state(&mut env, &[1.0]),
        Err(EnvError::Unsupported(_))
    ));
    assert!(env.step(&1).is_ok());
}
