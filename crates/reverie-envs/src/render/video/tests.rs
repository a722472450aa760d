use super::*;

/// A fresh folder under the system temp dir for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reverie-video-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Decodes `bytes` and composites every frame (disposal "keep"): frame count, size, and
/// the last picture as RGB.
fn decode(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(bytes).unwrap();
    let (w, h) = (decoder.width() as usize, decoder.height() as usize);
    let palette = decoder.global_palette().unwrap().to_vec();
    assert_eq!(palette.len(), 256 * 3);
    let mut canvas = vec![0u8; w * h];
    let mut frames = 0;
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        frames += 1;
        assert_eq!(frame.dispose, gif::DisposalMethod::Keep);
        let (l, t, fw) = (
            frame.left as usize,
            frame.top as usize,
            frame.width as usize,
        );
        for (k, &i) in frame.buffer.iter().enumerate() {
            canvas[(t + k / fw) * w + l + k % fw] = i;
        }
    }
    let rgb = canvas
        .iter()
        .flat_map(|&i| palette[3 * i as usize..3 * i as usize + 3].to_vec())
        .collect();
    (frames, w, h, rgb)
}

#[test]
fn records_cartpole_and_decodes_back() {
    let dir = temp_dir("cartpole");
    let path = dir.join("cartpole.gif");
    let mut env = crate::make("CartPole-v1").unwrap();
    let mut k = 0;
    let video = record_episode(
        &mut *env,
        |_, _| {
            k += 1;
            Action::Discrete(k % 2)
        },
        0,
        20,
        &path,
        0.5,
    )
    .unwrap();
    assert_eq!(video.steps, 20, "{video:?}");
    assert_eq!(video.frames, 21, "the reset frame and one per step");
    assert_eq!((video.width, video.height), (300, 200));
    assert_eq!(video.episode_return, 20.0);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len() as u64, video.bytes);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");

    let (frames, w, h, last) = decode(&bytes);
    assert_eq!((frames, w, h), (21, 300, 200));
    // The composited last frame is the env's current picture, through the palette: flat
    // colours exact, anti-aliased edges close.
    let mut expected = Frame::new(300, 200);
    env.render(&mut expected).unwrap();
    let exact = last
        .chunks_exact(3)
        .zip(expected.data().chunks_exact(3))
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        exact as f64 > 0.97 * (w * h) as f64,
        "{exact} of {} exact",
        w * h
    );
    let worst = last
        .iter()
        .zip(expected.data())
        .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
        .max()
        .unwrap();
    assert!(worst <= 40, "largest channel error {worst}");
    assert_eq!(&last[..3], &[255, 255, 255], "background exact");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_wrong_sizes_and_envs_without_pictures() {
    let mut rec = GifRecorder::new(4, 3, 10).unwrap();
    assert!(matches!(
        rec.push(&Frame::new(3, 4)),
        Err(VideoError::Size(_))
    ));
    assert!(GifRecorder::new(0, 3, 10).is_err());
    assert!(GifRecorder::new(70_000, 3, 10).is_err());
    // Unchanged frames still count (one pixel each), and an empty recording is a valid GIF.
    let mut frame = Frame::new(4, 3);
    frame.fill([10, 200, 30]);
    rec.push(&frame).unwrap();
    rec.push(&frame).unwrap();
    let (frames, w, h, rgb) = decode(&rec.finish_to_bytes().unwrap());
    assert_eq!((frames, w, h), (2, 4, 3));
    assert_eq!(&rgb[..3], &[10, 200, 30], "a flat colour is kept exactly");
    let empty = GifRecorder::new(2, 2, 1)
        .unwrap()
        .finish_to_bytes()
        .unwrap();
    assert_eq!(decode(&empty).0, 0);

    let mut env = crate::make("CartPole-v1").unwrap();
    let dir = temp_dir("scale");
    let err = record_episode(
        &mut *env,
        |_, _| Action::Discrete(0),
        0,
        5,
        dir.join("x.gif"),
        0.0,
    );
    assert!(matches!(err, Err(VideoError::Size(_))));
    assert!(!dir.join("x.gif").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Size and time of a 200-step CartPole episode at full size (`--ignored`, prints).
#[test]
#[ignore]
fn cartpole_200_steps_size_and_time() {
    let dir = temp_dir("bench");
    for scale in [1.0, 0.5] {
        let mut env = crate::make_with("CartPole-v1", &crate::EnvOptions::new()).unwrap();
        let start = std::time::Instant::now();
        // A policy that balances for a while: push towards the pole's lean.
        let video = record_episode(
            &mut *env,
            |obs, _| match obs {
                Observation::Vector(v) => Action::Discrete(i64::from(v[2] + 0.5 * v[3] > 0.0)),
                _ => unreachable!(),
            },
            0,
            200,
            dir.join("c.gif"),
            scale,
        )
        .unwrap();
        println!(
            "scale {scale}: {} steps, {} frames {}x{}, {} bytes, {:.0} ms",
            video.steps,
            video.frames,
            video.width,
            video.height,
            video.bytes,
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
