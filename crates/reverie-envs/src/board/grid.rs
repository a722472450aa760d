//! The board both games are played on: a grid of pieces, whose turn it is, and the rule that
//! `K` pieces in a row (horizontally, vertically or diagonally) win. Tic-tac-toe is
//! `Grid<3, 3, 3>`, Connect Four `Grid<6, 7, 4>`; they differ only in where a move puts its
//! piece.

use super::{Outcome, Player};

/// The four directions of a line, as (row, column) steps; with their opposites they cover
/// every line through a cell.
const DIRECTIONS: [(isize, isize); 4] = [(0, 1), (1, 0), (1, 1), (1, -1)];

/// A `ROWS × COLS` board where `K` in a row wins.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Grid<const ROWS: usize, const COLS: usize, const K: usize> {
    cells: [[Option<Player>; COLS]; ROWS],
    /// Pieces on the board; its parity says who is to move.
    moves: usize,
    /// Kept up to date by [`Grid::place`] so that asking is free during a search.
    outcome: Option<Outcome>,
}

impl<const ROWS: usize, const COLS: usize, const K: usize> Grid<ROWS, COLS, K> {
    /// The empty board.
    pub(crate) fn empty() -> Self {
        Self {
            cells: [[None; COLS]; ROWS],
            moves: 0,
            outcome: None,
        }
    }

    /// The piece at `(row, col)`.
    pub(crate) fn get(&self, row: usize, col: usize) -> Option<Player> {
        self.cells[row][col]
    }

    /// The player to move: the first one when both have as many pieces.
    pub(crate) fn to_move(&self) -> Player {
        if self.moves.is_multiple_of(2) {
            Player::First
        } else {
            Player::Second
        }
    }

    /// How the game ended, if it has.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// Puts the mover's piece on the empty cell `(row, col)` of a game that is not over (the
    /// games check this first) and passes the turn.
    pub(crate) fn place(&mut self, row: usize, col: usize) {
        debug_assert!(self.cells[row][col].is_none() && self.outcome.is_none());
        let player = self.to_move();
        self.cells[row][col] = Some(player);
        self.moves += 1;
        // Only a line through the new piece can be new.
        if self.line_through(row, col, player) {
            self.outcome = Some(Outcome::Win(player));
        } else if self.moves == ROWS * COLS {
            self.outcome = Some(Outcome::Draw);
        }
    }

    /// Consecutive pieces of `player` from `(row, col)` (excluded) in direction `(dr, dc)`.
    fn run(&self, row: usize, col: usize, (dr, dc): (isize, isize), player: Player) -> usize {
        let mut count = 0;
        let (mut r, mut c) = (row as isize + dr, col as isize + dc);
        while (0..ROWS as isize).contains(&r)
            && (0..COLS as isize).contains(&c)
            && self.cells[r as usize][c as usize] == Some(player)
        {
            count += 1;
            r += dr;
            c += dc;
        }
        count
    }

    /// Whether `player`'s piece at `(row, col)` is part of `K` in a row.
    fn line_through(&self, row: usize, col: usize, player: Player) -> bool {
        DIRECTIONS.iter().any(|&(dr, dc)| {
            1 + self.run(row, col, (dr, dc), player) + self.run(row, col, (-dr, -dc), player) >= K
        })
    }

    /// Calls `f` with the cells of every window of `K` cells in a line that fits the board.
    fn for_each_window(&self, mut f: impl FnMut(&[Option<Player>; K])) {
        let mut window = [None; K];
        for row in 0..ROWS as isize {
            for col in 0..COLS as isize {
                for (dr, dc) in DIRECTIONS {
                    let (end_r, end_c) = (row + dr * (K as isize - 1), col + dc * (K as isize - 1));
                    if !(0..ROWS as isize).contains(&end_r) || !(0..COLS as isize).contains(&end_c)
                    {
                        continue;
                    }
                    for (i, slot) in window.iter_mut().enumerate() {
                        let (r, c) = (row + dr * i as isize, col + dc * i as isize);
                        *slot = self.cells[r as usize][c as usize];
                    }
                    f(&window);
                }
            }
        }
    }

    /// The horizon heuristic, from the view of the player to move: over every window of `K`
    /// cells holding pieces of one player only, 4^(pieces − 1) for the mover's windows minus
    /// the same for the opponent's. Open twos and threes count, blocked ones do not. At most
    /// 69 windows × 4³ on a Connect Four board, far below a win's value.
    pub(crate) fn open_lines_score(&self) -> i32 {
        let me = self.to_move();
        let mut score = 0;
        self.for_each_window(|window| {
            let mine = window.iter().filter(|&&p| p == Some(me)).count();
            let theirs = window.iter().filter(|&&p| p == Some(me.other())).count();
            match (mine, theirs) {
                (0, 0) => {}
                (n, 0) => score += 1 << (2 * (n - 1)),
                (0, n) => score -= 1 << (2 * (n - 1)),
                _ => {}
            }
        });
        score
    }

    /// Whether each player (indexed by [`Player::index`]) has `K` in a row somewhere.
    pub(crate) fn lines(&self) -> [bool; 2] {
        let mut found = [false; 2];
        self.for_each_window(|window| {
            if let Some(p) = window[0] {
                if window.iter().all(|&q| q == Some(p)) {
                    found[p.index()] = true;
                }
            }
        });
        found
    }

    /// A board holding `pieces` (row-major from the top; missing ones empty, extra ones
    /// ignored) with no turn or outcome worked out: for reading lines off any pieces, even
    /// ones no game reaches.
    pub(crate) fn with_pieces(pieces: &[Option<Player>]) -> Self {
        let mut grid = Self::empty();
        for (i, &p) in pieces.iter().take(ROWS * COLS).enumerate() {
            grid.cells[i / COLS][i % COLS] = p;
        }
        grid
    }

    /// The board holding `pieces` (row-major from the top), with the turn and outcome that
    /// follow from them; refused when the piece counts or the lines could not arise in play
    /// (the first player has as many pieces as the second or one more; at most one player has
    /// a line, and it is the one who moved last).
    pub(crate) fn from_pieces(pieces: &[Option<Player>]) -> Result<Self, String> {
        if pieces.len() != ROWS * COLS {
            return Err(format!(
                "expected {} cells, got {}",
                ROWS * COLS,
                pieces.len()
            ));
        }
        let mut grid = Self::with_pieces(pieces);
        let first = pieces.iter().filter(|&&p| p == Some(Player::First)).count();
        let second = pieces
            .iter()
            .filter(|&&p| p == Some(Player::Second))
            .count();
        if first != second && first != second + 1 {
            return Err(format!(
                "the first player has {first} pieces and the second {second}; the first \
                 player must have as many as the second or one more"
            ));
        }
        grid.moves = first + second;
        let last_mover = grid.to_move().other();
        grid.outcome = match grid.lines() {
            [true, true] => return Err("both players have a line".into()),
            [false, false] if grid.moves == ROWS * COLS => Some(Outcome::Draw),
            [false, false] => None,
            [first_line, _] => {
                let winner = if first_line {
                    Player::First
                } else {
                    Player::Second
                };
                if winner != last_mover {
                    return Err(format!(
                        "{winner:?} has a line but {last_mover:?} moved last; play stops at a line"
                    ));
                }
                Some(Outcome::Win(winner))
            }
        };
        Ok(grid)
    }
}
