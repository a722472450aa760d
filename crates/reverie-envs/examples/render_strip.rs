//! Writes side-by-side strips of reverie's env frames and Gymnasium's, for a person to look at.
//!
//! ```sh
//! python benches/render_reference.py /tmp/render_ref        # Gymnasium's frames (optional)
//! cargo run --release -p reverie-envs --example render_strip -- /tmp/render_ref [docs/render]
//! ```
//!
//! For each classic env, `docs/render/<EnvId>.png` shows five states (set with `set_state`):
//! row 1 reverie's frames at half the natural size (drawn directly at that size), row 2
//! Gymnasium's `rgb_array` frames area-averaged to the same size (when the reference folder has
//! `<EnvId>.npy`), row 3 reverie's 64 × 64 frames and row 4 Gymnasium's frames area-averaged
//! to 64 × 64, both enlarged 3× without smoothing. `docs/render/toy_text.png` has one frame of
//! each toy-text env at natural size.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use reverie_core::{Env, Frame};
use reverie_envs::render::resize_area;

/// An env id, the Gymnasium env to compare with, and the states to draw.
type Case = (&'static str, Option<&'static str>, Vec<Vec<f64>>);

/// The states drawn for each classic env (the same list as `benches/render_reference.py`),
/// and the id of the Gymnasium env to compare with.
fn states() -> Vec<Case> {
    let cartpole = vec![
        vec![0.0, 0.0, 0.0, 0.0],
        vec![-1.2, 0.0, 0.08, 0.0],
        vec![0.35, 0.0, -0.15, 0.0],
        vec![1.4, 0.0, 0.2, 0.0],
        vec![2.3, 0.0, -0.21, 0.0],
    ];
    vec![
        ("CartPole-v1", Some("CartPole-v1"), cartpole.clone()),
        ("CartPoleContinuous-v0", Some("CartPole-v1"), cartpole),
        (
            "CartPoleSwingUp-v0",
            None,
            vec![
                vec![0.0, 0.0, 3.1, 0.0],
                vec![-0.8, 0.0, 2.2, 0.0],
                vec![0.6, 0.0, -1.7, 0.0],
                vec![1.2, 0.0, 0.6, 0.0],
                vec![0.1, 0.0, 0.02, 0.0],
            ],
        ),
        (
            "Pendulum-v1",
            Some("Pendulum-v1"),
            vec![
                vec![3.1, 0.0],
                vec![2.2, 0.0],
                vec![-1.3, 0.0],
                vec![0.45, 0.0],
                vec![0.02, 0.0],
            ],
        ),
        (
            "MountainCar-v0",
            Some("MountainCar-v0"),
            vec![
                vec![-0.5, 0.0],
                vec![-0.95, 0.0],
                vec![-1.18, 0.0],
                vec![0.05, 0.0],
                vec![0.5, 0.0],
            ],
        ),
        (
            "MountainCarContinuous-v0",
            Some("MountainCarContinuous-v0"),
            vec![
                vec![-0.52, 0.0],
                vec![-0.2, 0.0],
                vec![-1.1, 0.0],
                vec![0.3, 0.0],
                vec![0.45, 0.0],
            ],
        ),
        (
            "Acrobot-v1",
            Some("Acrobot-v1"),
            vec![
                vec![0.0, 0.0, 0.0, 0.0],
                vec![0.7, -0.4, 0.0, 0.0],
                vec![1.9, 0.9, 0.0, 0.0],
                vec![-2.6, 1.4, 0.0, 0.0],
                vec![3.0, -0.3, 0.0, 0.0],
            ],
        ),
    ]
}

/// Reads a uint8 `.npy` array of shape `[n, h, w, 3]` into frames.
fn read_npy(path: &Path) -> Option<Vec<Frame>> {
    let bytes = fs::read(path).ok()?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return None;
    }
    let (header_len, start) = if bytes[6] == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).ok()?;
    assert!(header.contains("'|u1'"), "{path:?}: expected uint8 data");
    let shape = &header[header.find("'shape': (")? + 10..];
    let shape: Vec<usize> = shape[..shape.find(')')?]
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let [n, h, w, 3] = shape[..] else {
        return None;
    };
    let data = &bytes[start + header_len..];
    Some(
        (0..n)
            .map(|k| {
                let mut f = Frame::new(w, h);
                f.data_mut()
                    .copy_from_slice(&data[k * h * w * 3..(k + 1) * h * w * 3]);
                f
            })
            .collect(),
    )
}

/// `frame` enlarged `k` times by pixel repetition.
fn enlarge(frame: &Frame, k: usize) -> Frame {
    let mut out = Frame::new(frame.width() * k, frame.height() * k);
    let w = out.width();
    for y in 0..out.height() {
        for x in 0..w {
            let p = frame.pixel(x / k, y / k);
            out.data_mut()[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&p);
        }
    }
    out
}

