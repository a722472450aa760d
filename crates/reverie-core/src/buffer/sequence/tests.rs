use super::*;
use crate::space::{BoxSpace, Observation};

/// A float buffer whose observation is `[stream, counter]`, so windows can be checked.
fn counter_buffer(capacity: usize, streams: usize) -> SequenceBuffer {
    SequenceBuffer::new(SequenceBufferConfig {
        capacity,
        num_streams: streams,
        obs: ObsLayout::F32 { dim: 2 },
        action_dim: 1,
    })
}

/// Adds step `c` to every stream of a [`counter_buffer`]: obs `[s, c]`, action `c`,
/// reward `c`, `is_first` every `episode` steps.
fn add_counter(buf: &mut SequenceBuffer, c: usize, episode: usize) {
    let n = buf.config().num_streams;
    let obs: Vec<f32> = (0..n).flat_map(|s| [s as f32, c as f32]).collect();
    let actions = vec![c as f32; n];
    let rewards = vec![c as f32; n];
    let first = vec![c.is_multiple_of(episode); n];
    let last = vec![c % episode == episode - 1; n];
    buf.add(
        &ObsBatch::from_f32(obs, 2),
        &actions,
        &rewards,
        &last,
        &vec![false; n],
        &first,
    )
    .unwrap();
}

#[test]
fn a_64x64x3_frame_costs_exactly_its_bytes() {
    let space = Space::Box(BoxSpace::image(64, 64, 3));
    let config = SequenceBufferConfig::for_spaces(1000, 4, &space, &Space::discrete(2));
    assert_eq!(config.obs, ObsLayout::U8 { dim: 12_288 });
    assert_eq!(config.action_dim, 1);
    let buf = SequenceBuffer::new(config);
    assert_eq!(buf.obs_bytes_per_step(), 12_288);
    // obs + one f32 action + f32 reward + one byte of flags.
    assert_eq!(buf.bytes_per_step(), 12_288 + 4 + 4 + 1);
    assert_eq!(buf.storage_bytes(), 1000 * 12_297);
    // What is actually allocated matches the account.
    match &buf.obs {
        ObsStore::U8(v) => assert_eq!(v.len(), 1000 * 12_288),
        other => panic!("frames stored as {other:?}"),
    }
    assert_eq!(
        buf.actions.len() * 4 + buf.rewards.len() * 4 + buf.flags.len(),
        9000
    );

    let floats = SequenceBuffer::new(SequenceBufferConfig::for_spaces(
        10,
        1,
        &Space::Box(BoxSpace::new(vec![-1.0; 4], vec![1.0; 4])),
        &Space::Box(BoxSpace::new(vec![-1.0; 2], vec![1.0; 2])),
    ));
    assert_eq!(floats.bytes_per_step(), 16 + 8 + 4 + 1);
    let states = SequenceBuffer::new(SequenceBufferConfig::for_spaces(
        10,
        1,
        &Space::discrete(16),
        &Space::discrete(4),
    ));
    assert_eq!(states.obs_bytes_per_step(), 8, "discrete states as i64");
}

#[test]
fn capacity_is_split_between_streams() {
    let buf = counter_buffer(10, 3);
    let caps: Vec<usize> = (0..3).map(|s| buf.stream_capacity(s)).collect();
    assert_eq!(caps, [4, 3, 3]);
}

