//! Checks an environment against the API contract (like SB3's `check_env`), used by
//! `reverie env-check <id>`. Random actions are drawn among those the info's `action_mask`
//! allows where the env gives one (board games refuse illegal moves).

use crate::env::{BoxedEnv, DynEnv};
use crate::error::EnvError;
use crate::rng::Rng;
use crate::space::{Action, Observation, Space};

/// The detail of the `set_state` check on an env without [`crate::SimulatorState`]: the
/// check passes, skipped.
pub const SKIPPED_NO_STATE: &str = "skipped: no settable state";

/// Outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    /// What was checked.
    pub name: &'static str,
    /// `Ok(detail)` or `Err(what is wrong)`.
    pub outcome: Result<String, String>,
}

/// All check results for one env.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvCheckReport {
    /// One entry per check, in the order run.
    pub checks: Vec<CheckResult>,
}

impl EnvCheckReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome.is_ok())
    }
}

fn space_is_valid(space: &Space) -> Result<String, String> {
    match space {
        Space::Discrete { n: 0, .. } => Err("Discrete space with n = 0".into()),
        Space::Discrete { .. } => Ok(space.describe()),
        Space::Box(b) => {
            if b.low.is_empty() {
                return Err("Box space with no dimensions".into());
            }
            if b.shape.iter().product::<usize>() != b.low.len() || b.low.len() != b.high.len() {
                return Err("Box shape does not match its bounds".into());
            }
            if b.low
                .iter()
                .zip(&b.high)
                .any(|(l, h)| l.is_nan() || h.is_nan() || l > h)
            {
                return Err("Box bounds are NaN or low > high".into());
            }
            Ok(space.describe())
        }
    }
}

/// One recorded trajectory: (obs, reward bits, terminated, truncated) per step.
type Trace = Vec<(Observation, u64, bool, bool)>;

fn rollout(
    env: &mut dyn DynEnv,
    seed: u64,
    steps: usize,
) -> Result<(Observation, Trace), EnvError> {
    let (first, mut info) = env.reset(Some(seed));
    let space = env.action_space();
    let mut rng = Rng::seed_from_u64(seed ^ 0xA5A5);
    let mut trace = Vec::new();
    for _ in 0..steps {
        let step = env.step(&space.sample_masked(info.action_mask(), &mut rng))?;
        info = step.info;
        let end = step.terminated || step.truncated;
        trace.push((
            step.obs,
            step.reward.to_bits(),
            step.terminated,
            step.truncated,
        ));
        if end {
            break;
        }
    }
    Ok((first, trace))
}

fn run_check(name: &'static str, f: impl FnOnce() -> Result<String, String>) -> CheckResult {
    CheckResult { name, outcome: f() }
}

