//! End-to-end tests of the `reverie` binary: bad input fails clearly and leaves nothing
//! behind; training writes a complete run directory; plots are drawn; seeds reproduce.

mod common;

use common::{is_empty_dir, metrics_without_timing, reverie, scratch, stderr, stdout};

#[test]
fn unknown_env_lists_known_ids_and_writes_nothing() {
    let dir = scratch("unknown-env");
    let out = reverie(&[
        "train",
        "random",
        "--env",
        "CartPol-v1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("unknown environment id 'CartPol-v1'"), "{err}");
    assert!(err.contains("CartPole-v1"), "known ids listed: {err}");
    assert!(is_empty_dir(&dir));
}

#[test]
fn unknown_algorithm_is_refused() {
    let out = reverie(&["train", "dyna-z", "--env", "CartPole-v1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown algorithm 'dyna-z'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn mistyped_config_key_names_it_and_the_valid_keys() {
    let dir = scratch("bad-key");
    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--set",
        "agent.alpah=0.1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("alpah"), "{err}");
    assert!(
        err.contains("alpha") && err.contains("epsilon_start"),
        "{err}"
    );
    assert!(is_empty_dir(&dir), "nothing written for a bad config");

    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--set",
        "total_step=10",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("total_steps"), "{}", stderr(&out));
    assert!(is_empty_dir(&dir));
}

#[test]
fn mistyped_value_and_bad_env_option_are_refused() {
    let dir = scratch("bad-value");
    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--set",
        "agent.alpha=fast",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("alpha"), "{}", stderr(&out));

    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--set",
        "env.options.slippery=false",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("slippery") && err.contains("is_slippery"),
        "{err}"
    );

    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--set",
        "agent.alpha=2.0",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("in (0, 1]"), "{}", stderr(&out));
    assert!(is_empty_dir(&dir));
}