/// Drives `add_step` as the driver does: 2 envs, env 0 ends episodes after 3 steps
/// (terminated), env 1 after 4 (truncated).
#[test]
fn add_step_stores_final_observations_and_marks_is_first() {
    let mut buf = SequenceBuffer::new(SequenceBufferConfig {
        capacity: 200,
        num_streams: 2,
        obs: ObsLayout::Discrete,
        action_dim: 1,
    });
    // Env i's observation is 100·episode + t (t = steps since its reset); final obs are
    // marked by t = 50 + t so they are distinguishable from reset observations.
    let lengths = [3usize, 4];
    let mut t = [0usize; 2];
    let mut episode = [0usize; 2];
    for _ in 0..12 {
        let obs = ObsBatch::Discrete(
            (0..2)
                .map(|i| (1000 * i + 100 * episode[i] + t[i]) as i64)
                .collect(),
        );
        let actions: Vec<Action> = (0..2)
            .map(|i| Action::Discrete((t[i] % 2) as i64))
            .collect();
        let rewards: Vec<f64> = (0..2).map(|i| 1.0 + t[i] as f64).collect();
        let ended: Vec<bool> = (0..2).map(|i| t[i] + 1 == lengths[i]).collect();
        let next = ObsBatch::Discrete(
            (0..2)
                .map(|i| {
                    if ended[i] {
                        (1000 * i + 100 * episode[i] + 50 + t[i] + 1) as i64
                    } else {
                        (1000 * i + 100 * episode[i] + t[i] + 1) as i64
                    }
                })
                .collect(),
        );
        let terminated = [ended[0], false];
        let truncated = [false, ended[1]];
        buf.add_step(&StepBatch {
            obs: &obs,
            actions: &actions,
            rewards: &rewards,
            next_obs: &next,
            terminated: &terminated,
            truncated: &truncated,
        })
        .unwrap();
        for i in 0..2 {
            if ended[i] {
                t[i] = 0;
                episode[i] += 1;
            } else {
                t[i] += 1;
            }
        }
    }
    // Env 0: 4 episodes of 3 steps = 4 × 4 stored steps.
    assert_eq!(buf.stream_len(0), 16);
    // Env 1: 3 episodes of 4 steps = 3 × 5 stored steps.
    assert_eq!(buf.stream_len(1), 15);
    let mut rng = Rng::seed_from_u64(0);
    // Every window of 16 from a 16-step stream is stream 0 from its start.
    let batch = buf.sample(1, 16, &mut rng).unwrap();
    let ObsBatch::Discrete(obs) = &batch.obs else {
        panic!("discrete states come back as i64")
    };
    let episode0: Vec<i64> = vec![0, 1, 2, 53];
    assert_eq!(&obs[..4], &episode0[..]);
    assert_eq!(&obs[4..8], &[100, 101, 102, 153]);
    assert_eq!(batch.is_first, [true, false, false, false].repeat(4));
    assert_eq!(batch.terminated, [false, false, false, true].repeat(4));
    assert!(batch.truncated.iter().all(|&x| !x));
    // Reward received on arrival: 0 at a reset, then 1, 2, 3.
    assert_eq!(batch.rewards[..4], [0.0, 1.0, 2.0, 3.0]);
    // Action taken from the observation; a dummy 0 on the final one.
    assert_eq!(batch.actions[..4], [0.0, 1.0, 0.0, 0.0]);
    let one_hot = batch.one_hot_actions(2, 0);
    assert_eq!(one_hot[..8], [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    assert!((0..16).all(|i| batch.is_last(i) == (i % 4 == 3)));

    // Stream 1 (15 steps: one window of 15) is truncated at every fifth step.
    let batch = buf.sample(20, 15, &mut rng).unwrap();
    let ObsBatch::Discrete(obs) = &batch.obs else {
        unreachable!()
    };
    let mut from_stream_1 = 0;
    for (i, &o) in obs.iter().enumerate() {
        if obs[i - i % 15] < 1000 {
            continue; // one of stream 0's two windows of 15
        }
        from_stream_1 += 1;
        let t = i % 15;
        let expected = 1000 + 100 * (t / 5) as i64 + if t % 5 == 4 { 54 } else { (t % 5) as i64 };
        assert_eq!(o, expected);
        assert_eq!(batch.truncated[i], t % 5 == 4);
        assert_eq!(batch.is_first[i], t % 5 == 0);
        assert!(!batch.terminated[i]);
    }
    assert!(from_stream_1 > 0);
}

#[test]
fn windows_never_cross_the_write_head_after_wrap_around() {
    // 3 streams of 7 steps each, 25 steps written: each ring wrapped three times.
    let mut buf = counter_buffer(21, 3);
    for c in 0..25 {
        add_counter(&mut buf, c, 4);
    }
    assert_eq!(buf.len(), 21);
    assert_eq!(buf.num_windows(5), 3 * 3);
    let mut rng = Rng::seed_from_u64(7);
    let mut starts = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let batch = buf.sample(4, 5, &mut rng).unwrap();
        let rows = batch.obs.f32_rows();
        for b in 0..4 {
            let window = &rows[b * 10..(b + 1) * 10];
            let c0 = window[1] as usize;
            // Only the 7 newest steps (18..=24) exist; the window is consecutive in time.
            assert!((18..=20).contains(&c0), "window starts at {c0}");
            for t in 0..5 {
                assert_eq!(window[2 * t] as usize, window[0] as usize, "one stream");
                assert_eq!(
                    window[2 * t + 1] as usize,
                    c0 + t,
                    "consecutive, oldest first"
                );
                assert_eq!(batch.actions[b * 5 + t], (c0 + t) as f32);
                assert_eq!(batch.is_first[b * 5 + t], (c0 + t).is_multiple_of(4));
            }
            starts.insert((window[0] as usize, c0));
        }
    }
    assert_eq!(starts.len(), 9, "every window is drawn: {starts:?}");
    // A window longer than a ring is refused, with the reason.
    let err = buf.sample(1, 8, &mut rng).unwrap_err();
    assert!(err.to_string().contains("at least 8 steps"), "{err}");
}

#[test]
fn three_streams_stay_contiguous_and_crossing_episodes_is_allowed() {
    let mut buf = counter_buffer(300, 3);
    for c in 0..60 {
        add_counter(&mut buf, c, 7);
    }
    let mut rng = Rng::seed_from_u64(1);
    let batch = buf.sample(64, 16, &mut rng).unwrap();
    assert_eq!(
        (batch.batch_size, batch.seq_len, batch.len()),
        (64, 16, 1024)
    );
    assert_eq!(batch.obs.len(), 1024);
    assert_eq!(batch.actions.len(), 1024);
    let rows = batch.obs.f32_rows();
    let mut seen_streams = [false; 3];
    let mut crossed = false;
    for b in 0..64 {
        let s = rows[b * 32] as usize;
        seen_streams[s] = true;
        for t in 0..16 {
            let i = b * 16 + t;
            assert_eq!(rows[2 * i] as usize, s);
            assert_eq!(rows[2 * i + 1], rows[b * 32 + 1] + t as f32);
            if t > 0 && batch.is_first[i] {
                crossed = true;
                assert!(batch.terminated[i - 1], "a reset follows an episode end");
            }
        }
    }
    assert_eq!(seen_streams, [true; 3]);
    assert!(crossed, "windows of 16 over episodes of 7 cross boundaries");
}

#[test]
fn refuses_nan_and_bad_shapes_without_storing() {
    let mut buf = counter_buffer(30, 3);
    let ok_obs = ObsBatch::from_f32(vec![0.0; 6], 2);
    let f = [false; 3];
    let nan_obs = ObsBatch::from_f32(vec![0.0, 1.0, f32::NAN, 0.0, 0.0, 0.0], 2);
    let err = buf
        .add(&nan_obs, &[0.0; 3], &[0.0; 3], &f, &f, &f)
        .unwrap_err();
    assert_eq!(err, BufferError::NotFinite { column: "obs" });
    let err = buf
        .add(&ok_obs, &[0.0, f32::INFINITY, 0.0], &[0.0; 3], &f, &f, &f)
        .unwrap_err();
    assert_eq!(err, BufferError::NotFinite { column: "actions" });
    let err = buf
        .add(&ok_obs, &[0.0; 3], &[0.0, 0.0, f32::NAN], &f, &f, &f)
        .unwrap_err();
    assert_eq!(err, BufferError::NotFinite { column: "rewards" });
    assert!(err.to_string().contains("not stored"), "{err}");
    let err = buf
        .add(
            &ObsBatch::from_f32(vec![0.0; 4], 2),
            &[0.0; 3],
            &[0.0; 3],
            &f,
            &f,
            &f,
        )
        .unwrap_err();
    assert!(
        matches!(err, BufferError::Shape { column: "obs", .. }),
        "{err}"
    );
    let err = buf
        .add(
            &ObsBatch::U8 {
                data: vec![0; 6],
                dim: 2,
            },
            &[0.0; 3],
            &[0.0; 3],
            &f,
            &f,
            &f,
        )
        .unwrap_err();
    assert!(
        matches!(err, BufferError::Kind { column: "obs", .. }),
        "{err}"
    );
    let err = buf
        .add(&ok_obs, &[0.0; 2], &[0.0; 3], &f, &f, &f)
        .unwrap_err();
    assert!(
        matches!(
            err,
            BufferError::Shape {
                column: "actions",
                ..
            }
        ),
        "{err}"
    );
    assert!(buf.is_empty());

    // add_step: a NaN final observation of an ended env refuses the whole step.
    let next = ObsBatch::from_f32(vec![0.0, 0.0, 0.0, f32::NAN, 0.0, 0.0], 2);
    let actions = vec![Action::Discrete(0); 3];
    let step = StepBatch {
        obs: &ok_obs,
        actions: &actions,
        rewards: &[0.0; 3],
        next_obs: &next,
        terminated: &[false, true, false],
        truncated: &f,
    };
    let err = buf.add_step(&step).unwrap_err();
    assert_eq!(err, BufferError::NotFinite { column: "next_obs" });
    let step = StepBatch {
        rewards: &[0.0, f64::NAN, 0.0],
        terminated: &f,
        ..step
    };
    assert_eq!(
        buf.add_step(&step).unwrap_err(),
        BufferError::NotFinite { column: "rewards" }
    );
    let wide = vec![Action::Vector(vec![0.0, 0.0]); 3];
    let step = StepBatch {
        rewards: &[0.0; 3],
        actions: &wide,
        ..step
    };
    assert!(matches!(
        buf.add_step(&step).unwrap_err(),
        BufferError::Shape {
            column: "actions",
            ..
        }
    ));
    assert!(buf.is_empty(), "nothing stored");
    let mut rng = Rng::seed_from_u64(0);
    assert!(matches!(
        buf.sample(1, 1, &mut rng),
        Err(BufferError::NotEnoughData(_))
    ));
}

#[test]
fn seeded_sampling_is_reproducible_and_images_stay_bytes() {
    let mut buf = SequenceBuffer::new(SequenceBufferConfig::for_spaces(
        120,
        3,
        &Space::Box(BoxSpace::image(4, 4, 3)),
        &Space::Box(BoxSpace::new(vec![-1.0], vec![1.0])),
    ));
    for c in 0..50u8 {
        let data: Vec<u8> = (0..3u8).flat_map(|s| [s * 100 + c; 48]).collect();
        buf.add(
            &ObsBatch::U8 { data, dim: 48 },
            &[f32::from(c) / 100.0; 3],
            &[1.0; 3],
            &[false; 3],
            &[false; 3],
            &[c == 0; 3],
        )
        .unwrap();
    }
    let a = buf.sample(8, 10, &mut Rng::seed_from_u64(42)).unwrap();
    let b = buf.sample(8, 10, &mut Rng::seed_from_u64(42)).unwrap();
    let c = buf.sample(8, 10, &mut Rng::seed_from_u64(43)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let bytes = a.obs.as_bytes().expect("images come back as bytes");
    assert_eq!(bytes.len(), 8 * 10 * 48);
    assert_eq!(a.obs.get(1), Observation::Bytes(vec![bytes[48]; 48]));
    // sample_into reuses the batch and gives the same windows for the same seed.
    let mut reused = c.clone();
    buf.sample_into(8, 10, &mut Rng::seed_from_u64(42), &mut reused)
        .unwrap();
    assert_eq!(reused, a);
}

#[test]
fn a_checkpoint_holds_only_the_steps_the_streams_hold_and_comes_back_equal() {
    for capacity in [1000, 20] {
        let config = SequenceBufferConfig {
            capacity,
            num_streams: 2,
            obs: ObsLayout::U8 { dim: 64 },
            action_dim: 1,
        };
        let mut buffer = SequenceBuffer::new(config);
        for step in 0..30u8 {
            let obs: Vec<u8> = (0..128).map(|i| (i as u8).wrapping_add(step)).collect();
            buffer
                .add(
                    &ObsBatch::U8 { data: obs, dim: 64 },
                    &[step as f32, 1.0],
                    &[0.5, -1.0],
                    &[false, step == 29],
                    &[false, false],
                    &[step == 0, step == 0],
                )
                .unwrap();
        }
        // Not the 1,000 reserved steps; with capacity 20 the rings have wrapped.
        let bytes = crate::snapshot::encode(&buffer);
        assert!(
            bytes.len() < 10_000,
            "{} bytes for 60 steps of 64 bytes",
            bytes.len()
        );
        let back: SequenceBuffer = crate::snapshot::decode("replay", &bytes).unwrap();
        assert_eq!(back, buffer);
    }
}
