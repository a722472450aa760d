//! Training an [`EnsembleModel`] on transitions: holdout split, one bootstrap resample per
//! member, Adam, early stopping on the validation error, elites by validation error.

use candle_core::{Tensor, D};
use reverie_core::{Batch, Rng};
use reverie_nn::{Adam, AdamConfig, Normalizer, Result};
use serde::{Deserialize, Serialize};

use crate::ensemble::EnsembleModel;

/// Training hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerConfig {
    /// Rows per member per gradient step.
    pub batch_size: usize,
    /// Upper bound on epochs.
    pub max_epochs: usize,
    /// Stop after this many epochs without a relative improvement of `min_improvement`.
    pub patience: usize,
    /// Relative validation improvement that resets the patience counter.
    pub min_improvement: f64,
    /// Fraction of the data held out for validation (and elite selection).
    pub holdout_ratio: f64,
    /// Adam learning rate.
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (none if absent).
    pub max_grad_norm: Option<f64>,
    /// Each member trains on its own bootstrap resample (true) or on all data (false).
    pub bootstrap: bool,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            batch_size: 256,
            max_epochs: 100,
            patience: 5,
            min_improvement: 0.01,
            holdout_ratio: 0.2,
            lr: 1e-3,
            weight_decay: 5e-5,
            max_grad_norm: None,
            bootstrap: true,
        }
    }
}

/// One epoch's losses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochLog {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean over members of the validation MSE (normalised targets).
    pub val_mse: f64,
}

/// What training did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainReport {
    /// Per-epoch losses.
    pub epochs: Vec<EpochLog>,
    /// The epoch whose parameters were kept.
    pub best_epoch: usize,
    /// Validation MSE of each member at the kept epoch.
    pub member_val_mse: Vec<f64>,
    /// The elites chosen.
    pub elites: Vec<usize>,
}

/// Input rows `[obs, action]`, target rows `[s' − s, r]`, termination flags.
fn rows(model: &EnsembleModel, data: &Batch) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (o, a) = (model.obs_dim(), model.act_dim());
    let n = data.len();
    let mut inputs = Vec::with_capacity(n * (o + a));
    let mut targets = Vec::with_capacity(n * (o + 1));
    for i in 0..n {
        inputs.extend_from_slice(&data.obs[i * o..(i + 1) * o]);
        inputs.extend_from_slice(&data.actions[i * a..(i + 1) * a]);
        for j in 0..o {
            targets.push(data.next_obs[i * o + j] - data.obs[i * o + j]);
        }
        targets.push(data.rewards[i]);
    }
    let terms = data.terminated.iter().map(|&t| t as u8 as f32).collect();
    (inputs, targets, terms)
}

fn gather(source: &[f32], width: usize, indices: &[usize], out: &mut Vec<f32>) {
    for &i in indices {
        out.extend_from_slice(&source[i * width..(i + 1) * width]);
    }
}

/// Per-member MSE on normalised validation rows.
fn validation_mse(model: &EnsembleModel, inputs: &[f32], targets: &[f32]) -> Result<Vec<f64>> {
    let e = model.config().ensemble_size;
    let width = model.obs_dim() + model.act_dim();
    let d = model.obs_dim() + 1;
    let rows = inputs.len() / width;
    let device = model.device();
    let x = Tensor::from_slice(inputs, (1, rows, width), device)?
        .broadcast_as((e, rows, width))?
        .contiguous()?;
    let y = Tensor::from_slice(targets, (1, rows, d), device)?;
    let mean = model.forward(&x)?.mean;
    let mse = mean
        .broadcast_sub(&y)?
        .sqr()?
        .mean(D::Minus1)?
        .mean(D::Minus1)?;
    Ok(mse
        .to_vec1::<f32>()?
        .into_iter()
        .map(|v| v as f64)
        .collect())
}

