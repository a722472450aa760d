//! The encoding of actions as model inputs (one-hot for discrete actions, clipped vectors for
//! boxes). Known reward and termination functions are published by the envs themselves
//! ([`reverie_core::Env::known_functions`]).

use reverie_core::{Action, Space};

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
