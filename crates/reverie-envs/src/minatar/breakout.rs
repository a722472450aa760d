//! MinAtar Breakout, as `minatar/environments/breakout.py` (1.0.15) plays it.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use super::{state_grid, state_int, MinAtarGame, GRID};

/// The ball's four diagonal directions, in the reference's numbering.
const UP_LEFT: u8 = 0;
const UP_RIGHT: u8 = 1;
const DOWN_RIGHT: u8 = 2;
const DOWN_LEFT: u8 = 3;

/// Breakout: the paddle on the bottom row bounces a ball that travels only along diagonals
/// into 3 rows of bricks (+1 a brick; a cleared wall is rebuilt). The ball leaves the paddle
/// to the left or the right by the side it hit; the episode ends when the ball reaches the
/// bottom row past the paddle. Channels: paddle, ball, trail (the ball's last cell, which
/// shows its direction), brick. Actions that matter: no-op, left, right.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Breakout {
    ball_x: usize,
    ball_y: usize,
    ball_dir: u8,
    paddle: usize,
    bricks: [[bool; GRID]; GRID],
    /// Whether the ball broke a brick on the last step (it cannot break one on the next).
    strike: bool,
    last_x: usize,
    last_y: usize,
    terminal: bool,
}

impl Breakout {
    /// The start of an episode: the ball in row 3 at the left edge heading down-right, or
    /// (`from_right`) at the right edge heading down-left; the paddle in column 4; bricks
    /// in rows 1–3.
    pub fn start(from_right: bool) -> Self {
        let (ball_x, ball_dir) = if from_right {
            (9, DOWN_LEFT)
        } else {
            (0, DOWN_RIGHT)
        };
        let mut bricks = [[false; GRID]; GRID];
        bricks[1..4].iter_mut().for_each(|row| row.fill(true));
        Self {
            ball_x,
            ball_y: 3,
            ball_dir,
            paddle: 4,
            bricks,
            strike: false,
            last_x: ball_x,
            last_y: 3,
            terminal: false,
        }
    }

    /// One step given the action the env settled on (after sticky actions): the
    /// reference's `act`. Returns `(reward, terminal)`.
    pub fn step(&mut self, action: usize) -> (f32, bool) {
        if self.terminal {
            return (0.0, true);
        }
        let mut reward = 0.0;
        match super::ACTIONS[action] {
            'l' => self.paddle = self.paddle.saturating_sub(1),
            'r' => self.paddle = (self.paddle + 1).min(GRID - 1),
            _ => {}
        }
        (self.last_x, self.last_y) = (self.ball_x, self.ball_y);
        let (dx, dy): (i64, i64) = match self.ball_dir {
            UP_LEFT => (-1, -1),
            UP_RIGHT => (1, -1),
            DOWN_RIGHT => (1, 1),
            _ => (-1, 1),
        };
        let mut new_x = self.ball_x as i64 + dx;
        let mut new_y = self.ball_y as i64 + dy;
        // Reflections, in the reference's order: a side wall flips the horizontal
        // direction; then the ceiling, a brick or the bottom row decide the vertical one.
        const FLIP_X: [u8; 4] = [1, 0, 3, 2];
        const FLIP_Y: [u8; 4] = [3, 2, 1, 0];
        const FLIP_BOTH: [u8; 4] = [2, 3, 0, 1];
        if !(0..GRID as i64).contains(&new_x) {
            new_x = new_x.clamp(0, GRID as i64 - 1);
            self.ball_dir = FLIP_X[self.ball_dir as usize];
        }
        let mut strike_now = false;
        if new_y < 0 {
            new_y = 0;
            self.ball_dir = FLIP_Y[self.ball_dir as usize];
        } else if self.bricks[new_y as usize][new_x as usize] {
            strike_now = true;
            // The reference breaks no brick on the step right after a strike, and the ball
            // then moves into the brick's cell.
            if !self.strike {
                reward += 1.0;
                self.strike = true;
                self.bricks[new_y as usize][new_x as usize] = false;
                new_y = self.last_y as i64;
                self.ball_dir = FLIP_Y[self.ball_dir as usize];
            }
        } else if new_y == GRID as i64 - 1 {
            if self.bricks.iter().flatten().all(|b| !b) {
                self.bricks[1..4].iter_mut().for_each(|row| row.fill(true));
            }
            if self.ball_x == self.paddle {
                self.ball_dir = FLIP_Y[self.ball_dir as usize];
                new_y = self.last_y as i64;
            } else if new_x as usize == self.paddle {
                self.ball_dir = FLIP_BOTH[self.ball_dir as usize];
                new_y = self.last_y as i64;
            } else {
                self.terminal = true;
            }
        }
        if !strike_now {
            self.strike = false;
        }
        (self.ball_x, self.ball_y) = (new_x as usize, new_y as usize);
        (reward, self.terminal)
    }
}

