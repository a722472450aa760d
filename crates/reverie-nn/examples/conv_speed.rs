//! Times one training step of a DreamerV3-sized (`size1m`-like) convolutional autoencoder on
//! 64×64×3 frames: four stride-2 convs (kernel 4, padding 1; 3→16→32→64→128 channels,
//! 64→4 pixels) and four stride-2 transposed convs back, SiLU between layers, MSE loss,
//! backward and an Adam step, for candle's `conv2d` / `conv_transpose2d` / `silu` and for
//! `reverie_nn::conv`.
//!
//! `cargo run --release -p reverie-nn --example conv_speed [-- --batch N --steps N
//! --threads N --only candle|reverie]` (defaults: batch 1024, 5 timed
//! steps after one warm-up, 2 threads, both).
//!
//! It runs on the allocator the `reverie` binary uses: mimalloc, freed memory kept.

use std::time::Instant;

use candle_core::{Device, Module, Tensor, Var};
use reverie_core::Rng;
use reverie_nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use reverie_nn::Parameters;
use reverie_nn::{Activation, Adam, AdamConfig, Conv2d, ConvTranspose2d};

const CHANNELS: [usize; 5] = [3, 16, 32, 64, 128];

/// As in the `reverie` binary: candle allocates every tensor afresh, and the system
/// allocator returns large freed buffers to the OS, to fault them back in on the next step.
/// With glibc's allocator this step took 1.7 s instead of 0.5 s.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3 (libmimalloc-sys 0.1.49, pinned in Cargo.toml).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

struct Net {
    encoder: Vec<Conv2d>,
    decoder: Vec<ConvTranspose2d>,
    /// Run candle's ops on the same parameters instead of the layers.
    candle: bool,
}

