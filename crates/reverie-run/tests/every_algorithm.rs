//! Guards the one agent seam and the one driver: every algorithm trains through
//! `train_with_hooks` on a short budget, the hooks see exactly the steps, episodes,
//! evaluations and checkpoints the run reports, the neural agents' checkpoints reload into
//! agents that reproduce the final evaluation, two runs with one seed give identical
//! metrics, a run interrupted at step k and resumed ends with the same metrics as the same
//! run uninterrupted, and a hook can stop a run.

use std::path::{Path, PathBuf};

use reverie_core::StepBatch;
use reverie_run::driver::{evaluate_as_configured, EpisodeEnd, Evaluation, Flow, Hooks};
use reverie_run::{resolve, train_with_hooks, ConfigRequest, RunLocation, TrainConfig};

/// Counts what the driver reports.
#[derive(Default)]
struct Counter {
    steps: u64,
    step_calls: u64,
    episodes: u64,
    evaluations: Vec<Evaluation>,
    checkpoints: Vec<String>,
    stop_after_episodes: Option<u64>,
}

impl Hooks for Counter {
    fn on_step(&mut self, step: u64, batch: &StepBatch<'_>) -> Flow {
        assert_eq!(step, self.steps + batch.len() as u64, "steps advance by N");
        self.steps = step;
        self.step_calls += 1;
        Flow::Continue
    }
    fn on_episode(&mut self, episode: &EpisodeEnd) -> Flow {
        self.episodes += 1;
        assert!(episode.length > 0);
        match self.stop_after_episodes {
            Some(n) if self.episodes >= n => Flow::Stop,
            _ => Flow::Continue,
        }
    }
    fn on_evaluation(&mut self, evaluation: &Evaluation) -> Flow {
        self.evaluations.push(*evaluation);
        Flow::Continue
    }
    fn on_checkpoint(&mut self, _step: u64, name: &str) {
        self.checkpoints.push(name.to_string());
    }
}

/// `(algorithm, env, steps, overrides)`: budgets small enough for the test suite.
fn cases() -> Vec<(&'static str, &'static str, u64, Vec<&'static str>)> {
    vec![
        ("random", "FrozenLake-v1", 300, vec![]),
        ("q-learning", "FrozenLake-v1", 2000, vec![]),
        ("dyna-q", "DynaMaze-v0", 400, vec![]),
        ("dyna-q-plus", "ShortcutMaze-v0", 400, vec![]),
        ("prioritized-sweeping", "DynaMaze-v0", 400, vec![]),
        (
            "pets",
            "CartPoleContinuous-v0",
            150,
            vec![
                "agent.random_steps=60",
                "agent.train_every=60",
                "agent.planner.population=40",
                "agent.rollouts.particles=4",
                "agent.horizon=5",
                "agent.trainer.max_epochs=5",
            ],
        ),
        (
            "mpc",
            "CartPoleContinuous-v0",
            150,
            vec![
                "agent.dynamics=\"linear\"",
                "agent.random_steps=60",
                "agent.train_every=60",
                "agent.planner.population=40",
                "agent.horizon=5",
            ],
        ),
        (
            "dqn",
            "CartPole-v1",
            1500,
            vec!["agent.learning_starts=500"],
        ),
        ("ppo", "CartPole-v1", 2048, vec![]),
        ("a2c", "CartPole-v1", 400, vec![]),
        ("sac", "Pendulum-v1", 300, vec!["agent.learning_starts=100"]),
        (
            "mbpo",
            "Pendulum-v1",
            200,
            vec![
                "agent.random_steps=100",
                "agent.freq_train_model=100",
                "agent.epoch_length=100",
                "agent.sac_updates_per_step=1",
                "agent.rollouts_per_step=10",
                "agent.trainer.max_epochs=3",
            ],
        ),
        (
            "neural-dyna",
            "CartPole-v1",
            1500,
            vec!["agent.dqn.learning_starts=500"],
        ),
        (
            "dreamer",
            "CartPole-v1",
            300,
            tiny_dreamer(TINY_DREAMER_VECTORS),
        ),
        (
            "muzero",
            "CartPole-v1",
            300,
            vec![
                "agent.learning_starts=100",
                "agent.batch_size=8",
                "agent.search.simulations=4",
            ],
        ),
        (
            "muzero",
            "CartPole-v1",
            300,
            vec![
                "agent.learning_starts=100",
                "agent.batch_size=8",
                "agent.search.simulations=4",
                "agent.search.selection.kind=\"gumbel\"",
            ],
        ),
        (
            "alphazero",
            "CartPole-v1",
            300,
            vec![
                "agent.learning_starts=100",
                "agent.batch_size=8",
                "agent.search.simulations=4",
                "agent.reanalyse_fraction=0.5",
            ],
        ),
        // Self-play: legal moves and the player to move through the driver, games
        // against perfect play as the evaluation, reanalyse with the games' masks.
        (
            "muzero",
            "TicTacToe-v0",
            300,
            vec![
                "agent.learning_starts=100",
                "agent.batch_size=8",
                "agent.search.simulations=4",
                "agent.reanalyse_fraction=0.5",
                "agent.explore_moves=2",
                "eval_opponent=\"perfect\"",
            ],
        ),
        (
            "alphazero",
            "ConnectFour-v0",
            300,
            vec![
                "agent.learning_starts=100",
                "agent.batch_size=8",
                "agent.hidden=[16]",
                "agent.search.simulations=4",
                "eval_opponent=\"alpha-beta-1\"",
            ],
        ),
        (
            "dreamer",
            "CartPolePixels-v1",
            150,
            tiny_dreamer(&[
                "agent.world_model.depth=2",
                "agent.batch_size=2",
                "agent.seq_len=4",
                "agent.horizon=3",
                "agent.train_ratio=4",
                "agent.learning_starts=60",
                "agent.buffer_size=1000",
            ]),
        ),
        (
            "dreamer",
            "Pendulum-v1",
            300,
            tiny_dreamer(
                &[
                    TINY_DREAMER_VECTORS,
                    // DreamerV1's actor gradient through the model.
                    &["agent.actor_grad=dynamics"],
                ]
                .concat(),
            ),
        ),
        // The dream: a second round of M on the controller's own steps.
        (
            "world-models",
            "CartPole-v1",
            300,
            tiny_world_models(&[
                "agent.iterations=2",
                "agent.iteration_steps=100",
                "agent.dream_generations_per_step=0.1",
            ]),
        ),
        // The real env: candidates' trials spread over two envs.
        (
            "world-models",
            "CartPole-v1",
            300,
            tiny_world_models(&["agent.train_in=\"real\"", "agent.num_envs=2"]),
        ),
        (
            "world-models",
            "CartPolePixels-v1",
            150,
            tiny_world_models(&[
                "agent.random_steps=60",
                "agent.vae.depth=2",
                "agent.vae_batch=4",
                "agent.dream_generations_per_step=0.1",
            ]),
        ),
    ]
}