/// Lays out rows of tiles on a grey background, `gap` pixels apart.
fn compose(rows: &[Vec<Frame>], gap: usize) -> Frame {
    let width = rows
        .iter()
        .map(|r| r.iter().map(|f| f.width() + gap).sum::<usize>() + gap)
        .max()
        .unwrap_or(1);
    let height = rows
        .iter()
        .map(|r| r.iter().map(Frame::height).max().unwrap_or(0) + gap)
        .sum::<usize>()
        + gap;
    let mut out = Frame::new(width, height);
    out.fill([128, 128, 128]);
    let mut y0 = gap;
    for row in rows {
        let mut x0 = gap;
        for f in row {
            for y in 0..f.height() {
                let src = &f.data()[y * f.width() * 3..(y + 1) * f.width() * 3];
                let i = ((y0 + y) * width + x0) * 3;
                out.data_mut()[i..i + src.len()].copy_from_slice(src);
            }
            x0 += f.width() + gap;
        }
        y0 += row.iter().map(Frame::height).max().unwrap_or(0) + gap;
    }
    out
}

fn write_png(path: &Path, frame: &Frame) {
    let file = fs::File::create(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut enc = png::Encoder::new(
        BufWriter::new(file),
        frame.width() as u32,
        frame.height() as u32,
    );
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().expect("png header");
    w.write_image_data(frame.data()).expect("png data");
    println!("wrote {}", path.display());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reference = args.first().map(PathBuf::from);
    let out_dir = args
        .get(1)
        .map_or_else(|| PathBuf::from("docs/render"), PathBuf::from);
    fs::create_dir_all(&out_dir).expect("create the output folder");

    for (id, gym_id, states) in states() {
        let mut env = reverie_envs::make(id).expect("registered env");
        let (w, h) = env.render_size().expect("classic envs render");
        let (dw, dh) = (w / 2, h / 2);
        let gym = reference
            .as_ref()
            .zip(gym_id)
            .and_then(|(dir, g)| read_npy(&dir.join(format!("{g}.npy"))));
        let mut rows = vec![Vec::new(), Vec::new(), Vec::new(), Vec::new()];
        for (k, s) in states.iter().enumerate() {
            env.simulator_mut()
                .expect("classic envs have a state")
                .set_state(s)
                .expect("valid state");
            let mut display = Frame::new(dw, dh);
            env.render(&mut display).expect("render");
            rows[0].push(display);
            let mut small = Frame::new(64, 64);
            env.render(&mut small).expect("render");
            rows[2].push(enlarge(&small, 3));
            if let Some(g) = gym.as_ref().and_then(|g| g.get(k)) {
                let mut full = Frame::new(w, h);
                env.render(&mut full).expect("render");
                println!(
                    "{id} state {k}: mean |ours - gymnasium| = {:.2} at {w}x{h}, {:.2} at 64x64",
                    reverie_envs::render::mean_abs_diff(&full, g),
                    reverie_envs::render::mean_abs_diff(&small, &resize_area(g, 64, 64)),
                );
                rows[1].push(resize_area(g, dw, dh));
                rows[3].push(enlarge(&resize_area(g, 64, 64), 3));
            }
        }
        rows.retain(|r| !r.is_empty());
        write_png(&out_dir.join(format!("{id}.png")), &compose(&rows, 6));
    }

    // The torque arrow of `scenes::pendulum` (the env itself does not keep its last torque).
    let arrows: Vec<Frame> = [-2.0, -1.0, 0.5, 2.0]
        .iter()
        .map(|&u| {
            let mut f = Frame::new(250, 250);
            reverie_envs::render::scenes::pendulum(&mut f, 0.6, Some(u));
            f
        })
        .collect();
    write_png(
        &out_dir.join("Pendulum-v1_torque.png"),
        &compose(&[arrows], 6),
    );

    // One frame of each toy-text env, at natural size.
    let toy: [(&str, f64); 7] = [
        ("FrozenLake-v1", 6.0),
        ("CliffWalking-v1", 25.0),
        ("Taxi-v4", 328.0),
        ("GridWorld-v0", 7.0),
        ("DynaMaze-v0", 19.0),
        ("BlockingMaze-v0", 40.0),
        ("ShortcutMaze-v0", 40.0),
    ];
    let mut rows = vec![Vec::new(), Vec::new()];
    for (i, (id, state)) in toy.iter().enumerate() {
        let mut env = reverie_envs::make(id).expect("registered env");
        env.reset(Some(0));
        env.simulator_mut()
            .expect("toy-text envs have a state")
            .set_state(&[*state])
            .expect("valid state");
        let (w, h) = env.render_size().expect("toy-text envs render");
        let mut f = Frame::new(w, h);
        env.render(&mut f).expect("render");
        rows[usize::from(i >= 3)].push(f);
    }
    write_png(&out_dir.join("toy_text.png"), &compose(&rows, 8));
}
