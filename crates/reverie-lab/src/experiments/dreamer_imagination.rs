//! `reverie experiment dreamer-imagination`: how far Dreamer's world model imagines.
//!
//! Dreamer's world model is trained, on its own, on random-action Pendulum-v1 episodes —
//! once from the state vectors and once from the 64 × 64 frames of the same episodes
//! (`PendulumPixels-v1` stepped in lockstep) — and model-eval's state-space ensemble on the
//! same transitions. On held-out episodes the RSSM observes 5 real steps, then imagines 45
//! more under the actions that were really taken (the prior alone, its draws fed back, as
//! in DreamerV3's open-loop reports); every imagined state is decoded and compared with what
//! really happened. The ensemble rolls the same 45 actions from the last context state.
//!
//! Errors are in the units model-eval uses — the RMSE over dimensions of the error divided
//! by each dimension's standard deviation in the training data — and for frames the RMSE
//! of pixel values in [0, 1]. A "nothing moves" baseline (the last context observation
//! repeated) says what a prediction has to beat.

use std::path::Path;
use std::time::Instant;

use candle_core::{Device, Tensor};
use reverie_core::atomic::write_atomic;
use reverie_core::{Action, Batch, ObsBatch, Rng, SeedStreams, Space};
use reverie_models::diagnostics::{compounding_error, normalized_rmse, Trajectory};
use reverie_models::{
    encode_action, ObsShape, RssmState, SequenceInputs, WorldModel, WorldModelConfig,
};
use reverie_nn::{Adam, AdamConfig, Normalizer, Parameters};

use super::common::{fmt, Table};
use super::ExperimentOptions;
use crate::model_eval::fit_ensemble;
use crate::plot::{plot_curves, Curve};

/// The env of the state vectors and its pixel twin (the same dynamics, rendered).
const ENV: &str = "Pendulum-v1";
const PIXEL_ENV: &str = "PendulumPixels-v1";
/// Random-action training episodes (200 steps each: 10k transitions, model-eval's scale).
const TRAIN_EPISODES: u64 = 50;
/// Held-out episodes, and the open-loop windows started in each.
const HELD_OUT_EPISODES: u64 = 10;
const WINDOW_STARTS: [usize; 4] = [0, 50, 100, 150];
/// Observed steps, then imagined ones (DreamerV3's open-loop report: 5 + 45).
const CONTEXT: usize = 5;
const HORIZON: usize = 45;
/// World-model training: sequences of `SEQ_LEN` steps, `BATCH` at a time, Dreamer's
/// default preset's learning rate and clip.
const BATCH: usize = 16;
const SEQ_LEN: usize = 64;
const MODEL_LR: f64 = 3e-4;
const GRAD_CLIP: f64 = 1000.0;
/// Updates of each world model (sized for a few minutes each on 2 cores).
const VECTOR_UPDATES: usize = 1000;
const PIXEL_UPDATES: usize = 400;

/// One random-action episode, as state vectors and (when recorded) as frames.
struct Episode {
    /// `[L + 1, D]` observations.
    obs: Vec<f32>,
    /// `[L + 1, H·W·C]` frames of the same states (empty when not recorded).
    frames: Vec<u8>,
    /// `[L, A]` actions as the ensemble takes them ([`encode_action`]).
    env_actions: Vec<f32>,
    /// `[L, A]` actions scaled to [−1, 1], as Dreamer's world model takes them.
    unit_actions: Vec<f32>,
    /// `[L]` rewards.
    rewards: Vec<f32>,
}

impl Episode {
    fn len(&self) -> usize {
        self.rewards.len()
    }
}

/// The shapes of the data, read off the envs.
struct Shapes {
    obs_dim: usize,
    act_dim: usize,
    frame: ObsShape,
}

