use super::*;
use crate::env::{Info, Step};
use crate::obs_batch::ObsBatch;
use crate::wrappers::TimeLimit;

/// Counts steps; observation is the count; terminates at 3.
#[derive(Clone, Debug, Default)]
struct Counter {
    count: i64,
    resets: u32,
}

impl Env for Counter {
    type Obs = i64;
    type Action = i64;
    fn observation_space(&self) -> Space {
        Space::discrete(10)
    }
    fn action_space(&self) -> Space {
        Space::discrete(2)
    }
    fn reset(&mut self, _seed: Option<u64>) -> (i64, Info) {
        self.count = 0;
        self.resets += 1;
        (0, Info::new())
    }
    fn step(&mut self, _action: &i64) -> Result<Step<i64>, EnvError> {
        self.count += 1;
        Ok(Step {
            obs: self.count,
            reward: 1.0,
            terminated: self.count == 3,
            truncated: false,
            info: Info::new(),
        })
    }
}

#[test]
fn next_step_mode_returns_final_obs_then_resets() {
    let mut venv = VecEnv::from_fn(2, AutoresetMode::NextStep, Counter::default);
    venv.reset(Some(0));
    for _ in 0..2 {
        venv.step(&[0, 0]).unwrap();
    }
    venv.step(&[0, 0]).unwrap();
    assert_eq!(venv.observations(), &ObsBatch::Discrete(vec![3, 3]));
    assert_eq!(venv.terminated(), &[true, true]);
    // The step after the end resets: obs 0, reward 0, flags false.
    venv.step(&[0, 0]).unwrap();
    assert_eq!(venv.observations(), &ObsBatch::Discrete(vec![0, 0]));
    assert_eq!(venv.rewards(), &[0.0, 0.0]);
    assert_eq!(venv.terminated(), &[false, false]);
    venv.step(&[0, 0]).unwrap();
    assert_eq!(venv.observations(), &ObsBatch::Discrete(vec![1, 1]));
}

#[test]
fn same_step_mode_keeps_final_obs_aside() {
    let mut venv = VecEnv::from_fn(1, AutoresetMode::SameStep, Counter::default);
    venv.reset(None);
    venv.step(&[0]).unwrap();
    venv.step(&[0]).unwrap();
    venv.step(&[0]).unwrap();
    assert!(venv.ended()[0] && venv.terminated()[0]);
    assert_eq!(venv.observations(), &ObsBatch::Discrete(vec![0]));
    assert_eq!(
        venv.final_observations().get(0),
        crate::Observation::Discrete(3)
    );
    assert_eq!(venv.rewards(), &[1.0]);
}

#[test]
fn truncation_by_time_limit_is_reported_apart() {
    let mut venv = VecEnv::from_fn(1, AutoresetMode::NextStep, || {
        TimeLimit::new(Counter::default(), Some(2))
    });
    venv.reset(None);
    venv.step(&[0]).unwrap();
    venv.step(&[0]).unwrap();
    assert!(venv.truncated()[0]);
    assert!(!venv.terminated()[0]);
    assert_eq!(venv.observations(), &ObsBatch::Discrete(vec![2]));
}
