//! What a world model must do, checked on synthetic data with fixed seeds: learn a linear
//! system, recover heteroscedastic noise, disagree more off-distribution, round-trip
//! through a checkpoint exactly, and survive constant input dimensions.

use candle_core::Device;
use reverie_core::{Batch, Rng};
use reverie_models::{train, EnsembleModel, EnsembleModelConfig, TrainerConfig};

/// Transitions of a 1-D system `s' = s + f(s) + noise(s)`, with an irrelevant action.
fn synthetic(
    rows: usize,
    low: f64,
    high: f64,
    rng: &mut Rng,
    delta: impl Fn(f64, &mut Rng) -> f64,
) -> Batch {
    let mut batch = Batch::default();
    for _ in 0..rows {
        let s = rng.uniform_range(low, high);
        let a = rng.uniform_range(-1.0, 1.0);
        let d = delta(s, rng);
        batch.obs.push(s as f32);
        batch.actions.push(a as f32);
        batch.next_obs.push((s + d) as f32);
        batch.rewards.push(0.0);
        batch.terminated.push(false);
        batch.truncated.push(false);
    }
    batch
}

fn small(probabilistic: bool, members: usize) -> EnsembleModelConfig {
    EnsembleModelConfig {
        ensemble_size: members,
        elites: members,
        hidden_sizes: vec![64, 64],
        probabilistic,
        ..EnsembleModelConfig::default()
    }
}

