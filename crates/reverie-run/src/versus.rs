//! `reverie eval RUN --opponent ...`: a self-play agent's games against a fixed
//! [`Opponent`] on a board game, half of them as each side.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use reverie_core::{Agent, BoxedEnv, Mode, ObsBatch, Rng, Space, Turns};
use reverie_envs::board::Opponent;

use crate::config::TrainConfig;
use crate::eval::load_run;

/// How an agent's games against an opponent ended, from the agent's view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MatchRecord {
    /// Games the agent won.
    pub wins: u32,
    /// Games drawn.
    pub draws: u32,
    /// Games the agent lost.
    pub losses: u32,
    /// The moves of the first lost games (at most [`MAX_LOST_GAMES_KEPT`]): what to look at
    /// to see why.
    pub lost_games: Vec<LostGame>,
}

/// Lost games a [`MatchRecord`] keeps the moves of.
pub const MAX_LOST_GAMES_KEPT: usize = 10;

/// The moves of one lost game, both sides' in order (actions: cells or columns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LostGame {
    /// Whether the agent made the first move.
    pub agent_moved_first: bool,
    /// Every move of the game, the first player's first.
    pub moves: Vec<i64>,
}

impl MatchRecord {
    /// Games played.
    pub fn games(&self) -> u32 {
        self.wins + self.draws + self.losses
    }

    /// Wins over games played (0 when none were).
    pub fn win_rate(&self) -> f64 {
        f64::from(self.wins) / f64::from(self.games().max(1))
    }

    /// The mean and standard deviation of the agent's results, +1 a win, 0 a draw, −1 a
    /// loss.
    pub fn score(&self) -> (f64, f64) {
        let n = f64::from(self.games().max(1));
        let mean = (f64::from(self.wins) - f64::from(self.losses)) / n;
        let second = f64::from(self.wins + self.losses) / n;
        (mean, (second - mean * mean).max(0.0).sqrt())
    }
}

/// An opponent on a named board game: what a run's evaluation plays against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versus {
    /// The opponent.
    pub opponent: Opponent,
    /// The registered id of the game.
    pub env_id: String,
}

impl Versus {
    /// The opponent a run's `eval_opponent` names, if any; refused with the reason when the
    /// name is unknown or the env is not a board game.
    pub fn of_config(config: &TrainConfig) -> anyhow::Result<Option<Self>> {
        let Some(name) = config.eval_opponent.as_deref() else {
            return Ok(None);
        };
        let opponent = name
            .parse()
            .map_err(|e: String| anyhow::anyhow!("eval_opponent: {e}"))?;
        if !reverie_envs::board::is_board_game(&config.env.id) {
            anyhow::bail!(
                "eval_opponent = {name:?}: {} is not a board game (opponents play TicTacToe-v0 \
                 and ConnectFour-v0)",
                config.env.id
            );
        }
        Ok(Some(Self {
            opponent,
            env_id: config.env.id.clone(),
        }))
    }
}

/// Plays `games` games of the board game `env` (registered as `env_id`) between `agent`,
/// acting by its deterministic policy ([`Mode::Evaluate`]) with the env's legal actions and
/// player to move, and `opponent`, whose ties are drawn from `seed`. The agent moves first in
/// the even-numbered games and second in the odd ones; the games' first-player rewards
/// (+1, −1, 0) decide each result.
pub fn play_matches(
    agent: &mut dyn Agent,
    env: &mut BoxedEnv,
    env_id: &str,
    opponent: Opponent,
    games: u32,
    seed: u64,
) -> anyhow::Result<MatchRecord> {
    let space = env.action_space();
    if !matches!(space, Space::Discrete { .. }) {
        anyhow::bail!(
            "{env_id} has {} actions; board games have discrete ones",
            space.describe()
        );
    }
    let mut rng = Rng::seed_from_u64(seed);
    let mut record = MatchRecord::default();
    let mut chosen = Vec::with_capacity(1);
    for game in 0..games {
        let agent_side = (game % 2) as u8;
        let mut turns = Turns::for_space(1, &space);
        let (mut obs, info) = env.reset(Some(seed.wrapping_add(u64::from(game))));
        turns.record(0, &info);
        let mut carry = agent.initial_carry(1);
        let mut first = true;
        let mut moves = Vec::new();
        loop {
            let to_play = turns.player(0).with_context(|| {
                format!("{env_id} does not name the player to move (info[\"to_play\"]): not a two-player game")
            })?;
            let action = if to_play == agent_side {
                agent.act(
                    &ObsBatch::single(&obs),
                    &turns.context(&[first]),
                    &mut carry,
                    Mode::Evaluate,
                    &mut chosen,
                );
                first = false;
                chosen[0].clone()
            } else {
                let state = env
                    .simulator()
                    .with_context(|| format!("{env_id} cannot show its position to an opponent"))?
                    .state();
                let choice = opponent
                    .choose(env_id, &state, &mut rng)
                    .map_err(anyhow::Error::msg)?;
                reverie_core::Action::Discrete(choice as i64)
            };
            let step = env.step(&action).with_context(|| {
                format!(
                    "game {game}: the {} chose an invalid move",
                    if to_play == agent_side {
                        "agent"
                    } else {
                        "opponent"
                    }
                )
            })?;
            turns.record(0, &step.info);
            moves.push(action.as_discrete().unwrap_or(-1));
            obs = step.obs;
            if step.terminated || step.truncated {
                let agent_reward = reverie_core::mover_reward(step.reward, agent_side);
                match agent_reward {
                    r if r > 0.0 => record.wins += 1,
                    r if r < 0.0 => {
                        record.losses += 1;
                        if record.lost_games.len() < MAX_LOST_GAMES_KEPT {
                            record.lost_games.push(LostGame {
                                agent_moved_first: agent_side == 0,
                                moves: std::mem::take(&mut moves),
                            });
                        }
                    }
                    _ => record.draws += 1,
                }
                break;
            }
        }
    }
    Ok(record)
}

/// A run's agent (from `checkpoint`, default `latest.bin`, with `overrides` applied) against
/// `opponent` over `games` games on the run's env, from `seed` (default: the run's
/// evaluation seed).
pub fn versus_run(
    run: &Path,
    checkpoint: Option<&Path>,
    opponent: Opponent,
    games: u32,
    seed: Option<u64>,
    overrides: &[String],
) -> anyhow::Result<MatchRecord> {
    if games == 0 {
        anyhow::bail!("--games must be at least 1");
    }
    let mut loaded = load_run(run, checkpoint, overrides)?;
    let seed = loaded.seed_or_eval(seed);
    play_matches(
        loaded.agent.as_mut(),
        &mut loaded.env,
        &loaded.config.env.id,
        opponent,
        games,
        seed,
    )
}

#[cfg(test)]
mod tests {
    use reverie_agents::random::RandomAgent;
    use reverie_envs::make_with;

    use super::*;

    #[test]
    fn perfect_play_never_loses_to_random_and_draws_itself() {
        let mut env = make_with("TicTacToe-v0", &Default::default()).unwrap();
        let mut random = RandomAgent::new(env.action_space(), Rng::seed_from_u64(1));
        let record = play_matches(
            &mut random,
            &mut env,
            "TicTacToe-v0",
            Opponent::perfect(),
            20,
            0,
        )
        .unwrap();
        assert_eq!(record.games(), 20);
        assert_eq!(record.wins, 0, "{record:?}");
        assert!(record.losses >= 10, "{record:?}");
    }
}
