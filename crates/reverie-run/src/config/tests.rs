use super::*;

fn request(algo: &str, env: &str) -> ConfigRequest {
    ConfigRequest {
        algo: algo.into(),
        env: env.into(),
        ..Default::default()
    }
}

#[test]
fn presets_layer_in_order() {
    let config = resolve(&request("q-learning", "FrozenLake-v1")).unwrap();
    assert_eq!(config.total_steps, 200_000);
    assert_eq!(config.agent["alpha"].as_float(), Some(0.05));
    // From the algo default, not overridden by the env preset.
    assert_eq!(config.agent["initial_q"].as_float(), Some(0.0));
    assert_eq!(config.env.id, "FrozenLake-v1");
}

#[test]
fn overrides_win_and_parse_types() {
    let mut r = request("q-learning", "FrozenLake-v1");
    r.overrides = vec![
        "agent.alpha=0.3".into(),
        "env.options.map_name=8x8".into(),
        "env.options.is_slippery=false".into(),
    ];
    r.seed = Some(7);
    let config = resolve(&r).unwrap();
    assert_eq!(config.agent["alpha"].as_float(), Some(0.3));
    assert_eq!(config.env.options["map_name"].as_str(), Some("8x8"));
    assert_eq!(config.env.options["is_slippery"].as_bool(), Some(false));
    assert_eq!(config.seed, 7);
}

#[test]
fn unknown_top_level_key_names_valid_keys() {
    let mut r = request("q-learning", "FrozenLake-v1");
    r.overrides = vec!["total_step=5".into()];
    let err = resolve(&r).unwrap_err().to_string();
    assert!(err.contains("total_step"), "{err}");
    assert!(err.contains("total_steps"), "{err}");
}

#[test]
fn file_layer_parse_errors_name_the_file() {
    let mut r = request("q-learning", "FrozenLake-v1");
    r.file = Some(("my.toml".into(), "seed = = 3".into()));
    let err = resolve(&r).unwrap_err().to_string();
    assert!(err.starts_with("my.toml"), "{err}");
}

#[test]
fn resolved_config_round_trips_through_toml() {
    let config = resolve(&request("q-learning", "Taxi-v4")).unwrap();
    let text = config.to_toml();
    let back: TrainConfig = from_table(parse_toml(&text, "x").unwrap(), "x").unwrap();
    assert_eq!(back, config);
}

#[test]
fn malformed_override_is_refused() {
    let mut table = Table::new();
    assert!(apply_override(&mut table, "agent.alpha").is_err());
    assert!(apply_override(&mut table, "agent..alpha=1").is_err());
    apply_override(&mut table, "seed=3").unwrap();
    assert!(apply_override(&mut table, "seed.x=3").is_err());
}

#[test]
fn every_preset_file_is_embedded_and_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets");
    let mut files = 0;
    for algo in std::fs::read_dir(&root).unwrap() {
        let algo = algo.unwrap();
        for file in std::fs::read_dir(algo.path()).unwrap() {
            let file = file.unwrap().path();
            let env = file.file_stem().unwrap().to_string_lossy().into_owned();
            let algo_name = algo.file_name().to_string_lossy().into_owned();
            let text = preset(&algo_name, &env)
                .unwrap_or_else(|| panic!("{} is not listed in PRESETS", file.display()));
            parse_toml(text, &file.display().to_string()).unwrap();
            files += 1;
        }
    }
    assert_eq!(files, PRESETS.len());
}

/// The env an algorithm's `default` preset is checked on.
fn default_env(algo: &str) -> &'static str {
    // The planners' defaults are continuous-action optimisers.
    if matches!(algo, "pets" | "mpc") {
        "CartPoleContinuous-v0"
    } else if matches!(
        algo,
        "dqn" | "ppo" | "a2c" | "neural-dyna" | "dreamer" | "muzero" | "alphazero" | "world-models"
    ) {
        "CartPole-v1"
    } else if matches!(algo, "sac" | "mbpo") {
        "Pendulum-v1"
    } else {
        "GridWorld-v0"
    }
}

/// Resolves `request` and builds its agent on `env`, panicking with what failed.
fn builds(algo: &str, env: &str, request: &ConfigRequest) {
    let config = resolve(request).unwrap();
    let made = reverie_envs::make(env).unwrap();
    let built = crate::algos::build_agent(
        algo,
        &reverie_envs::EnvRecipe::new(env),
        &config.agent,
        config.device,
        &made.observation_space(),
        &made.action_space(),
        config.total_steps,
        reverie_core::Rng::seed_from_u64(0),
    )
    .map(|_| ());
    built.unwrap_or_else(|e| panic!("{algo} on {env} ({:?}): {e:#}", request.preset));
}

#[test]
fn every_algorithm_preset_resolves_and_builds_its_agent() {
    for (algo, env, _) in PRESETS
        .iter()
        .filter(|(a, e, _)| *a != "base" && !is_named(e))
    {
        let env = if *env == "default" {
            default_env(algo)
        } else {
            env
        };
        builds(algo, env, &request(algo, env));
    }
}

#[test]
fn every_named_preset_resolves_and_builds_its_agent() {
    for (algo, name, _) in PRESETS.iter().filter(|(_, e, _)| is_named(e)) {
        let env = default_env(algo);
        let named = ConfigRequest {
            preset: Some(name.to_string()),
            ..request(algo, env)
        };
        builds(algo, env, &named);
    }
}

#[test]
fn non_finite_numbers_are_refused_with_their_key() {
    for (assignment, key) in [
        ("agent.learning_rate=inf", "agent.learning_rate"),
        ("agent.gamma=nan", "agent.gamma"),
        ("agent.hidden=[64.0, -inf]", "agent.hidden[1]"),
    ] {
        let err = resolve(&ConfigRequest {
            overrides: vec![assignment.into()],
            ..request("ppo", "CartPole-v1")
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(key) && err.contains("finite"),
            "{assignment}: {err}"
        );
    }
}

#[test]
fn seeds_beyond_what_toml_holds_are_refused_as_given() {
    let err = resolve(&ConfigRequest {
        seed: Some(u64::MAX),
        ..request("q-learning", "FrozenLake-v1")
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("18446744073709551615"), "{err}");
    assert!(!err.contains("-1"), "{err}");
    let config = resolve(&ConfigRequest {
        seed: Some(i64::MAX as u64),
        ..request("q-learning", "FrozenLake-v1")
    })
    .unwrap();
    assert_eq!(config.seed, i64::MAX as u64);
}
