//! The divergence guard: non-finite updates are counted (a cumulative metric), a streak of
//! `max_nonfinite_updates` stops the run with an error naming the metric and the step, and
//! the last checkpoint written before the streak is kept, not overwritten by a broken agent.

use reverie_core::{
    snapshot, ActContext, Action, Agent, AutoresetMode, Carry, Metrics, Mode, ObsBatch, StepBatch,
    VecEnv,
};
use reverie_run::checkpoint::RunState;
use reverie_run::driver::{drive, NoHooks, Schedule};
use reverie_run::run_dir::RunDir;
use reverie_run::Diverged;

/// Pushes left, and reports a NaN loss from step `breaks_at` on (as a diverged agent does).
struct Breaks {
    steps: u64,
    breaks_at: u64,
}

impl Agent for Breaks {
    fn act(
        &mut self,
        obs: &ObsBatch,
        _: &ActContext<'_>,
        _: &mut Carry,
        _: Mode,
        actions: &mut Vec<Action>,
    ) {
        actions.clear();
        actions.extend((0..obs.len()).map(|_| Action::Discrete(0)));
    }

    fn observe(&mut self, _: &StepBatch<'_>) -> Metrics {
        self.steps += 1;
        let loss = if self.steps >= self.breaks_at {
            f64::NAN
        } else {
            1.0
        };
        vec![("losses/td_loss", loss)]
    }

    fn save(&self) -> Vec<u8> {
        snapshot::save("breaks", &self.steps)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.steps = snapshot::load("breaks", bytes).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[test]
fn a_streak_of_non_finite_updates_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let dir = std::env::temp_dir().join(format!("reverie-divergence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = RunDir::create_at(&dir).unwrap();
    let mut envs = VecEnv::new(
        vec![reverie_envs::make("CartPole-v1").unwrap()],
        AutoresetMode::SameStep,
    );
    let schedule = Schedule {
        total_steps: 1_000,
        eval_every: 0,
        eval_episodes: 1,
        eval_max_episode_steps: 100,
        eval_opponent: None,
        checkpoint_every: 20,
        checkpoint_seconds: 0.0,
        max_nonfinite_updates: 5,
        log_every: 10,
        env_seed: 0,
        eval_seed: 1,
    };
    let mut agent = Breaks {
        steps: 0,
        breaks_at: 50,
    };
    let err = drive(
        &mut agent,
        &mut envs,
        &mut reverie_envs::make("CartPole-v1").unwrap(),
        &schedule,
        &run,
        false,
        &mut NoHooks,
    )
    .expect_err("the guard stops the run");
    let diverged = err.downcast_ref::<Diverged>().expect("a divergence error");
    assert_eq!(diverged.step, 54, "the fifth NaN update in a row");
    assert_eq!(diverged.metric, "losses/td_loss");
    assert!(err.to_string().contains("latest.bin"), "{err}");

    // The checkpoint at step 40 stands: none was written once the losses went NaN.
    let latest = std::fs::read(dir.join("checkpoints/latest.bin")).unwrap();
    assert_eq!(RunState::open(&latest).unwrap().step, 40);
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(csv.contains("54,charts/nonfinite_updates,5,"), "{csv}");
    std::fs::remove_dir_all(&dir).unwrap();
}