impl Net {
    fn new(rng: &mut Rng, candle: bool) -> candle_core::Result<Self> {
        let encoder = CHANNELS
            .windows(2)
            .map(|p| {
                let config = Conv2dConfig {
                    stride: 2,
                    padding: 1,
                    activation: Some(Activation::Silu),
                    ..Conv2dConfig::new(p[0], p[1], 4)
                };
                config.init(rng, &Device::Cpu)
            })
            .collect::<candle_core::Result<_>>()?;
        let decoder = CHANNELS
            .windows(2)
            .rev()
            .map(|p| {
                let config = ConvTranspose2dConfig {
                    stride: 2,
                    padding: 1,
                    // The reconstruction is linear.
                    activation: (p[0] != 3).then_some(Activation::Silu),
                    ..ConvTranspose2dConfig::new(p[1], p[0], 4)
                };
                config.init(rng, &Device::Cpu)
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(Self {
            encoder,
            decoder,
            candle,
        })
    }

    fn vars(&self) -> Vec<Var> {
        let enc = self.encoder.iter().flat_map(|l| l.vars());
        enc.chain(self.decoder.iter().flat_map(|l| l.vars()))
            .collect()
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        if !self.candle {
            for l in &self.encoder {
                h = l.forward(&h)?;
            }
            for l in &self.decoder {
                h = l.forward(&h)?;
            }
            return Ok(h);
        }
        let bias = |v: &Var| v.as_tensor().reshape((1, (), 1, 1));
        for l in &self.encoder {
            let v = l.vars();
            h = h
                .conv2d(v[0].as_tensor(), 1, 2, 1, 1)?
                .broadcast_add(&bias(&v[1])?)?;
            h = candle_nn::ops::silu(&h)?;
        }
        for (i, l) in self.decoder.iter().enumerate() {
            let v = l.vars();
            h = h
                .conv_transpose2d(v[0].as_tensor(), 1, 0, 2, 1)?
                .broadcast_add(&bias(&v[1])?)?;
            if i + 1 < self.decoder.len() {
                h = candle_nn::ops::silu(&h)?;
            }
        }
        Ok(h)
    }
}

/// Multiply-adds ×2 of one forward pass per frame, and of forward + backward (the first
/// conv needs no input gradient).
fn flops_per_frame() -> (f64, f64) {
    let mut forward = 0.0;
    let mut first = 0.0;
    let mut size = 64.0;
    for (i, p) in CHANNELS.windows(2).enumerate() {
        size /= 2.0;
        let layer = 2.0 * (p[0] * p[1] * 16) as f64 * size * size;
        forward += 2.0 * layer; // the decoder mirrors each layer
        if i == 0 {
            first = layer;
        }
    }
    (forward, 3.0 * forward - first)
}

/// CPU seconds used so far by all of this process's threads (Linux; `None` elsewhere). The
/// step's CPU time over the thread count is a steadier figure than wall time on a machine
/// shared with other jobs; it includes idle pool threads spinning, so it overstates work.
fn cpu_seconds() -> Option<f64> {
    let mut total = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9;
    }
    Some(total)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(candle: bool, batch: usize, steps: usize) -> candle_core::Result<()> {
    let mut rng = Rng::seed_from_u64(0);
    let net = Net::new(&mut rng, candle)?;
    let frames: Vec<f32> = (0..batch * 3 * 64 * 64)
        .map(|_| rng.uniform_f32())
        .collect();
    let x = Tensor::from_vec(frames, (batch, 3, 64, 64), &Device::Cpu)?;
    let mut adam = Adam::new(net.vars(), AdamConfig::default())?;
    let (mut fwd, mut bwd, mut total, mut cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut loss_value = 0.0;
    for step in 0..=steps {
        let c0 = cpu_seconds();
        let t0 = Instant::now();
        let y = net.forward(&x)?;
        let loss = (y - &x)?.sqr()?.mean_all()?;
        let t1 = Instant::now();
        loss_value = adam.backward_step(&loss, None)?;
        let t2 = Instant::now();
        let c2 = cpu_seconds();
        if step > 0 {
            fwd.push((t1 - t0).as_secs_f64() * 1e3);
            bwd.push((t2 - t1).as_secs_f64() * 1e3);
            total.push((t2 - t0).as_secs_f64() * 1e3);
            if let (Some(a), Some(b)) = (c0, c2) {
                cpu.push((b - a) * 1e3);
            }
        }
    }
    let (f, b, t) = (median(&mut fwd), median(&mut bwd), median(&mut total));
    let (_, flops) = flops_per_frame();
    let gflops = flops * batch as f64 / 1e9;
    let name = if candle { "candle ops" } else { "reverie conv" };
    println!(
        "{name:>12}: {t:9.1} ms/step (forward {f:8.1}, backward + Adam {b:8.1}), \
         {:.1} GFLOP/s on {gflops:.1} GFLOP; loss {loss_value:.4}",
        gflops / (t / 1e3)
    );
    if !cpu.is_empty() {
        let c = median(&mut cpu);
        let threads = reverie_nn::threads::num_threads() as f64;
        println!(
            "{:>12}  CPU time {c:9.1} ms/step, {:.1} ms per thread (at least {:.1} GFLOP/s \
             with the cores to itself)",
            "",
            c / threads,
            gflops / (c / threads / 1e3),
        );
    }
    Ok(())
}

fn main() -> candle_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    // SAFETY: first thing in main, before other threads exist; mi_option_set is only
    // unsafe because it is not thread-safe.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str, default: usize| arg(name).map_or(default, |v| v.parse().unwrap());
    // Before any tensor op, so that candle's pool is sized once.
    reverie_nn::threads::set_num_threads(number("--threads", 2));
    let (batch, steps) = (number("--batch", 1024), number("--steps", 5).max(1));
    let only = arg("--only");
    println!(
        "batch {batch} of 3×64×64, {} threads, median of {steps} steps after one warm-up",
        reverie_nn::threads::num_threads(),
    );
    if only.as_deref() != Some("candle") {
        time(false, batch, steps)?;
    }
    if only.as_deref() != Some("reverie") {
        time(true, batch, steps)?;
    }
    Ok(())
}
