//! An env whose state cannot be read or set (as a Python Gymnasium env behind a bridge)
//! is a full env: it is boxed, wrapped, stepped in a `VecEnv`, acted on by an agent, learned
//! on through the driver and passes the env checker with the state check skipped. Only the
//! oracle planner needs the capability, and it refuses such an env when it is built.

use std::path::PathBuf;

use reverie_agents::{QLearningConfig, RandomAgent};
use reverie_core::env_check::{check_env, SKIPPED_NO_STATE};
use reverie_core::{
    ActContext, Agent, AutoresetMode, BoxedEnv, DynEnv, EnvError, Info, Mode, RecordEpisodeStats,
    Rng, Space, Step, TimeLimit, VecEnv,
};
use reverie_planning::OracleObjective;
use reverie_run::driver::{drive, NoHooks, Schedule};
use reverie_run::run_dir::RunDir;

const LENGTH: i64 = 6;

/// A corridor of `LENGTH` cells: action 1 moves right, 0 left; reaching the last cell
/// terminates with reward 1. It implements neither `simulator` nor `simulator_mut`.
#[derive(Debug, Default)]
struct Corridor {
    position: i64,
}

impl reverie_core::Env for Corridor {
    type Obs = i64;
    type Action = i64;
    fn observation_space(&self) -> Space {
        Space::discrete(LENGTH as u64)
    }
    fn action_space(&self) -> Space {
        Space::discrete(2)
    }
    fn reset(&mut self, _seed: Option<u64>) -> (i64, Info) {
        self.position = 0;
        (0, Info::new())
    }
    fn step(&mut self, action: &i64) -> Result<Step<i64>, EnvError> {
        reverie_core::env::check_discrete_action(*action, 2)?;
        self.position = (self.position + 2 * action - 1).clamp(0, LENGTH - 1);
        let terminated = self.position == LENGTH - 1;
        Ok(Step {
            obs: self.position,
            reward: if terminated { 1.0 } else { 0.0 },
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }
}

fn corridor() -> BoxedEnv {
    Box::new(RecordEpisodeStats::new(TimeLimit::new(
        Corridor::default(),
        Some(50),
    )))
}

#[test]
fn it_is_boxed_and_wrapped_without_a_simulator() {
    let mut env = corridor();
    assert!(env.simulator().is_none());
    assert!(env.simulator_mut().is_none());
    env.reset(Some(0));
    let step = env.step(&reverie_core::Action::Discrete(1)).unwrap();
    assert_eq!(step.obs, reverie_core::Observation::Discrete(1));
}

#[test]
fn it_passes_the_env_checker_with_the_state_check_skipped() {
    let report = check_env(&corridor, 0);
    assert!(report.passed(), "{:#?}", report.checks);
    let state_check = report
        .checks
        .iter()
        .find(|c| c.name.starts_with("set_state"))
        .expect("the state check is listed");
    assert_eq!(state_check.outcome, Ok(SKIPPED_NO_STATE.to_string()));
}

#[test]
fn a_random_agent_steps_it_in_a_vec_env() {
    let mut envs = VecEnv::from_fn(4, AutoresetMode::SameStep, corridor);
    let mut agent = RandomAgent::new(corridor().action_space(), Rng::seed_from_u64(0));
    let mut carry = agent.initial_carry(4);
    let mut actions = Vec::new();
    envs.reset(Some(0));
    let mut finished = 0;
    for t in 0..500 {
        let obs = envs.observations().clone();
        agent.act(
            &obs,
            &ActContext::new(&[t == 0; 4]),
            &mut carry,
            Mode::Explore,
            &mut actions,
        );
        envs.step(&actions).unwrap();
        finished += envs.terminated().iter().filter(|&&d| d).count();
    }
    assert!(
        finished > 0,
        "random walks reach the end of a 6-cell corridor"
    );
}

#[test]
fn q_learning_learns_it_through_the_driver() {
    let config = QLearningConfig {
        epsilon_decay_steps: 2_000,
        ..QLearningConfig::default()
    };
    let env = corridor();
    let mut agent = config
        .init(
            &env.observation_space(),
            &env.action_space(),
            Rng::seed_from_u64(0),
        )
        .unwrap();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("reverie-no-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = RunDir::create_at(&dir).unwrap();
    let mut envs = VecEnv::new(vec![env], AutoresetMode::SameStep);
    let schedule = Schedule {
        total_steps: 3_000,
        eval_every: 0,
        eval_episodes: 3,
        eval_max_episode_steps: 50,
        eval_opponent: None,
        checkpoint_every: 0,
        checkpoint_seconds: 0.0,
        max_nonfinite_updates: 0,
        log_every: 1_000,
        env_seed: 0,
        eval_seed: 100,
    };
    let outcome = drive(
        &mut agent,
        &mut envs,
        &mut corridor(),
        &schedule,
        &run,
        false,
        &mut NoHooks,
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let evaluation = outcome.final_evaluation.expect("evaluated at the end");
    assert_eq!(evaluation.mean, 1.0, "the greedy policy walks to the end");
}

#[test]
fn the_oracle_refuses_it_when_built() {
    let Err(err) = OracleObjective::new(corridor(), "Corridor-v0", 5, 0.99) else {
        panic!("the oracle accepted an env whose state cannot be set");
    };
    assert!(matches!(err, EnvError::Unsupported(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "oracle planning needs an env whose state can be set; Corridor-v0 cannot"
    );
}
