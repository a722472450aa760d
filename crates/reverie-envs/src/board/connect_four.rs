//! Connect Four: 6 rows × 7 columns, a move drops a disc to the lowest free cell of a column,
//! four in a row wins.

use reverie_core::Frame;

use super::grid::Grid;
use super::{BoardEnv, BoardGame, IllegalMove, Outcome, Player};

const ROWS: usize = 6;
const COLS: usize = 7;

/// ConnectFour-v0: [`BoardEnv`] over [`ConnectFourBoard`]. Actions are the 7 columns from the
/// left; see [`crate::board`] for the observation, reward, mask and state conventions.
pub type ConnectFour = BoardEnv<ConnectFourBoard>;

/// A Connect Four position: the rules of ConnectFour-v0. The first player is red, the second
/// yellow; row 0 is the top of the board, so discs fall towards row 5.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnectFourBoard {
    grid: Grid<ROWS, COLS, 4>,
    /// Discs in each column, so a move finds its row without scanning.
    heights: [usize; COLS],
}

impl BoardGame for ConnectFourBoard {
    const ID: &'static str = "ConnectFour-v0";
    const ROWS: usize = ROWS;
    const COLS: usize = COLS;
    const ACTIONS: usize = COLS;

    fn new() -> Self {
        Self {
            grid: Grid::empty(),
            heights: [0; COLS],
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
        if action >= COLS {
            return Err(IllegalMove::OutOfRange {
                action,
                actions: COLS,
            });
        }
        if self.heights[action] == ROWS {
            return Err(IllegalMove::ColumnFull(action));
        }
        Ok(())
    }

    fn play(&mut self, action: usize) -> Result<(), IllegalMove> {
        self.check_move(action)?;
        let row = ROWS - 1 - self.heights[action];
        self.heights[action] += 1;
        self.grid.place(row, action);
        Ok(())
    }

    /// Also refuses floating discs (a disc above an empty cell).
    fn from_pieces(pieces: &[Option<Player>]) -> Result<Self, String> {
        let grid = Grid::<ROWS, COLS, 4>::from_pieces(pieces)?;
        let mut heights = [0; COLS];
        for (col, height) in heights.iter_mut().enumerate() {
            *height = (0..ROWS).filter(|&r| grid.get(r, col).is_some()).count();
            let lowest_empty = (ROWS - *height..ROWS).find(|&r| grid.get(r, col).is_none());
            if let Some(row) = lowest_empty {
                return Err(format!(
                    "column {col} has a disc floating above the empty cell at row {row}"
                ));
            }
        }
        Ok(Self { grid, heights })
    }

    fn evaluate(&self) -> i32 {
        // Open lines, plus 3 for each of the mover's discs in the centre column (on the most
        // windows) minus the opponent's.
        let me = self.to_move();
        let centre: i32 = (0..ROWS)
            .map(|r| match self.grid.get(r, COLS / 2) {
                Some(p) if p == me => 3,
                Some(_) => -3,
                None => 0,
            })
            .sum();
        self.grid.open_lines_score() + centre
    }

    fn search_order() -> &'static [usize] {
        &[3, 2, 4, 1, 5, 0, 6]
    }

    fn lines_of(pieces: &[Option<Player>]) -> [bool; 2] {
        Grid::<ROWS, COLS, 4>::with_pieces(pieces).lines()
    }