/// Runs `episodes` random-action episodes from seeds `seed..`, stepping the pixel twin in
/// lockstep when `frames` is set.
fn collect(episodes: u64, seed: u64, frames: bool, rng: &mut Rng) -> anyhow::Result<Vec<Episode>> {
    let mut env = reverie_envs::make(ENV)?;
    let mut pixels = reverie_envs::make(PIXEL_ENV)?;
    let space = env.action_space();
    let Space::Box(bounds) = &space else {
        anyhow::bail!("{ENV} has continuous actions");
    };
    let (low, high) = (bounds.low.clone(), bounds.high.clone());
    let mut out = Vec::new();
    for e in 0..episodes {
        let (obs, _) = env.reset(Some(seed + e));
        let mut episode = Episode {
            obs: obs.as_vector().unwrap_or_default().to_vec(),
            frames: Vec::new(),
            env_actions: Vec::new(),
            unit_actions: Vec::new(),
            rewards: Vec::new(),
        };
        if frames {
            let (frame, _) = pixels.reset(Some(seed + e));
            episode
                .frames
                .extend_from_slice(frame.as_bytes().unwrap_or_default());
        }
        loop {
            let action = space.sample(rng);
            let step = env.step(&action)?;
            if let Action::Vector(v) = &action {
                episode.unit_actions.extend(
                    v.iter()
                        .zip(low.iter().zip(&high))
                        .map(|(a, (l, h))| 2.0 * (a - l) / (h - l) - 1.0),
                );
            }
            encode_action(&space, &action, &mut episode.env_actions);
            episode.rewards.push(step.reward as f32);
            episode
                .obs
                .extend_from_slice(step.obs.as_vector().unwrap_or_default());
            if frames {
                let frame = pixels.step(&action)?;
                episode
                    .frames
                    .extend_from_slice(frame.obs.as_bytes().unwrap_or_default());
            }
            if step.terminated || step.truncated {
                break;
            }
        }
        out.push(episode);
    }
    Ok(out)
}

/// Which observations a world model reads.
#[derive(Clone, Copy, PartialEq)]
enum View {
    Vectors,
    Frames,
}

impl View {
    fn width(self, shapes: &Shapes) -> usize {
        match self {
            View::Vectors => shapes.obs_dim,
            View::Frames => shapes.frame.dim(),
        }
    }

    /// The stored steps `from..from + n` of every `(episode, from, n)`, in order, as one
    /// observation batch.
    fn rows<'a>(
        self,
        shapes: &Shapes,
        windows: impl IntoIterator<Item = (&'a Episode, usize, usize)>,
    ) -> ObsBatch {
        let w = self.width(shapes);
        let windows = windows.into_iter();
        match self {
            View::Vectors => ObsBatch::from_f32(
                windows
                    .flat_map(|(e, from, n)| &e.obs[from * w..(from + n) * w])
                    .copied()
                    .collect(),
                w,
            ),
            View::Frames => ObsBatch::U8 {
                data: windows
                    .flat_map(|(e, from, n)| &e.frames[from * w..(from + n) * w])
                    .copied()
                    .collect(),
                dim: w,
            },
        }
    }
}

/// Trains a world model on windows of the episodes, stored DreamerV3's way (an episode of
/// `L` steps is `L + 1` stored steps: the action taken from each observation, zeros after
/// the last; the reward that arrived with it, 0 at the reset). Returns the model and the
/// mean loss of the last 100 updates.
fn train_world_model(
    config: WorldModelConfig,
    view: View,
    episodes: &[Episode],
    shapes: &Shapes,
    updates: usize,
    rng: &mut Rng,
) -> anyhow::Result<(WorldModel, f64)> {
    let shape = match view {
        View::Vectors => ObsShape::Vector(shapes.obs_dim),
        View::Frames => shapes.frame,
    };
    let a = shapes.act_dim;
    let model = config.init(shape, a, rng, &Device::Cpu)?;
    let mut adam = Adam::new(
        model.vars(),
        AdamConfig {
            lr: MODEL_LR,
            eps: 1e-8,
            ..Default::default()
        },
    )?;
    let mut recent = Vec::new();
    for _ in 0..updates {
        let (mut windows, mut actions, mut rewards, mut is_first) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..BATCH {
            let episode = &episodes[rng.index(episodes.len())];
            let stored = episode.len() + 1;
            let from = rng.index(stored - SEQ_LEN + 1);
            windows.push((episode, from, SEQ_LEN));
            for t in from..from + SEQ_LEN {
                match episode.unit_actions.get(t * a..(t + 1) * a) {
                    Some(row) => actions.extend_from_slice(row),
                    None => actions.extend(std::iter::repeat_n(0.0, a)),
                }
                rewards.push(if t == 0 { 0.0 } else { episode.rewards[t - 1] });
                is_first.push(t == 0);
            }
        }
        let obs = view.rows(shapes, windows);
        let terminated = vec![false; BATCH * SEQ_LEN];
        let inputs = SequenceInputs {
            batch: BATCH,
            steps: SEQ_LEN,
            obs: &obs,
            actions: &actions,
            rewards: &rewards,
            is_first: &is_first,
            terminated: &terminated,
        };
        let out = model.loss(&inputs, rng)?;
        recent.push(out.loss.to_scalar::<f32>()? as f64);
        if recent.len() > 100 {
            recent.remove(0);
        }
        adam.backward_step_taped(&out.loss, Some(&out.tape), Some(GRAD_CLIP))?;
    }
    let mean = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
    Ok((model, mean))
}

