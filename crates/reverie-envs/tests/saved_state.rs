//! Every registered env saves its whole state mid-episode (simulation, generator, time
//! limit) and a fresh env loaded with it continues exactly as the original does: the same
//! observations, rewards, ends and the same next episodes after resets drawn from its
//! generator. Resumed training runs rest on this.

use reverie_core::{DynEnv, Info, Rng, Step};
use reverie_envs::{specs, EnvOptions};

/// Steps `env` `steps` times with actions drawn from `rng` (among those `info`'s action mask
/// allows, for the board games), resetting (with its own generator) where an episode ends,
/// and records everything it returns. `info` is the last one seen, kept for the next call.
fn follow(env: &mut dyn DynEnv, rng: &mut Rng, info: &mut Info, steps: usize) -> Vec<String> {
    let space = env.action_space();
    let mut seen = Vec::new();
    for _ in 0..steps {
        let action = space.sample_masked(info.action_mask(), rng);
        let Step {
            obs,
            reward,
            terminated,
            truncated,
            info: next_info,
        } = env.step(&action).unwrap();
        seen.push(format!("{obs:?} {reward:?} {terminated} {truncated}"));
        *info = next_info;
        if terminated || truncated {
            let (obs, reset_info) = env.reset(None);
            seen.push(format!("reset {obs:?}"));
            *info = reset_info;
        }
    }
    seen
}

#[test]
fn every_env_resumes_mid_episode_exactly() {
    for spec in specs() {
        let options = EnvOptions::new();
        let mut env = spec.make(&options).unwrap();
        let mut rng = Rng::seed_from_u64(7);
        let mut info = env.reset(Some(3)).1;
        // Past at least one reset for the short-episode envs, then mid-episode.
        follow(env.as_mut(), &mut rng, &mut info, 237);
        let saved = env
            .save_state()
            .unwrap_or_else(|| panic!("{} cannot save its state", spec.id));
        let (mut fresh_rng, mut fresh_info) = (rng.clone(), info.clone());
        let expected = follow(env.as_mut(), &mut rng, &mut info, 600 - 237);

        let mut fresh = spec.make(&options).unwrap();
        fresh.load_state(&saved).unwrap();
        assert_eq!(
            follow(fresh.as_mut(), &mut fresh_rng, &mut fresh_info, 600 - 237),
            expected,
            "{}",
            spec.id
        );
        let err = fresh.load_state(&saved[..saved.len() / 2]).unwrap_err();
        assert!(!err.to_string().is_empty(), "{}", spec.id);
    }
}
