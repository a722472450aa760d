//! Self-play on tic-tac-toe within a CI budget: the env's legal moves and player to move
//! reach the agents through the driver (a random agent trains and is evaluated without an
//! illegal move), and AlphaZero mode (its `TicTacToe-v0` preset, seed 0) plays perfect
//! tic-tac-toe after 5,000 moves of self-play.

use std::path::PathBuf;

use reverie_envs::board::Opponent;
use reverie_run::versus::versus_run;
use reverie_run::{resolve, train, ConfigRequest, RunLocation, TrainSummary};

/// Trains `algo` on TicTacToe-v0 for `steps` moves (seed 0) into a fresh temporary folder.
fn train_tictactoe(algo: &str, steps: u64, overrides: &[&str]) -> (TrainSummary, PathBuf) {
    let config = resolve(&ConfigRequest {
        algo: algo.into(),
        env: "TicTacToe-v0".into(),
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
        seed: Some(0),
        steps: Some(steps),
        ..Default::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("reverie-{algo}-self-play-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let summary = train(&config, &RunLocation::At(dir.clone()), false).unwrap();
    (summary, dir)
}

#[test]
fn a_random_agent_plays_only_legal_moves_and_is_evaluated_against_an_opponent() {
    let (summary, dir) = train_tictactoe(
        "random",
        2_000,
        &[
            "eval_every=1000",
            "eval_episodes=10",
            "eval_opponent=\"perfect\"",
        ],
    );
    // Perfect play never loses; a random player rarely even draws.
    assert!(summary.best_eval_return_mean < 0.0, "{summary:?}");
    assert!(summary.episodes > 2_000 / 9, "{summary:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_opponent_is_refused_on_a_one_player_env() {
    let config = resolve(&ConfigRequest {
        algo: "random".into(),
        env: "CartPole-v1".into(),
        overrides: vec!["eval_opponent=\"perfect\"".into()],
        seed: Some(0),
        steps: Some(100),
        ..Default::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("reverie-opponent-refused-{}", std::process::id()));
    let err = train(&config, &RunLocation::At(dir.clone()), false).unwrap_err();
    assert!(format!("{err:#}").contains("not a board game"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn alphazero_plays_perfect_tic_tac_toe_after_5k_moves() {
    let (_, dir) = train_tictactoe("alphazero", 5_000, &["eval_every=0"]);
    let perfect = versus_run(&dir, None, Opponent::perfect(), 20, None, &[]).unwrap();
    assert_eq!(perfect.losses, 0, "against perfect play: {perfect:?}");
    let random = versus_run(&dir, None, Opponent::Random, 20, None, &[]).unwrap();
    assert!(
        random.losses == 0 && random.wins >= 15,
        "against random: {random:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
