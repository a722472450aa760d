//! Self-play on the board games: MuZero (a learned model) and AlphaZero mode (the game's own
//! rules as the model) trained on tic-tac-toe and Connect Four, each final agent then
//! playing fixed opponents, half of the games as each side.

use reverie_envs::board::Opponent;
use reverie_run::versus::{versus_run, MatchRecord};

use super::common::{fmt, Table};
use super::runs::Spec;
use super::ExperimentOptions;
use crate::plot::{plot_curves, read_metric, Curve};

/// Games each final agent plays against each opponent (half as each side).
const GAMES: u32 = 100;

/// `reverie experiment muzero-tictactoe`: MuZero and AlphaZero mode by self-play on
/// tic-tac-toe (their `TicTacToe-v0` presets, seeds `0..3`), each final agent then playing
/// 100 games against perfect play and 100 against a random player.
pub fn run_tictactoe(options: &ExperimentOptions) -> anyhow::Result<String> {
    let specs = [
        Spec::new("MuZero (learned model)", "muzero", "TicTacToe-v0", &[]),
        Spec::new(
            "AlphaZero mode (the rules)",
            "alphazero",
            "TicTacToe-v0",
            &[],
        ),
    ];
    board_experiment(
        "tic-tac-toe",
        &specs,
        &[Opponent::perfect(), Opponent::Random],
        3,
        "issue target: never lose to perfect play over 100 games (50 as each side) and win ≥ 95% against a random player",
        options,
    )
}

/// Trains every spec over the seeds, plays each final agent against `opponents` and writes
/// `summary.csv` (one row per spec and opponent), `seeds.csv` and the learning curves
/// (`eval/episodic_return`: the mean result against the presets' evaluation opponent).
fn board_experiment(
    game: &str,
    specs: &[Spec],
    opponents: &[Opponent],
    default_seeds: usize,
    target: &str,
    options: &ExperimentOptions,
) -> anyhow::Result<String> {
    let seeds = options.seeds.unwrap_or(default_seeds);
    let mut summary = Table::new(&[
        "agent",
        "opponent",
        "seeds",
        "won",
        "drawn",
        "lost",
        "seeds_without_a_loss",
        "win_rate",
    ]);
    let mut per_seed = Table::new(&[
        "agent", "seed", "opponent", "won", "drawn", "lost", "wall_s",
    ]);
    let mut curves = Vec::new();
    for spec in specs {
        let runs = spec.train_seeds(seeds, options)?;
        let mut records = vec![Vec::new(); opponents.len()];
        let mut eval_curves = Vec::new();
        for (seed, (summary, dir)) in runs.iter().enumerate() {
            eval_curves.push(read_metric(dir, "eval/episodic_return")?);
            for (i, opponent) in opponents.iter().enumerate() {
                let record = versus_run(dir, None, *opponent, GAMES, None, &[])?;
                per_seed.push(vec![
                    spec.label.to_string(),
                    seed.to_string(),
                    opponent.to_string(),
                    record.wins.to_string(),
                    record.draws.to_string(),
                    record.losses.to_string(),
                    fmt(summary.wall_time_s, 1),
                ]);
                records[i].push(record);
            }
        }
        for (opponent, records) in opponents.iter().zip(&records) {
            let total = records
                .iter()
                .fold(MatchRecord::default(), |a, r| MatchRecord {
                    wins: a.wins + r.wins,
                    draws: a.draws + r.draws,
                    losses: a.losses + r.losses,
                    lost_games: Vec::new(),
                });
            let unbeaten = records.iter().filter(|r| r.losses == 0).count();
            summary.push(vec![
                spec.label.to_string(),
                opponent.to_string(),
                seeds.to_string(),
                total.wins.to_string(),
                total.draws.to_string(),
                total.losses.to_string(),
                format!("{unbeaten} of {seeds}"),
                fmt(total.win_rate(), 3),
            ]);
        }
        curves.push(Curve::raw(spec.label, eval_curves));
    }
    summary.write_csv(&options.out.join("summary.csv"))?;
    per_seed.write_csv(&options.out.join("seeds.csv"))?;
    plot_curves(
        &curves,
        &format!("Self-play on {game}: mean result against the evaluation opponent (mean ± std over {seeds} seeds)"),
        "environment steps (moves of both sides)",
        "mean result (+1 win, 0 draw, -1 loss)",
        &options.out.join("learning_curves"),
    )?;
    Ok(format!(
        "Self-play on {game}, {seeds} seeds; each final agent played {GAMES} games against each opponent, half as each side ({target})\n\n{}\n{}",
        summary.to_text(),
        per_seed.to_text()
    ))
}
