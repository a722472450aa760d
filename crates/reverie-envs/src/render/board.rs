//! Pictures of the board games: tic-tac-toe's X and O marks, Connect Four's coloured discs.
//! Cells are the grid envs' 64-pixel tiles ([`super::grid::grid_size`]).

use reverie_core::Frame;

use super::grid::{cell, disc, grid_canvas, FREE, GRID_LINE};
use super::Rgb;
use crate::board::Player;

/// Tic-tac-toe's X (the first player).
pub const CROSS: Rgb = [210, 50, 45];
/// Tic-tac-toe's O (the second player).
pub const NOUGHT: Rgb = [40, 90, 200];
/// Connect Four's board.
pub const BOARD_BLUE: Rgb = [30, 80, 190];
/// Connect Four's first player.
pub const RED_DISC: Rgb = [220, 40, 40];
/// Connect Four's second player.
pub const YELLOW_DISC: Rgb = [245, 205, 30];

/// Draws a `rows × cols` board of light tiles with an X where `piece` is the first player
/// and an O where it is the second.
pub fn marks(
    frame: &mut Frame,
    rows: usize,
    cols: usize,
    piece: impl Fn(usize, usize) -> Option<Player>,
) {
    let mut c = grid_canvas(frame, rows, cols);
    c.clear(GRID_LINE);
    for r in 0..rows {
        for col in 0..cols {
            cell(&mut c, r, col, FREE);
            let (x, y) = (col as f64, r as f64);
            match piece(r, col) {
                Some(Player::First) => {
                    let (a, b) = (0.2, 0.8);
                    c.stroke_line((x + a, y + a), (x + b, y + b), 0.12, CROSS);
                    c.stroke_line((x + b, y + a), (x + a, y + b), 0.12, CROSS);
                }
                Some(Player::Second) => {
                    disc(&mut c, r, col, 0.32, NOUGHT);
                    disc(&mut c, r, col, 0.2, FREE);
                }
                None => {}
            }
        }
    }
}

/// Draws a `rows × cols` blue board with a red disc where `piece` is the first player, a
/// yellow one where it is the second and a white hole where the cell is empty.
pub fn discs(
    frame: &mut Frame,
    rows: usize,
    cols: usize,
    piece: impl Fn(usize, usize) -> Option<Player>,
) {
    let mut c = grid_canvas(frame, rows, cols);
    c.clear(BOARD_BLUE);
    for r in 0..rows {
        for col in 0..cols {
            let rgb = match piece(r, col) {
                Some(Player::First) => RED_DISC,
                Some(Player::Second) => YELLOW_DISC,
                None => [250, 250, 250],
            };
            disc(&mut c, r, col, 0.4, rgb);
        }
    }
}