/// Every held-out window `(episode, start)`.
fn windows(episodes: &[Episode]) -> Vec<(usize, usize)> {
    (0..episodes.len())
        .flat_map(|e| WINDOW_STARTS.iter().map(move |&s| (e, s)))
        .filter(|&(e, s)| s + CONTEXT + HORIZON <= episodes[e].len() + 1)
        .collect()
}

/// The model's observations over each window: reconstructions of the `CONTEXT` observed
/// steps, then `HORIZON` decoded imagined ones — `[window][CONTEXT + HORIZON][width]`.
fn open_loop(
    model: &WorldModel,
    view: View,
    episodes: &[Episode],
    shapes: &Shapes,
    rng: &mut Rng,
) -> anyhow::Result<Vec<Vec<Vec<f32>>>> {
    let starts = windows(episodes);
    let (p, a) = (starts.len(), shapes.act_dim);
    let dev = Device::Cpu;
    let action_at = |t: usize| -> anyhow::Result<Tensor> {
        let rows: Vec<f32> = starts
            .iter()
            .flat_map(|&(e, s)| episodes[e].unit_actions[(s + t) * a..(s + t + 1) * a].to_vec())
            .collect();
        Ok(Tensor::from_vec(rows, (p, a), &dev)?)
    };
    let decode = |state: &RssmState| -> anyhow::Result<Vec<Vec<f32>>> {
        let decoded = model.decode(&state.features()?)?;
        Ok(decoded.flatten_from(1)?.to_vec2::<f32>()?)
    };
    let mut frames: Vec<Vec<Vec<f32>>> = vec![Vec::new(); p];
    let mut push = |rows: Vec<Vec<f32>>| {
        for (window, row) in frames.iter_mut().zip(rows) {
            window.push(row);
        }
    };
    let mut state = model.rssm().initial(p)?;
    let mut action = Tensor::zeros((p, a), candle_core::DType::F32, &dev)?;
    for c in 0..CONTEXT {
        let obs = view.rows(
            shapes,
            starts.iter().map(|&(e, s)| (&episodes[e], s + c, 1)),
        );
        let embed = model.embed(&obs)?;
        state = model
            .rssm()
            .observe(&state, &action, &embed, rng, None)?
            .state;
        push(decode(&state)?);
        action = action_at(c)?;
    }
    for k in 1..=HORIZON {
        state = model.rssm().imagine(&state, &action, rng)?;
        push(decode(&state)?);
        if k < HORIZON {
            action = action_at(CONTEXT - 1 + k)?;
        }
    }
    Ok(frames)
}

/// Mean over windows of `error(prediction, truth)` at each imagined step `k = 1..=HORIZON`,
/// for the model's predictions and for repeating the last context observation.
fn errors_by_horizon(
    predictions: &[Vec<Vec<f32>>],
    truth: impl Fn(usize, usize) -> Vec<f32>,
    error: impl Fn(&[f32], &[f32]) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let p = predictions.len() as f64;
    let (mut model, mut still) = (vec![0.0; HORIZON], vec![0.0; HORIZON]);
    for (w, window) in predictions.iter().enumerate() {
        let last_seen = truth(w, CONTEXT - 1);
        for k in 1..=HORIZON {
            let real = truth(w, CONTEXT - 1 + k);
            model[k - 1] += error(&window[CONTEXT - 1 + k], &real) / p;
            still[k - 1] += error(&last_seen, &real) / p;
        }
    }
    (model, still)
}

