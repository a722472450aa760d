//! End-to-end: runs survive. SIGTERM / SIGINT flush and checkpoint and say how to resume;
//! `kill -9` loses at most the steps since the last checkpoint; `--resume` continues to the
//! same metrics as an uninterrupted run; `eval` reloads every kind of agent; a run's
//! `config.toml` re-runs it without ALGO or `--env`, and a contradicting flag is refused.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{metrics_without_timing, reverie, scratch, stderr, stdout};

/// A DQN run long enough to be stopped midway, checkpointing every 2,000 steps.
const DQN: &[&str] = &[
    "train",
    "dqn",
    "--env",
    "CartPole-v1",
    "--steps",
    "30000",
    "--set",
    "checkpoint_every=2000",
    "--set",
    "eval_every=10000",
];

fn start(args: &[&str], run_dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_reverie"))
        .args(args)
        .args(["--run-dir", run_dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the reverie binary starts")
}

/// Waits until the run wrote a checkpoint (so it is well into training).
fn wait_for_checkpoint(run_dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !run_dir.join("checkpoints/latest.bin").exists() {
        assert!(Instant::now() < deadline, "no checkpoint within 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn resume(run_dir: &Path) -> std::process::Output {
    reverie(&["train", "--resume", run_dir.to_str().unwrap(), "--quiet"])
}

#[test]
fn sigterm_and_kill_9_then_resume_give_the_uninterrupted_runs_metrics() {
    let dir = scratch("resume");
    let whole = dir.join("whole");
    let out = reverie(&[DQN, &["--quiet", "--run-dir", whole.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = metrics_without_timing(&whole);

    // SIGTERM: a clean stop with a checkpoint, a non-zero exit and the resume command.
    let stopped = dir.join("sigterm");
    let child = start(DQN, &stopped);
    wait_for_checkpoint(&stopped);
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("interrupted at step"), "{err}");
    assert!(
        err.contains(&format!("reverie train --resume {}", stopped.display())),
        "{err}"
    );
    let out = resume(&stopped);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        metrics_without_timing(&stopped),
        expected,
        "SIGTERM + resume"
    );

    // kill -9: no handler runs; the last periodic checkpoint is the resume point, and the
    // metrics written after it are cut back, so nothing is duplicated.
    let killed = dir.join("kill9");
    let child = start(DQN, &killed);
    wait_for_checkpoint(&killed);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-KILL");
    child.wait_with_output().unwrap();
    let out = resume(&killed);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("final greedy evaluation"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        metrics_without_timing(&killed),
        expected,
        "kill -9 + resume"
    );

    // A finished run has nothing to resume, and a resume takes no other config flags.
    let out = resume(&killed);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already finished"),
        "{}",
        stderr(&out)
    );
    let out = reverie(&["train", "--resume", killed.to_str().unwrap(), "--seed", "3"]);
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eval_reloads_a_pets_run_and_a_damaged_checkpoint_is_refused() {
    let dir = scratch("eval-pets");
    let run = dir.join("pets");
    let out = reverie(&[
        "train",
        "pets",
        "--env",
        "CartPoleContinuous-v0",
        "--steps",
        "300",
        "--set",
        "agent.random_steps=100",
        "--set",
        "agent.train_every=100",
        "--set",
        "agent.horizon=5",
        "--set",
        "agent.trainer.max_epochs=3",
        "--set",
        "eval_episodes=2",
        "--quiet",
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trained = stdout(&out);
    // `eval` with the run's own seed reproduces the final evaluation of training.
    let out = reverie(&["eval", run.to_str().unwrap(), "--episodes", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // "... 2 episodes: 100.500 ± 3.500" in both outputs.
    let line = |text: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.contains('±'))
            .expect("an evaluation line");
        line.rsplit_once(": ").unwrap().1.to_string()
    };
    assert_eq!(line(&stdout(&out)), line(&trained));

    let checkpoint = run.join("checkpoints/latest.bin");
    let mut bytes = std::fs::read(&checkpoint).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&checkpoint, &bytes).unwrap();
    let out = reverie(&["eval", run.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("checksum mismatch"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_runs_config_reruns_it_and_contradicting_flags_are_refused() {
    let dir = scratch("config-rerun");
    let first = dir.join("first");
    let args = [
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--steps",
        "3000",
        "--quiet",
    ];
    let out = reverie(&[&args[..], &["--run-dir", first.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let config = first.join("config.toml");
    let config = config.to_str().unwrap();

    // --print-config shows every key with its doc and trains nothing.
    let out = reverie(&["train", "--config", config, "--print-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("# Root seed"), "{printed}");
    assert!(printed.contains("epsilon_decay_steps = "), "{printed}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "nothing new written"
    );

    let again = dir.join("again");
    let out = reverie(&[
        "train",
        "--config",
        config,
        "--quiet",
        "--run-dir",
        again.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        metrics_without_timing(&again),
        metrics_without_timing(&first)
    );

    let out = reverie(&["train", "--config", config, "--env", "Taxi-v4"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("env `Taxi-v4` contradicts"), "{err}");
    let out = reverie(&["train", "dqn", "--config", config]);
    assert!(
        stderr(&out).contains("algorithm `dqn` contradicts"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn absurd_learning_rates_are_refused_before_anything_is_written() {
    let dir = scratch("absurd-lr");
    for lr in ["1e30", "0", "-0.1"] {
        let out = reverie(&[
            "train",
            "ppo",
            "--env",
            "CartPole-v1",
            "--set",
            &format!("agent.learning_rate={lr}"),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{lr}");
        assert!(stderr(&out).contains("`learning_rate`"), "{}", stderr(&out));
    }
    assert!(common::is_empty_dir(&dir));
}

#[test]
fn algos_describes_an_algorithms_keys_and_presets() {
    let out = reverie(&["algos", "pets"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("--preset mbrl-lib"), "{text}");
    assert!(text.contains("# Planning horizon."), "{text}");
    assert!(
        text.contains("kind = \"icem\""),
        "the fast planner is the default: {text}"
    );
    let out = reverie(&[
        "train",
        "pets",
        "--env",
        "CartPoleContinuous-v0",
        "--preset",
        "mbrl-lib",
        "--print-config",
    ]);
    assert!(
        stdout(&out).contains("population = 350"),
        "{}",
        stdout(&out)
    );
    let out = reverie(&[
        "train",
        "pets",
        "--env",
        "CartPoleContinuous-v0",
        "--preset",
        "fast",
    ]);
    assert!(
        stderr(&out).contains("pets has no preset `fast`"),
        "{}",
        stderr(&out)
    );
}
