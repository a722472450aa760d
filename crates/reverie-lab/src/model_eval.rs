//! `reverie model-eval`: train an ensemble on random transitions of an env and measure how
//! its error compounds over open-loop rollouts and whether its disagreement predicts its
//! error, on and off the training distribution.
//!
//! Outputs in `--out DIR`: `summary.csv` (one row per horizon k: `k,error_mean,...`, with
//! the calibration figure `disagreement_error_spearman` as a column), `per_dim_error.csv`,
//! `calibration.csv`, `training.csv`, `compounding_error.{png,svg}`,
//! `calibration.{png,svg}`, the model checkpoint and `report.txt`.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use reverie_core::atomic::write_atomic;
use reverie_core::{Action, Batch, DynEnv, Rng, SeedStreams, Space};
use reverie_models::action_width;
use reverie_models::diagnostics::{
    calibration_bins, compounding_error, disagreement_and_error, spearman, Trajectory,
};
use reverie_models::diagnostics::{compounding_error_of, HorizonError};
use reverie_models::{
    encode_action, train, EnsembleModel, EnsembleModelConfig, LinearModel, LinearModelConfig,
    TrainReport, TrainerConfig,
};
use reverie_nn::Normalizer;

use crate::experiments::common::{fmt, Table};
use crate::plot::{plot_curves, Curve};

/// Options of a model evaluation.
#[derive(Clone, Debug)]
pub struct ModelEvalOptions {
    /// Registered env id.
    pub env: String,
    /// Root seed (data, model, held-out episodes).
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Random transitions to train on.
    pub steps: usize,
    /// Longest open-loop horizon.
    pub horizon: usize,
    /// Ensemble members (all used as elites).
    pub members: usize,
    /// Maximum training epochs.
    pub max_epochs: usize,
    /// Hidden layer widths.
    pub hidden_sizes: Vec<usize>,
}

/// How data is collected: uniformly random actions, or a biased policy that drives the env
/// into states random actions rarely reach (off-distribution data).
#[derive(Clone, Copy, PartialEq)]
enum Policy {
    Random,
    Biased,
}

fn choose(space: &Space, policy: Policy, rng: &mut Rng) -> Action {
    match (policy, space) {
        (Policy::Random, _) => space.sample(rng),
        // Mostly the first action / the upper bound: pushes CartPole off to one side and
        // spins Pendulum up to speeds random torques rarely reach.
        (Policy::Biased, Space::Discrete { n, start }) => {
            if rng.bernoulli(0.9) {
                Action::Discrete(*start)
            } else {
                Action::Discrete(start + rng.below(*n) as i64)
            }
        }
        (Policy::Biased, Space::Box(b)) => Action::Vector(
            b.high
                .iter()
                .map(|h| if rng.bernoulli(0.9) { *h } else { 0.0 })
                .collect(),
        ),
    }
}

/// Runs episodes with `policy` until `steps` transitions; returns them as a batch and as
/// trajectories (one per episode).
fn collect(
    env: &mut Box<dyn DynEnv>,
    policy: Policy,
    steps: usize,
    seed: u64,
    rng: &mut Rng,
) -> anyhow::Result<(Batch, Vec<Trajectory>)> {
    let space = env.action_space();
    let mut batch = Batch::default();
    let mut trajectories = Vec::new();
    let mut episode = 0;
    while batch.len() < steps {
        let (mut obs, _) = env.reset(Some(seed + episode));
        episode += 1;
        let mut trajectory = Trajectory::default();
        trajectory.obs.extend_from_slice(
            obs.as_vector()
                .ok_or_else(|| anyhow::anyhow!("model-eval needs a Box observation space"))?,
        );
        while batch.len() < steps {
            let action = choose(&space, policy, rng);
            let step = env.step(&action)?;
            let o = obs.as_vector().unwrap();
            let n = step.obs.as_vector().unwrap();
            batch.obs.extend_from_slice(o);
            let before = batch.actions.len();
            encode_action(&space, &action, &mut batch.actions);
            trajectory
                .actions
                .extend_from_slice(&batch.actions[before..]);
            batch.next_obs.extend_from_slice(n);
            batch.rewards.push(step.reward as f32);
            batch.terminated.push(step.terminated);
            batch.truncated.push(step.truncated);
            trajectory.obs.extend_from_slice(n);
            if step.terminated || step.truncated {
                break;
            }
            obs = step.obs;
        }
        trajectories.push(trajectory);
    }
    Ok((batch, trajectories))
}

