//! Known reward and termination functions of the built-in envs, written on observations
//! (as mbrl-lib and MBPO do), so a model only has to learn the dynamics; and the encoding of
//! actions as model inputs.

use reverie_core::{Action, Space};

/// `reward(obs, action, next_obs)`.
pub type RewardFn = fn(&[f32], &[f32], &[f32]) -> f32;
/// `terminated(obs, action, next_obs)`.
pub type TerminationFn = fn(&[f32], &[f32], &[f32]) -> bool;

/// The functions known for an env (either may be absent: then the model's own head is used).
#[derive(Clone, Copy, Debug, Default)]
pub struct KnownFunctions {
    /// Reward from the transition.
    pub reward: Option<RewardFn>,
    /// Termination from the transition.
    pub termination: Option<TerminationFn>,
}

const CARTPOLE_X: f32 = 2.4;
const CARTPOLE_THETA: f32 = 12.0 * 2.0 * std::f32::consts::PI / 360.0;

fn cartpole_done(_: &[f32], _: &[f32], next: &[f32]) -> bool {
    next[0].abs() > CARTPOLE_X || next[2].abs() > CARTPOLE_THETA
}

fn alive(_: &[f32], _: &[f32], _: &[f32]) -> f32 {
    1.0
}

fn swingup_done(_: &[f32], _: &[f32], next: &[f32]) -> bool {
    next[0].abs() > CARTPOLE_X
}

/// Tip distance reward on `[x, ẋ, cos θ, sin θ, θ̇]` (CartPoleSwingUp-v0).
fn swingup_reward(_: &[f32], _: &[f32], next: &[f32]) -> f32 {
    const L: f32 = 0.6;
    let dx = next[0] + L * next[3];
    let dy = L * next[2] - L;
    (-(dx * dx + dy * dy) / (L * L)).exp()
}

/// Pendulum-v1's cost on the state before the step: θ² + 0.1 θ̇² + 0.001 u².
fn pendulum_reward(obs: &[f32], action: &[f32], _: &[f32]) -> f32 {
    let theta = obs[1].atan2(obs[0]);
    let u = action[0].clamp(-2.0, 2.0);
    -(theta * theta + 0.1 * obs[2] * obs[2] + 0.001 * u * u)
}

fn never(_: &[f32], _: &[f32], _: &[f32]) -> bool {
    false
}

fn mcc_done(_: &[f32], _: &[f32], next: &[f32]) -> bool {
    next[0] >= 0.45 && next[1] >= 0.0
}

fn mcc_reward(obs: &[f32], action: &[f32], next: &[f32]) -> f32 {
    let goal = if mcc_done(obs, action, next) {
        100.0
    } else {
        0.0
    };
    goal - 0.1 * action[0] * action[0]
}

fn mountain_car_done(_: &[f32], _: &[f32], next: &[f32]) -> bool {
    next[0] >= 0.5 && next[1] >= 0.0
}

fn minus_one(_: &[f32], _: &[f32], _: &[f32]) -> f32 {
    -1.0
}

/// On `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]`: −cos θ1 − cos(θ1 + θ2) > 1.
fn acrobot_done(_: &[f32], _: &[f32], next: &[f32]) -> bool {
    let cos12 = next[0] * next[2] - next[1] * next[3];
    -next[0] - cos12 > 1.0
}

fn acrobot_reward(obs: &[f32], action: &[f32], next: &[f32]) -> f32 {
    if acrobot_done(obs, action, next) {
        0.0
    } else {
        -1.0
    }
}

/// The known functions of a registered env id (empty for unknown ids).
pub fn known_functions(env_id: &str) -> KnownFunctions {
    let (reward, termination): (Option<RewardFn>, Option<TerminationFn>) = match env_id {
        "CartPole-v1" | "CartPoleContinuous-v0" => (Some(alive), Some(cartpole_done)),
        "CartPoleSwingUp-v0" => (Some(swingup_reward), Some(swingup_done)),
        "Pendulum-v1" => (Some(pendulum_reward), Some(never)),
        "MountainCarContinuous-v0" => (Some(mcc_reward), Some(mcc_done)),
        "MountainCar-v0" => (Some(minus_one), Some(mountain_car_done)),
        "Acrobot-v1" => (Some(acrobot_reward), Some(acrobot_done)),
        _ => (None, None),
    };
    KnownFunctions {
        reward,
        termination,
    }
}

/// The known functions of `env_id` when `enabled` (an agent's `known_functions` setting),
/// else none, so the model's learned reward and termination heads are used.
pub fn known_functions_if(enabled: bool, env_id: &str) -> KnownFunctions {
    if enabled {
        known_functions(env_id)
    } else {
        KnownFunctions::default()
    }
}

/// Width of an action as model input: one-hot for `Discrete(n)`, the vector for a box.
pub fn action_width(space: &Space) -> usize {
    match space {
        Space::Discrete { n, .. } => *n as usize,
        Space::Box(b) => b.dim(),
    }
}

/// Appends `action` as model input to `out`: one-hot for discrete actions, clipped to the
/// bounds for box actions (the env clips them too).
pub fn encode_action(space: &Space, action: &Action, out: &mut Vec<f32>) {
    match (space, action) {
        (Space::Discrete { n, start }, Action::Discrete(a)) => {
            let k = (a - start) as usize;
            out.extend((0..*n as usize).map(|i| (i == k) as u8 as f32));
        }
        (Space::Box(b), Action::Vector(v)) => {
            out.extend(
                v.iter()
                    .zip(b.low.iter().zip(&b.high))
                    .map(|(x, (l, h))| x.clamp(*l, *h)),
            );
        }
        _ => panic!("action {action:?} does not belong to {}", space.describe()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reverie_core::{DynEnv, Rng};

    /// The known functions agree with the real envs on random transitions.
    #[test]
    fn known_functions_match_the_envs() {
        for id in [
            "CartPole-v1",
            "CartPoleContinuous-v0",
            "CartPoleSwingUp-v0",
            "Pendulum-v1",
            "MountainCarContinuous-v0",
            "MountainCar-v0",
            "Acrobot-v1",
        ] {
            let known = known_functions(id);
            let mut env = reverie_envs::make(id).unwrap();
            let space = env.action_space();
            let mut rng = Rng::seed_from_u64(0);
            let (mut obs, _) = env.reset(Some(0));
            for _ in 0..2000 {
                let action = space.sample(&mut rng);
                let step = env.step(&action).unwrap();
                let o = obs.as_vector().unwrap();
                let n = step.obs.as_vector().unwrap();
                let mut a = Vec::new();
                encode_action(&space, &action, &mut a);
                // Raw (unclipped) action for the reward, as the env charges it.
                let raw = match &action {
                    Action::Vector(v) => v.clone(),
                    Action::Discrete(_) => a.clone(),
                };
                let r = (known.reward.unwrap())(o, &raw, n);
                assert!(
                    (r as f64 - step.reward).abs() < 1e-3 * (1.0 + step.reward.abs()),
                    "{id}: reward {r} vs {}",
                    step.reward
                );
                assert_eq!(
                    (known.termination.unwrap())(o, &raw, n),
                    step.terminated,
                    "{id}: termination"
                );
                obs = if step.terminated || step.truncated {
                    env.reset(None).0
                } else {
                    step.obs
                };
            }
        }
    }
}
