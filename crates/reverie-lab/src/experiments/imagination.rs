//! Learning from imagined experience: MBPO against SAC, neural Dyna against DQN, and
//! MBPO's rollout length (the seeds' claim that long model rollouts teach model error).

use super::common::{fmt, mean_ci95, Table};
use super::runs::{median, metric_with_time, Spec};
use super::ExperimentOptions;
use crate::plot::{plot_curves, read_metric, Curve};

/// One env of `mbpo-vs-sac`: MBPO and SAC runs and the evaluation threshold both chase.
struct Comparison {
    env: &'static str,
    threshold: f64,
    mbpo: Spec,
    sac: Spec,
    /// SAC's budget in a published tuning, for the ratio the seeds quote.
    sac_budget: f64,
}

/// `reverie experiment mbpo-vs-sac`: real environment steps MBPO and SAC each need to reach
/// an evaluation threshold on Pendulum-v1 (−200) and on the cart-pole swing-up, over the
/// same seeds.
pub fn run_mbpo_vs_sac(options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(5);
    let comparisons = [
        Comparison {
            env: "Pendulum-v1",
            threshold: -200.0,
            mbpo: Spec::new(
                "MBPO Pendulum-v1",
                "mbpo",
                "Pendulum-v1",
                &["total_steps=2500", "eval_every=250"],
            ),
            sac: Spec::new(
                "SAC Pendulum-v1",
                "sac",
                "Pendulum-v1",
                &["total_steps=10000", "eval_every=500"],
            ),
            sac_budget: 20_000.0,
        },
        Comparison {
            env: "CartPoleSwingUp-v0",
            threshold: SWINGUP_THRESHOLD,
            mbpo: Spec::new(
                "MBPO CartPoleSwingUp-v0",
                "mbpo",
                "CartPoleSwingUp-v0",
                &["total_steps=3000", "eval_every=500"],
            ),
            sac: Spec::new(
                "SAC CartPoleSwingUp-v0",
                "sac",
                "CartPoleSwingUp-v0",
                &["total_steps=50000", "eval_every=2500"],
            ),
            sac_budget: f64::NAN,
        },
    ];
    let mut per_seed = Table::new(&[
        "configuration",
        "seed",
        "first_real_step_at_threshold",
        "seconds_to_threshold",
        "final_eval",
        "wall_s",
    ]);
    let mut summary = Table::new(&[
        "configuration",
        "threshold",
        "seeds",
        "seeds_reaching_threshold",
        "median_real_steps_to_threshold",
        "median_seconds_to_threshold",
        "final_eval_mean",
        "wall_s_mean",
        "ratio_sac_over_mbpo",
    ]);
    let mut ratios = String::new();
    for comparison in &comparisons {
        let threshold = comparison.threshold;
        let (mut curves, mut medians, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for spec in [&comparison.mbpo, &comparison.sac] {
            let (mut steps, mut secs, mut finals, mut walls, mut runs) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for (seed, (summary_run, dir)) in
                spec.train_seeds(seeds, options)?.into_iter().enumerate()
            {
                let evals = metric_with_time(&dir, "eval/episodic_return")?;
                let first = evals.iter().find(|(_, v, _)| *v >= threshold);
                per_seed.push(vec![
                    spec.label.into(),
                    seed.to_string(),
                    first.map_or("-".into(), |f| f.0.to_string()),
                    first.map_or("-".into(), |f| fmt(f.2, 1)),
                    fmt(summary_run.final_eval_return_mean, 1),
                    fmt(summary_run.wall_time_s, 1),
                ]);
                if let Some(f) = first {
                    steps.push(f.0 as f64);
                    secs.push(f.2);
                }
                finals.push(summary_run.final_eval_return_mean);
                walls.push(summary_run.wall_time_s);
                runs.push(evals.iter().map(|(s, v, _)| (*s as f64, *v)).collect());
            }
            let reached = steps.len();
            let median_steps = median(&mut steps);
            medians.push(median_steps);
            rows.push(vec![
                spec.label.into(),
                fmt(threshold, 0),
                seeds.to_string(),
                reached.to_string(),
                fmt(median_steps, 0),
                fmt(median(&mut secs), 1),
                fmt(mean_ci95(&finals).0, 1),
                fmt(mean_ci95(&walls).0, 1),
            ]);
            curves.push(Curve::raw(spec.label, runs));
        }
        let ratio = medians[1] / medians[0];
        for mut row in rows {
            row.push(fmt(ratio, 1));
            summary.push(row);
        }
        ratios.push_str(&format!(
            "{}: ratio of median real steps to {threshold}, SAC / MBPO: {}",
            comparison.env,
            fmt(ratio, 1)
        ));
        if comparison.sac_budget.is_finite() {
            ratios.push_str(&format!(
                " (against SAC's rl-zoo budget of {} steps: {}×; the seeds claim 10–20×)",
                comparison.sac_budget,
                fmt(comparison.sac_budget / medians[0], 1)
            ));
        }
        ratios.push('\n');
        plot_curves(
            &curves,
            &format!(
                "MBPO vs SAC on {} ({seeds} seeds, mean ± std)",
                comparison.env
            ),
            "real environment steps",
            "deterministic evaluation return",
            &options.out.join(format!("mbpo_vs_sac_{}", comparison.env)),
        )?;
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_seed.write_csv(&options.out.join("seeds.csv"))?;
    Ok(format!(
        "MBPO vs SAC, {seeds} seeds: real steps to an evaluation threshold\n\n{}\n{}\n{ratios}",
        per_seed.to_text(),
        summary.to_text(),
    ))
}

/// The swing-up threshold: more than half the episode's maximum return of 200, which needs
/// the pole swung up and held.
const SWINGUP_THRESHOLD: f64 = 100.0;

/// `reverie experiment dyna-neural`: DQN versus neural Dyna with 5 and 10 planning steps on
/// CartPole-v1, and DQN with as many updates as planning 5 on real data only: real steps
/// until an evaluation first reaches 500, same seeds.
pub fn run_dyna_neural(options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(5);
    let threshold = 500.0;
    let specs = [
        Spec::new(
            "planning 0 (DQN)",
            "neural-dyna",
            "CartPole-v1",
            &["agent.planning_steps=0", "eval_every=2500"],
        ),
        Spec::new(
            "planning 5",
            "neural-dyna",
            "CartPole-v1",
            &["agent.planning_steps=5", "eval_every=2500"],
        ),
        Spec::new(
            "planning 10",
            "neural-dyna",
            "CartPole-v1",
            &["agent.planning_steps=10", "eval_every=2500"],
        ),
        // The control van Hasselt et al. (2019) ask for: as many updates as planning 5
        // (128 real + 5 × 128 imagined per phase), all on replayed real data.
        Spec::new(
            "planning 0, 768 updates per phase",
            "neural-dyna",
            "CartPole-v1",
            &[
                "agent.planning_steps=0",
                "agent.dqn.gradient_steps=768",
                "eval_every=2500",
            ],
        ),
    ];
    let mut per_seed = Table::new(&[
        "configuration",
        "seed",
        "first_real_step_at_500",
        "final_eval",
        "best_eval",
        "wall_s",
    ]);
    let mut summary = Table::new(&[
        "configuration",
        "seeds",
        "seeds_reaching_500",
        "median_real_steps_to_500",
        "seeds_final_eval_500",
        "wall_s_mean",
    ]);
    let mut firsts: Vec<Vec<Option<u64>>> = Vec::new();
    let mut curves = Vec::new();
    for spec in &specs {
        let (mut steps, mut seed_firsts, mut finals, mut walls, mut runs) =
            (Vec::new(), Vec::new(), 0, Vec::new(), Vec::new());
        for (seed, (summary_run, dir)) in spec.train_seeds(seeds, options)?.into_iter().enumerate()
        {
            let evals = metric_with_time(&dir, "eval/episodic_return")?;
            let first = evals.iter().find(|(_, v, _)| *v >= threshold).map(|f| f.0);
            per_seed.push(vec![
                spec.label.into(),
                seed.to_string(),
                first.map_or("-".into(), |f| f.to_string()),
                fmt(summary_run.final_eval_return_mean, 1),
                fmt(summary_run.best_eval_return_mean, 1),
                fmt(summary_run.wall_time_s, 1),
            ]);
            steps.extend(first.map(|f| f as f64));
            seed_firsts.push(first);
            finals += (summary_run.final_eval_return_mean >= threshold) as usize;
            walls.push(summary_run.wall_time_s);
            runs.push(evals.iter().map(|(s, v, _)| (*s as f64, *v)).collect());
        }
        summary.push(vec![
            spec.label.into(),
            seeds.to_string(),
            steps.len().to_string(),
            fmt(median(&mut steps), 0),
            finals.to_string(),
            fmt(mean_ci95(&walls).0, 1),
        ]);
        firsts.push(seed_firsts);
        curves.push(Curve::raw(spec.label, runs));
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_seed.write_csv(&options.out.join("seeds.csv"))?;
    plot_curves(
        &curves,
        &format!("DQN vs neural Dyna on CartPole-v1 ({seeds} seeds, mean ± std)"),
        "real environment steps",
        "deterministic evaluation return",
        &options.out.join("dyna_neural"),
    )?;
    // Seeds on which configuration k reached 500 strictly earlier than configuration `base`
    // (a seed where `base` never reached it counts when k did).
    let earlier = |k: usize, base: usize| {
        (0..seeds)
            .filter(|&s| match (firsts[k][s], firsts[base][s]) {
                (Some(d), Some(q)) => d < q,
                (Some(_), None) => true,
                _ => false,
            })
            .count()
    };
    Ok(format!(
        "DQN (rl-zoo CartPole-v1) vs neural Dyna, {seeds} seeds, evaluation every 2,500 steps\n\n{}\n{}\n\
seeds where neural Dyna reached 500 in fewer real steps than DQN: planning 5: {}/{seeds}, planning 10: {}/{seeds}\n\
seeds where planning 5 reached 500 sooner than DQN with as many updates on real data: {}/{seeds}\n",
        per_seed.to_text(),
        summary.to_text(),
        earlier(1, 0),
        earlier(2, 0),
        earlier(1, 3),
    ))
}

/// Mean of a run's metric over all its logged points (NaN when it was never logged).
fn metric_mean(run: &std::path::Path, name: &str) -> anyhow::Result<f64> {
    let points = read_metric(run, name)?;
    let values: Vec<f64> = points.iter().map(|p| p.1).collect();
    Ok(mean_ci95(&values).0)
}

/// `reverie experiment rollout-length`: MBPO on Pendulum-v1 with fixed rollout lengths 1,
/// 5, 15 and 50, and length 50 stopped where the elites disagree. Every configuration
/// measures the ensemble disagreement along its rollouts (a threshold of `inf` stops
/// nothing), so the table shows how far each length carries the policy's training data from
/// the states the model was trained on, beside what that does to the returns.
pub fn run_rollout_length(options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(3);
    let threshold = -200.0;
    let stop_at = 0.05;
    let configs: [(&'static str, usize, f64); 5] = [
        ("length 1", 1, f64::INFINITY),
        ("length 5", 5, f64::INFINITY),
        ("length 15", 15, f64::INFINITY),
        ("length 50", 50, f64::INFINITY),
        ("length 50, stopped at 0.05", 50, stop_at),
    ];
    let rollouts_per_step = 20;
    let starts_per_refill = rollouts_per_step * 250;
    let mut per_seed = Table::new(&[
        "configuration",
        "seed",
        "first_real_step_at_threshold",
        "eval_mean_over_run",
        "final_eval",
        "disagreement_first_step",
        "disagreement_last_step",
        "imagined_steps_per_rollout",
        "wall_s",
    ]);
    let mut summary = Table::new(&[
        "configuration",
        "rollout_length",
        "max_disagreement",
        "seeds",
        "seeds_reaching_threshold",
        "median_real_steps_to_threshold",
        "eval_mean_over_run",
        "final_eval_mean",
        "disagreement_first_step",
        "disagreement_last_step",
        "imagined_steps_per_rollout",
        "wall_s_mean",
    ]);
    let (mut return_curves, mut disagreement_curves) = (Vec::new(), Vec::new());
    for (label, length, max_disagreement) in configs {
        let overrides = [
            "total_steps=2000".to_string(),
            "eval_every=250".to_string(),
            format!("agent.rollouts_per_step={rollouts_per_step}"),
            format!("agent.rollout_schedule=[0.0, 1.0, {length}.0, {length}.0]"),
            if max_disagreement.is_finite() {
                format!("agent.max_disagreement={max_disagreement}")
            } else {
                "agent.max_disagreement=inf".to_string()
            },
        ];
        let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
        let spec = Spec::new(label, "mbpo", "Pendulum-v1", &overrides);
        let mut columns: [Vec<f64>; 6] = Default::default();
        let mut steps = Vec::new();
        let (mut returns, mut disagreements) = (Vec::new(), Vec::new());
        for (seed, (summary_run, dir)) in spec.train_seeds(seeds, options)?.into_iter().enumerate()
        {
            let evals = read_metric(&dir, "eval/episodic_return")?;
            let first = evals.iter().find(|(_, v)| *v >= threshold).map(|p| p.0);
            let over_run = mean_ci95(&evals.iter().map(|p| p.1).collect::<Vec<_>>()).0;
            let first_step = metric_mean(&dir, "model/disagreement_first_step_mean")?;
            let last_step = metric_mean(&dir, "model/disagreement_last_step_mean")?;
            let per_rollout =
                metric_mean(&dir, "model/imagined_stored")? / starts_per_refill as f64;
            let values = [
                over_run,
                summary_run.final_eval_return_mean,
                first_step,
                last_step,
                per_rollout,
                summary_run.wall_time_s,
            ];
            per_seed.push(vec![
                label.into(),
                seed.to_string(),
                first.map_or("-".into(), |f| fmt(f, 0)),
                fmt(values[0], 1),
                fmt(values[1], 1),
                fmt(values[2], 4),
                fmt(values[3], 4),
                fmt(values[4], 2),
                fmt(values[5], 1),
            ]);
            for (column, value) in columns.iter_mut().zip(values) {
                column.push(value);
            }
            steps.extend(first);
            returns.push(evals);
            disagreements.push(read_metric(&dir, "model/disagreement_last_step_mean")?);
        }
        let reached = steps.len();
        summary.push(vec![
            label.into(),
            length.to_string(),
            if max_disagreement.is_finite() {
                fmt(max_disagreement, 2)
            } else {
                "none".into()
            },
            seeds.to_string(),
            reached.to_string(),
            fmt(median(&mut steps), 0),
            fmt(mean_ci95(&columns[0]).0, 1),
            fmt(mean_ci95(&columns[1]).0, 1),
            fmt(mean_ci95(&columns[2]).0, 4),
            fmt(mean_ci95(&columns[3]).0, 4),
            fmt(mean_ci95(&columns[4]).0, 2),
            fmt(mean_ci95(&columns[5]).0, 1),
        ]);
        return_curves.push(Curve::raw(label, returns));
        disagreement_curves.push(Curve::raw(label, disagreements));
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_seed.write_csv(&options.out.join("seeds.csv"))?;
    plot_curves(
        &return_curves,
        &format!("MBPO rollout length on Pendulum-v1 ({seeds} seeds, mean ± std)"),
        "real environment steps",
        "deterministic evaluation return",
        &options.out.join("returns"),
    )?;
    plot_curves(
        &disagreement_curves,
        "Ensemble disagreement at the last step of the rollouts",
        "real environment steps",
        "mean disagreement (std across elites)",
        &options.out.join("disagreement"),
    )?;
    Ok(format!(
        "MBPO on Pendulum-v1 with fixed rollout lengths, {seeds} seeds, 2,000 real steps, \
{rollouts_per_step} rollouts per real step, evaluation every 250 steps (threshold {threshold})\n\n{}\n{}\n",
        per_seed.to_text(),
        summary.to_text(),
    ))
}
