//! `reverie bench nn`: the deep-learning layer's workloads, each beside PyTorch's time for
//! the same workload measured in the same sitting by `benches/pytorch_baseline.py`.
//!
//! A row's key names the workload in both programs; the script prints `{key: value}` as
//! JSON with `--json`, and the table reads each row as a ratio `reverie / PyTorch`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{Device, Tensor};
use reverie_core::Rng;

use crate::bench::median_time;

/// One measured workload.
#[derive(Clone, Debug)]
pub struct NnRow {
    /// The workload's name in `benches/pytorch_baseline.py`'s JSON.
    pub key: &'static str,
    /// What was measured.
    pub name: &'static str,
    /// reverie's median.
    pub value: f64,
    /// `ms` or `us`.
    pub unit: &'static str,
    /// The target, as time relative to PyTorch (`None`: keep the recorded figure).
    pub target_ratio: Option<f64>,
}

/// The baseline script, found from this crate's source directory (a checkout).
pub fn pytorch_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/pytorch_baseline.py")
}

/// Runs `benches/pytorch_baseline.py --json` with `python` and returns its figures by key.
pub fn pytorch_figures(
    python: &Path,
    threads: usize,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let script = pytorch_script();
    let output = Command::new(python)
        .arg(&script)
        .args(["--json", "--threads", &threads.to_string()])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "{} {} failed (install PyTorch as its header says):\n{}",
            python.display(),
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let json = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| anyhow::anyhow!("no JSON line in the script's output:\n{text}"))?;
    match serde_json::from_str(json)? {
        serde_json::Value::Object(map) => Ok(map),
        other => anyhow::bail!("expected a JSON object from the script, got {other}"),
    }
}

/// Measures every row (candle's thread count must already be set).
pub fn measure() -> anyhow::Result<Vec<NnRow>> {
    let mut rows = vec![ensemble_train_step()?];
    rows.push(conv_autoencoder()?);
    rows.extend(gru_unroll()?);
    rows.push(planning_forward()?);
    rows.push(single_row_forward()?);
    Ok(rows)
}

/// PETS/MBPO's model update: 7 members of 5 → 200 ×4 → 8 (mean and log-variance of 4
/// targets), Gaussian NLL with learned log-variance bounds, Adam; 256 rows per member.
fn ensemble_train_step() -> anyhow::Result<NnRow> {
    use reverie_models::{EnsembleModel, EnsembleModelConfig};
    use reverie_nn::{Adam, AdamConfig};
    let device = Device::Cpu;
    let mut rng = Rng::seed_from_u64(0);
    let model = EnsembleModel::new(EnsembleModelConfig::default(), 3, 2, &mut rng, &device)?;
    let mut adam = Adam::new(model.vars(), AdamConfig::default())?;
    let x = Tensor::randn(0f32, 1.0, (7, 256, 5), &device)?;
    let y = Tensor::randn(0f32, 1.0, (7, 256, 4), &device)?;
    let step = median_time(30, || {
        let loss = model.loss(&x, &y, None).expect("loss");
        adam.backward_step(&loss, None).expect("step");
    });
    Ok(NnRow {
        key: "ensemble_train",
        name: "ensemble train step, 7 x (5-200x4-8), NLL + Adam, batch 256",
        value: step * 1e3,
        unit: "ms",
        target_ratio: Some(0.7),
    })
}

/// DreamerV3's image encoder and decoder at `size1m`-like width: four stride-2 convolutions
/// (kernel 4, depth 16 doubling: 64×64×3 → 4×4×128) and four transposed convolutions back,
/// SiLU between layers, MSE reconstruction, Adam; 1,024 frames (16 sequences × 64 steps).
fn conv_autoencoder() -> anyhow::Result<NnRow> {
    use reverie_nn::{Activation, Adam, AdamConfig, Conv2dConfig, ConvTranspose2dConfig};
    use reverie_nn::{Conv2d, ConvTranspose2d, Parameters};
    let device = Device::Cpu;
    let mut rng = Rng::seed_from_u64(0);
    let channels = [3, 16, 32, 64, 128];
    let encoder = channels
        .windows(2)
        .map(|c| {
            Conv2dConfig {
                stride: 2,
                padding: 1,
                activation: Some(Activation::Silu),
                ..Conv2dConfig::new(c[0], c[1], 4)
            }
            .init(&mut rng, &device)
        })
        .collect::<candle_core::Result<Vec<Conv2d>>>()?;
    let decoder = channels
        .windows(2)
        .rev()
        .map(|c| {
            ConvTranspose2dConfig {
                stride: 2,
                padding: 1,
                activation: (c[0] != 3).then_some(Activation::Silu),
                ..ConvTranspose2dConfig::new(c[1], c[0], 4)
            }
            .init(&mut rng, &device)
        })
        .collect::<candle_core::Result<Vec<ConvTranspose2d>>>()?;
    let vars = encoder
        .iter()
        .flat_map(|l| l.vars())
        .chain(decoder.iter().flat_map(|l| l.vars()))
        .collect();
    let mut adam = Adam::new(vars, AdamConfig::default())?;
    let frames: Vec<f32> = (0..1024 * 3 * 64 * 64).map(|_| rng.uniform_f32()).collect();
    let x = Tensor::from_vec(frames, (1024, 3, 64, 64), &device)?;
    let step = median_time(5, || {
        let mut h = x.clone();
        for layer in &encoder {
            h = candle_core::Module::forward(layer, &h).expect("encoder");
        }
        for layer in &decoder {
            h = candle_core::Module::forward(layer, &h).expect("decoder");
        }
        let loss = (h - &x)
            .and_then(|d| d.sqr())
            .and_then(|d| d.mean_all())
            .expect("loss");
        adam.backward_step(&loss, None).expect("step");
    });
    Ok(NnRow {
        key: "conv_train",
        name: "conv encoder + decoder 64x64x3, depth 16, 1024 frames, fwd + bwd + Adam",
        value: step * 1e3,
        unit: "ms",
        target_ratio: Some(1.0),
    })
}