/// The ensemble model-eval judges: `members` members, all elites, of `hidden` widths, on
/// `(obs_dim, act_dim)`, trained on `data` for at most `max_epochs` epochs.
pub(crate) fn fit_ensemble(
    data: &Batch,
    (obs_dim, act_dim): (usize, usize),
    members: usize,
    hidden: &[usize],
    max_epochs: usize,
    rng: &mut Rng,
) -> anyhow::Result<(EnsembleModel, TrainReport)> {
    let config = EnsembleModelConfig {
        ensemble_size: members,
        elites: members,
        hidden_sizes: hidden.to_vec(),
        ..EnsembleModelConfig::default()
    };
    let mut model = EnsembleModel::new(config, obs_dim, act_dim, rng, &Device::Cpu)?;
    let trainer = TrainerConfig {
        max_epochs,
        ..TrainerConfig::default()
    };
    let report = train(&mut model, data, &trainer, rng)?;
    Ok((model, report))
}

/// Runs the evaluation; returns the report printed to the terminal.
pub fn run(options: &ModelEvalOptions) -> anyhow::Result<String> {
    let started = Instant::now();
    let streams = SeedStreams::new(options.seed);
    let mut env = reverie_envs::make(&options.env)?;
    let obs_dim = env
        .observation_space()
        .as_box()
        .map(|b| b.dim())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "model-eval needs an env with a Box observation space; {} has {}",
                options.env,
                env.observation_space().describe()
            )
        })?;
    let act_dim = action_width(&env.action_space());
    std::fs::create_dir_all(&options.out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", options.out.display()))?;

    let mut data_rng = streams.rng("data");
    let base = streams.seed("episodes");
    let (train_data, _) = collect(&mut env, Policy::Random, options.steps, base, &mut data_rng)?;
    let (_, held_out) = collect(
        &mut env,
        Policy::Random,
        options.steps / 2,
        base + 1_000_000,
        &mut data_rng,
    )?;
    let (on, _) = collect(
        &mut env,
        Policy::Random,
        2000,
        base + 2_000_000,
        &mut data_rng,
    )?;
    let (off, _) = collect(
        &mut env,
        Policy::Biased,
        2000,
        base + 3_000_000,
        &mut data_rng,
    )?;

    let mut model_rng = streams.rng("model");
    let (model, report) = fit_ensemble(
        &train_data,
        (obs_dim, act_dim),
        options.members,
        &options.hidden_sizes,
        options.max_epochs,
        &mut model_rng,
    )?;
    model.save(&options.out.join("model.safetensors"))?;

    let mut training = Table::new(&["epoch", "train_loss", "val_mse"]);
    for e in &report.epochs {
        training.push(vec![
            e.epoch.to_string(),
            fmt(e.train_loss, 6),
            fmt(e.val_mse, 6),
        ]);
    }
    training.write_csv(&options.out.join("training.csv"))?;

    // Spread of each observation dimension in the training data: errors are in these units.
    let scale = Normalizer::fit(&train_data.obs, obs_dim).std;
    let horizons = compounding_error(&model, &held_out, options.horizon, &scale)?;
    // The seeds' first model beside the ensemble: least squares on [s, a, 1] → [Δs, r].
    let mut linear = LinearModel::fit(&LinearModelConfig::default(), &train_data, obs_dim, act_dim)
        .map_err(|e| anyhow::anyhow!("linear model: {e}"))?;
    let linear_horizons = compounding_error_of(&mut linear, &held_out, options.horizon, &scale)
        .map_err(|e| anyhow::anyhow!(e))?;

    let (d_on, e_on) = disagreement_and_error(&model, &on.obs, &on.actions, &on.next_obs, &scale)?;
    let (d_off, e_off) =
        disagreement_and_error(&model, &off.obs, &off.actions, &off.next_obs, &scale)?;
    let as_f64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let rho_on = spearman(&as_f64(&d_on), &e_on);
    let rho_off = spearman(&as_f64(&d_off), &e_off);
    let d_all: Vec<f32> = d_on.iter().chain(&d_off).copied().collect();
    let e_all: Vec<f64> = e_on.iter().chain(&e_off).copied().collect();
    let rho_all = spearman(&as_f64(&d_all), &e_all);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;

    let mut summary = Table::new(&[
        "k",
        "error_mean",
        "error_std",
        "starts",
        "disagreement_error_spearman",
        "spearman_on_distribution",
        "spearman_off_distribution",
        "linear_error_mean",
    ]);
    let mut per_dim = Table::new(&["k", "dim", "error_mean"]);
    for (h, l) in horizons.iter().zip(&linear_horizons) {
        summary.push(vec![
            h.k.to_string(),
            fmt(h.error_mean, 5),
            fmt(h.error_std, 5),
            h.starts.to_string(),
            fmt(rho_all, 4),
            fmt(rho_on, 4),
            fmt(rho_off, 4),
            fmt(l.error_mean, 5),
        ]);
        for (j, e) in h.per_dim.iter().enumerate() {
            per_dim.push(vec![h.k.to_string(), j.to_string(), fmt(*e, 5)]);
        }
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_dim.write_csv(&options.out.join("per_dim_error.csv"))?;

    let mut calibration = Table::new(&["data", "mean_disagreement", "mean_error", "count"]);
    let bins_on = calibration_bins(&d_on, &e_on, 10);
    let bins_off = calibration_bins(&d_off, &e_off, 10);
    for (name, bins) in [("on", &bins_on), ("off", &bins_off)] {
        for (d, e, n) in bins.iter() {
            calibration.push(vec![name.into(), fmt(*d, 5), fmt(*e, 5), n.to_string()]);
        }
    }
    calibration.write_csv(&options.out.join("calibration.csv"))?;

    let curve = |hs: &[HorizonError]| hs.iter().map(|h| (h.k as f64, h.error_mean)).collect();
    plot_curves(
        &[
            Curve::raw("ensemble (elites' mean)", vec![curve(&horizons)]),
            Curve::raw(
                "linear model (least squares)",
                vec![curve(&linear_horizons)],
            ),
        ],
        &format!("{}: compounding model error", options.env),
        "open-loop steps k",
        "error (RMSE in data standard deviations)",
        &options.out.join("compounding_error"),
    )?;
    let points =
        |bins: &[(f64, f64, usize)]| bins.iter().map(|(d, e, _)| (*d, *e)).collect::<Vec<_>>();
    plot_curves(
        &[
            Curve::raw(
                "random-policy states (on distribution)",
                vec![points(&bins_on)],
            ),
            Curve::raw(
                "biased-policy states (off distribution)",
                vec![points(&bins_off)],
            ),
        ],
        &format!(
            "{}: ensemble disagreement vs actual error (decile bins)",
            options.env
        ),
        "mean ensemble disagreement",
        "mean one-step error",
        &options.out.join("calibration"),
    )?;

    let mut text = format!(
        "model-eval {}: {} members, hidden {:?}, trained on {} random transitions ({} epochs, best {}), seed {}\n\
         error = open-loop RMSE in units of the training data's per-dimension std, mean over {} starts\n\n",
        options.env,
        options.members,
        options.hidden_sizes,
        train_data.len(),
        report.epochs.len(),
        report.best_epoch,
        options.seed,
        horizons.first().map(|h| h.starts).unwrap_or(0)
    );
    let mut short = Table::new(&["k", "error_mean", "error_std", "linear_error_mean"]);
    for (h, l) in horizons
        .iter()
        .zip(&linear_horizons)
        .filter(|(h, _)| [1, 5, 10, 20, options.horizon].contains(&h.k))
    {
        if short.rows.iter().any(|r| r[0] == h.k.to_string()) {
            continue;
        }
        short.push(vec![
            h.k.to_string(),
            fmt(h.error_mean, 4),
            fmt(h.error_std, 4),
            fmt(l.error_mean, 4),
        ]);
    }
    text.push_str(&short.to_text());
    text.push_str(&format!(
        "\ndisagreement vs error (Spearman): on distribution {rho_on:.3}, off distribution {rho_off:.3}, all {rho_all:.3}\n\
         mean disagreement: on {:.4}, off {:.4}; mean one-step error: on {:.4}, off {:.4}\n\
         wall-clock: {:.1} s\n",
        mean(&as_f64(&d_on)),
        mean(&as_f64(&d_off)),
        mean(&e_on),
        mean(&e_off),
        started.elapsed().as_secs_f64()
    ));
    write_atomic(&options.out.join("report.txt"), text.as_bytes())?;
    Ok(text)
}
