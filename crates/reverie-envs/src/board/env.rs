//! [`BoardEnv`]: any [`BoardGame`] as an [`Env`], for self-play. One implementation for both
//! games, so they share every convention (see [`crate::board`]).

use reverie_core::env::{check_discrete_action, decode_state, encode_state};
use reverie_core::{
    BoxSpace, Env, EnvError, Frame, Info, InfoValue, KnownFunctions, Observation, SimulatorState,
    Space, Step,
};

use super::{BoardGame, Player};

/// A two-player board game as an env: both players act through the same `step`, the player
/// to move being the one [`BoardGame::to_move`] names (`info["to_play"]`).
///
/// - Observation: `[3, rows, cols]` float32 planes (the mover's pieces, the opponent's, all 1
///   when the first player is to move), flattened; see [`BoardEnv::observe`].
/// - Action: `Discrete(G::ACTIONS)`; legal ones have a 1 in `info["action_mask"]`; an illegal
///   one (or any move after the end) is refused with [`EnvError::InvalidAction`] saying why,
///   and leaves the game as it was.
/// - Reward: +1 when the move wins for the first player, −1 when it wins for the second, else
///   0 (the first player's view, whoever moved); terminated at a win or a full board.
/// - Reset: the empty board; the start is deterministic, so the seed changes nothing.
/// - [`SimulatorState`]: the cells, row-major from the top, 0 empty, 1 first, 2 second.
#[derive(Clone, Debug)]
pub struct BoardEnv<G: BoardGame> {
    position: G,
}

impl<G: BoardGame> Default for BoardEnv<G> {
    fn default() -> Self {
        Self::new()
    }
}

impl<G: BoardGame> BoardEnv<G> {
    /// The game at its empty board.
    pub fn new() -> Self {
        Self { position: G::new() }
    }

    /// The current position, for a search (e.g. [`super::AlphaBeta`] or MCTS with the true
    /// simulator: clone it and [`BoardGame::play`] moves on the copy).
    pub fn position(&self) -> &G {
        &self.position
    }

    /// The observation of `position`: plane 0 holds 1 where the player to move has a piece,
    /// plane 1 where the opponent has one, plane 2 is all 1 when the first player is to move
    /// and all 0 otherwise; each plane `rows × cols`, row-major from the top.
    pub fn observe(position: &G) -> Vec<f32> {
        let cells = G::ROWS * G::COLS;
        let me = position.to_move();
        let mut obs = vec![0.0; 3 * cells];
        for i in 0..cells {
            match position.piece(i / G::COLS, i % G::COLS) {
                Some(p) if p == me => obs[i] = 1.0,
                Some(_) => obs[cells + i] = 1.0,
                None => {}
            }
        }
        if me == Player::First {
            obs[2 * cells..].fill(1.0);
        }
        obs
    }

    /// The pieces behind an observation (values above 0.5 count as set, so a model's
    /// imagined observation decodes too); `None` when it has the wrong length.
    fn pieces_of(obs: &[f32]) -> Option<Vec<Option<Player>>> {
        let cells = G::ROWS * G::COLS;
        if obs.len() != 3 * cells {
            return None;
        }
        let first_to_move = obs[2 * cells..].iter().sum::<f32>() > 0.5 * cells as f32;
        let (mine, theirs) = if first_to_move {
            (Player::First, Player::Second)
        } else {
            (Player::Second, Player::First)
        };
        Some(
            (0..cells)
                .map(|i| {
                    if obs[i] > 0.5 {
                        Some(mine)
                    } else if obs[cells + i] > 0.5 {
                        Some(theirs)
                    } else {
                        None
                    }
                })
                .collect(),
        )
    }

    /// The state's codes of the current board (0 empty, 1 first, 2 second).
    fn codes(&self) -> Vec<u8> {
        (0..G::ROWS * G::COLS)
            .map(|i| match self.position.piece(i / G::COLS, i % G::COLS) {
                None => 0,
                Some(p) => p.index() as u8 + 1,
            })
            .collect()
    }

