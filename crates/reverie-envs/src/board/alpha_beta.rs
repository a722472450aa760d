//! Minimax with alpha-beta pruning over any [`BoardGame`]: an exact opponent at full depth
//! (perfect tic-tac-toe) and a depth-limited one with the game's heuristic at the horizon
//! (Connect Four at depth 2 or 4), for evaluating self-play agents.

use reverie_core::Rng;

use super::{BoardGame, Outcome};

/// The value of a won game at the root; a win `ply` moves away is worth `WIN - ply`, so the
/// search prefers quick wins and slow losses. Far above any heuristic value.
const WIN: i32 = 1_000_000;

/// A negamax search with alpha-beta pruning, `depth` moves (plies) deep.
///
/// Values are from the view of the player to move: `WIN − plies` for a forced win,
/// `−(WIN − plies)` for a forced loss, 0 for a draw, and [`BoardGame::evaluate`] at the depth
/// limit. Ties between equally good moves go to the lowest action ([`AlphaBeta::best_move`])
/// or to a uniform draw from a seeded generator ([`AlphaBeta::best_move_with`]).
///
/// ```
/// use reverie_envs::board::{AlphaBeta, BoardGame, TicTacToeBoard};
///
/// let mut board = TicTacToeBoard::new();
/// for cell in [0, 3, 1, 4] {
///     board.play(cell).unwrap();
/// }
/// // X has 0 and 1: the top row is won at 2.
/// assert_eq!(AlphaBeta::full_depth().best_move(&board), Some(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlphaBeta {
    depth: u32,
}

impl AlphaBeta {
    /// A search `depth` plies deep (at least 1: a search must look at the moves it picks from).
    pub fn new(depth: u32) -> Self {
        Self {
            depth: depth.max(1),
        }
    }

    /// A search to the end of the game: perfect play (tic-tac-toe; too slow for Connect Four
    /// from early positions).
    pub fn full_depth() -> Self {
        Self { depth: u32::MAX }
    }

    /// The depth in plies (`u32::MAX` for full depth).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The value of `position` for the player to move (see [`AlphaBeta`]).
    pub fn value<G: BoardGame>(&self, position: &G) -> i32 {
        self.negamax(position, self.depth, 0, -WIN - 1, WIN + 1)
    }

    /// Each legal move whose value is the best, in increasing order; empty when the game is
    /// over. Every root move is searched with a window just below the best value found so
    /// far, so moves that tie with the best get their exact value and worse ones are cut.
    pub fn best_moves<G: BoardGame>(&self, position: &G) -> Vec<usize> {
        let mut best_value = -WIN - 1;
        let mut best = Vec::new();
        for &action in G::search_order() {
            let mut child = position.clone();
            if child.play(action).is_err() {
                continue;
            }
            let alpha = best_value - 1;
            let value = -self.negamax(&child, self.depth - 1, 1, -WIN - 1, -alpha);
            if value > best_value {
                best_value = value;
                best.clear();
            }
            if value == best_value {
                best.push(action);
            }
        }
        best.sort_unstable();
        best
    }

    /// The best move for the player to move, the lowest action among ties; `None` when the
    /// game is over.
    pub fn best_move<G: BoardGame>(&self, position: &G) -> Option<usize> {
        self.best_moves(position).first().copied()
    }

    /// The best move for the player to move, drawn uniformly from `rng` among ties; `None`
    /// when the game is over.
    pub fn best_move_with<G: BoardGame>(&self, position: &G, rng: &mut Rng) -> Option<usize> {
        let best = self.best_moves(position);
        (!best.is_empty()).then(|| best[rng.index(best.len())])
    }

    /// Negamax with alpha-beta pruning: `position`'s value for its player to move, exact
    /// inside `(alpha, beta)`, a bound outside it. `ply` counts moves from the root.
    fn negamax<G: BoardGame>(
        &self,
        position: &G,
        depth: u32,
        ply: i32,
        mut alpha: i32,
        beta: i32,
    ) -> i32 {
        match position.outcome() {
            // Play stops at a line, so the winner moved last: a loss for the player to move.
            Some(Outcome::Win(_)) => return -(WIN - ply),
            Some(Outcome::Draw) => return 0,
            None => {}
        }
        if depth == 0 {
            return position.evaluate();
        }
        let mut best = -WIN - 1;
        for &action in G::search_order() {
            let mut child = position.clone();
            if child.play(action).is_err() {
                continue;
            }
            let value = -self.negamax(&child, depth - 1, ply + 1, -beta, -alpha);
            best = best.max(value);
            alpha = alpha.max(value);
            if alpha >= beta {
                break;
            }
        }
        best
    }
}
