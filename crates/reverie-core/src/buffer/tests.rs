use super::*;

fn config(capacity: usize) -> ReplayBufferConfig {
    ReplayBufferConfig {
        capacity,
        obs_dim: 2,
        action_dim: 1,
    }
}

/// Pushes transitions numbered `from..to`; obs = [t, -t], episodes end where `end(t)`.
fn fill(buffer: &mut ReplayBuffer, from: usize, to: usize, end: impl Fn(usize) -> bool) {
    for t in from..to {
        let t32 = t as f32;
        buffer
            .push(
                &[t32, -t32],
                &[0.0],
                t32,
                &[t32 + 1.0, -t32 - 1.0],
                end(t),
                false,
            )
            .unwrap();
    }
}

#[test]
fn ring_overwrites_oldest() {
    let mut buffer = ReplayBuffer::new(config(4));
    fill(&mut buffer, 0, 6, |_| false);
    assert_eq!(buffer.len(), 4);
    let all = buffer.all();
    assert_eq!(all.rewards, vec![2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn refuses_bad_shapes_and_nan_without_storing() {
    let mut buffer = ReplayBuffer::new(config(4));
    let err = buffer
        .push(&[0.0], &[0.0], 0.0, &[0.0, 0.0], false, false)
        .unwrap_err();
    assert!(matches!(err, BufferError::Shape { column: "obs", .. }));
    let err = buffer
        .push(&[0.0, f32::NAN], &[0.0], 0.0, &[0.0, 0.0], false, false)
        .unwrap_err();
    assert!(err.to_string().contains("NaN"));
    assert!(buffer.is_empty());
}

#[test]
fn uniform_sampling_covers_buffer() {
    let mut buffer = ReplayBuffer::new(config(10));
    fill(&mut buffer, 0, 10, |_| false);
    let mut rng = Rng::seed_from_u64(0);
    let batch = buffer.sample(1000, &mut rng);
    assert_eq!(batch.len(), 1000);
    assert_eq!(batch.obs.len(), 2000);
    for r in 0..10 {
        assert!(batch.rewards.contains(&(r as f32)));
    }
    // Columns stay aligned row by row.
    for (i, r) in batch.rewards.iter().enumerate() {
        assert_eq!(batch.obs[2 * i], *r);
        assert_eq!(batch.next_obs[2 * i], *r + 1.0);
    }
}

#[test]
fn sequences_never_cross_episode_ends_or_the_ring_seam() {
    let mut buffer = ReplayBuffer::new(config(50));
    // Episodes end every 7 steps; 80 pushes wrap the ring.
    fill(&mut buffer, 0, 80, |t| t % 7 == 6);
    let mut rng = Rng::seed_from_u64(1);
    let seq_len = 4;
    let batch = buffer.sample_sequences(200, seq_len, &mut rng).unwrap();
    for window in batch.rewards.chunks(seq_len) {
        for pair in window.windows(2) {
            assert_eq!(pair[1], pair[0] + 1.0, "not contiguous: {window:?}");
        }
        for &t in &window[..seq_len - 1] {
            assert_ne!(t as usize % 7, 6, "crosses an episode end: {window:?}");
        }
    }
    let err = buffer.sample_sequences(1, 9, &mut rng).unwrap_err();
    assert!(err.to_string().contains("inside one episode"), "{err}");
}

#[test]
fn bootstrap_sets_have_full_size() {
    let mut buffer = ReplayBuffer::new(config(20));
    fill(&mut buffer, 0, 15, |_| false);
    let mut rng = Rng::seed_from_u64(2);
    let sets = buffer.bootstrap_indices(5, &mut rng);
    assert_eq!(sets.len(), 5);
    assert!(sets
        .iter()
        .all(|s| s.len() == 15 && s.iter().all(|&i| i < 15)));
    assert_ne!(sets[0], sets[1]);
}

#[test]
fn save_load_round_trip_and_corruption_detected() {
    let dir = std::env::temp_dir().join(format!("reverie-buffer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("buffer.bin");
    let mut buffer = ReplayBuffer::new(config(8));
    fill(&mut buffer, 0, 11, |t| t == 5);
    buffer.save(&path).unwrap();
    let loaded = ReplayBuffer::load(&path).unwrap();
    assert_eq!(loaded, buffer);

    let mut bytes = std::fs::read(&path).unwrap();
    bytes[60] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let err = ReplayBuffer::load(&path).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");

    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(ReplayBuffer::load(&path).is_err());
    std::fs::write(&path, b"hello").unwrap();
    assert!(ReplayBuffer::load(&path)
        .unwrap_err()
        .to_string()
        .contains("header"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rows `indices` of an n-step gather: (reward, discount, next obs' first value, terminated).
fn n_step_rows(
    buffer: &ReplayBuffer,
    indices: &[usize],
    n: usize,
    stride: usize,
) -> Vec<(f32, f32, f32, bool)> {
    let (mut batch, mut discounts) = (Batch::default(), Vec::new());
    buffer.gather_n_step(indices, n, 0.5, stride, &mut batch, &mut discounts);
    (0..indices.len())
        .map(|i| {
            (
                batch.rewards[i],
                discounts[i],
                batch.next_obs[i * 2],
                batch.terminated[i],
            )
        })
        .collect()
}

#[test]
fn n_step_sums_discounted_rewards_and_stops_at_episode_ends_and_the_newest_row() {
    let mut buffer = ReplayBuffer::new(config(16));
    // Rewards are the step numbers; an episode ends (terminated) at t = 4.
    fill(&mut buffer, 0, 8, |t| t == 4);
    let rows = n_step_rows(&buffer, &[0, 3, 4, 6], 3, 1);
    // t = 0: 0 + 0.5·1 + 0.25·2, bootstrapping from obs 3 with 0.5³.
    assert_eq!(rows[0], (1.0, 0.125, 3.0, false));
    // t = 3: the episode ends at 4, so m = 2 and the row is terminated.
    assert_eq!(rows[1], (3.0 + 0.5 * 4.0, 0.25, 5.0, true));
    // t = 4 is the terminal step itself.
    assert_eq!(rows[2], (4.0, 0.5, 5.0, true));
    // t = 6: only t = 7 is newer, so m = 2.
    assert_eq!(rows[3], (6.0 + 0.5 * 7.0, 0.25, 8.0, false));
}

#[test]
fn n_step_of_one_is_the_plain_gather_and_strides_follow_one_env_across_the_seam() {
    let mut buffer = ReplayBuffer::new(config(6));
    fill(&mut buffer, 0, 9, |_| false);
    let indices = [0, 1, 2, 3, 4, 5];
    let (mut plain, mut one_step, mut discounts) = (Batch::default(), Batch::default(), vec![]);
    buffer.gather(&indices, &mut plain);
    buffer.gather_n_step(&indices, 1, 0.5, 1, &mut one_step, &mut discounts);
    assert_eq!(plain, one_step);
    assert_eq!(discounts, vec![0.5; 6]);
    // Two envs pushing in turn: rows of one env lie 2 apart. Physical row 3 holds t = 3
    // (the ring holds t = 3..8, oldest at physical 3); its env's next steps are t = 5, 7.
    let rows = n_step_rows(&buffer, &[3], 3, 2);
    assert_eq!(rows[0], (3.0 + 0.5 * 5.0 + 0.25 * 7.0, 0.125, 8.0, false));
}
