//! ModelEnv: propagation modes, known functions, disagreement and its truncation.

use candle_core::Device;
use reverie_core::{Batch, Rng};
use reverie_models::{
    train, EnsembleModel, EnsembleModelConfig, KnownFunctions, ModelEnv, ModelEnvConfig,
    Propagation, TrainerConfig,
};

fn trained_model(rng: &mut Rng) -> EnsembleModel {
    reverie_nn::threads::set_num_threads(1);
    // s' = 0.9 s + 0.1 a on s in [-1, 1].
    let mut data = Batch::default();
    for _ in 0..1500 {
        let (s, a) = (
            rng.uniform_range(-1.0, 1.0) as f32,
            rng.uniform_range(-1.0, 1.0) as f32,
        );
        data.obs.push(s);
        data.actions.push(a);
        data.next_obs.push(0.9 * s + 0.1 * a);
        data.rewards.push(-s * s);
        data.terminated.push(false);
        data.truncated.push(false);
    }
    let config = EnsembleModelConfig {
        ensemble_size: 4,
        elites: 3,
        hidden_sizes: vec![32, 32],
        ..EnsembleModelConfig::default()
    };
    let mut model = EnsembleModel::new(config, 1, 1, rng, &Device::Cpu).unwrap();
    train(
        &mut model,
        &data,
        &TrainerConfig {
            max_epochs: 60,
            ..Default::default()
        },
        rng,
    )
    .unwrap();
    model
}

#[test]
fn propagation_modes_follow_their_members() {
    let mut rng = Rng::seed_from_u64(0);
    let model = trained_model(&mut rng);
    let obs = vec![0.5f32; 64];
    let actions = vec![0.0f32; 64];
    let deterministic = |propagation| ModelEnvConfig {
        propagation,
        sample: false,
        max_disagreement: None,
    };

    // TS∞ without sampling: each particle equals its own elite's mean prediction.
    let mut env = ModelEnv::new(
        &model,
        deterministic(Propagation::FixedMember),
        Default::default(),
        Rng::seed_from_u64(1),
    );
    env.reset(64);
    let a = env.step(&obs, &actions).unwrap();
    let b = env.step(&obs, &actions).unwrap();
    assert_eq!(
        a.next_obs, b.next_obs,
        "a fixed member gives the same answer twice"
    );
    let pred = model.predict(&obs[..1], &actions[..1]).unwrap();
    let elite_values: Vec<f32> = model.elites().iter().map(|&e| pred.next_obs[e]).collect();
    assert!(a
        .next_obs
        .iter()
        .all(|x| elite_values.iter().any(|v| (v - x).abs() < 1e-6)));
    let distinct = |v: &[f32]| {
        let mut s: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
        s.sort_unstable();
        s.dedup();
        s.len()
    };
    assert_eq!(
        distinct(&a.next_obs),
        model.elites().len(),
        "64 particles spread over the elites"
    );

    // Expectation: every particle gets the elites' mean, close to the true 0.45.
    let mut env = ModelEnv::new(
        &model,
        deterministic(Propagation::Expectation),
        Default::default(),
        Rng::seed_from_u64(1),
    );
    let e = env.step(&obs, &actions).unwrap();
    assert_eq!(distinct(&e.next_obs), 1);
    assert!((e.next_obs[0] - 0.45).abs() < 0.02, "{}", e.next_obs[0]);

    // TS1: members are redrawn every step, so two steps differ for some particle.
    let mut env = ModelEnv::new(
        &model,
        deterministic(Propagation::RandomMember),
        Default::default(),
        Rng::seed_from_u64(1),
    );
    let (x, y) = (
        env.step(&obs, &actions).unwrap(),
        env.step(&obs, &actions).unwrap(),
    );
    assert_ne!(x.next_obs, y.next_obs);

    // Sampling adds the predicted noise: particles of one member no longer coincide.
    let mut env = ModelEnv::new(
        &model,
        ModelEnvConfig::default(),
        Default::default(),
        Rng::seed_from_u64(1),
    );
    let s = env.step(&obs, &actions).unwrap();
    assert!(distinct(&s.next_obs) > 32);
}

#[test]
fn disagreement_truncates_far_from_the_data_and_known_functions_apply() {
    let mut rng = Rng::seed_from_u64(2);
    let model = trained_model(&mut rng);
    let config = ModelEnvConfig {
        propagation: Propagation::Expectation,
        sample: false,
        max_disagreement: None,
    };
    let mut env = ModelEnv::new(
        &model,
        config.clone(),
        Default::default(),
        Rng::seed_from_u64(3),
    );
    let near = env.step(&[0.2], &[0.0]).unwrap().disagreement[0];
    let far = env.step(&[6.0], &[0.0]).unwrap().disagreement[0];
    assert!(far > 3.0 * near, "near {near}, far {far}");
    let threshold = (near + far) / 2.0;
    let mut env = ModelEnv::new(
        &model,
        ModelEnvConfig {
            max_disagreement: Some(threshold),
            ..config
        },
        KnownFunctions::new(|_, _, next| 10.0 * next[0], |_, _, next| next[0] > 1.0),
        Rng::seed_from_u64(3),
    );
    let step = env.step(&[0.2, 6.0], &[0.0, 0.0]).unwrap();
    assert_eq!(step.truncated, vec![false, true]);
    // The known functions replace the model's reward and termination.
    assert!((step.rewards[0] - 10.0 * step.next_obs[0]).abs() < 1e-6);
    assert_eq!(step.terminated, vec![false, true]);
    let taxi = reverie_envs::known_functions("Taxi-v4", &Default::default()).unwrap();
    assert!(
        taxi.is_empty(),
        "Taxi publishes no functions on its discrete observations"
    );
}