#[test]
fn tabular_agent_on_continuous_env_is_refused() {
    let out = reverie(&["train", "q-learning", "--env", "CartPole-v1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Discrete(n) observation space"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unwritable_run_dir_fails_clearly() {
    let out = reverie(&[
        "train",
        "random",
        "--env",
        "CartPole-v1",
        "--steps",
        "10",
        "--out",
        "/proc/reverie-no-such-dir",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot create run directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreadable_or_broken_config_file_is_refused() {
    let dir = scratch("bad-file");
    let out = reverie(&[
        "train",
        "random",
        "--env",
        "CartPole-v1",
        "--config",
        "/nonexistent.toml",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot read --config"),
        "{}",
        stderr(&out)
    );
    let file = dir.join("broken.toml");
    std::fs::write(&file, "seed = [").unwrap();
    let out = reverie(&[
        "train",
        "random",
        "--env",
        "CartPole-v1",
        "--config",
        file.to_str().unwrap(),
        "--out",
        dir.join("runs").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("broken.toml"), "{}", stderr(&out));
    assert!(!dir.join("runs").exists());
}

#[test]
fn random_agent_run_writes_a_complete_run_directory_and_plots() {
    let dir = scratch("random-run");
    let run = dir.join("run");
    let out = reverie(&[
        "train",
        "random",
        "--env",
        "CartPole-v1",
        "--steps",
        "3000",
        "--seed",
        "5",
        "--quiet",
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in [
        "config.toml",
        "metrics.csv",
        "metrics.jsonl",
        "summary.json",
        "checkpoints/latest.bin",
        "plots/learning_curve.png",
        "plots/learning_curve.svg",
    ] {
        assert!(run.join(file).is_file(), "missing {file}");
    }
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("seed = 5") && config.contains("total_steps = 3000"),
        "{config}"
    );
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(metrics.contains("charts/episodic_return") && metrics.contains("charts/SPS"));
    // Random CartPole episodes last ~22 steps on average.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let episodes = summary["episodes"].as_u64().unwrap();
    assert!((60..300).contains(&episodes), "{episodes} episodes");

    let stem = dir.join("curves");
    let out = reverie(&[
        "plot",
        run.to_str().unwrap(),
        "--out",
        stem.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stem.with_extension("png").is_file() && stem.with_extension("svg").is_file());

    let out = reverie(&["plot", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a reverie run directory"),
        "{}",
        stderr(&out)
    );
}

/// Everything in metrics.csv except the wall-clock column (and throughput, which is timing).
#[test]
fn same_seed_reproduces_the_run_exactly() {
    let dir = scratch("determinism");
    let mut runs = Vec::new();
    for name in ["a", "b"] {
        let run = dir.join(name);
        let out = reverie(&[
            "train",
            "q-learning",
            "--env",
            "FrozenLake-v1",
            "--steps",
            "20000",
            "--seed",
            "11",
            "--quiet",
            "--run-dir",
            run.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        runs.push(metrics_without_timing(&run));
    }
    assert!(runs[0].len() > 100);
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn env_listing_and_env_check() {
    let out = reverie(&["envs"]);
    assert!(out.status.success());
    let listing = stdout(&out);
    for id in [
        "CartPole-v1",
        "Pendulum-v1",
        "FrozenLake-v1",
        "Taxi-v4",
        "GridWorld-v0",
    ] {
        assert!(listing.contains(id), "{id} missing from:\n{listing}");
    }
    let out = reverie(&["env-check", "FrozenLake-v1", "--set", "map_name=8x8"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("all 9 checks passed"));
}

#[test]
fn help_teaches_the_config_layers() {
    let out = reverie(&["train", "--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    assert!(help.contains("--set") && help.contains("presets") && help.contains("Examples"));
}

#[test]
fn model_eval_writes_summary_with_horizons_and_calibration() {
    let dir = scratch("model-eval");
    let out = reverie(&[
        "model-eval",
        "--env",
        "CartPole-v1",
        "--steps",
        "600",
        "--horizon",
        "5",
        "--members",
        "2",
        "--max-epochs",
        "3",
        "--hidden",
        "16,16",
        "--threads",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("k,error_mean,"), "{header}");
    assert!(header.contains("disagreement_error_spearman"), "{header}");
    assert_eq!(lines.count(), 5, "one row per horizon k = 1..5");
    for file in [
        "compounding_error.png",
        "calibration.svg",
        "calibration.csv",
        "model.safetensors",
        "report.txt",
    ] {
        assert!(dir.join(file).is_file(), "missing {file}");
    }

    let out = reverie(&[
        "model-eval",
        "--env",
        "FrozenLake-v1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Box observation space"),
        "{}",
        stderr(&out)
    );
}

/// `--video` writes a GIF a person can look at: random actions from `env-check` (a pixel
/// variant here) and the trained policy from `eval`.
#[test]
fn env_check_and_eval_record_gif_videos() {
    let dir = scratch("video");
    std::fs::create_dir_all(&dir).unwrap();
    let gif = dir.join("random.gif");
    let out = reverie(&[
        "env-check",
        "PendulumPixels-v1",
        "--video",
        gif.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("201 frames"), "{}", stdout(&out));
    let bytes = std::fs::read(&gif).unwrap();
    assert_eq!(&bytes[..6], b"GIF89a");

    let run = dir.join("run");
    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--steps",
        "2000",
        "--quiet",
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let gif = dir.join("policy.gif");
    let out = reverie(&[
        "eval",
        run.to_str().unwrap(),
        "--episodes",
        "2",
        "--video",
        gif.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("video: "), "{}", stdout(&out));
    assert_eq!(&std::fs::read(&gif).unwrap()[..6], b"GIF89a");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Agents built for vector observations refuse pixel observations with the reason, before a
/// run directory exists (instead of failing at the first step).
#[test]
fn vector_agents_refuse_pixel_observations_and_write_nothing() {
    for (algo, env) in [
        ("dqn", "CartPolePixels-v1"),
        ("ppo", "PendulumPixels-v1"),
        ("sac", "PendulumPixels-v1"),
        ("mpc", "PendulumPixels-v1"),
    ] {
        let dir = scratch(&format!("pixels-{algo}"));
        let out = reverie(&[
            "train",
            algo,
            "--env",
            env,
            "--steps",
            "100",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{algo} on {env} trained");
        let err = stderr(&out);
        assert!(err.contains("float32 vector"), "{algo}: {err}");
        assert!(err.contains("uint8"), "{algo}: the space is named: {err}");
        assert!(
            !dir.exists() || is_empty_dir(&dir),
            "{algo}: nothing written"
        );
    }
}

/// A GPU the build cannot reach, zero threads, non-finite numbers and a replay buffer larger
/// than the machine's memory are refused with the reason before a run directory exists.
#[test]
fn bad_run_settings_are_refused_and_write_nothing() {
    let cases: &[(&str, &str)] = &[
        ("device=\"tpu\"", "cuda:N"),
        ("threads=0", "threads"),
        ("agent.learning_rate=inf", "must be finite"),
        // 10¹¹ transitions: ~4 TB, refused instead of aborting in the allocator.
        ("agent.buffer_size=100000000000", "is available"),
    ];
    let mut cases = cases.to_vec();
    if !cfg!(feature = "cuda") {
        cases.push(("device=\"cuda:0\"", "`cuda` feature"));
    }
    for (i, (setting, reason)) in cases.iter().enumerate() {
        let dir = scratch(&format!("device-{i}"));
        let out = reverie(&[
            "train",
            "dqn",
            "--env",
            "CartPole-v1",
            "--steps",
            "100",
            "--set",
            setting,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{setting} trained");
        let err = stderr(&out);
        assert!(err.contains(reason), "{setting}: {err}");
        assert!(
            !dir.exists() || is_empty_dir(&dir),
            "{setting}: nothing written"
        );
    }
}

/// The run directory is named when the run starts, also when stderr is not a terminal (here
/// a pipe), so that a long run can be followed from its first minute; `--quiet` stays quiet.
#[test]
fn the_run_directory_is_named_at_the_start() {
    let dir = scratch("named-at-start");
    let out = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--steps",
        "500",
        "--run-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("run directory {}", dir.display())),
        "{err}"
    );
    // stderr is a pipe here, not a terminal: plain progress lines with an ETA, no bar.
    assert!(
        err.contains("step 500/500 (100%)") && err.contains("ETA"),
        "{err}"
    );
    // The same metrics for TensorBoard as in the CSV.
    let events = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("events.out.tfevents."))
        .expect("a TensorBoard event file");
    let scalars = reverie_core::tfevents::read_scalars(&events).unwrap();
    let csv: Vec<(u64, String)> = std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().to_string(),
            )
        })
        .collect();
    let tb: Vec<(u64, String)> = scalars.into_iter().map(|(s, m, _)| (s, m)).collect();
    assert_eq!(tb, csv);
    std::fs::remove_dir_all(&dir).unwrap();
    let quiet = reverie(&[
        "train",
        "q-learning",
        "--env",
        "FrozenLake-v1",
        "--steps",
        "500",
        "--quiet",
        "--run-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(quiet.status.success());
    assert!(
        !stderr(&quiet).contains("run directory"),
        "{}",
        stderr(&quiet)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_groups_runs_by_config_and_labels_them() {
    let dir = scratch("plot-groups");
    let train = |name: &str, seed: &str, alpha: &str| {
        let run = dir.join(name);
        let out = reverie(&[
            "train",
            "q-learning",
            "--env",
            "FrozenLake-v1",
            "--steps",
            "3000",
            "--seed",
            seed,
            "--set",
            &format!("agent.alpha={alpha}"),
            "--quiet",
            "--run-dir",
            run.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        run.to_str().unwrap().to_string()
    };
    // Two seeds of one configuration and one run of another, interleaved.
    let runs = [
        train("a1", "1", "0.1"),
        train("b1", "1", "0.2"),
        train("a2", "2", "0.1"),
    ];
    let stem = dir.join("curves");
    let plot = |extra: &[&str]| {
        let mut args = vec!["plot"];
        args.extend(runs.iter().map(String::as_str));
        args.extend(["--out", stem.to_str().unwrap()]);
        args.extend(extra);
        reverie(&args)
    };

    let out = plot(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("agent.alpha=0.1 (n=2 runs, band: ±1 std)"),
        "{text}"
    );
    assert!(text.contains("agent.alpha=0.2 (n=1 run)"), "{text}");
    let svg = std::fs::read_to_string(stem.with_extension("svg")).unwrap();
    assert!(
        svg.contains("q-learning on FrozenLake-v1: charts/episodic_return"),
        "title names the shared algorithm and env"
    );
    assert!(
        svg.contains("agent.alpha=0.2 (n=1 run)"),
        "legend in the SVG"
    );

    let out = plot(&["--label", "slow"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("1 --label given but the runs form 2 groups"),
        "{err}"
    );
    assert!(
        err.contains("1. agent.alpha=0.1") && err.contains("2. agent.alpha=0.2"),
        "{err}"
    );

    let out = plot(&["--label", "slow", "--label", "fast", "--band", "ci95"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("slow (n=2 runs, band: 95% CI)"), "{text}");
    assert!(text.contains("fast (n=1 run)"), "{text}");

    // One evaluation per run (at the end): a single point per curve still plots.
    let out = plot(&["--metric", "eval/episodic_return"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stem.with_extension("png").is_file());

    let out = plot(&["--band", "sem"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("std or ci95"), "{}", stderr(&out));
}
