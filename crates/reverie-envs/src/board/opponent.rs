//! [`Opponent`]: a fixed player for measuring a self-play agent on a registered board game
//! (random moves, or [`AlphaBeta`] to a depth, perfect play at full depth).

use std::fmt;
use std::str::FromStr;

use reverie_core::Rng;

use super::{AlphaBeta, BoardEnv, BoardGame, ConnectFourBoard, TicTacToeBoard};

/// A fixed opponent. Written `random`, `perfect` (alpha-beta to the end of the game) or
/// `alpha-beta-D` (D plies, the game's heuristic at the horizon).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opponent {
    /// A legal move drawn uniformly.
    Random,
    /// The best move of an [`AlphaBeta`] search this many plies deep (`u32::MAX`: to the end
    /// of the game), ties drawn uniformly, so games against it vary.
    AlphaBeta(u32),
}

impl Opponent {
    /// Perfect play: alpha-beta to the end of the game.
    pub fn perfect() -> Self {
        Opponent::AlphaBeta(u32::MAX)
    }

    /// The move this opponent plays in env `env_id`'s position `state` (its
    /// [`reverie_core::SimulatorState`]: the cells row-major, 0 empty, 1 and 2 the players'
    /// pieces), for the player to move there. Refuses envs that are not board games, states
    /// no game reaches, and finished games.
    pub fn choose(&self, env_id: &str, state: &[f64], rng: &mut Rng) -> Result<usize, String> {
        match env_id {
            TicTacToeBoard::ID => self.choose_in::<TicTacToeBoard>(state, rng),
            ConnectFourBoard::ID => self.choose_in::<ConnectFourBoard>(state, rng),
            other => Err(format!(
                "{other} is not a board game: opponents play {} and {}",
                TicTacToeBoard::ID,
                ConnectFourBoard::ID
            )),
        }
    }

    fn choose_in<G: BoardGame>(&self, state: &[f64], rng: &mut Rng) -> Result<usize, String> {
        let position = BoardEnv::<G>::position_of_codes(state).map_err(|e| e.to_string())?;
        let chosen = match self {
            Opponent::Random => {
                let moves = position.legal_moves();
                (!moves.is_empty()).then(|| moves[rng.index(moves.len())])
            }
            Opponent::AlphaBeta(depth) => AlphaBeta::new(*depth).best_move_with(&position, rng),
        };
        chosen.ok_or_else(|| format!("{}: the game is over; there is no move to choose", G::ID))
    }
}

/// Whether `env_id` is a board game that an [`Opponent`] can play.
pub fn is_board_game(env_id: &str) -> bool {
    [TicTacToeBoard::ID, ConnectFourBoard::ID].contains(&env_id)
}

impl fmt::Display for Opponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opponent::Random => write!(f, "random"),
            Opponent::AlphaBeta(u32::MAX) => write!(f, "perfect"),
            Opponent::AlphaBeta(depth) => write!(f, "alpha-beta-{depth}"),
        }
    }
}

impl FromStr for Opponent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let refuse = || {
            format!(
                "unknown opponent {s:?}: expected `random`, `perfect` (alpha-beta to the end) \
                 or `alpha-beta-D` (D >= 1 plies, e.g. alpha-beta-4)"
            )
        };
        match s {
            "random" => Ok(Opponent::Random),
            "perfect" => Ok(Opponent::perfect()),
            _ => match s.strip_prefix("alpha-beta-").map(str::parse::<u32>) {
                Some(Ok(depth)) if depth >= 1 => Ok(Opponent::AlphaBeta(depth)),
                _ => Err(refuse()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_ones_are_refused() {
        for name in ["random", "perfect", "alpha-beta-4"] {
            assert_eq!(name.parse::<Opponent>().unwrap().to_string(), name);
        }
        for bad in ["alpha-beta-0", "alpha-beta-x", "minimax"] {
            assert!(bad.parse::<Opponent>().unwrap_err().contains("expected"));
        }
    }

    #[test]
    fn perfect_play_takes_the_win_and_random_moves_are_legal() {
        // X on 0 and 1, O on 3 and 4, X to move: 2 wins.
        let state = [1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        let mut rng = Rng::seed_from_u64(0);
        let perfect = Opponent::perfect();
        assert_eq!(perfect.choose("TicTacToe-v0", &state, &mut rng), Ok(2));
        for _ in 0..20 {
            let m = Opponent::Random
                .choose("TicTacToe-v0", &state, &mut rng)
                .unwrap();
            assert_eq!(state[m], 0.0);
        }
        assert!(perfect
            .choose("CartPole-v1", &state, &mut rng)
            .unwrap_err()
            .contains("not a board game"));
        let full = [1.0, 2.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0];
        assert!(perfect
            .choose("TicTacToe-v0", &full, &mut rng)
            .unwrap_err()
            .contains("over"));
    }
}
