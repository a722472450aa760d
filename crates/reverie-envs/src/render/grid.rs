//! Coloured-tile pictures of the grid (toy-text) envs.
//!
//! Gymnasium draws these envs with sprite images that reverie does not copy; here every cell
//! is a flat tile with a thin border, in a colour that says what it is, and the agent is a
//! disc. The palette is shared by all grid envs so that a start, a goal or a wall looks the
//! same everywhere.

use reverie_core::Frame;

use super::{Canvas, Rgb, Transform};

/// An ordinary free cell.
pub const FREE: Rgb = [236, 240, 244];
/// FrozenLake's frozen surface.
pub const ICE: Rgb = [204, 229, 246];
/// The start cell.
pub const START: Rgb = [150, 214, 150];
/// A goal cell.
pub const GOAL: Rgb = [246, 196, 40];
/// FrozenLake's holes.
pub const HOLE: Rgb = [28, 58, 110];
/// CliffWalking's cliff.
pub const CLIFF: Rgb = [120, 62, 40];
/// Walls and obstacles.
pub const WALL: Rgb = [70, 70, 78];
/// The agent.
pub const AGENT: Rgb = [220, 50, 40];
/// Lines between cells.
pub const GRID_LINE: Rgb = [160, 168, 178];

/// Pixels per cell at natural size for grids reverie defines itself (Gymnasium's toy-text
/// cells are 64 pixels too).
pub const CELL_PX: usize = 64;

/// The natural frame size of a `rows × cols` grid: 64 pixels a cell, shrunk so that the
/// longer side is at most `max_px` (FrozenLake's rule with 512).
pub fn grid_size(rows: usize, cols: usize, max_px: usize) -> (usize, usize) {
    let cell = (max_px / rows.max(cols).max(1)).clamp(1, CELL_PX);
    (cols * cell, rows * cell)
}

/// Draws a `rows × cols` grid filling the frame: the tile colour of each cell from
/// `tile(row, col)`, thin lines between cells, and the agent as a disc in cell `agent`.
pub fn draw_grid(
    frame: &mut Frame,
    rows: usize,
    cols: usize,
    tile: impl Fn(usize, usize) -> Rgb,
    agent: Option<(usize, usize)>,
) {
    let mut c = grid_canvas(frame, rows, cols);
    c.clear(GRID_LINE);
    for r in 0..rows {
        for col in 0..cols {
            cell(&mut c, r, col, tile(r, col));
        }
    }
    if let Some((r, col)) = agent {
        disc(&mut c, r, col, 0.3, AGENT);
    }
}

/// A canvas whose world units are cells (`x` = column, `y` = row, y down) over the frame.
pub fn grid_canvas(frame: &mut Frame, rows: usize, cols: usize) -> Canvas<'_> {
    let (w, h) = (frame.width(), frame.height());
    Canvas::new(frame, Transform::fit_y_down(cols as f64, rows as f64, w, h))
}

/// Fills cell `(row, col)` with `rgb`, inside a border 1/32 of a cell wide.
pub fn cell(c: &mut Canvas<'_>, row: usize, col: usize, rgb: Rgb) {
    let m = 1.0 / 32.0;
    let (x, y) = (col as f64, row as f64);
    c.fill_rect((x + m, y + m), (x + 1.0 - m, y + 1.0 - m), rgb);
}

/// A disc of `radius` cells centred in cell `(row, col)`.
pub fn disc(c: &mut Canvas<'_>, row: usize, col: usize, radius: f64, rgb: Rgb) {
    c.fill_circle((col as f64 + 0.5, row as f64 + 0.5), radius, rgb);
}

/// A square ring (outline) `width` cells thick just inside cell `(row, col)`.
pub fn ring(c: &mut Canvas<'_>, row: usize, col: usize, inset: f64, width: f64, rgb: Rgb) {
    let (x0, y0) = (col as f64 + inset, row as f64 + inset);
    let (x1, y1) = (col as f64 + 1.0 - inset, row as f64 + 1.0 - inset);
    c.fill_rect((x0, y0), (x1, y0 + width), rgb);
    c.fill_rect((x0, y1 - width), (x1, y1), rgb);
    c.fill_rect((x0, y0 + width), (x0 + width, y1 - width), rgb);
    c.fill_rect((x1 - width, y0 + width), (x1, y1 - width), rgb);
}

/// Taxi's natural frame size (Gymnasium's window).
pub const TAXI_SIZE: (usize, usize) = (536, 456);

/// Colours of Taxi's stands R, G, Y, B.
pub const TAXI_STANDS: [Rgb; 4] = [[226, 86, 76], [84, 178, 92], [236, 200, 60], [76, 126, 214]];
/// The taxi when empty (yellow, as in Gymnasium's text rendering).
pub const TAXI_EMPTY: Rgb = [245, 190, 20];
/// The taxi with the passenger on board (green, as in Gymnasium's text rendering).
pub const TAXI_FULL: Rgb = [40, 170, 70];
/// The waiting passenger.
pub const PASSENGER: Rgb = [40, 80, 200];
/// The passenger's destination outline (magenta, as in Gymnasium's text rendering).
pub const DESTINATION: Rgb = [200, 40, 200];