#[test]
fn deterministic_model_learns_a_linear_system() {
    reverie_nn::threads::set_num_threads(1);
    let mut rng = Rng::seed_from_u64(0);
    // s = [x, v], a = [u]: x' = x + 0.1 v, v' = v + 0.1 u (a discretised double integrator).
    let mut data = Batch::default();
    for _ in 0..3000 {
        let (x, v, u) = (
            rng.uniform_range(-1.0, 1.0),
            rng.uniform_range(-1.0, 1.0),
            rng.uniform_range(-1.0, 1.0),
        );
        data.obs.extend([x as f32, v as f32]);
        data.actions.push(u as f32);
        data.next_obs
            .extend([(x + 0.1 * v) as f32, (v + 0.1 * u) as f32]);
        data.rewards.push((-x * x) as f32);
        data.terminated.push(false);
        data.truncated.push(false);
    }
    let mut model = EnsembleModel::new(small(false, 2), 2, 1, &mut rng, &Device::Cpu).unwrap();
    let report = train(
        &mut model,
        &data,
        &TrainerConfig {
            max_epochs: 200,
            patience: 20,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    // Normalised validation MSE (1.0 would be predicting the mean).
    let best = report
        .member_val_mse
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min);
    assert!(
        best < 1e-3,
        "validation MSE {best} after {} epochs",
        report.epochs.len()
    );
    let pred = model.predict(&[0.5, -0.5], &[1.0]).unwrap();
    let e = model.elites()[0];
    let next = &pred.next_obs[e * 2..e * 2 + 2];
    assert!(
        (next[0] - 0.45).abs() < 0.01 && (next[1] + 0.4).abs() < 0.01,
        "{next:?}"
    );
    assert!(
        (pred.reward[e] + 0.25).abs() < 0.02,
        "reward {}",
        pred.reward[e]
    );
}

#[test]
fn gaussian_nll_recovers_heteroscedastic_noise() {
    reverie_nn::threads::set_num_threads(1);
    let mut rng = Rng::seed_from_u64(1);
    let sigma = |s: f64| 0.05 + 0.1 * s.abs();
    let data = synthetic(6000, -2.0, 2.0, &mut rng, |s, rng| {
        0.5 * s.sin() + sigma(s) * rng.normal()
    });
    let mut model = EnsembleModel::new(small(true, 1), 1, 1, &mut rng, &Device::Cpu).unwrap();
    train(
        &mut model,
        &data,
        &TrainerConfig {
            max_epochs: 300,
            patience: 30,
            bootstrap: false,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    for s in [-1.5f32, -0.75, 0.75, 1.5] {
        let pred = model.predict(&[s], &[0.0]).unwrap();
        let predicted = pred.variance.as_ref().unwrap()[0].sqrt() as f64;
        let truth = sigma(s as f64);
        assert!(
            (predicted - truth).abs() <= 0.2 * truth,
            "at s = {s}: predicted σ {predicted:.4}, true σ {truth:.4}"
        );
    }
}

#[test]
fn disagreement_is_larger_off_distribution() {
    reverie_nn::threads::set_num_threads(1);
    let mut rng = Rng::seed_from_u64(2);
    let data = synthetic(2000, -1.0, 1.0, &mut rng, |s, rng| {
        0.3 * s * s + 0.01 * rng.normal()
    });
    let mut model = EnsembleModel::new(small(true, 5), 1, 1, &mut rng, &Device::Cpu).unwrap();
    train(&mut model, &data, &TrainerConfig::default(), &mut rng).unwrap();
    let mean_disagreement = |points: &[f32]| {
        let pred = model.predict(points, &vec![0.0; points.len()]).unwrap();
        let elites = model.elites().to_vec();
        (0..points.len())
            .map(|i| pred.disagreement(&elites, i))
            .sum::<f32>()
            / points.len() as f32
    };
    let on: Vec<f32> = (0..20).map(|i| -0.9 + 0.09 * i as f32).collect();
    let off: Vec<f32> = (0..20).map(|i| 3.0 + 0.1 * i as f32).collect();
    let (d_on, d_off) = (mean_disagreement(&on), mean_disagreement(&off));
    assert!(
        d_off > 3.0 * d_on,
        "on-distribution {d_on}, off-distribution {d_off}"
    );
}

#[test]
fn save_then_load_reproduces_predictions_exactly_and_refuses_mismatch() {
    reverie_nn::threads::set_num_threads(1);
    let mut rng = Rng::seed_from_u64(3);
    let data = synthetic(500, -1.0, 1.0, &mut rng, |s, _| 0.1 * s);
    let mut model = EnsembleModel::new(small(true, 3), 1, 1, &mut rng, &Device::Cpu).unwrap();
    train(
        &mut model,
        &data,
        &TrainerConfig {
            max_epochs: 5,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("reverie-model-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    model.save(&path).unwrap();
    let loaded = EnsembleModel::load(&path, 1, 1, &Device::Cpu).unwrap();
    let points = [0.3f32, -0.7, 2.0];
    let a = model.predict(&points, &[0.1, 0.2, 0.3]).unwrap();
    let b = loaded.predict(&points, &[0.1, 0.2, 0.3]).unwrap();
    assert_eq!(a, b);
    assert_eq!(loaded.elites(), model.elites());

    let err = EnsembleModel::load(&path, 2, 1, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not match"), "{err}");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = EnsembleModel::load(&path, 1, 1, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("corrupt"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn constant_dimensions_do_not_produce_nan() {
    reverie_nn::threads::set_num_threads(1);
    let mut rng = Rng::seed_from_u64(4);
    let mut data = Batch::default();
    for _ in 0..400 {
        let s = rng.uniform_range(-1.0, 1.0) as f32;
        // Second observation dimension and the action never change.
        data.obs.extend([s, 7.0]);
        data.actions.push(0.5);
        data.next_obs.extend([s * 0.9, 7.0]);
        data.rewards.push(1.0);
        data.terminated.push(false);
        data.truncated.push(false);
    }
    let mut model = EnsembleModel::new(small(true, 2), 2, 1, &mut rng, &Device::Cpu).unwrap();
    let report = train(
        &mut model,
        &data,
        &TrainerConfig {
            max_epochs: 10,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    assert!(report
        .epochs
        .iter()
        .all(|e| e.train_loss.is_finite() && e.val_mse.is_finite()));
    let pred = model.predict(&[0.2, 7.0], &[0.5]).unwrap();
    assert!(
        pred.next_obs
            .iter()
            .chain(&pred.reward)
            .all(|x| x.is_finite()),
        "{pred:?}"
    );
    let e = model.elites()[0];
    assert!((pred.next_obs[e * 2 + 1] - 7.0).abs() < 1e-3);
}

#[test]
fn nan_in_training_data_is_refused() {
    let mut rng = Rng::seed_from_u64(5);
    let mut data = synthetic(10, -1.0, 1.0, &mut rng, |s, _| s);
    data.next_obs[3] = f32::NAN;
    let mut model = EnsembleModel::new(small(false, 1), 1, 1, &mut rng, &Device::Cpu).unwrap();
    let err = train(&mut model, &data, &TrainerConfig::default(), &mut rng).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
}
