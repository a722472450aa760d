//! Experiments that ask one question of one or more configurations over the same seeds:
//! when does the deterministic evaluation first reach a threshold, in env steps and in
//! wall-clock, and where does it end?

use super::common::{fmt, mean_ci95, Table};
use super::runs::{median, metric_with_time, Spec};
use super::ExperimentOptions;
use crate::plot::{plot_curves, read_metric, Curve};

/// What each run is asked: the evaluation it must first reach, and the one its final
/// evaluation must hold (issue 21 asks DQN for 500 reached and ≥ 475 at the end). A plain
/// number asks the same of both.
#[derive(Clone, Copy, Debug)]
pub(super) struct Threshold {
    /// The first evaluation at or above it counts as reaching it.
    pub reach: f64,
    /// The final evaluation is counted as held at or above it.
    pub end: f64,
}

impl From<f64> for Threshold {
    fn from(both: f64) -> Self {
        Self {
            reach: both,
            end: both,
        }
    }
}

/// The outcome of one seed against the threshold.
struct Reached {
    final_eval: f64,
    /// First evaluation at or above the threshold: `(steps, seconds)`.
    first: Option<(u64, f64)>,
    wall: f64,
    sps: f64,
}

/// Trains every spec over seeds `0..seeds` and reports, per seed and per configuration,
/// when the evaluation first reaches `threshold.reach`, the final evaluation (and how many
/// seeds end at `threshold.end` or above), wall-clock and throughput. Writes `seeds.csv`,
/// `summary.csv` and `learning_curve.{svg,png}`.
pub(super) fn threshold_experiment(
    specs: &[Spec],
    threshold: impl Into<Threshold>,
    default_seeds: usize,
    published: &str,
    options: &ExperimentOptions,
) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(default_seeds);
    let threshold = threshold.into();
    let mut per_seed = Table::new(&[
        "configuration",
        "seed",
        "final_eval",
        "first_step_at_threshold",
        "seconds_to_threshold",
        "wall_s",
        "sps",
    ]);
    let mut summary = Table::new(&[
        "configuration",
        "seeds",
        "threshold",
        "final_threshold",
        "seeds_reaching_threshold",
        "seeds_final_eval_at_threshold",
        "median_steps_to_threshold",
        "median_seconds_to_threshold",
        "final_eval_mean",
        "final_eval_ci95",
        "wall_s_mean",
        "sps_mean",
    ]);
    let mut curves = Vec::new();
    for spec in specs {
        let mut outcomes = Vec::new();
        let (mut eval_curves, mut train_curves) = (Vec::new(), Vec::new());
        for (seed, (run, dir)) in spec.train_seeds(seeds, options)?.into_iter().enumerate() {
            let evals = metric_with_time(&dir, "eval/episodic_return")?;
            let first = evals
                .iter()
                .find(|(_, v, _)| *v >= threshold.reach)
                .map(|(s, _, t)| (*s, *t));
            let reached = Reached {
                final_eval: run.final_eval_return_mean,
                first,
                wall: run.wall_time_s,
                sps: run.sps,
            };
            per_seed.push(vec![
                spec.label.into(),
                seed.to_string(),
                fmt(reached.final_eval, 1),
                first.map_or("-".into(), |f| f.0.to_string()),
                first.map_or("-".into(), |f| fmt(f.1, 1)),
                fmt(reached.wall, 1),
                fmt(reached.sps, 0),
            ]);
            eval_curves.push(evals.iter().map(|(s, v, _)| (*s as f64, *v)).collect());
            train_curves.push(read_metric(&dir, "charts/episodic_return")?);
            outcomes.push(reached);
        }
        summary.push(summarise(spec.label, seeds, threshold, &outcomes));
        if specs.len() == 1 {
            curves.push(Curve::smoothed("training episodes", train_curves));
            curves.push(Curve::raw("deterministic evaluation", eval_curves));
        } else {
            curves.push(Curve::raw(spec.label, eval_curves));
        }
    }
    per_seed.write_csv(&options.out.join("seeds.csv"))?;
    summary.write_csv(&options.out.join("summary.csv"))?;
    let (title, y) = match specs {
        [one] => (one.label.to_string(), "episodic return"),
        [first, ..] => (
            format!("{}: deterministic evaluation", first.env),
            "evaluation return",
        ),
        [] => anyhow::bail!("a threshold experiment needs a configuration"),
    };
    plot_curves(
        &curves,
        &format!("{title} (mean ± std over {seeds} seeds)"),
        "environment steps",
        y,
        &options.out.join("learning_curve"),
    )?;
    let labels: Vec<&str> = specs.iter().map(|s| s.label).collect();
    let asked = if threshold.end == threshold.reach {
        format!("evaluation return ≥ {}", threshold.reach)
    } else {
        format!(
            "evaluation return ≥ {} reached, final evaluation ≥ {}",
            threshold.reach, threshold.end
        )
    };
    Ok(format!(
        "{}\nthreshold: {asked}\n\n{}\n{}\npublished: {published}\nruns: {}\n",
        labels.join(" | "),
        per_seed.to_text(),
        summary.to_text(),
        options.out.join("runs").display()
    ))
}

/// One configuration's row of `summary.csv`.
fn summarise(label: &str, seeds: usize, threshold: Threshold, outcomes: &[Reached]) -> Vec<String> {
    let solved: Vec<(u64, f64)> = outcomes.iter().filter_map(|o| o.first).collect();
    let final_solved = outcomes
        .iter()
        .filter(|o| o.final_eval >= threshold.end)
        .count();
    let mut steps: Vec<f64> = solved.iter().map(|f| f.0 as f64).collect();
    let mut secs: Vec<f64> = solved.iter().map(|f| f.1).collect();
    let finals: Vec<f64> = outcomes.iter().map(|o| o.final_eval).collect();
    let walls: Vec<f64> = outcomes.iter().map(|o| o.wall).collect();
    let sps: Vec<f64> = outcomes.iter().map(|o| o.sps).collect();
    let (final_mean, final_ci) = mean_ci95(&finals);
    vec![
        label.into(),
        seeds.to_string(),
        fmt(threshold.reach, 0),
        fmt(threshold.end, 0),
        solved.len().to_string(),
        final_solved.to_string(),
        fmt(median(&mut steps), 0),
        fmt(median(&mut secs), 1),
        fmt(final_mean, 1),
        fmt(final_ci, 1),
        fmt(mean_ci95(&walls).0, 1),
        fmt(mean_ci95(&sps).0, 0),
    ]
}
