//! Tic-tac-toe: 3×3 cells, three in a row wins.

use reverie_core::Frame;

use super::grid::Grid;
use super::{BoardEnv, BoardGame, IllegalMove, Outcome, Player};

/// TicTacToe-v0: [`BoardEnv`] over [`TicTacToeBoard`]. Actions are the 9 cells, row-major from
/// the top left (`row * 3 + col`); see [`crate::board`] for the observation, reward, mask
/// and state conventions. Perfect play by both sides is a draw.
pub type TicTacToe = BoardEnv<TicTacToeBoard>;

/// A tic-tac-toe position: the rules of TicTacToe-v0. The first player is X, the second O.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TicTacToeBoard {
    grid: Grid<3, 3, 3>,
}

impl BoardGame for TicTacToeBoard {
    const ID: &'static str = "TicTacToe-v0";
    const ROWS: usize = 3;
    const COLS: usize = 3;
    const ACTIONS: usize = 9;

    fn new() -> Self {
        Self {
            grid: Grid::empty(),
        }
    }

    fn to_move(&self) -> Player {
        self.grid.to_move()
    }

    fn outcome(&self) -> Option<Outcome> {
        self.grid.outcome()
    }

    fn piece(&self, row: usize, col: usize) -> Option<Player> {
        self.grid.get(row, col)
    }

    fn check_move(&self, action: usize) -> Result<(), IllegalMove> {
        if let Some(outcome) = self.grid.outcome() {
            return Err(IllegalMove::GameOver(outcome));
        }
        if action >= Self::ACTIONS {
            return Err(IllegalMove::OutOfRange {
                action,
                actions: Self::ACTIONS,
            });
        }
        let (row, col) = (action / 3, action % 3);
        match self.grid.get(row, col) {
            Some(_) => Err(IllegalMove::Occupied {
                cell: action,
                row,
                col,
            }),
            None => Ok(()),
        }
    }

    fn play(&mut self, action: usize) -> Result<(), IllegalMove> {
        self.check_move(action)?;
        self.grid.place(action / 3, action % 3);
        Ok(())
    }

    fn from_pieces(pieces: &[Option<Player>]) -> Result<Self, String> {
        Ok(Self {
            grid: Grid::from_pieces(pieces)?,
        })
    }

    fn evaluate(&self) -> i32 {
        self.grid.open_lines_score()
    }

    fn search_order() -> &'static [usize] {
        // Centre, corners, edges: the cells on most lines first.
        &[4, 0, 2, 6, 8, 1, 3, 5, 7]
    }

    fn lines_of(pieces: &[Option<Player>]) -> [bool; 2] {
        Grid::<3, 3, 3>::with_pieces(pieces).lines()
    }

    fn draw(&self, frame: &mut Frame) {
        crate::render::board::marks(frame, 3, 3, |r, c| self.piece(r, c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::AlphaBeta;

    fn played(moves: &[usize]) -> TicTacToeBoard {
        let mut board = TicTacToeBoard::new();
        for &m in moves {
            board.play(m).unwrap();
        }
        board
    }

    #[test]
    fn rows_columns_and_diagonals_win() {
        // X plays the first three cells listed, O the others in between.
        let cases: [(&[usize], Outcome); 5] = [
            (&[0, 3, 1, 4, 2], Outcome::Win(Player::First)), // top row
            (&[1, 0, 4, 3, 8, 6], Outcome::Win(Player::Second)), // left column by O
            (&[0, 1, 4, 2, 8], Outcome::Win(Player::First)), // main diagonal
            (&[2, 0, 4, 1, 6], Outcome::Win(Player::First)), // anti-diagonal
            (&[5, 0, 8, 1, 2], Outcome::Win(Player::First)), // right column
        ];
        for (moves, outcome) in cases {
            let board = played(moves);
            assert_eq!(board.outcome(), Some(outcome), "{moves:?}");
            // One move earlier the game was still on.
            assert_eq!(played(&moves[..moves.len() - 1]).outcome(), None);
        }
        // X O X / X O O / O X X: full, no line.
        let draw = played(&[0, 1, 2, 4, 3, 5, 7, 6, 8]);
        assert_eq!(draw.outcome(), Some(Outcome::Draw));
    }

    #[test]
    fn illegal_moves_are_refused_and_change_nothing() {
        let mut board = played(&[4]);
        let before = board.clone();
        assert_eq!(
            board.play(4),
            Err(IllegalMove::Occupied {
                cell: 4,
                row: 1,
                col: 1
            })
        );
        assert!(matches!(board.play(9), Err(IllegalMove::OutOfRange { .. })));
        assert_eq!(board, before);
        let won = played(&[0, 3, 1, 4, 2]);
        assert!(matches!(won.check_move(8), Err(IllegalMove::GameOver(_))));
        assert!(won.legal_moves().is_empty());
    }

    #[test]
    fn the_mask_marks_exactly_the_legal_moves() {
        let board = played(&[4, 0, 8]);
        assert_eq!(board.legal_moves(), vec![1, 2, 3, 5, 6, 7]);
        assert_eq!(board.action_mask(), vec![0, 1, 1, 1, 0, 1, 1, 1, 0]);
        assert_eq!(board.to_move(), Player::Second);
    }

    #[test]
    fn perfect_self_play_is_always_a_draw() {
        // From the empty board and from every first move: the game value is a draw, and
        // whatever X opens with, perfect play holds it (X's openings are all draws too).
        let search = AlphaBeta::full_depth();
        let mut rng = reverie_core::Rng::seed_from_u64(0);
        for opening in 0..9 {
            for tie_break in [false, true] {
                let mut board = played(&[opening]);
                while board.outcome().is_none() {
                    let m = if tie_break {
                        search.best_move_with(&board, &mut rng)
                    } else {
                        search.best_move(&board)
                    };
                    board.play(m.unwrap()).unwrap();
                }
                assert_eq!(board.outcome(), Some(Outcome::Draw), "opening {opening}");
            }
        }
        assert_eq!(search.value(&TicTacToeBoard::new()), 0);
    }

    #[test]
    fn alpha_beta_takes_a_win_and_blocks_a_loss() {
        let search = AlphaBeta::full_depth();
        // X: 0, 1; O: 3, 4; X to move wins at 2 (blocking O at 5 would not win).
        assert_eq!(search.best_move(&played(&[0, 3, 1, 4])), Some(2));
        // X: 0, 1; O: 4; O to move must block at 2.
        assert_eq!(search.best_move(&played(&[0, 4, 1])), Some(2));
        // Even a one-ply search sees an immediate win and a two-ply one a threat.
        assert_eq!(AlphaBeta::new(1).best_move(&played(&[0, 3, 1, 4])), Some(2));
        assert_eq!(AlphaBeta::new(2).best_move(&played(&[0, 4, 1])), Some(2));
    }
}