/// Dreamer's deterministic path: a GRU with 256 units on 256-wide inputs, unrolled over 64
/// steps of a batch of 16, forward and backward (to the weights) of the mean squared state.
/// Compared with PyTorch's `GRUCell` looped in Python and with its fused `nn.GRU`.
fn gru_unroll() -> anyhow::Result<Vec<NnRow>> {
    use reverie_nn::{unroll, GruConfig};
    let device = Device::Cpu;
    let mut rng = Rng::seed_from_u64(0);
    let gru = GruConfig::new(256, 256).init(&mut rng, &device)?;
    let xs = Tensor::randn(0f32, 1.0, (64, 16, 256), &device)?;
    let h0 = Tensor::zeros((16, 256), candle_core::DType::F32, &device)?;
    let step = median_time(20, || {
        let (states, _) = unroll(&gru, &xs, &h0).expect("unroll");
        let loss = states.sqr().and_then(|s| s.mean_all()).expect("loss");
        black_box(loss.backward().expect("backward"));
    });
    Ok(vec![
        NnRow {
            key: "gru_train",
            name: "GRU 256, 64 steps x batch 16, fwd + bwd (PyTorch: GRUCell loop)",
            value: step * 1e3,
            unit: "ms",
            target_ratio: Some(1.0),
        },
        NnRow {
            key: "gru_train_fused",
            name: "  same, PyTorch: nn.GRU (one fused op)",
            value: step * 1e3,
            unit: "ms",
            target_ratio: None,
        },
    ])
}

/// The planner's inference path: 3,500 rows (500 per member) sampled from the Gaussian
/// heads, 30 steps fed back.
fn planning_forward() -> anyhow::Result<NnRow> {
    use reverie_models::{EnsembleModel, EnsembleModelConfig, FastDynamics, StepOutputs};
    let mut rng = Rng::seed_from_u64(0);
    let model = EnsembleModel::new(EnsembleModelConfig::default(), 3, 2, &mut rng, &Device::Cpu)?;
    let mut fast = FastDynamics::new(&model, reverie_nn::threads::num_threads())?;
    let n = 7 * 500;
    let obs: Vec<f32> = (0..n * 3).map(|i| ((i as f32) * 0.01).sin()).collect();
    let actions: Vec<f32> = (0..n * 2).map(|i| ((i as f32) * 0.02).cos()).collect();
    let member: Vec<usize> = (0..n).map(|i| i / 500).collect();
    let (mut current, mut next, mut reward) = (obs.clone(), vec![0.0; n * 3], vec![0.0; n]);
    let mut noise = Rng::seed_from_u64(1);
    let forward = median_time(5, || {
        current.copy_from_slice(&obs);
        for _ in 0..30 {
            fast.step(
                &current,
                &actions,
                &member,
                Some(&mut noise),
                StepOutputs {
                    next_obs: &mut next,
                    reward: &mut reward,
                    termination_prob: None,
                },
            );
            std::mem::swap(&mut current, &mut next);
        }
    });
    Ok(NnRow {
        key: "planning_forward",
        name: "ensemble forward for planning, 7 x 500 rows, 30 steps fed back",
        value: forward * 1e3,
        unit: "ms",
        target_ratio: None,
    })
}

/// Acting: one observation through a 4 → 64 → 64 → 2 tanh policy.
fn single_row_forward() -> anyhow::Result<NnRow> {
    use reverie_nn::{Activation, Init, Mlp};
    let mut rng = Rng::seed_from_u64(0);
    let mlp = Mlp::new(
        &[4, 64, 64, 2],
        Activation::Tanh,
        Init::Torch,
        &mut rng,
        &Device::Cpu,
    )?;
    let mut out = [0.0f32; 2];
    let per_call = median_time(10, || {
        for _ in 0..100_000 {
            mlp.forward_row(black_box(&[0.1, -0.2, 0.3, 0.4]), &mut out)
                .expect("forward");
            black_box(&out);
        }
    }) / 100_000.0;
    Ok(NnRow {
        key: "single_row",
        name: "single-row forward 4-64-64-2 tanh (acting)",
        value: per_call * 1e6,
        unit: "us",
        target_ratio: None,
    })
}

/// The table: reverie's figure, PyTorch's (when measured), their ratio and the target.
pub fn format_table(
    rows: &[NnRow],
    pytorch: Option<&serde_json::Map<String, serde_json::Value>>,
) -> String {
    let mut text = format!(
        "candle CPU threads: {}\n{:<72} {:>10} {:>10} {:>5} {:>7} {:>8}\n",
        reverie_nn::threads::num_threads(),
        "workload (median)",
        "reverie",
        "PyTorch",
        "unit",
        "ratio",
        "target"
    );
    for row in rows {
        let torch = pytorch
            .and_then(|m| m.get(row.key))
            .and_then(|v| v.as_f64());
        let (torch_text, ratio_text) = match torch {
            Some(t) => (format!("{t:.3}"), format!("{:.2}x", row.value / t)),
            None => ("-".into(), "-".into()),
        };
        let target = row
            .target_ratio
            .map(|r| format!("<= {r:.2}x"))
            .unwrap_or_default();
        text.push_str(&format!(
            "{:<72} {:>10.3} {:>10} {:>5} {:>7} {:>8}\n",
            row.name, row.value, torch_text, row.unit, ratio_text, target
        ));
    }
    text
}
