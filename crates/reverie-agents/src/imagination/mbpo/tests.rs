use super::*;

fn pendulum_mbpo(config: MbpoConfig) -> Mbpo {
    let obs = Space::boxed(vec![-1.0, -1.0, -8.0], vec![1.0, 1.0, 8.0]);
    let act = Space::boxed(vec![-2.0], vec![2.0]);
    config
        .init(
            &reverie_envs::known_functions("Pendulum-v1", &Default::default()).unwrap(),
            &obs,
            &act,
            Rng::seed_from_u64(0),
        )
        .unwrap()
}

fn small() -> MbpoConfig {
    MbpoConfig {
        model: EnsembleModelConfig {
            hidden_sizes: vec![16],
            ..EnsembleModelConfig::default()
        },
        sac: SacConfig {
            hidden: vec![16],
            buffer_size: 1,
            ..SacConfig::default()
        },
        ..MbpoConfig::default()
    }
}

fn fill_real(mbpo: &mut Mbpo, rows: usize, reward: f32, action: f32) {
    for i in 0..rows {
        let o = [(i as f32 * 0.1).cos(), (i as f32 * 0.1).sin(), 0.5];
        mbpo.real
            .push(&o, &[action], reward, &o, false, false)
            .unwrap();
    }
}

#[test]
fn rollout_length_follows_the_schedule_and_clamps() {
    let schedule = [1.0, 8.0, 1.0, 5.0];
    assert_eq!(rollout_length(schedule, 0.0), 1);
    assert_eq!(rollout_length(schedule, 1.0), 1);
    assert_eq!(rollout_length(schedule, 4.5), 3);
    assert_eq!(rollout_length(schedule, 8.0), 5);
    assert_eq!(rollout_length(schedule, 30.0), 5);
    // A decreasing schedule works the same way.
    assert_eq!(rollout_length([0.0, 10.0, 15.0, 1.0], 5.0), 8);
}

#[test]
fn minibatches_mix_real_and_imagined_at_the_real_ratio() {
    assert_eq!(real_rows(256, 0.05), 13);
    assert_eq!(real_rows(256, 0.0), 0);
    assert_eq!(real_rows(256, 1.0), 256);
    let mut mbpo = pendulum_mbpo(small());
    // Real rows: reward 1 and the env's top action 2.0; imagined rows: reward 0.
    fill_real(&mut mbpo, 50, 1.0, 2.0);
    // Before any imagined data exists, minibatches are all real.
    let batch = mbpo.mixed_batch(256);
    assert!(batch.rewards.iter().all(|r| *r == 1.0));
    mbpo.resize_imagined(1);
    for i in 0..100 {
        let o = [1.0, 0.0, i as f32 * 0.01];
        mbpo.imagined
            .push(&o, &[0.0], 0.0, &o, false, false)
            .unwrap();
    }
    let batch = mbpo.mixed_batch(256);
    assert_eq!(batch.len(), 256);
    let real: Vec<usize> = (0..256).filter(|&i| batch.rewards[i] == 1.0).collect();
    assert_eq!(real.len(), 13);
    // Real actions arrive rescaled to SAC's [−1, 1].
    assert!(real.iter().all(|&i| batch.actions[i] == 1.0));
}

#[test]
fn disagreement_stops_rollouts_and_nothing_uncertain_is_stored() {
    let mut mbpo = pendulum_mbpo(MbpoConfig {
        max_disagreement: Some(0.0),
        ..small()
    });
    fill_real(&mut mbpo, 20, -1.0, 0.5);
    mbpo.resize_imagined(3);
    // An untrained ensemble disagrees everywhere: every rollout stops at its first step.
    let (stored, stopped) = mbpo.imagine(40, 3).unwrap();
    assert_eq!((stored, stopped), (0, 40));
    assert!(mbpo.imagined().is_empty());
    let (mean, median, p90) = mbpo.last_disagreement().unwrap();
    assert!(mean > 0.0 && median > 0.0 && p90 >= median);

    let mut open = pendulum_mbpo(small());
    fill_real(&mut open, 20, -1.0, 0.5);
    open.resize_imagined(3);
    // Without the threshold all 40 rollouts run 3 steps (Pendulum never terminates).
    let (stored, stopped) = open.imagine(40, 3).unwrap();
    assert_eq!((stored, stopped), (120, 0));
    assert_eq!(open.imagined().len(), 120);
    // The fast path computes no disagreement.
    assert_eq!(open.last_disagreement(), None);
    assert!(open.disagreement_by_depth().is_empty());

    // An infinite threshold stops nothing but measures the disagreement at every depth.
    let mut measured = pendulum_mbpo(MbpoConfig {
        max_disagreement: Some(f32::INFINITY),
        ..small()
    });
    fill_real(&mut measured, 20, -1.0, 0.5);
    measured.resize_imagined(3);
    assert_eq!(measured.imagine(40, 3).unwrap(), (120, 0));
    let depths = measured.disagreement_by_depth();
    assert_eq!(depths.len(), 3);
    assert!(depths.iter().all(|d| d.is_finite() && *d > 0.0));
}

#[test]
fn model_buffer_keeps_the_newest_rows_when_resized() {
    let mut mbpo = pendulum_mbpo(MbpoConfig {
        rollouts_per_step: 1,
        freq_train_model: 10,
        epoch_length: 10,
        ..small()
    });
    mbpo.resize_imagined(2); // 1 × 1 × 10 × 2 = 20 rows
    assert_eq!(mbpo.imagined().config().capacity, 20);
    for i in 0..20 {
        let o = [i as f32, 0.0, 0.0];
        mbpo.imagined
            .push(&o, &[0.0], i as f32, &o, false, false)
            .unwrap();
    }
    mbpo.resize_imagined(1); // 10 rows: the newest 10 survive
    let all = mbpo.imagined().all();
    assert_eq!(all.len(), 10);
    assert_eq!(
        all.rewards.iter().cloned().fold(f32::INFINITY, f32::min),
        10.0
    );
}
