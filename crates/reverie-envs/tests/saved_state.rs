//! Every registered env saves its whole state mid-episode (simulation, generator, time
//! limit) and a fresh env loaded with it continues exactly as the original does: the same
//! observations, rewards, ends and the same next episodes after resets drawn from its
//! generator. Resumed training runs rest on this.

use reverie_core::{Action, DynEnv, Rng, Step};
use reverie_envs::{specs, EnvOptions};

/// Steps `env` through `actions`, resetting (with its own generator) where an episode
/// ends, and records everything it returns.
fn follow(env: &mut dyn DynEnv, actions: &[Action]) -> Vec<String> {
    let mut seen = Vec::new();
    for action in actions {
        let Step {
            obs,
            reward,
            terminated,
            truncated,
            ..
        } = env.step(action).unwrap();
        seen.push(format!("{obs:?} {reward:?} {terminated} {truncated}"));
        if terminated || truncated {
            seen.push(format!("reset {:?}", env.reset(None).0));
        }
    }
    seen
}

#[test]
fn every_env_resumes_mid_episode_exactly() {
    for spec in specs() {
        let options = EnvOptions::new();
        let mut env = spec.make(&options).unwrap();
        let space = env.action_space();
        let mut rng = Rng::seed_from_u64(7);
        let actions: Vec<Action> = (0..600).map(|_| space.sample(&mut rng)).collect();
        env.reset(Some(3));
        // Past at least one reset for the short-episode envs, then mid-episode.
        follow(env.as_mut(), &actions[..237]);
        let saved = env
            .save_state()
            .unwrap_or_else(|| panic!("{} cannot save its state", spec.id));
        let expected = follow(env.as_mut(), &actions[237..]);

        let mut fresh = spec.make(&options).unwrap();
        fresh.load_state(&saved).unwrap();
        assert_eq!(
            follow(fresh.as_mut(), &actions[237..]),
            expected,
            "{}",
            spec.id
        );
        let err = fresh.load_state(&saved[..saved.len() / 2]).unwrap_err();
        assert!(!err.to_string().is_empty(), "{}", spec.id);
    }
}
