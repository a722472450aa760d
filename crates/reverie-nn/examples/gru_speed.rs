//! Times the RSSM-sized recurrent workload (hidden 256, input 256, 64 steps, batch 16) on 2
//! threads: plain candle ops against the fused cells, forward and forward + backward; and
//! LayerNorm forward + backward on `[1024, 256]`.
//!
//! `cargo run --release -p reverie-nn --example gru_speed [threads]` (2 by default).
//!
//! candle's parallel elementwise ops (gradient accumulation in the backward) spin on a
//! barrier for their worker thread: on a loaded machine, where that thread is often
//! descheduled, the backward times balloon; compare with 1 thread there.

use std::time::Instant;

use candle_core::{Device, Module, Tensor, Var};
use reverie_core::Rng;
use reverie_nn::recurrent::unroll_steps;
use reverie_nn::Parameters;
use reverie_nn::{unroll, GruConfig, LayerNormConfig, LstmConfig, NormGruConfig, RecurrentCell};

const STEPS: usize = 64;
const BATCH: usize = 16;
const WIDTH: usize = 256;
const WARMUP: usize = 3;
const RUNS: usize = 15;

/// Median wall time of `f` in milliseconds, after warm-up.
fn median_ms(mut f: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        f();
    }
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn data(rng: &mut Rng, shape: &[usize], device: &Device) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| rng.uniform_range(-1.0, 1.0) as f32)
        .collect();
    Tensor::from_vec(v, shape, device).unwrap()
}

/// Forward and forward + backward times of an unroll `run(xs) → outputs`.
fn time_unroll(name: &str, xs: &[Tensor], run: impl Fn(&[Tensor]) -> Tensor) {
    let forward = median_ms(|| {
        run(xs);
    });
    let both = median_ms(|| {
        let loss = run(xs).sqr().unwrap().mean_all().unwrap();
        loss.backward().unwrap();
    });
    println!("{name:<34} forward {forward:7.2} ms   forward+backward {both:7.2} ms");
}

fn main() {
    // Before any tensor op: candle sizes its pool on first use.
    let threads = std::env::args()
        .nth(1)
        .map_or(2, |a| a.parse().expect("threads: a number"));
    reverie_nn::threads::set_num_threads(threads);
    let device = Device::Cpu;
    let mut rng = Rng::seed_from_u64(0);
    println!(
        "{STEPS} steps, batch {BATCH}, input {WIDTH}, hidden {WIDTH}, {} threads; median of {RUNS}",
        reverie_nn::threads::num_threads()
    );
    let xs: Vec<Tensor> = (0..STEPS)
        .map(|_| data(&mut rng, &[BATCH, WIDTH], &device))
        .collect();

    let gru = GruConfig::new(WIDTH, WIDTH)
        .init(&mut rng, &device)
        .unwrap();
    let h0 = gru.zero_state(BATCH, &device).unwrap();
    let unroll_with = |step: &dyn Fn(&Tensor, &Tensor) -> Tensor, xs: &[Tensor]| {
        let mut h = h0.clone();
        let mut outs = Vec::with_capacity(xs.len());
        for x in xs {
            h = step(x, &h);
            outs.push(h.clone());
        }
        Tensor::stack(&outs, 0).unwrap()
    };
    time_unroll("GRU, plain candle ops", &xs, |xs| {
        unroll_with(&|x, h| gru.step_reference(x, h).unwrap(), xs)
    });
    time_unroll("GRU, fused step", &xs, |xs| {
        unroll_steps(&gru, xs, &h0).unwrap().0
    });
    let stacked = Tensor::stack(&xs, 0).unwrap();
    time_unroll("GRU, fused sequence (unroll)", &xs, |_| {
        unroll(&gru, &stacked, &h0).unwrap().0
    });

    let lstm = LstmConfig::new(WIDTH, WIDTH)
        .init(&mut rng, &device)
        .unwrap();
    let s0 = lstm.zero_state(BATCH, &device).unwrap();
    time_unroll("LSTM, plain candle ops", &xs, |xs| {
        let (mut h, mut c) = s0.clone();
        let mut outs = Vec::with_capacity(xs.len());
        for x in xs {
            (h, c) = lstm.step_reference(x, (&h, &c)).unwrap();
            outs.push(h.clone());
        }
        Tensor::stack(&outs, 0).unwrap()
    });
    time_unroll("LSTM, fused", &xs, |xs| {
        unroll_steps(&lstm, xs, &s0).unwrap().0
    });

    let norm_gru = NormGruConfig::new(WIDTH, WIDTH)
        .init(&mut rng, &device)
        .unwrap();
    time_unroll("DreamerV3 GRU, plain candle ops", &xs, |xs| {
        unroll_with(&|x, h| norm_gru.step_reference(x, h).unwrap(), xs)
    });
    time_unroll("DreamerV3 GRU, fused", &xs, |xs| {
        unroll_steps(&norm_gru, xs, &h0).unwrap().0
    });

    // LayerNorm on [1024, 256]: the fused op against candle-nn's differentiable composite
    // (its fused `ops::layer_norm` has no backward).
    let x = Var::from_tensor(&data(&mut rng, &[1024, 256], &device)).unwrap();
    let norm = LayerNormConfig::new(256).init(&mut rng, &device).unwrap();
    let (gamma, beta) = (norm.vars()[0].clone(), norm.vars()[1].clone());
    let slow = median_ms(|| {
        let y = candle_nn::ops::layer_norm_slow(x.as_tensor(), &gamma, &beta, 1e-5).unwrap();
        y.sqr().unwrap().mean_all().unwrap().backward().unwrap();
    });
    let fused = median_ms(|| {
        let y = norm.forward(x.as_tensor()).unwrap();
        y.sqr().unwrap().mean_all().unwrap().backward().unwrap();
    });
    println!("LayerNorm [1024, 256] forward+backward: candle-nn layer_norm_slow {slow:.3} ms, fused {fused:.3} ms");
}
