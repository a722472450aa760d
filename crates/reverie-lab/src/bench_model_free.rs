//! `reverie bench model-free`: the fused training ops against candle's plain ones, and the
//! wall-clock of whole DQN, PPO and SAC runs with rl-zoo's hyperparameters.

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use reverie_core::Rng;
use reverie_nn::{Activation, Adam, AdamConfig, Init, Mlp, Parameters};

use reverie_run::config::{resolve, ConfigRequest};
use reverie_run::train::{train, RunLocation};

/// The forward pass written with candle's own ops (matmul, broadcast add, activation).
fn plain_forward(vars: &[Var], x: &Tensor, act: Activation) -> candle_core::Result<Tensor> {
    let mut h = x.clone();
    let layers = vars.len() / 2;
    for i in 0..layers {
        h = h
            .matmul(vars[2 * i].as_tensor())?
            .broadcast_add(vars[2 * i + 1].as_tensor())?;
        if i + 1 < layers {
            h = act.apply(&h)?;
        }
    }
    Ok(h)
}

/// Microseconds per training step (forward, MSE, backward, clipped Adam) of the networks
/// the agents train, through candle's ops and through [`reverie_nn::ops`].
fn op_table() -> anyhow::Result<String> {
    let mut out = String::from(
        "| network (agent) | batch | candle ops µs/step | fused µs/step | speed-up |\n|---|---|---|---|---|\n",
    );
    for (name, sizes, batch, act) in [
        (
            "4-64-64-2 tanh (PPO)",
            vec![4usize, 64, 64, 2],
            256usize,
            Activation::Tanh,
        ),
        (
            "4-256-256-2 relu (DQN)",
            vec![4, 256, 256, 2],
            64,
            Activation::Relu,
        ),
        (
            "4-256-256-1 relu (SAC critic)",
            vec![4, 256, 256, 1],
            256,
            Activation::Relu,
        ),
    ] {
        let mut rng = Rng::seed_from_u64(0);
        let net = Mlp::new(&sizes, act, Init::Torch, &mut rng, &Device::Cpu)?;
        let x = Tensor::randn(0f32, 1.0, (batch, sizes[0]), &Device::Cpu)?;
        let y = Tensor::randn(0f32, 1.0, (batch, *sizes.last().unwrap()), &Device::Cpu)?;
        let time = |fused: bool| -> anyhow::Result<f64> {
            let vars = net.vars();
            let mut adam = Adam::new(vars.clone(), AdamConfig::default())?;
            let steps = 500;
            let start = Instant::now();
            for _ in 0..steps {
                let out = if fused {
                    net.forward(&x)?
                } else {
                    plain_forward(&vars, &x, act)?
                };
                let loss = (out - &y)?.sqr()?.mean_all()?;
                adam.backward_step(&loss, Some(10.0))?;
            }
            Ok(start.elapsed().as_secs_f64() / steps as f64 * 1e6)
        };
        let (plain, fused) = (time(false)?, time(true)?);
        out.push_str(&format!(
            "| {name} | {batch} | {plain:.0} | {fused:.0} | {:.1}× |\n",
            plain / fused
        ));
    }
    Ok(out)
}

/// Runs the three baselines with their presets (no intermediate evaluations) and reports
/// wall-clock, steps per second and the final evaluation; `sac_steps` shortens SAC's 20k.
pub fn bench_model_free(sac_steps: u64) -> anyhow::Result<String> {
    let mut out = String::from("Training step of one network (candle threads: 1)\n\n");
    out.push_str(&op_table()?);
    out.push_str(
        "\nWhole runs, rl-zoo hyperparameters, seed 0, eval_every = 0 (one final 10-episode evaluation)\n\n\
| run | steps | wall s | steps/s | final eval | Stable-Baselines3 2.9.2 (2 cores; SAC: `benches/pytorch_baseline.py --sac`) | target |\n|---|---|---|---|---|---|---|\n",
    );
    for (algo, env, steps, sb3, target) in [
        ("ppo", "CartPole-v1", 100_000, "22 s", "<= 4.4 s"),
        ("dqn", "CartPole-v1", 50_000, "52 s", "<= 10 s"),
        (
            "sac",
            "Pendulum-v1",
            sac_steps,
            "150 s for 20k (2026-11-29)",
            "<= 0.27x SB3 (40 s)",
        ),
    ] {
        let config = resolve(&ConfigRequest {
            algo: algo.into(),
            env: env.into(),
            // Training alone, as Stable-Baselines3 runs without a checkpoint callback
            // (periodic checkpoints cost DQN's 50k-step preset 2–4%).
            overrides: vec![
                "eval_every=0".into(),
                "checkpoint_every=0".into(),
                "checkpoint_minutes=0".into(),
            ],
            seed: Some(0),
            steps: Some(steps),
            ..Default::default()
        })?;
        let dir = std::env::temp_dir().join(format!("reverie-bench-{algo}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let summary = train(&config, &RunLocation::At(dir.clone()), false)?;
        let _ = std::fs::remove_dir_all(&dir);
        out.push_str(&format!(
            "| {algo} {env} | {steps} | {:.1} | {:.0} | {:.1} | {sb3} | {target} |\n",
            summary.wall_time_s, summary.sps, summary.final_eval_return_mean
        ));
    }
    Ok(out)
}