/// Runs every check on envs built by `make` (a fresh env per check that needs one).
pub fn check_env(make: &dyn Fn() -> BoxedEnv, seed: u64) -> EnvCheckReport {
    let mut checks = Vec::new();
    let probe = make();
    let obs_space = probe.observation_space();
    let action_space = probe.action_space();
    checks.push(run_check("observation space is well formed", || {
        space_is_valid(&obs_space)
    }));
    checks.push(run_check("action space is well formed", || {
        space_is_valid(&action_space)
    }));
    checks.push(run_check("step before reset is refused", || {
        let mut env = make();
        let action = action_space.sample(&mut Rng::seed_from_u64(seed));
        match env.step(&action) {
            Err(EnvError::ResetNeeded) => Ok("ResetNeeded".into()),
            Err(e) => Err(format!("refused, but with an unexpected error: {e}")),
            Ok(_) => Err("step() before reset() succeeded; wrap the env in TimeLimit".into()),
        }
    }));
    checks.push(run_check(
        "reset observation lies in the observation space",
        || {
            let mut env = make();
            let (obs, _) = env.reset(Some(seed));
            if obs_space.contains_obs(&obs) {
                Ok(show(&obs))
            } else {
                Err(format!("{} is not in {}", show(&obs), obs_space.describe()))
            }
        },
    ));
    checks.push(run_check("sampled actions lie in the action space", || {
        let mut rng = Rng::seed_from_u64(seed);
        for _ in 0..1000 {
            let a = action_space.sample(&mut rng);
            if let Err(e) = action_space.check_action(&a) {
                return Err(format!("sample {a:?} refused: {e}"));
            }
        }
        Ok("1000 samples".into())
    }));
    checks.push(run_check(
        "random rollouts: observations in space, finite rewards, valid flags",
        || {
            let mut env = make();
            let mut rng = Rng::seed_from_u64(seed);
            let (mut episodes, mut steps, mut terminated, mut truncated) = (0, 0, 0, 0);
            let mut info = env.reset(Some(seed)).1;
            while steps < 5000 && episodes < 50 {
                let step = env
                    .step(&action_space.sample_masked(info.action_mask(), &mut rng))
                    .map_err(|e| format!("a sampled action was refused: {e}"))?;
                info = step.info.clone();
                steps += 1;
                if !obs_space.contains_obs(&step.obs) {
                    return Err(format!(
                        "step {steps}: {} is not in {}",
                        show(&step.obs),
                        obs_space.describe()
                    ));
                }
                if !step.reward.is_finite() {
                    return Err(format!("step {steps}: reward {} is not finite", step.reward));
                }
                terminated += step.terminated as u32;
                truncated += step.truncated as u32;
                if step.terminated || step.truncated {
                    episodes += 1;
                    info = env.reset(None).1;
                }
            }
            Ok(format!(
                "{steps} steps, {episodes} episodes ({terminated} terminated, {truncated} truncated)"
            ))
        },
    ));
    checks.push(run_check("same seed gives the same trajectory", || {
        let mut a = make();
        let mut b = make();
        let ra = rollout(a.as_mut(), seed, 300).map_err(|e| e.to_string())?;
        let rb = rollout(b.as_mut(), seed, 300).map_err(|e| e.to_string())?;
        if ra == rb {
            Ok(format!("{} steps identical", ra.1.len()))
        } else {
            Err("two rollouts with the same seed and actions differ".into())
        }
    }));
    checks.push(run_check(
        "invalid actions are refused with InvalidAction",
        || {
            let mut env = make();
            env.reset(Some(seed));
            let invalid: Vec<Action> = match &action_space {
                Space::Discrete { n, start } => vec![
                    Action::Discrete(start + *n as i64),
                    Action::Discrete(start - 1),
                    Action::Vector(vec![0.0]),
                ],
                Space::Box(b) => vec![
                    Action::Vector(vec![f32::NAN; b.dim()]),
                    Action::Vector(vec![0.0; b.dim() + 1]),
                    Action::Discrete(0),
                ],
            };
            for action in &invalid {
                match env.step(action) {
                    Err(EnvError::InvalidAction { .. }) => {}
                    Err(e) => return Err(format!("{action:?}: unexpected error {e}")),
                    Ok(_) => return Err(format!("{action:?} was accepted")),
                }
            }
            Ok(format!("{} invalid actions refused", invalid.len()))
        },
    ));
    checks.push(run_check(
        "set_state(state()) reproduces the observation",
        || {
            let mut env = make();
            if env.simulator().is_none() {
                return Ok(SKIPPED_NO_STATE.into());
            }
            let mut rng = Rng::seed_from_u64(seed);
            let mut info = env.reset(Some(seed)).1;
            let mut obs = None;
            for _ in 0..5 {
                let step = env
                    .step(&action_space.sample_masked(info.action_mask(), &mut rng))
                    .map_err(|e| e.to_string())?;
                info = step.info.clone();
                let end = step.terminated || step.truncated;
                obs = Some(step.obs);
                if end {
                    break;
                }
            }
            let simulator = env
                .simulator_mut()
                .ok_or("the settable state went away after stepping")?;
            let state = simulator.state();
            let restored = simulator.set_state(&state).map_err(|e| e.to_string())?;
            match obs {
                Some(o) if o == restored => Ok(format!("state {state:?}")),
                Some(o) => Err(format!(
                    "observation {} became {}",
                    show(&o),
                    show(&restored)
                )),
                None => Err("no step taken".into()),
            }
        },
    ));
    EnvCheckReport { checks }
}

/// An observation for a message: byte observations (images) are summarised, not listed.
fn show(obs: &Observation) -> String {
    match obs {
        Observation::Bytes(v) => {
            let sum: u64 = v.iter().map(|&b| u64::from(b)).sum();
            format!(
                "{} bytes (mean {:.2})",
                v.len(),
                sum as f64 / v.len().max(1) as f64
            )
        }
        other => format!("{other:?}"),
    }
}
