//! When checkpoints are written: by steps (keeping the newest three `step-N.bin`), by
//! wall-clock time, and at the end; every one holds the whole run.

use reverie_core::{AutoresetMode, Rng, Space, VecEnv};
use reverie_run::checkpoint::RunState;
use reverie_run::driver::{drive, Hooks, Schedule};
use reverie_run::run_dir::RunDir;

#[derive(Default)]
struct Checkpoints(Vec<(u64, String)>);

impl Hooks for Checkpoints {
    fn on_checkpoint(&mut self, step: u64, name: &str) {
        self.0.push((step, name.to_string()));
    }
}

fn run(checkpoint_every: u64, checkpoint_seconds: f64) -> (Vec<(u64, String)>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!(
        "reverie-checkpoint-schedule-{checkpoint_every}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let run = RunDir::create_at(&dir).unwrap();
    let env = || reverie_envs::make("CartPole-v1").unwrap();
    let mut envs = VecEnv::new(vec![env()], AutoresetMode::SameStep);
    let mut agent = reverie_agents::RandomAgent::new(Space::discrete(2), Rng::seed_from_u64(0));
    let schedule = Schedule {
        total_steps: 100,
        eval_every: 0,
        eval_episodes: 0,
        eval_max_episode_steps: 10,
        eval_opponent: None,
        checkpoint_every,
        checkpoint_seconds,
        max_nonfinite_updates: 10,
        log_every: 10,
        env_seed: 0,
        eval_seed: 1,
    };
    let mut hooks = Checkpoints::default();
    drive(
        &mut agent,
        &mut envs,
        &mut env(),
        &schedule,
        &run,
        false,
        &mut hooks,
    )
    .unwrap();
    let latest = std::fs::read(dir.join("checkpoints/latest.bin")).unwrap();
    assert_eq!(RunState::open(&latest).unwrap().step, 100);
    let mut files: Vec<String> = std::fs::read_dir(dir.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    std::fs::remove_dir_all(&dir).unwrap();
    (hooks.0, files)
}

#[test]
fn by_steps_the_newest_three_step_files_are_kept() {
    let (written, files) = run(10, 0.0);
    assert_eq!(
        written.len(),
        10,
        "steps 10, 20, ..., 90 and the end: {written:?}"
    );
    assert_eq!(
        files,
        [
            "latest.bin",
            "step-000000080.bin",
            "step-000000090.bin",
            "step-000000100.bin"
        ]
    );
}

#[test]
fn by_wall_clock_latest_is_written_between_step_checkpoints() {
    // A tiny period: every step is past it.
    let (written, files) = run(0, 1e-9);
    assert!(written.len() > 50, "{}", written.len());
    assert!(written[..written.len() - 1]
        .iter()
        .all(|(_, name)| name == "latest.bin"));
    assert_eq!(files, ["latest.bin", "step-000000100.bin"]);
}