    /// The position with the state's `codes`, refused with what is wrong.
    pub(crate) fn position_of_codes(codes: &[f64]) -> Result<G, EnvError> {
        let cells = G::ROWS * G::COLS;
        if codes.len() != cells {
            return Err(EnvError::invalid_state(
                G::ID,
                format!(
                    "expected {cells} cells (row-major from the top, 0 empty, 1 first player, \
                     2 second), got {} values",
                    codes.len()
                ),
            ));
        }
        let pieces = codes
            .iter()
            .enumerate()
            .map(|(i, &code)| match code {
                0.0 => Ok(None),
                1.0 => Ok(Some(Player::First)),
                2.0 => Ok(Some(Player::Second)),
                _ => Err(EnvError::invalid_state(
                    G::ID,
                    format!("cell {i} is {code}; expected 0 (empty), 1 or 2 (a player's piece)"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        G::from_pieces(&pieces).map_err(|reason| EnvError::invalid_state(G::ID, reason))
    }

    fn info(&self) -> Info {
        Info::new()
            .with("action_mask", InfoValue::Ints(self.position.action_mask()))
            .with(
                "to_play",
                InfoValue::Int(self.position.to_move().index() as i64),
            )
    }
}

impl<G: BoardGame> Env for BoardEnv<G> {
    type Obs = Vec<f32>;
    type Action = i64;

    fn observation_space(&self) -> Space {
        let n = 3 * G::ROWS * G::COLS;
        let mut space = BoxSpace::uniform(0.0, 1.0, n);
        space.shape = vec![3, G::ROWS, G::COLS];
        Space::Box(space)
    }

    fn action_space(&self) -> Space {
        Space::discrete(G::ACTIONS as u64)
    }

    fn reset(&mut self, _seed: Option<u64>) -> (Vec<f32>, Info) {
        self.position = G::new();
        (Self::observe(&self.position), self.info())
    }

    fn step(&mut self, action: &i64) -> Result<Step<Vec<f32>>, EnvError> {
        check_discrete_action(*action, G::ACTIONS as u64)?;
        self.position.play(*action as usize).map_err(|illegal| {
            EnvError::invalid_action(
                action,
                format!(
                    "{illegal}; the legal actions are those with a 1 in info[\"action_mask\"]: {:?}",
                    self.position.legal_moves()
                ),
            )
        })?;
        let outcome = self.position.outcome();
        Ok(Step {
            obs: Self::observe(&self.position),
            reward: outcome.map_or(0.0, |o| o.first_player_reward()),
            terminated: outcome.is_some(),
            truncated: false,
            info: self.info(),
        })
    }

    fn simulator(&self) -> Option<&dyn SimulatorState> {
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        Some(self)
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        encode_state(&self.codes())
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let codes: Vec<u8> = decode_state(G::ID, bytes)?;
        let codes: Vec<f64> = codes.into_iter().map(f64::from).collect();
        self.position = Self::position_of_codes(&codes)?;
        Ok(())
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::grid::grid_size(G::ROWS, G::COLS, 512))
    }

    fn render(&self, frame: &mut Frame) -> Result<(), EnvError> {
        self.position.draw(frame);
        Ok(())
    }

    /// Both read off `next_obs` alone: the player who just moved is the one not to move
    /// there, so a line of theirs is their win; a full board without one is a draw.
    fn known_functions(&self) -> KnownFunctions {
        let outcome = |next: &[f32]| -> (f32, bool) {
            let Some(pieces) = Self::pieces_of(next) else {
                return (0.0, false);
            };
            match G::lines_of(&pieces) {
                [true, false] => (1.0, true),
                [false, true] => (-1.0, true),
                // Only an imagined board has both; it ends, with no winner to pay.
                [true, true] => (0.0, true),
                [false, false] => (0.0, pieces.iter().all(Option::is_some)),
            }
        };
        KnownFunctions::new(
            move |_, _, next| outcome(next).0,
            move |_, _, next| outcome(next).1,
        )
    }
}

impl<G: BoardGame> SimulatorState for BoardEnv<G> {
    fn state(&self) -> Vec<f64> {
        self.codes().into_iter().map(f64::from).collect()
    }

    /// Refuses cells other than 0, 1, 2 and boards no game reaches (see
    /// [`BoardGame::from_pieces`]); the turn follows from the piece counts.
    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.position = Self::position_of_codes(state)?;
        Ok(Observation::Vector(Self::observe(&self.position)))
    }

    /// The observation determines the board and the turn.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        let pieces = Self::pieces_of(obs.as_vector()?)?;
        Some(
            pieces
                .iter()
                .map(|p| p.map_or(0.0, |p| p.index() as f64 + 1.0))
                .collect(),
        )
    }
}
