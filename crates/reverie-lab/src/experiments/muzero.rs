//! MuZero's results: CartPole-v1 with pUCT at 25 simulations and Gumbel MuZero at 8 and 4,
//! beside AlphaZero mode, DQN and PPO on the same seeds; and what the search adds to the
//! same trained networks.

use reverie_run::eval::eval_run_with;

use super::common::{fmt, mean_ci95, Table};
use super::runs::Spec;
use super::threshold::threshold_experiment;
use super::ExperimentOptions;
use crate::plot::{plot_curves, Curve};

/// `reverie experiment muzero-cartpole`: real steps and wall-clock to an evaluation of 475
/// on CartPole-v1 (50k steps, seeds `0..5`, one thread a run), for MuZero with 25 pUCT
/// simulations, Gumbel MuZero with 8 (c_scale 0.05) and 4 (c_scale 0.1, mctx's
/// `value_scale`), DQN and PPO (their CartPole presets). At the paper's c_scale 1.0 and two
/// actions, σ(q̂) swamps the Gumbel noise: 4 simulations stayed at ~10 on seed 0. At 8
/// simulations, 0.1 reached 475 on 3 seeds of 5, 0.25 on 2 (the others collapsed to one
/// action, ~9.4), 0.05 on all 5. AlphaZero mode is `alphazero-cartpole`.
pub fn run_cartpole(options: &ExperimentOptions) -> anyhow::Result<String> {
    let common = ["total_steps=50000", "eval_every=2500", "threads=1"];
    let spec = |label: &'static str, algo: &'static str, extra: &[&str]| {
        let overrides: Vec<&str> = common.iter().chain(extra).copied().collect();
        Spec::new(label, algo, "CartPole-v1", &overrides)
    };
    let gumbel = |simulations: &'static str, c_scale: &'static str| {
        [
            "agent.search.selection.kind=\"gumbel\"",
            c_scale,
            simulations,
        ]
    };
    let specs = [
        spec("MuZero, pUCT, 25 simulations", "muzero", &[]),
        spec(
            "Gumbel MuZero, 8 simulations",
            "muzero",
            &gumbel(
                "agent.search.simulations=8",
                "agent.search.selection.c_scale=0.05",
            ),
        ),
        spec(
            "Gumbel MuZero, 4 simulations",
            "muzero",
            &gumbel(
                "agent.search.simulations=4",
                "agent.search.selection.c_scale=0.1",
            ),
        ),
        spec(
            "DQN (rl-zoo)",
            "dqn",
            &["agent.n_step=1", "agent.final_lr_fraction=1.0"],
        ),
        spec("PPO (rl-zoo)", "ppo", &[]),
    ];
    threshold_experiment(
        &specs,
        475.0,
        5,
        "issue target: ≥ 475 within 50k steps on ≥ 4 of 5 seeds at 25–50 simulations and with Gumbel at 4–8; LightZero's MuZero: 145 of 200 after 10 minutes (2,101 env steps) on this machine",
        options,
    )
}

/// `reverie experiment alphazero-cartpole`: AlphaZero mode (MuZero's search and training,
/// the env's own simulator as the dynamics) on CartPole-v1, on `muzero-cartpole`'s seeds,
/// budget and evaluation: real steps and wall-clock to 475.
pub fn run_alphazero(options: &ExperimentOptions) -> anyhow::Result<String> {
    let spec = Spec::new(
        "AlphaZero mode, 25 simulations",
        "alphazero",
        "CartPole-v1",
        &["total_steps=50000", "eval_every=2500", "threads=1"],
    );
    threshold_experiment(
        &[spec],
        475.0,
        5,
        "muzero-cartpole's MuZero row (the learned dynamics) on the same seeds: 5 of 5, median 10k steps",
        options,
    )
}

/// How `muzero-search` acts with each trained network: `(label, x on the plot, overrides)`;
/// the policy head alone sits at x = 0.
const ACTING: &[(&str, f64, &str)] = &[
    ("policy head, no search", 0.0, "agent.eval_by=\"prior\""),
    ("8 simulations", 8.0, "agent.search.simulations=8"),
    ("25 simulations", 25.0, "agent.search.simulations=25"),
    ("100 simulations", 100.0, "agent.search.simulations=100"),
];

/// Env steps each network trains for in `muzero-search`: short of the ~5k–15k at which
/// the runs of `muzero-cartpole` reach 500, so that the networks are still imperfect and
/// there is something for a search to add.
const SEARCH_TRAIN_STEPS: u64 = 4000;

/// Evaluation episodes per network and way of acting.
const SEARCH_EPISODES: u32 = 20;

/// `reverie experiment muzero-search`: MuZero trained on CartPole-v1 for 4k env steps (25
/// pUCT simulations, seeds `0..5`), then each network evaluated over 20 episodes acting
/// from its policy head alone and searching with 8, 25 and 100 simulations.
pub fn run_search(options: &ExperimentOptions) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(5);
    let steps = format!("total_steps={SEARCH_TRAIN_STEPS}");
    let spec = Spec::new(
        "MuZero, 4k steps",
        "muzero",
        "CartPole-v1",
        &[&steps, "eval_every=0", "threads=1"],
    );
    let runs = spec.train_seeds(seeds, options)?;
    // returns[acting][seed]
    let mut returns = vec![Vec::new(); ACTING.len()];
    for (_, dir) in &runs {
        for (i, (_, _, set)) in ACTING.iter().enumerate() {
            let report = eval_run_with(dir, None, SEARCH_EPISODES, None, &[set.to_string()])?;
            returns[i].push(report.mean);
        }
    }
    let mut table = Table::new(&["acting", "mean_return", "ci95", "per_seed"]);
    for ((label, _, _), values) in ACTING.iter().zip(&returns) {
        let (mean, ci) = mean_ci95(values);
        table.push(vec![
            label.to_string(),
            fmt(mean, 1),
            fmt(ci, 1),
            values
                .iter()
                .map(|v| fmt(*v, 1))
                .collect::<Vec<_>>()
                .join(" / "),
        ]);
    }
    table.write_csv(&options.out.join("summary.csv"))?;
    let per_seed: Vec<Vec<(f64, f64)>> = (0..runs.len())
        .map(|seed| {
            ACTING
                .iter()
                .zip(&returns)
                .map(|((_, x, _), values)| (*x, values[seed]))
                .collect()
        })
        .collect();
    plot_curves(
        &[Curve::raw("the same networks, acting differently", per_seed)],
        &format!(
            "MuZero on CartPole-v1 after {}k steps: return by simulations per action (0: policy head), {seeds} seeds",
            SEARCH_TRAIN_STEPS / 1000
        ),
        "simulations per action",
        &format!("mean return over {SEARCH_EPISODES} episodes"),
        &options.out.join("return_by_simulations"),
    )?;
    Ok(format!(
        "MuZero, CartPole-v1, networks trained {SEARCH_TRAIN_STEPS} env steps with 25 simulations, {seeds} seeds; each evaluated over {SEARCH_EPISODES} episodes\n\n{}",
        table.to_text()
    ))
}