impl MinAtarGame for Breakout {
    const NAME: &'static str = "Breakout";
    const CHANNELS: &'static [&'static str] = &["paddle", "ball", "trail", "brick"];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 1, 3];

    /// The reference's `randint(2)`: 0 starts the ball at the left, 1 at the right.
    fn reset(rng: &mut Rng) -> Self {
        Self::start(rng.below(2) == 1)
    }

    fn act(&mut self, action: usize, _: &mut Rng) -> (f32, bool) {
        self.step(action)
    }

    /// A brick gone is +1: at most one breaks a step, and a wall is rebuilt only on a step
    /// that breaks none (the ball at the bottom row).
    fn reward_of(obs: &[f32], next: &[f32]) -> f32 {
        let bricks = |o: &[f32]| o.iter().skip(3).step_by(4).filter(|v| **v > 0.5).count();
        (bricks(obs) == bricks(next) + 1) as u8 as f32
    }

    /// The ball rests on the bottom row only when it was missed (a caught ball goes back
    /// up in the same step).
    fn terminal_of(next: &[f32]) -> bool {
        (0..GRID).any(|col| next[((GRID - 1) * GRID + col) * 4 + 1] > 0.5)
    }

    /// `[ball x, ball y, ball direction (0 up-left, 1 up-right, 2 down-right, 3
    /// down-left), paddle column, strike (0/1), last ball x, last ball y, terminal (0/1),
    /// then 100 bricks (0/1) row-major from the top]`.
    fn to_state(&self) -> Vec<f64> {
        let mut state = vec![
            self.ball_x as f64,
            self.ball_y as f64,
            self.ball_dir as f64,
            self.paddle as f64,
            self.strike as u8 as f64,
            self.last_x as f64,
            self.last_y as f64,
            self.terminal as u8 as f64,
        ];
        state.extend(self.bricks.iter().flatten().map(|&b| b as u8 as f64));
        state
    }

    fn from_state(state: &[f64]) -> Result<Self, String> {
        if state.len() != 8 + GRID * GRID {
            return Err(format!(
                "expected {} values (ball x, y, direction, paddle, strike, last x, last y, \
                 terminal, then {} bricks), got {}",
                8 + GRID * GRID,
                GRID * GRID,
                state.len()
            ));
        }
        let int = |i: usize, name: &str, last: i64| state_int(state, i, name, 0..=last);
        let column = |i: usize, name: &str| int(i, name, GRID as i64 - 1).map(|v| v as usize);
        Ok(Self {
            ball_x: column(0, "the ball's x")?,
            ball_y: column(1, "the ball's y")?,
            ball_dir: int(2, "the ball's direction", 3)? as u8,
            paddle: column(3, "the paddle")?,
            strike: int(4, "strike", 1)? == 1,
            last_x: column(5, "the last x")?,
            last_y: column(6, "the last y")?,
            terminal: int(7, "terminal", 1)? == 1,
            bricks: state_grid(state, 8, "a brick")?,
        })
    }

    fn write_state(&self, out: &mut [f32]) {
        let c = Self::CHANNELS.len();
        out.fill(0.0);
        let mut set =
            |row: usize, col: usize, channel: usize| out[(row * GRID + col) * c + channel] = 1.0;
        set(self.ball_y, self.ball_x, 1);
        set(GRID - 1, self.paddle, 0);
        set(self.last_y, self.last_x, 2);
        for (row, bricks) in self.bricks.iter().enumerate() {
            for (col, &brick) in bricks.iter().enumerate() {
                if brick {
                    set(row, col, 3);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ball_bounces_off_the_paddle_by_where_it_hits() {
        // From the left edge heading down-right: row 3 → row 8 in 5 steps, at column 5.
        let fall = |moves: &[usize]| {
            let mut game = Breakout::start(false);
            for &a in moves {
                assert_eq!(game.step(a), (0.0, false));
            }
            assert_eq!((game.ball_x, game.ball_y), (5, 8));
            game
        };
        // The paddle under the ball (column 5): it goes back up, still to the right.
        let mut under = fall(&[0; 5]);
        assert_eq!(under.step(3), (0.0, false));
        assert_eq!(
            (under.ball_x, under.ball_y, under.ball_dir),
            (6, 8, UP_RIGHT)
        );
        // The paddle where the ball lands (column 6): it leaves the way it came.
        let mut ahead = fall(&[3, 3, 0, 0, 0]);
        assert_eq!(ahead.step(0), (0.0, false));
        assert_eq!(
            (ahead.ball_x, ahead.ball_y, ahead.ball_dir),
            (6, 8, UP_LEFT)
        );
        // Elsewhere it is missed.
        let mut missed = fall(&[0; 5]);
        assert_eq!(missed.step(0), (0.0, true));
    }

    #[test]
    fn missing_the_ball_ends_the_episode_and_nothing_moves_after() {
        let mut game = Breakout::start(true);
        let mut steps = 0;
        while !game.step(1).1 {
            steps += 1;
            assert!(steps < 100);
        }
        let ended = game.clone();
        assert_eq!(game.step(3), (0.0, true));
        assert_eq!(game, ended);
    }
}
