//! Two-player board games for AlphaZero / MuZero self-play: TicTacToe-v0 and ConnectFour-v0,
//! [`AlphaBeta`], an exact (or depth-limited) game-tree search, and [`Opponent`], the fixed
//! players (random, alpha-beta) that self-play agents are measured against.
//!
//! The rules of each game live in one place, its position type ([`TicTacToeBoard`],
//! [`ConnectFourBoard`]), behind the [`BoardGame`] trait; the env ([`BoardEnv`]) and the
//! opponent both play through that trait, so they cannot disagree on a rule.
//!
//! Conventions shared by both envs:
//! - **Actions**: `Discrete(9)` cells of tic-tac-toe (row-major from the top left) or
//!   `Discrete(7)` columns of Connect Four (from the left). The legal ones are those with a 1
//!   in `info["action_mask"]` (Gymnasium's and Taxi's convention), after reset and every step;
//!   an illegal move is refused with [`reverie_core::EnvError::InvalidAction`] and leaves the
//!   game unchanged. `info["to_play"]` is 0 when the first player is to move, 1 otherwise.
//! - **Observation**: a float32 box of shape `[3, rows, cols]` in {0, 1}: the pieces of the
//!   player to move, the opponent's pieces, and a plane that is all 1 when the first player is
//!   to move and all 0 when the second is (rows from the top).
//! - **Reward**: from the first player's view, on the move that ends the game: +1 when the
//!   first player wins, −1 when the second player wins, 0 for a draw and every other move.
//!   `terminated` at a win or a full board; there is no time limit (games end by themselves).
//!   A learner that values positions from the mover's view (AlphaZero, MuZero) turns the
//!   reward of a move into the mover's by multiplying it by +1 when `to_play` was 0 before
//!   the move and −1 when it was 1.
//! - **True simulator**: [`reverie_core::SimulatorState`], the state being the board's
//!   `rows × cols` cells row-major from the top, each 0 (empty), 1 (first player's piece) or
//!   2 (second player's); who is to move follows from the counts.

mod alpha_beta;
mod connect_four;
mod env;
mod grid;
mod opponent;
#[cfg(test)]
mod tests;
mod tic_tac_toe;

use std::fmt;

use reverie_core::Frame;

pub use alpha_beta::AlphaBeta;
pub use connect_four::{ConnectFour, ConnectFourBoard};
pub use env::BoardEnv;
pub use opponent::{is_board_game, Opponent};
pub use tic_tac_toe::{TicTacToe, TicTacToeBoard};

/// One of the two players.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Player {
    /// The player who moves first (X, red).
    First,
    /// The player who moves second (O, yellow).
    Second,
}

impl Player {
    /// The other player.
    pub fn other(self) -> Self {
        match self {
            Player::First => Player::Second,
            Player::Second => Player::First,
        }
    }

    /// 0 for the first player, 1 for the second (`info["to_play"]`, the state's code minus 1).
    pub fn index(self) -> usize {
        match self {
            Player::First => 0,
            Player::Second => 1,
        }
    }
}

/// How a finished game ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// This player made a line.
    Win(Player),
    /// The board filled up without a line.
    Draw,
}

impl Outcome {
    /// The reward convention of the envs: +1 when the first player wins, −1 when the second
    /// does, 0 for a draw.
    pub fn first_player_reward(self) -> f64 {
        match self {
            Outcome::Win(Player::First) => 1.0,
            Outcome::Win(Player::Second) => -1.0,
            Outcome::Draw => 0.0,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Win(Player::First) => write!(f, "the first player won"),
            Outcome::Win(Player::Second) => write!(f, "the second player won"),
            Outcome::Draw => write!(f, "a draw"),
        }
    }
}

/// Why a move cannot be played.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IllegalMove {
    /// No move is legal once the game has ended.
    #[error("the game is over ({0}); call reset() to start a new one")]
    GameOver(Outcome),
    /// The action is not one of the game's actions.
    #[error("action {action} is out of range 0..{actions}")]
    OutOfRange {
        /// The action asked for.
        action: usize,
        /// The number of actions.
        actions: usize,
    },
    /// Tic-tac-toe: the cell already holds a piece.
    #[error("cell {cell} (row {row}, column {col}) is already taken")]
    Occupied {
        /// The action (cell index).
        cell: usize,
        /// Its row from the top.
        row: usize,
        /// Its column from the left.
        col: usize,
    },
    /// Connect Four: the column has no free cell left.
    #[error("column {0} is full")]
    ColumnFull(usize),
}

/// A position of a two-player, perfect-information, deterministic board game on a grid: the
/// one description of a game's rules, used by [`BoardEnv`] and [`AlphaBeta`] alike.
pub trait BoardGame: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// The registered env id, for messages.
    const ID: &'static str;
    /// Rows of the board.
    const ROWS: usize;
    /// Columns of the board.
    const COLS: usize;
    /// Number of actions (legal or not).
    const ACTIONS: usize;

    /// The empty board, the first player to move.
    fn new() -> Self;
    /// The player to move (also defined when the game is over: the one who would move next).
    fn to_move(&self) -> Player;
    /// How the game ended, or `None` while it goes on.
    fn outcome(&self) -> Option<Outcome>;
    /// The piece at `(row, col)` (row 0 at the top); `None` for an empty cell.
    fn piece(&self, row: usize, col: usize) -> Option<Player>;
    /// `Ok` if the player to move may play `action`, else why not.
    fn check_move(&self, action: usize) -> Result<(), IllegalMove>;
    /// Plays `action` for the player to move and passes the turn; an illegal move is refused
    /// and leaves the position unchanged.
    fn play(&mut self, action: usize) -> Result<(), IllegalMove>;
    /// The position with these pieces (`ROWS × COLS`, row-major from the top), refused when no
    /// game reaches it (piece counts, lines of both players, floating discs).
    fn from_pieces(pieces: &[Option<Player>]) -> Result<Self, String>;
    /// A heuristic value of a position that is not over, from the view of the player to
    /// move; what [`AlphaBeta`] uses at its depth limit. Far smaller than a win's value.
    fn evaluate(&self) -> i32;
    /// All actions in the order a search should try them (central ones first, which makes
    /// alpha-beta prune more).
    fn search_order() -> &'static [usize];
    /// Whether each player (by [`Player::index`]) has a winning line among `pieces`
    /// (`ROWS × COLS`, row-major from the top), whether or not a game reaches them: the
    /// known reward of imagined boards is read off it.
    fn lines_of(pieces: &[Option<Player>]) -> [bool; 2];
    /// Draws the position into `frame` (the env's `render`).
    fn draw(&self, frame: &mut Frame);

    /// Whether the player to move may play `action`.
    fn is_legal(&self, action: usize) -> bool {
        self.check_move(action).is_ok()
    }

    /// The legal actions in increasing order (none once the game is over).
    fn legal_moves(&self) -> Vec<usize> {
        (0..Self::ACTIONS).filter(|&a| self.is_legal(a)).collect()
    }

    /// 1 for each legal action, 0 for the others (`info["action_mask"]`).
    fn action_mask(&self) -> Vec<i64> {
        (0..Self::ACTIONS)
            .map(|a| self.is_legal(a) as i64)
            .collect()
    }
}
