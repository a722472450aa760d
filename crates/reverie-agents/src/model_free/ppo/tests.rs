use super::*;
use candle_core::Var;

#[test]
fn gae_matches_a_hand_computed_case() {
    // One env, 3 steps, the episode ends at step 1 (index 1), γ = 0.9, λ = 0.5.
    // Step 2 bootstraps from last_value = 4.
    let rewards = [1.0f32, 2.0, 3.0];
    let values = [0.5f32, 1.0, 1.5];
    let dones = [false, true, false];
    let (adv, ret) = gae(&rewards, &values, &dones, &[4.0], 1, 0.9, 0.5);
    // δ2 = 3 + 0.9·4 − 1.5 = 5.1;             A2 = 5.1
    // δ1 = 2 + 0 − 1.0 = 1.0 (done);           A1 = 1.0
    // δ0 = 1 + 0.9·1.0 − 0.5 = 1.4;            A0 = 1.4 + 0.45·1.0 = 1.85
    let want = [1.85f32, 1.0, 5.1];
    for (a, w) in adv.iter().zip(want) {
        assert!((a - w).abs() < 1e-5, "{adv:?}");
    }
    for ((r, a), v) in ret.iter().zip(&adv).zip(values) {
        assert!((r - (a + v)).abs() < 1e-6);
    }
}

#[test]
fn gae_keeps_envs_apart_in_time_major_layout() {
    // Two envs interleaved, γ = λ = 1. Env 0: A = remaining reward − V = [2, 1].
    // Env 1 earns nothing: A1 = −0.5, A0 = (0 + 0.5 − 0.25) + A1 = −0.25.
    let rewards = [1.0f32, 0.0, 1.0, 0.0];
    let values = [0.0f32, 0.25, 0.0, 0.5];
    let (adv, _) = gae(&rewards, &values, &[false; 4], &[0.0, 0.0], 2, 1.0, 1.0);
    assert!(
        (adv[0] - 2.0).abs() < 1e-6 && (adv[2] - 1.0).abs() < 1e-6,
        "{adv:?}"
    );
    assert!(
        (adv[1] + 0.25).abs() < 1e-6 && (adv[3] + 0.5).abs() < 1e-6,
        "{adv:?}"
    );
}

fn surrogate_grad(ratio: f32, advantage: f32, clip: f64) -> f32 {
    let r = Var::new(&[ratio], &Device::Cpu).unwrap();
    let a = Tensor::new(&[advantage], &Device::Cpu).unwrap();
    let loss = clipped_surrogate(r.as_tensor(), &a, clip).unwrap();
    let grads = loss.backward().unwrap();
    grads
        .get(&r)
        .map(|g| g.to_vec1::<f32>().unwrap()[0])
        .unwrap_or(0.0)
}

#[test]
fn clipped_objective_has_zero_gradient_outside_the_clip_range() {
    let clip = 0.2;
    // Positive advantage: no gradient once the ratio exceeds 1 + ε, full gradient below.
    assert_eq!(surrogate_grad(1.3, 2.0, clip), 0.0);
    assert!((surrogate_grad(1.1, 2.0, clip) + 2.0).abs() < 1e-6);
    assert!(
        (surrogate_grad(0.5, 2.0, clip) + 2.0).abs() < 1e-6,
        "pessimistic side keeps the gradient"
    );
    // Negative advantage: no gradient below 1 − ε, full gradient above.
    assert_eq!(surrogate_grad(0.7, -1.0, clip), 0.0);
    assert!((surrogate_grad(0.9, -1.0, clip) - 1.0).abs() < 1e-6);
    assert!((surrogate_grad(1.5, -1.0, clip) - 1.0).abs() < 1e-6);
    // With ε = 100 the clamp never bites: the gradient is always −A.
    assert!((surrogate_grad(3.0, 2.0, 100.0) + 2.0).abs() < 1e-6);
}

#[test]
fn gaussian_log_prob_in_the_update_matches_the_acting_one() {
    let config = PpoConfig {
        num_envs: 1,
        n_steps: 4,
        batch_size: 4,
        log_std_init: -0.3,
        ..Default::default()
    };
    let obs_space = Space::boxed(vec![-1.0; 3], vec![1.0; 3]);
    let act_space = Space::boxed(vec![-2.0; 2], vec![2.0; 2]);
    let mut ppo = config
        .init(&obs_space, &act_space, 1000, Rng::seed_from_u64(3))
        .unwrap();
    let row = [0.2f32, -0.5, 0.9];
    let (stored, logp) = ppo.policy_row(&row, true);
    let obs = rows(&row, 3, &Device::Cpu).unwrap();
    let (lp, entropy) = ppo.evaluate(&obs, &stored).unwrap();
    let lp = lp.to_vec1::<f32>().unwrap()[0];
    assert!((lp - logp).abs() < 1e-4, "{lp} vs {logp}");
    // Entropy of N(μ, σ²) per dimension: ½ + ½ln(2π) + ln σ.
    let want = 2.0 * (0.5 + 0.5 * (2.0 * std::f32::consts::PI).ln() - 0.3);
    assert!((entropy.to_vec1::<f32>().unwrap()[0] - want).abs() < 1e-4);
}

#[test]
fn categorical_log_prob_in_the_update_matches_the_acting_one() {
    let config = PpoConfig {
        num_envs: 1,
        n_steps: 4,
        batch_size: 4,
        ortho_init: false,
        ..Default::default()
    };
    let obs_space = Space::boxed(vec![-1.0; 2], vec![1.0; 2]);
    let mut ppo = config
        .init(&obs_space, &Space::discrete(3), 1000, Rng::seed_from_u64(4))
        .unwrap();
    let row = [0.7f32, -0.1];
    for _ in 0..5 {
        let (stored, logp) = ppo.policy_row(&row, true);
        let obs = rows(&row, 2, &Device::Cpu).unwrap();
        let (lp, _) = ppo.evaluate(&obs, &stored).unwrap();
        assert!((lp.to_vec1::<f32>().unwrap()[0] - logp).abs() < 1e-5);
    }
}

#[test]
fn save_and_load_round_trip_and_corrupt_data_is_refused() {
    let obs_space = Space::boxed(vec![-1.0; 2], vec![1.0; 2]);
    let make = |seed| {
        PpoConfig {
            normalize_obs: true,
            ..Default::default()
        }
        .init(
            &obs_space,
            &Space::discrete(2),
            1000,
            Rng::seed_from_u64(seed),
        )
        .unwrap()
    };
    let (a, mut b) = (make(1), make(2));
    let bytes = a.save();
    b.load(&bytes).unwrap();
    let (mut a, row) = (a, [0.3f32, 0.1]);
    let mut out_a = Vec::new();
    let mut out_b = Vec::new();
    let batch = ObsBatch::from_f32(row.to_vec(), 2);
    a.act(
        &batch,
        &ActContext::new(&[false]),
        &mut Carry::none(),
        Mode::Evaluate,
        &mut out_a,
    );
    b.act(
        &batch,
        &ActContext::new(&[false]),
        &mut Carry::none(),
        Mode::Evaluate,
        &mut out_b,
    );
    assert_eq!(out_a, out_b);
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    assert!(b.load(&bad).is_err());
}