    fn draw(&self, frame: &mut Frame) {
        crate::render::board::discs(frame, ROWS, COLS, |r, c| self.piece(r, c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::AlphaBeta;
    use reverie_core::Rng;

    fn played(moves: &[usize]) -> ConnectFourBoard {
        let mut board = ConnectFourBoard::new();
        for &m in moves {
            board.play(m).unwrap();
        }
        board
    }

    #[test]
    fn discs_fall_to_the_lowest_free_cell() {
        let board = played(&[3, 3, 3]);
        assert_eq!(board.piece(5, 3), Some(Player::First));
        assert_eq!(board.piece(4, 3), Some(Player::Second));
        assert_eq!(board.piece(3, 3), Some(Player::First));
        assert_eq!(board.piece(2, 3), None);
    }

    #[test]
    fn rows_columns_and_diagonals_win() {
        let red = Some(Outcome::Win(Player::First));
        let yellow = Some(Outcome::Win(Player::Second));
        // Bottom row by red (yellow stacks on top).
        assert_eq!(played(&[0, 0, 1, 1, 2, 2, 3]).outcome(), red);
        // Column by yellow.
        assert_eq!(played(&[0, 6, 1, 6, 0, 6, 1, 6]).outcome(), yellow);
        // Rising diagonal by red: (5,0), (4,1), (3,2), (2,3).
        let rising = [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3];
        assert_eq!(played(&rising).outcome(), red);
        assert_eq!(played(&rising[..rising.len() - 1]).outcome(), None);
        // Falling diagonal by red: (2,3), (3,4), (4,5), (5,6).
        let falling = [6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3];
        assert_eq!(played(&falling).outcome(), red);
        // Three in a row is not a win.
        assert_eq!(played(&[0, 0, 1, 1, 2, 2]).outcome(), None);
    }

    #[test]
    fn a_full_column_is_refused_and_the_mask_says_so() {
        let mut board = played(&[2, 2, 2, 2, 2, 2]);
        assert_eq!(board.outcome(), None);
        assert_eq!(board.play(2), Err(IllegalMove::ColumnFull(2)));
        assert!(matches!(board.play(7), Err(IllegalMove::OutOfRange { .. })));
        assert_eq!(board.action_mask(), vec![1, 1, 0, 1, 1, 1, 1]);
        assert_eq!(board.legal_moves(), vec![0, 1, 3, 4, 5, 6]);
    }

    #[test]
    fn a_filled_board_without_a_line_is_a_draw() {
        // Columns filled in pairs (0,1), (2,3), (4,5) in a pattern with no four in a row,
        // then column 6; found by construction and checked move by move.
        let mut board = ConnectFourBoard::new();
        let order = [
            0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 2, 3, 2, 3, 2, 3, 3, 2, 3, 2, 3, 2,
        ];
        let tail = [4, 5, 4, 5, 4, 5, 5, 4, 5, 4, 5, 4, 6, 6, 6, 6, 6, 6];
        for &m in order.iter().chain(&tail) {
            assert_eq!(board.outcome(), None);
            board.play(m).unwrap();
        }
        assert_eq!(board.outcome(), Some(Outcome::Draw));
    }

    #[test]
    fn floating_discs_and_impossible_counts_are_refused() {
        let mut pieces = vec![None; ROWS * COLS];
        pieces[0] = Some(Player::First); // top-left, over empty cells
        pieces[41] = Some(Player::Second);
        assert!(ConnectFourBoard::from_pieces(&pieces)
            .unwrap_err()
            .contains("floating"));
        let mut pieces = vec![None; ROWS * COLS];
        pieces[35] = Some(Player::Second);
        assert!(ConnectFourBoard::from_pieces(&pieces).is_err());
        let board = played(&[3, 4, 3]);
        let pieces: Vec<_> = (0..ROWS * COLS)
            .map(|i| board.piece(i / COLS, i % COLS))
            .collect();
        assert_eq!(ConnectFourBoard::from_pieces(&pieces).unwrap(), board);
    }

    #[test]
    fn alpha_beta_takes_a_win_and_blocks_a_loss() {
        for depth in [2, 4] {
            let search = AlphaBeta::new(depth);
            // Red has three on the bottom row (0, 1, 2): red to move wins at 3.
            assert_eq!(search.best_move(&played(&[0, 0, 1, 1, 2, 6])), Some(3));
            // Red threatens 3 on the bottom row; yellow to move blocks it.
            assert_eq!(search.best_move(&played(&[0, 6, 1, 6, 2])), Some(3));
        }
    }

    /// Plays `search` as `player` against uniformly random legal moves; the outcome.
    fn against_random(search: &AlphaBeta, player: Player, rng: &mut Rng) -> Outcome {
        let mut board = ConnectFourBoard::new();
        loop {
            if let Some(outcome) = board.outcome() {
                return outcome;
            }
            let m = if board.to_move() == player {
                search.best_move_with(&board, rng).unwrap()
            } else {
                let legal = board.legal_moves();
                legal[rng.index(legal.len())]
            };
            board.play(m).unwrap();
        }
    }

    #[test]
    fn depth_four_beats_a_random_player() {
        let search = AlphaBeta::new(4);
        let mut wins = 0;
        for seed in 0..20 {
            let mut rng = Rng::seed_from_u64(seed);
            let player = if seed % 2 == 0 {
                Player::First
            } else {
                Player::Second
            };
            wins += (against_random(&search, player, &mut rng) == Outcome::Win(player)) as u32;
        }
        assert!(wins >= 18, "won {wins} of 20");
    }

    #[test]
    fn seeded_play_is_deterministic() {
        let search = AlphaBeta::new(2);
        let game = |seed| {
            let mut rng = Rng::seed_from_u64(seed);
            let mut board = ConnectFourBoard::new();
            let mut moves = Vec::new();
            while board.outcome().is_none() {
                let m = search.best_move_with(&board, &mut rng).unwrap();
                moves.push(m);
                board.play(m).unwrap();
            }
            moves
        };
        assert_eq!(game(5), game(5));
        // Without a generator the choice is fixed: the centre column opens.
        assert_eq!(search.best_move(&ConnectFourBoard::new()), Some(3));
    }
}
