//! Times one training step (forward, backward, Adam) of the small networks model-free agents
//! use, on candle's plain ops and on reverie's fused ones. Run with
//! `cargo run --release -p reverie-nn --example tiny_train -- [threads]`.
use candle_core::{Device, Tensor, Var};
use reverie_core::Rng;
use reverie_nn::{Activation, Adam, AdamConfig, Init, Mlp};
use std::time::Instant;

fn plain_forward(vars: &[Var], x: &Tensor, act: Activation) -> Tensor {
    let mut h = x.clone();
    let layers = vars.len() / 2;
    for i in 0..layers {
        h = h
            .matmul(vars[2 * i].as_tensor())
            .unwrap()
            .broadcast_add(vars[2 * i + 1].as_tensor())
            .unwrap();
        if i + 1 < layers {
            h = act.apply(&h).unwrap();
        }
    }
    h
}

fn main() {
    let threads = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1);
    reverie_nn::threads::set_num_threads(threads);
    println!("| network | batch | candle ops (µs/step) | fused (µs/step) | speed-up |");
    println!("|---|---|---|---|---|");
    for (name, sizes, batch, act) in [
        (
            "PPO 4-64-64-2 tanh",
            vec![4usize, 64, 64, 2],
            256usize,
            Activation::Tanh,
        ),
        (
            "DQN 4-256-256-2 relu",
            vec![4, 256, 256, 2],
            64,
            Activation::Relu,
        ),
        (
            "SAC 4-256-256-1 relu",
            vec![4, 256, 256, 1],
            256,
            Activation::Relu,
        ),
    ] {
        let mut rng = Rng::seed_from_u64(0);
        let net = Mlp::new(&sizes, act, Init::Torch, &mut rng, &Device::Cpu).unwrap();
        let x = Tensor::randn(0f32, 1.0, (batch, sizes[0]), &Device::Cpu).unwrap();
        let y = Tensor::randn(0f32, 1.0, (batch, *sizes.last().unwrap()), &Device::Cpu).unwrap();
        let mut time = |fused: bool| {
            let mut adam = Adam::new(net.vars(), AdamConfig::default()).unwrap();
            let vars = net.vars();
            let n = 1000;
            let start = Instant::now();
            for _ in 0..n {
                let out = if fused {
                    net.forward(&x).unwrap()
                } else {
                    plain_forward(&vars, &x, act)
                };
                let loss = (out - &y).unwrap().sqr().unwrap().mean_all().unwrap();
                adam.backward_step(&loss, Some(0.5)).unwrap();
            }
            start.elapsed().as_secs_f64() / n as f64 * 1e6
        };
        let (plain, fused) = (time(false), time(true));
        println!(
            "| {name} | {batch} | {plain:.0} | {fused:.0} | {:.1}× |",
            plain / fused
        );
    }
}
