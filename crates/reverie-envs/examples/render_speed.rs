//! Measures how long drawing one frame takes, per env and frame size.
//!
//! ```sh
//! cargo run --release -p reverie-envs --example render_speed
//! ```

use std::hint::black_box;
use std::time::Instant;

use reverie_core::{Env, Frame};

/// Mean microseconds per `render` call of `id` at `width × height`, over states along a
/// random-looking sweep (so the shapes move).
fn time(id: &str, width: usize, height: usize) -> f64 {
    let mut env = reverie_envs::make(id).expect("registered env");
    env.reset(Some(0));
    let base = env
        .simulator()
        .expect("registered envs have a state")
        .state();
    let mut frame = Frame::new(width, height);
    let n = if width * height > 100_000 {
        2_000
    } else {
        50_000
    };
    let states: Vec<Vec<f64>> = (0..64)
        .map(|k| {
            if base.len() == 1 {
                // A grid cell index: keep the (valid) reset cell.
                return base.clone();
            }
            base.iter()
                .enumerate()
                .map(|(i, v)| v + 0.05 * ((k * (i + 3)) % 17) as f64 - 0.4)
                .collect()
        })
        .collect();
    // Warm up.
    for s in &states {
        env.simulator_mut()
            .expect("registered envs have a state")
            .set_state(s)
            .expect("state");
        env.render(&mut frame).expect("render");
    }
    let mut total = 0.0;
    for (k, s) in states.iter().cycle().take(n).enumerate() {
        env.simulator_mut()
            .expect("registered envs have a state")
            .set_state(s)
            .expect("state");
        let t = Instant::now();
        env.render(black_box(&mut frame)).expect("render");
        total += t.elapsed().as_secs_f64();
        black_box(k);
    }
    total / n as f64 * 1e6
}

fn main() {
    // `render_speed ENV W H` times one env at one size (for profiling).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [id, w, h] = &args[..] {
        let (w, h) = (w.parse().expect("width"), h.parse().expect("height"));
        println!("{id} {w}x{h}: {:.2} µs", time(id, w, h));
        return;
    }
    println!("{:<26} {:>12} {:>16}", "env", "64x64 µs", "natural µs");
    for id in [
        "CartPole-v1",
        "Pendulum-v1",
        "MountainCar-v0",
        "Acrobot-v1",
        "FrozenLake-v1",
        "Taxi-v4",
    ] {
        let env = reverie_envs::make(id).expect("registered env");
        let (w, h) = env.render_size().expect("renders");
        println!(
            "{:<26} {:>12.2} {:>9.1} ({w}x{h})",
            id,
            time(id, 64, 64),
            time(id, w, h)
        );
    }
}
