//! World Models (Ha & Schmidhuber 2018) on CartPole-v1: the controller searched in the real
//! env against the controller searched only inside the learned model, and how the dream's
//! temperature τ moves the gap between the return the dream promises and the one reality
//! gives.

use super::common::{fmt, mean_ci95, Table};
use super::runs::Spec;
use super::threshold::threshold_experiment;
use super::ExperimentOptions;
use crate::plot::{plot_curves, read_metric, Curve};

/// The published claim the experiments are set beside.
const PUBLISHED: &str = "Ha & Schmidhuber 2018, VizDoom Take Cover (table 2): the controller trained only in the dream scores 1092 ± 556 in reality at τ = 1.15 (918 in the dream; the task counts 750 as solved); at τ = 0.10 the dream is exploited: 2086 in the dream, 193 in reality";

/// `reverie experiment world-models-cartpole`: the controller searched in reality (40k
/// real steps) against the controller searched in the dream (the CartPole-v1 preset: 4,000
/// random steps, then a round of M every 1,500 real steps to 16k), and the dream with one
/// round only (the paper's procedure), over the same seeds.
pub fn run_cartpole(options: &ExperimentOptions) -> anyhow::Result<String> {
    let specs = [
        Spec::new(
            "controller trained in reality",
            "world-models",
            "CartPole-v1",
            &[
                "agent.train_in=\"real\"",
                "agent.iterations=1",
                "agent.num_envs=4",
                "total_steps=40000",
                "eval_every=2000",
            ],
        ),
        Spec::new(
            "controller trained in the dream (a round of M every 1,500 steps)",
            "world-models",
            "CartPole-v1",
            &[],
        ),
        Spec::new(
            "controller trained in the dream (1 round, random episodes only)",
            "world-models",
            "CartPole-v1",
            &["agent.iterations=1"],
        ),
    ];
    threshold_experiment(&specs, 475.0, 3, PUBLISHED, options)
}

/// `reverie experiment world-models-temperature`: the dream-trained controller (the preset)
/// at τ = 0.5, 1.0, 1.5 and 2.0. For each, the return the acting controller (the CMA-ES
/// mean) gets in the dream over the run's last 1,000 real steps of generations, and in
/// reality (its final evaluation); `by_temperature.png` draws both against τ.
pub fn run_temperature(options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(3);
    let mut table = Table::new(&[
        "temperature",
        "seeds",
        "dream_return_mean",
        "real_return_mean",
        "real_return_ci95",
        "real_over_dream",
    ]);
    let mut per_seed = Table::new(&["temperature", "seed", "dream_return", "real_return"]);
    let (mut dream_curves, mut real_curves) = (vec![Vec::new(); seeds], vec![Vec::new(); seeds]);
    let temperatures = [
        ("0.5", "dream at temperature 0.5"),
        ("1.0", "dream at temperature 1.0"),
        ("1.5", "dream at temperature 1.5"),
        ("2.0", "dream at temperature 2.0"),
    ];
    for (tau, label) in temperatures {
        let over = format!("agent.temperature={tau}");
        let spec = Spec::new(label, "world-models", "CartPole-v1", &[over.as_str()]);
        let (mut dream, mut real) = (Vec::new(), Vec::new());
        for (seed, (run, dir)) in spec.train_seeds(seeds, options)?.into_iter().enumerate() {
            let curve = read_metric(&dir, "dream/mean_controller_return")?;
            let end = curve.last().map_or(0.0, |(step, _)| *step);
            let last: Vec<f64> = curve
                .iter()
                .filter(|(step, _)| *step > end - 1000.0)
                .map(|(_, v)| *v)
                .collect();
            let in_dream = last.iter().sum::<f64>() / last.len().max(1) as f64;
            let t: f64 = tau.parse()?;
            dream_curves[seed].push((t, in_dream));
            real_curves[seed].push((t, run.final_eval_return_mean));
            per_seed.push(vec![
                tau.into(),
                seed.to_string(),
                fmt(in_dream, 1),
                fmt(run.final_eval_return_mean, 1),
            ]);
            dream.push(in_dream);
            real.push(run.final_eval_return_mean);
        }
        let (dream_mean, _) = mean_ci95(&dream);
        let (real_mean, real_ci) = mean_ci95(&real);
        table.push(vec![
            tau.into(),
            seeds.to_string(),
            fmt(dream_mean, 1),
            fmt(real_mean, 1),
            fmt(real_ci, 1),
            fmt(real_mean / dream_mean, 2),
        ]);
    }
    per_seed.write_csv(&options.out.join("seeds.csv"))?;
    table.write_csv(&options.out.join("summary.csv"))?;
    plot_curves(
        &[
            Curve::raw("return in the dream", dream_curves),
            Curve::raw("return in reality", real_curves),
        ],
        &format!("World Models, CartPole-v1: the dream-trained controller (mean ± std over {seeds} seeds)"),
        "dream temperature τ",
        "episodic return",
        &options.out.join("by_temperature"),
    )?;
    Ok(format!(
        "World Models on CartPole-v1: the dream's temperature\n\n{}\n{}\npublished: {PUBLISHED}\n",
        table.to_text(),
        per_seed.to_text()
    ))
}