/// RMSE of pixel values scaled to [0, 1].
fn pixel_rmse(pred: &[f32], truth: &[f32]) -> f64 {
    let sum: f64 = pred
        .iter()
        .zip(truth)
        .map(|(p, t)| ((p - t) as f64 / 255.0).powi(2))
        .sum();
    (sum / pred.len().max(1) as f64).sqrt()
}

/// The PNG strip of one window: real frames on top, the model's below (reconstructions of
/// the context, then imagination), every `every`-th step, a red bar where imagination starts.
fn write_strip(
    path: &Path,
    real: &[Vec<f32>],
    model: &[Vec<f32>],
    frame: ObsShape,
    every: usize,
) -> anyhow::Result<()> {
    let ObsShape::Image {
        height,
        width,
        channels,
    } = frame
    else {
        anyhow::bail!("a strip needs image observations");
    };
    let columns: Vec<usize> = (0..real.len()).step_by(every).collect();
    let gap = 2;
    let (w, h) = (columns.len() * (width + gap), 2 * height + gap);
    let mut pixels = vec![255u8; w * h * 3];
    for (col, &t) in columns.iter().enumerate() {
        for (row, source) in [&real[t], &model[t]].into_iter().enumerate() {
            for y in 0..height {
                for x in 0..width {
                    let at = ((row * (height + gap) + y) * w + col * (width + gap) + x) * 3;
                    for c in 0..3 {
                        let v = source[(y * width + x) * channels + c.min(channels - 1)];
                        pixels[at + c] = v.round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
        // The gap before the first imagined column is red.
        if t >= CONTEXT
            && columns
                .get(col.wrapping_sub(1))
                .is_some_and(|&p| p < CONTEXT)
        {
            for y in 0..h {
                for x in col * (width + gap) - gap..col * (width + gap) {
                    pixels[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[220, 30, 30]);
                }
            }
        }
    }
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, w as u32, h as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&pixels)?;
    }
    write_atomic(path, &bytes)?;
    Ok(())
}

/// Runs the experiment (one seed: `--seeds` is not used).
pub fn run(options: &ExperimentOptions) -> anyhow::Result<String> {
    // Both cores for the one model trained at a time, as `reverie train` sets a run's
    // threads before its first tensor.
    reverie_nn::threads::set_num_threads(2);
    let started = Instant::now();
    let streams = SeedStreams::new(0);
    let mut data_rng = streams.rng("data");
    let base = streams.seed("episodes");
    let train_episodes = collect(TRAIN_EPISODES, base, true, &mut data_rng)?;
    let held_out = collect(HELD_OUT_EPISODES, base + 1_000_000, true, &mut data_rng)?;
    let probe = reverie_envs::make(PIXEL_ENV)?;
    let frame = match probe.observation_space().as_box() {
        Some(b) if b.shape.len() == 3 => ObsShape::Image {
            height: b.shape[0],
            width: b.shape[1],
            channels: b.shape[2],
        },
        _ => anyhow::bail!("{PIXEL_ENV} should observe images"),
    };
    let shapes = Shapes {
        obs_dim: train_episodes[0].obs.len() / (train_episodes[0].len() + 1),
        act_dim: train_episodes[0].unit_actions.len() / train_episodes[0].len(),
        frame,
    };
    let (o, a) = (shapes.obs_dim, shapes.act_dim);

    // The ensemble on the same transitions, as model-eval trains it.
    let mut batch = Batch::default();
    for e in &train_episodes {
        for t in 0..e.len() {
            batch.obs.extend_from_slice(&e.obs[t * o..(t + 1) * o]);
            batch
                .actions
                .extend_from_slice(&e.env_actions[t * a..(t + 1) * a]);
            batch
                .next_obs
                .extend_from_slice(&e.obs[(t + 1) * o..(t + 2) * o]);
            batch.rewards.push(e.rewards[t]);
            batch.terminated.push(false);
            batch.truncated.push(t + 1 == e.len());
        }
    }
    // `reverie model-eval`'s defaults: 5 members of 200-200-200, at most 200 epochs.
    let clock = Instant::now();
    let (ensemble, _) = fit_ensemble(
        &batch,
        (o, a),
        5,
        &[200, 200, 200],
        200,
        &mut streams.rng("ensemble"),
    )?;
    let ensemble_s = clock.elapsed().as_secs_f64();
    let scale = Normalizer::fit(&batch.obs, o).std;

    // The ensemble rolls from the last context state of every window.
    let starts = windows(&held_out);
    let trajectories: Vec<Trajectory> = starts
        .iter()
        .map(|&(e, s)| {
            let from = s + CONTEXT - 1;
            Trajectory {
                obs: held_out[e].obs[from * o..(from + HORIZON + 1) * o].to_vec(),
                actions: held_out[e].env_actions[from * a..(from + HORIZON) * a].to_vec(),
            }
        })
        .collect();
    let ensemble_errors = compounding_error(&ensemble, &trajectories, HORIZON, &scale)?;

    // Dreamer's world model from vectors (the default preset's sizes) and from frames (the
    // same RSSM, the convolutional coder of depth 16).
    let clock = Instant::now();
    let mut rng = streams.rng("world-model-vectors");
    let (vector_model, vector_loss) = train_world_model(
        WorldModelConfig::default(),
        View::Vectors,
        &train_episodes,
        &shapes,
        VECTOR_UPDATES,
        &mut rng,
    )?;
    let vector_s = clock.elapsed().as_secs_f64();
    let vector_pred = open_loop(&vector_model, View::Vectors, &held_out, &shapes, &mut rng)?;
    let vector_truth = |w: usize, t: usize| {
        let (e, s) = starts[w];
        held_out[e].obs[(s + t) * o..(s + t + 1) * o].to_vec()
    };
    let (dreamer_vector, still_vector) = errors_by_horizon(&vector_pred, vector_truth, |p, t| {
        normalized_rmse(p, t, &scale)
    });

    let clock = Instant::now();
    let mut rng = streams.rng("world-model-frames");
    let (pixel_model, pixel_loss) = train_world_model(
        WorldModelConfig::default(),
        View::Frames,
        &train_episodes,
        &shapes,
        PIXEL_UPDATES,
        &mut rng,
    )?;
    let pixel_s = clock.elapsed().as_secs_f64();
    let pixel_pred = open_loop(&pixel_model, View::Frames, &held_out, &shapes, &mut rng)?;
    let fw = shapes.frame.dim();
    let frame_truth = |w: usize, t: usize| -> Vec<f32> {
        let (e, s) = starts[w];
        held_out[e].frames[(s + t) * fw..(s + t + 1) * fw]
            .iter()
            .map(|&b| b as f32)
            .collect()
    };
    let (dreamer_pixels, still_pixels) = errors_by_horizon(&pixel_pred, frame_truth, pixel_rmse);

    // The strip of the second window (episode 0 from step 50: mid-swing rather than the
    // reset's slow start).
    let shown = 1.min(starts.len() - 1);
    let real: Vec<Vec<f32>> = (0..CONTEXT + HORIZON)
        .map(|t| frame_truth(shown, t))
        .collect();
    write_strip(
        &options.out.join("open_loop.png"),
        &real,
        &pixel_pred[shown],
        shapes.frame,
        2,
    )?;

    let mut summary = Table::new(&[
        "k",
        "dreamer_vectors_error",
        "ensemble_error",
        "repeat_last_vectors_error",
        "dreamer_frames_rmse",
        "repeat_last_frames_rmse",
    ]);
    for k in 1..=HORIZON {
        summary.push(vec![
            k.to_string(),
            fmt(dreamer_vector[k - 1], 4),
            fmt(ensemble_errors[k - 1].error_mean, 4),
            fmt(still_vector[k - 1], 4),
            fmt(dreamer_pixels[k - 1], 4),
            fmt(still_pixels[k - 1], 4),
        ]);
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    let curve = |values: &[f64]| {
        values
            .iter()
            .enumerate()
            .map(|(k, v)| ((k + 1) as f64, *v))
            .collect::<Vec<_>>()
    };
    let ensemble_curve: Vec<f64> = ensemble_errors.iter().map(|h| h.error_mean).collect();
    plot_curves(
        &[
            Curve::raw(
                "Dreamer RSSM (5 observed, then imagined)",
                vec![curve(&dreamer_vector)],
            ),
            Curve::raw(
                "state-space ensemble (model-eval)",
                vec![curve(&ensemble_curve)],
            ),
            Curve::raw("repeat the last observation", vec![curve(&still_vector)]),
        ],
        &format!("{ENV}: open-loop error from state vectors"),
        "imagined steps k",
        "error (RMSE in data standard deviations)",
        &options.out.join("error_by_horizon"),
    )?;
    plot_curves(
        &[
            Curve::raw(
                "Dreamer RSSM from 64x64 frames",
                vec![curve(&dreamer_pixels)],
            ),
            Curve::raw("repeat the last frame", vec![curve(&still_pixels)]),
        ],
        &format!("{PIXEL_ENV}: open-loop frame error"),
        "imagined steps k",
        "pixel RMSE (values in [0, 1])",
        &options.out.join("frame_error_by_horizon"),
    )?;

    let mut short = Table::new(&[
        "k",
        "dreamer_vectors",
        "ensemble",
        "repeat_last",
        "dreamer_frames",
        "repeat_last_frame",
    ]);
    for k in [1, 5, 10, 15, 20, 30, HORIZON] {
        short.push(vec![
            k.to_string(),
            fmt(dreamer_vector[k - 1], 3),
            fmt(ensemble_curve[k - 1], 3),
            fmt(still_vector[k - 1], 3),
            fmt(dreamer_pixels[k - 1], 3),
            fmt(still_pixels[k - 1], 3),
        ]);
    }
    Ok(format!(
        "dreamer-imagination on {ENV} / {PIXEL_ENV}: trained on {TRAIN_EPISODES} random-action episodes ({} transitions), \
         {} held-out windows of {CONTEXT} observed + {HORIZON} imagined steps\n\
         world model from vectors: {VECTOR_UPDATES} updates of {BATCH} x {SEQ_LEN}, last-100 loss {vector_loss:.3}, {vector_s:.0} s\n\
         world model from frames: {PIXEL_UPDATES} updates, last-100 loss {pixel_loss:.3}, {pixel_s:.0} s\n\
         ensemble: 5 x 200x200x200, {ensemble_s:.0} s\n\n{}\nstrip: {}\nwall-clock: {:.0} s\n",
        batch.len(),
        starts.len(),
        short.to_text(),
        options.out.join("open_loop.png").display(),
        started.elapsed().as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(steps: usize) -> Episode {
        Episode {
            obs: vec![0.0; steps + 1],
            frames: Vec::new(),
            env_actions: vec![0.0; steps],
            unit_actions: vec![0.0; steps],
            rewards: vec![0.0; steps],
        }
    }

    #[test]
    fn windows_leave_room_for_the_context_and_the_horizon() {
        // 120 steps are 121 stored observations: windows of 50 fit from 0 and 50 only.
        assert_eq!(windows(&[episode(120)]), vec![(0, 0), (0, 50)]);
        assert_eq!(windows(&[episode(200)]).len(), WINDOW_STARTS.len());
    }

    #[test]
    fn errors_are_measured_from_the_first_imagined_step() {
        // The truth at step t is t; the model predicts the last context value forever, so
        // it and the repeat-last baseline are both off by k after k imagined steps.
        let last = (CONTEXT - 1) as f32;
        let window: Vec<Vec<f32>> = (0..CONTEXT + HORIZON)
            .map(|t| vec![(t as f32).min(last)])
            .collect();
        let (model, still) = errors_by_horizon(
            &[window.clone(), window],
            |_, t| vec![t as f32],
            |p, t| (p[0] - t[0]).abs() as f64,
        );
        for k in 1..=HORIZON {
            assert_eq!(model[k - 1], k as f64);
            assert_eq!(still[k - 1], k as f64);
        }
    }
}