/// Fits the normalisers to `data` and trains `model` on it. Refuses data with NaN or
/// infinite values. Returns per-epoch losses; the parameters of the best validation epoch
/// are kept and the elites are set.
pub fn train(
    model: &mut EnsembleModel,
    data: &Batch,
    config: &TrainerConfig,
    rng: &mut Rng,
) -> Result<TrainReport> {
    let n = data.len();
    if n < 2 {
        candle_core::bail!("need at least 2 transitions to train a model, got {n}");
    }
    let (mut inputs, mut targets, terms) = rows(model, data);
    if inputs.iter().chain(&targets).any(|x| !x.is_finite()) {
        candle_core::bail!("training data contains NaN or infinite values; nothing was trained");
    }
    let (o, a) = (model.obs_dim(), model.act_dim());
    let (width, d) = (o + a, o + 1);
    model.input_norm = Normalizer::fit(&inputs, width);
    model.target_norm = Normalizer::fit(&targets, d);
    model.input_norm.normalize_in_place(&mut inputs);
    model.target_norm.normalize_in_place(&mut targets);

    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let holdout = ((n as f64 * config.holdout_ratio) as usize).min(n - 1);
    let (val_idx, train_idx) = order.split_at(holdout);
    let (mut val_x, mut val_y) = (Vec::new(), Vec::new());
    gather(&inputs, width, val_idx, &mut val_x);
    gather(&targets, d, val_idx, &mut val_y);

    let members = model.config().ensemble_size;
    let mut member_rows: Vec<Vec<usize>> = (0..members)
        .map(|_| {
            if config.bootstrap {
                (0..train_idx.len())
                    .map(|_| train_idx[rng.index(train_idx.len())])
                    .collect()
            } else {
                train_idx.to_vec()
            }
        })
        .collect();
    let mut adam = Adam::new(
        model.vars(),
        AdamConfig {
            lr: config.lr,
            weight_decay: config.weight_decay,
            ..AdamConfig::default()
        },
    )?;
    // Batched execution trains on the fused ensemble op (`reverie_nn::ops::ensemble_linear`):
    // one op per layer for all members, 4× faster than candle's batched matmul and steadier
    // than a loop over members (BENCHMARKS.md, `reverie bench nn`).
    let inference_execution = model.config().execution;
    model.set_execution(reverie_nn::Execution::Batched);
    let device = model.device().clone();
    let batch = config.batch_size.max(1);
    let learned_termination = model.config().learned_termination;
    let mut epochs = Vec::new();
    let mut best = (f64::INFINITY, 0usize, model.snapshot()?);
    let mut since_best = 0;
    let (mut bx, mut by, mut bt) = (Vec::new(), Vec::new(), Vec::new());
    for epoch in 1..=config.max_epochs.max(1) {
        for rows in &mut member_rows {
            rng.shuffle(rows);
        }
        let mut total = 0.0;
        let mut batches = 0;
        for start in (0..train_idx.len()).step_by(batch) {
            let end = (start + batch).min(train_idx.len());
            bx.clear();
            by.clear();
            bt.clear();
            for rows in &member_rows {
                gather(&inputs, width, &rows[start..end], &mut bx);
                gather(&targets, d, &rows[start..end], &mut by);
                bt.extend(rows[start..end].iter().map(|&i| terms[i]));
            }
            let b = end - start;
            let x = Tensor::from_slice(&bx, (members, b, width), &device)?;
            let y = Tensor::from_slice(&by, (members, b, d), &device)?;
            let t = if learned_termination {
                Some(Tensor::from_slice(&bt, (members, b, 1), &device)?)
            } else {
                None
            };
            let loss = model.loss(&x, &y, t.as_ref())?;
            total += loss.to_scalar::<f32>()? as f64;
            adam.backward_step(&loss, config.max_grad_norm)?;
            batches += 1;
        }
        let train_loss = total / batches.max(1) as f64;
        let val = if holdout > 0 {
            validation_mse(model, &val_x, &val_y)?
        } else {
            vec![train_loss; members]
        };
        let score = val.iter().sum::<f64>() / members as f64;
        epochs.push(EpochLog {
            epoch,
            train_loss,
            val_mse: score,
        });
        if score < best.0 * (1.0 - config.min_improvement) || epoch == 1 {
            best = (score, epoch, model.snapshot()?);
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= config.patience {
                break;
            }
        }
    }
    model.set_execution(inference_execution);
    model.restore(&best.2)?;
    let member_val_mse = if holdout > 0 {
        validation_mse(model, &val_x, &val_y)?
    } else {
        vec![best.0; members]
    };
    let mut ranked: Vec<usize> = (0..members).collect();
    ranked.sort_by(|&i, &j| member_val_mse[i].total_cmp(&member_val_mse[j]));
    ranked.truncate(model.config().elites);
    model.set_elites(ranked.clone());
    Ok(TrainReport {
        epochs,
        best_epoch: best.1,
        member_val_mse,
        elites: ranked,
    })
}