/// Draws Taxi: the 5 × 5 road grid in Gymnasium's window layout (cells 88 × 56 pixels from
/// (48, 128) of a 536 × 456 window), the stands in their colours, walls where `wall_east(row,
/// col)` says the east side of a cell is closed, the destination outlined in magenta, the
/// waiting passenger as a blue disc, and the taxi (yellow, green with the passenger on board).
/// `passenger` is a stand index, or `None` when in the taxi.
pub fn taxi(
    frame: &mut Frame,
    taxi_at: (usize, usize),
    passenger: Option<usize>,
    destination: usize,
    stands: &[(usize, usize); 4],
    wall_east: impl Fn(usize, usize) -> bool,
) {
    let (w, h) = (frame.width(), frame.height());
    // World: the natural window's pixels, y down; cell (r, c) at (48 + 88 c, 128 + 56 r).
    let mut c = Canvas::new(
        frame,
        Transform::fit_y_down(TAXI_SIZE.0 as f64, TAXI_SIZE.1 as f64, w, h),
    );
    let (cw, ch) = (88.0, 56.0);
    let at = |r: usize, col: usize| (48.0 + cw * col as f64, 128.0 + ch * r as f64);
    let rect = |c: &mut Canvas<'_>, x0: f64, y0: f64, x1: f64, y1: f64, rgb: Rgb| {
        c.fill_rect((x0, y0), (x1, y1), rgb)
    };
    c.clear([250, 250, 246]);
    rect(
        &mut c,
        48.0,
        128.0,
        48.0 + 5.0 * cw,
        128.0 + 5.0 * ch,
        GRID_LINE,
    );
    for r in 0..5 {
        for col in 0..5 {
            let (x, y) = at(r, col);
            let stand = stands.iter().position(|&s| s == (r, col));
            let rgb = stand.map_or(FREE, |i| tint(TAXI_STANDS[i]));
            rect(&mut c, x + 1.5, y + 1.5, x + cw - 1.5, y + ch - 1.5, rgb);
            if let Some(i) = stand {
                // A solid stripe along the top of each stand, in its colour.
                rect(
                    &mut c,
                    x + 1.5,
                    y + 1.5,
                    x + cw - 1.5,
                    y + 10.0,
                    TAXI_STANDS[i],
                );
            }
        }
    }
    // Walls: inner ones where the map says so, and the outer frame.
    for r in 0..5 {
        for col in 0..4 {
            if wall_east(r, col) {
                let (x, y) = at(r, col + 1);
                rect(&mut c, x - 3.0, y - 1.0, x + 3.0, y + ch + 1.0, WALL);
            }
        }
    }
    let (x1, y1) = (48.0 + 5.0 * cw, 128.0 + 5.0 * ch);
    rect(&mut c, 42.0, 122.0, x1 + 6.0, 128.0, WALL);
    rect(&mut c, 42.0, y1, x1 + 6.0, y1 + 6.0, WALL);
    rect(&mut c, 42.0, 128.0, 48.0, y1, WALL);
    rect(&mut c, x1, 128.0, x1 + 6.0, y1, WALL);
    // Destination: a magenta outline inside its stand.
    let (dx, dy) = at(stands[destination].0, stands[destination].1);
    let (m, t) = (4.0, 5.0);
    rect(&mut c, dx + m, dy + m, dx + cw - m, dy + m + t, DESTINATION);
    rect(
        &mut c,
        dx + m,
        dy + ch - m - t,
        dx + cw - m,
        dy + ch - m,
        DESTINATION,
    );
    rect(&mut c, dx + m, dy + m, dx + m + t, dy + ch - m, DESTINATION);
    rect(
        &mut c,
        dx + cw - m - t,
        dy + m,
        dx + cw - m,
        dy + ch - m,
        DESTINATION,
    );
    if let Some(p) = passenger {
        let (px, py) = at(stands[p].0, stands[p].1);
        c.fill_circle((px + cw / 2.0, py + 20.0), 6.0, PASSENGER);
        rect(
            &mut c,
            px + cw / 2.0 - 6.0,
            py + 27.0,
            px + cw / 2.0 + 6.0,
            py + 46.0,
            PASSENGER,
        );
    }
    // The taxi: body, cabin and two wheels.
    let (tx, ty) = at(taxi_at.0, taxi_at.1);
    let colour = if passenger.is_none() {
        TAXI_FULL
    } else {
        TAXI_EMPTY
    };
    let (bx, by) = (tx + cw / 2.0, ty + ch / 2.0);
    rect(&mut c, bx - 26.0, by - 4.0, bx + 26.0, by + 12.0, colour);
    rect(&mut c, bx - 15.0, by - 16.0, bx + 13.0, by - 3.0, colour);
    rect(
        &mut c,
        bx - 11.0,
        by - 13.0,
        bx + 9.0,
        by - 5.0,
        [200, 230, 250],
    );
    for wx in [-15.0, 15.0] {
        c.fill_circle((bx + wx, by + 13.0), 6.0, [40, 40, 40]);
    }
}

/// A light version of `rgb` (for tiles that carry a marker on top).
pub fn tint(rgb: Rgb) -> Rgb {
    rgb.map(|v| (255 - (255 - u16::from(v)) * 2 / 5) as u8)
}