/// World Models at widths of 8 (z of 2), four candidates of two trials, 100 random steps,
/// then `rest`.
fn tiny_world_models(rest: &[&'static str]) -> Vec<&'static str> {
    let mut all = vec![
        "agent.random_steps=100",
        "agent.vae.latent=2",
        "agent.vae.embed=8",
        "agent.vae_updates=5",
        "agent.rnn.hidden=8",
        "agent.rnn_updates=5",
        "agent.rnn_batch=4",
        "agent.cmaes.population=4",
        "agent.trials=2",
        "agent.dream_steps=20",
        "agent.num_envs=1",
    ];
    all.extend_from_slice(rest);
    all
}

/// Dreamer's batches and schedule for a 300-step vector run.
const TINY_DREAMER_VECTORS: &[&str] = &[
    "agent.batch_size=4",
    "agent.seq_len=8",
    "agent.horizon=5",
    "agent.train_ratio=8",
    "agent.learning_starts=100",
];

/// Dreamer at widths of 16 with 4 × 4 latents, then `rest`.
fn tiny_dreamer(rest: &[&'static str]) -> Vec<&'static str> {
    let mut all = vec![
        "agent.world_model.rssm.deter=16",
        "agent.world_model.rssm.hidden=16",
        "agent.world_model.rssm.groups=4",
        "agent.world_model.rssm.classes=4",
        "agent.world_model.hidden=[16]",
        "agent.world_model.embed=16",
        "agent.hidden=[16]",
    ];
    all.extend_from_slice(rest);
    all
}

fn config(algo: &str, env: &str, steps: u64, overrides: &[&str], seed: u64) -> TrainConfig {
    let mut all: Vec<String> = vec![
        "eval_every=0".into(),
        "eval_episodes=2".into(),
        "log_every=100".into(),
    ];
    all.extend(overrides.iter().map(|s| s.to_string()));
    resolve(&ConfigRequest {
        algo: algo.into(),
        env: env.into(),
        overrides: all,
        seed: Some(seed),
        steps: Some(steps),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{algo} on {env}: {e}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "reverie-every-algorithm-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `metrics.csv` without wall-clock columns and timing metrics.
fn metrics(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
        .filter(|l| !l.contains("charts/SPS") && !l.contains(",time/"))
        .collect()
}

#[test]
fn every_algorithm_runs_on_the_one_driver_and_the_hooks_see_the_run() {
    for (algo, env, steps, overrides) in cases() {
        let dir = scratch(algo);
        let config = config(algo, env, steps, &overrides, 0);
        let mut hooks = Counter::default();
        let summary = train_with_hooks(&config, &RunLocation::At(dir.clone()), false, &mut hooks)
            .unwrap_or_else(|e| panic!("{algo} on {env}: {e:#}"));
        assert!(hooks.steps >= steps, "{algo}: {} steps", hooks.steps);
        assert_eq!(hooks.episodes, summary.episodes, "{algo}: episodes");
        let last = hooks.evaluations.last().expect("a final evaluation");
        assert!(last.last, "{algo}");
        assert_eq!(last.mean, summary.final_eval_return_mean, "{algo}");
        assert_eq!(
            hooks.checkpoints.last().map(String::as_str),
            Some("latest.bin")
        );
        assert!(dir.join("checkpoints/latest.bin").exists(), "{algo}");

        // Every agent reloads (into a fresh agent built from the config) as it was before
        // the final evaluation, generators included, so its deterministic policy takes the
        // same actions and reproduces that evaluation exactly.
        {
            let bytes = std::fs::read(dir.join("checkpoints/latest.bin")).unwrap();
            let mut agent = reverie_run::train::load_agent(&config, &bytes).unwrap();
            let mut eval_env = reverie_envs::make(env).unwrap();
            let seed = reverie_core::SeedStreams::new(config.seed).seed("eval");
            let versus = reverie_run::versus::Versus::of_config(&config).unwrap();
            let (mean, _, _) = evaluate_as_configured(
                &mut eval_env,
                agent.as_mut(),
                versus.as_ref(),
                config.eval_episodes,
                config.eval_max_episode_steps,
                seed,
            )
            .unwrap();
            assert_eq!(mean, summary.final_eval_return_mean, "{algo}: reloaded");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn one_seed_gives_identical_runs() {
    for (algo, env, steps, overrides) in cases()
        .into_iter()
        .filter(|(a, ..)| ["dyna-q", "dqn", "ppo", "mpc"].contains(a))
    {
        let runs: Vec<Vec<String>> = (0..2)
            .map(|k| {
                let dir = scratch(&format!("{algo}-{k}"));
                let config = config(algo, env, steps, &overrides, 3);
                reverie_run::train(&config, &RunLocation::At(dir.clone()), false).unwrap();
                let m = metrics(&dir);
                std::fs::remove_dir_all(&dir).unwrap();
                m
            })
            .collect();
        assert!(runs[0].len() > 5, "{algo}");
        assert_eq!(runs[0], runs[1], "{algo}: same seed, different metrics");
    }
}

/// Interrupts a run (as SIGINT does) once it reached `at` steps.
struct InterruptAt(u64);

impl Hooks for InterruptAt {
    fn on_step(&mut self, step: u64, _batch: &StepBatch<'_>) -> Flow {
        if step >= self.0 {
            Flow::Interrupt
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn every_algorithm_resumes_exactly_where_it_was_interrupted() {
    for (algo, env, steps, overrides) in cases() {
        // Checkpoints mid-run too, so a resume continues past one (and its evaluation).
        let mut overrides: Vec<&str> = overrides.clone();
        overrides.extend(["eval_every=100", "checkpoint_every=100"]);
        let config = config(algo, env, steps, &overrides, 1);
        let whole = scratch(&format!("{algo}-whole"));
        let expected = reverie_run::train(&config, &RunLocation::At(whole.clone()), false)
            .unwrap_or_else(|e| panic!("{algo}: {e:#}"));

        let stopped = scratch(&format!("{algo}-stopped"));
        let at = steps * 2 / 3 + 7;
        let err = train_with_hooks(
            &config,
            &RunLocation::At(stopped.clone()),
            false,
            &mut InterruptAt(at),
        )
        .expect_err("interrupted");
        let interrupted = err
            .downcast_ref::<reverie_run::Interrupted>()
            .unwrap_or_else(|| panic!("{algo}: {err:#}"));
        assert!(interrupted.step >= at, "{algo}: {interrupted:?}");
        let resumed =
            reverie_run::train::resume(&stopped, false, &mut reverie_run::driver::NoHooks)
                .unwrap_or_else(|e| panic!("{algo}: resume: {e:#}"));
        assert_eq!(
            metrics(&stopped),
            metrics(&whole),
            "{algo}: resumed metrics differ"
        );
        assert_eq!(
            resumed.final_eval_return_mean, expected.final_eval_return_mean,
            "{algo}"
        );
        assert_eq!(resumed.episodes, expected.episodes, "{algo}");
        let err = reverie_run::train::resume(&stopped, false, &mut reverie_run::driver::NoHooks)
            .expect_err("a finished run does not resume");
        assert!(format!("{err:#}").contains("already finished"), "{err:#}");
        std::fs::remove_dir_all(&whole).unwrap();
        std::fs::remove_dir_all(&stopped).unwrap();
    }
}

#[test]
fn a_hook_can_stop_a_run() {
    let dir = scratch("stop");
    let config = config("ppo", "CartPole-v1", 100_000, &[], 0);
    let mut hooks = Counter {
        stop_after_episodes: Some(3),
        ..Default::default()
    };
    let summary =
        train_with_hooks(&config, &RunLocation::At(dir.clone()), false, &mut hooks).unwrap();
    assert!(hooks.episodes >= 3);
    assert!(summary.total_steps < 1000, "stopped early: {summary:?}");
    assert_eq!(hooks.evaluations.len(), 1, "only the final evaluation");
    std::fs::remove_dir_all(&dir).unwrap();
}
