//! MinAtar Space Invaders, as `minatar/environments/space_invaders.py` (1.0.15) plays it.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use super::{state_grid, state_int, MinAtarGame, GRID};

/// Steps between the cannon's shots.
const SHOT_COOL_DOWN: u32 = 5;
/// Steps between the aliens' moves in the first wave (one less each later wave, down to 6).
const ENEMY_MOVE_INTERVAL: u32 = 12;
/// Steps between the aliens' shots.
const ENEMY_SHOT_INTERVAL: u32 = 10;

type Grid = [[bool; GRID]; GRID];

/// Space Invaders: the cannon on the bottom row shoots up at a block of aliens that marches
/// sideways, steps down and turns at the edges, and shoots back from the alien nearest the
/// cannon (+1 an alien; a cleared wave respawns, faster). It moves faster as fewer aliens
/// are left. The episode ends when an alien or an alien's bullet reaches the cannon, or the
/// aliens reach the bottom row. Channels: cannon, alien, alien moving left, alien moving
/// right, friendly bullet, enemy bullet. Actions that matter: no-op, left, right, fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpaceInvaders {
    cannon: usize,
    aliens: Grid,
    friendly_bullets: Grid,
    enemy_bullets: Grid,
    /// −1 (left) or +1 (right).
    alien_dir: i8,
    enemy_move_interval: u32,
    alien_move_timer: u32,
    alien_shot_timer: u32,
    shot_timer: u32,
    ramp_index: u32,
    terminal: bool,
}

/// The first wave: rows 0–3, columns 2–7.
fn wave() -> Grid {
    let mut aliens = [[false; GRID]; GRID];
    for row in &mut aliens[0..4] {
        row[2..8].fill(true);
    }
    aliens
}

/// NumPy's `np.roll(grid, 1, axis=0)`: every row one down, the last row wrapping to the top.
fn roll_down(grid: &mut Grid) {
    grid.rotate_right(1);
}

impl SpaceInvaders {
    /// The start of an episode (the reference's reset draws nothing).
    pub fn start() -> Self {
        Self {
            cannon: 5,
            aliens: wave(),
            friendly_bullets: [[false; GRID]; GRID],
            enemy_bullets: [[false; GRID]; GRID],
            alien_dir: -1,
            enemy_move_interval: ENEMY_MOVE_INTERVAL,
            alien_move_timer: ENEMY_MOVE_INTERVAL,
            alien_shot_timer: ENEMY_SHOT_INTERVAL,
            shot_timer: 0,
            ramp_index: 0,
            terminal: false,
        }
    }

    fn alien_count(&self) -> usize {
        self.aliens.iter().flatten().filter(|a| **a).count()
    }

    /// The lowest alien of the column nearest the cannon (ties to the left, as the
    /// reference's stable sort of columns by distance).
    fn nearest_alien(&self) -> Option<(usize, usize)> {
        let mut columns: Vec<usize> = (0..GRID).collect();
        columns.sort_by_key(|&c| c.abs_diff(self.cannon));
        columns
            .into_iter()
            .find_map(|c| (0..GRID).rev().find(|&r| self.aliens[r][c]).map(|r| (r, c)))
    }

    /// One step given the action the env settled on: the reference's `act`, in its order.
    pub fn step(&mut self, action: usize) -> (f32, bool) {
        if self.terminal {
            return (0.0, true);
        }
        match super::ACTIONS[action] {
            'f' if self.shot_timer == 0 => {
                self.friendly_bullets[GRID - 1][self.cannon] = true;
                self.shot_timer = SHOT_COOL_DOWN;
            }
            'l' => self.cannon = self.cannon.saturating_sub(1),
            'r' => self.cannon = (self.cannon + 1).min(GRID - 1),
            _ => {}
        }
        // Friendly bullets rise a row (those at the top leave); enemy bullets fall one.
        self.friendly_bullets.rotate_left(1);
        self.friendly_bullets[GRID - 1] = [false; GRID];
        roll_down(&mut self.enemy_bullets);
        self.enemy_bullets[0] = [false; GRID];
        if self.enemy_bullets[GRID - 1][self.cannon] {
            self.terminal = true;
        }
        if self.aliens[GRID - 1][self.cannon] {
            self.terminal = true;
        }
        if self.alien_move_timer == 0 {
            self.alien_move_timer = (self.alien_count() as u32).min(self.enemy_move_interval);
            let at_left = self.aliens.iter().any(|row| row[0]);
            let at_right = self.aliens.iter().any(|row| row[GRID - 1]);
            if (at_left && self.alien_dir < 0) || (at_right && self.alien_dir > 0) {
                self.alien_dir = -self.alien_dir;
                if self.aliens[GRID - 1].iter().any(|a| *a) {
                    self.terminal = true;
                }
                // As np.roll: an alien on the bottom row wraps to the top.
                roll_down(&mut self.aliens);
            } else if self.alien_dir < 0 {
                self.aliens.iter_mut().for_each(|row| row.rotate_left(1));
            } else {
                self.aliens.iter_mut().for_each(|row| row.rotate_right(1));
            }
            if self.aliens[GRID - 1][self.cannon] {
                self.terminal = true;
            }
        }
        if self.alien_shot_timer == 0 {
            self.alien_shot_timer = ENEMY_SHOT_INTERVAL;
            // The reference fails here with no alien left; a wave is respawned at the end of
            // the step that clears it, so there always is one.
            if let Some((r, c)) = self.nearest_alien() {
                self.enemy_bullets[r][c] = true;
            }
        }
        let mut reward = 0.0;
        for r in 0..GRID {
            for c in 0..GRID {
                if self.aliens[r][c] && self.friendly_bullets[r][c] {
                    reward += 1.0;
                    self.aliens[r][c] = false;
                    self.friendly_bullets[r][c] = false;
                }
            }
        }
        self.shot_timer = self.shot_timer.saturating_sub(1);
        // Never below 0: a timer at 0 is reset to at least 1 before this decrement.
        self.alien_move_timer -= 1;
        self.alien_shot_timer -= 1;
        if self.alien_count() == 0 {
            if self.enemy_move_interval > 6 {
                self.enemy_move_interval -= 1;
                self.ramp_index += 1;
            }
            self.aliens = wave();
        }
        (reward, self.terminal)
    }
}

impl MinAtarGame for SpaceInvaders {
    const NAME: &'static str = "SpaceInvaders";
    const CHANNELS: &'static [&'static str] = &[
        "cannon",
        "alien",
        "alien_left",
        "alien_right",
        "friendly_bullet",
        "enemy_bullet",
    ];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 1, 3, 5];

    fn reset(_: &mut Rng) -> Self {
        Self::start()
    }

    fn act(&mut self, action: usize, _: &mut Rng) -> (f32, bool) {
        self.step(action)
    }

    fn write_state(&self, out: &mut [f32]) {
        let c = Self::CHANNELS.len();
        out.fill(0.0);
        out[((GRID - 1) * GRID + self.cannon) * c] = 1.0;
        let heading = if self.alien_dir < 0 { 2 } else { 3 };
        for r in 0..GRID {
            for col in 0..GRID {
                let cell = &mut out[(r * GRID + col) * c..][..c];
                if self.aliens[r][col] {
                    cell[1] = 1.0;
                    cell[heading] = 1.0;
                }
                if self.friendly_bullets[r][col] {
                    cell[4] = 1.0;
                }
                if self.enemy_bullets[r][col] {
                    cell[5] = 1.0;
                }
            }
        }
    }

    /// Aliens shot: the drop in the alien count, or the whole count when the wave was
    /// cleared and respawned (24 aliens again).
    fn reward_of(obs: &[f32], next: &[f32]) -> f32 {
        let aliens = |o: &[f32]| o.iter().skip(1).step_by(6).filter(|v| **v > 0.5).count();
        let (before, after) = (aliens(obs), aliens(next));
        (if after > before {
            before
        } else {
            before - after
        }) as f32
    }

    /// An alien or an alien's bullet on the cannon's cell; or aliens that reached the
    /// bottom row and, rolled down as the reference rolls them, wrapped to the top (aliens
    /// in row 0 and below row 3 at once: a block is never taller than 4 rows). Missed: a
    /// wrap of a block left with only its bottom row, which looks like a top row.
    fn terminal_of(next: &[f32]) -> bool {
        let at = |r: usize, col: usize, ch: usize| next[(r * GRID + col) * 6 + ch] > 0.5;
        let cannon = (0..GRID).find(|&col| at(GRID - 1, col, 0));
        let hit = cannon.is_some_and(|col| at(GRID - 1, col, 1) || at(GRID - 1, col, 5));
        let row_has_alien = |r: usize| (0..GRID).any(|col| at(r, col, 1));
        hit || (row_has_alien(0) && (4..GRID).any(row_has_alien))
    }

    /// `[cannon column, alien direction (−1/+1), move interval, move timer, shot timer of
    /// the aliens, shot timer of the cannon, ramp index, terminal (0/1), then 100 aliens,
    /// 100 friendly bullets and 100 enemy bullets (0/1), each row-major from the top]`.
    fn to_state(&self) -> Vec<f64> {
        let mut state = vec![
            self.cannon as f64,
            self.alien_dir as f64,
            self.enemy_move_interval as f64,
            self.alien_move_timer as f64,
            self.alien_shot_timer as f64,
            self.shot_timer as f64,
            self.ramp_index as f64,
            self.terminal as u8 as f64,
        ];
        for grid in [&self.aliens, &self.friendly_bullets, &self.enemy_bullets] {
            state.extend(grid.iter().flatten().map(|&b| b as u8 as f64));
        }
        state
    }

    fn from_state(state: &[f64]) -> Result<Self, String> {
        let cells = GRID * GRID;
        if state.len() != 8 + 3 * cells {
            return Err(format!(
                "expected {} values (cannon, direction, move interval, move timer, alien shot \
                 timer, cannon shot timer, ramp index, terminal, then 3 grids of {cells}), got {}",
                8 + 3 * cells,
                state.len()
            ));
        }
        let int = |i: usize, name: &str, range| state_int(state, i, name, range);
        let grid = |k: usize| state_grid(state, 8 + k * cells, "a cell");
        let alien_dir = int(1, "the alien direction", -1..=1)?;
        if alien_dir == 0 {
            return Err("the alien direction is 0; expected -1 or 1".into());
        }
        Ok(Self {
            cannon: int(0, "the cannon", 0..=9)? as usize,
            alien_dir: alien_dir as i8,
            enemy_move_interval: int(2, "the move interval", 1..=12)? as u32,
            alien_move_timer: int(3, "the move timer", 0..=12)? as u32,
            alien_shot_timer: int(4, "the alien shot timer", 0..=10)? as u32,
            shot_timer: int(5, "the cannon shot timer", 0..=5)? as u32,
            ramp_index: int(6, "the ramp index", 0..=i64::from(u32::MAX))? as u32,
            terminal: int(7, "terminal", 0..=1)? == 1,
            aliens: grid(0)?,
            friendly_bullets: grid(1)?,
            enemy_bullets: grid(2)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shooting_the_last_alien_respawns_a_faster_wave() {
        let mut game = SpaceInvaders::start();
        game.aliens = [[false; GRID]; GRID];
        game.aliens[3][5] = true;
        // A bullet one row below it rises into it this step.
        game.friendly_bullets[4][5] = true;
        game.alien_move_timer = 5;
        assert_eq!(game.step(0), (1.0, false));
        assert_eq!(game.aliens, wave());
        assert_eq!((game.enemy_move_interval, game.ramp_index), (11, 1));
    }

    #[test]
    fn aliens_stepping_down_from_the_bottom_row_end_the_episode_and_wrap() {
        let mut game = SpaceInvaders::start();
        game.aliens = [[false; GRID]; GRID];
        // At the left edge, heading left, on the bottom row away from the cannon (column 5).
        game.aliens[9][0] = true;
        game.aliens[8][0] = true;
        game.alien_move_timer = 0;
        game.alien_shot_timer = 5;
        let (_, terminal) = game.step(0);
        assert!(terminal);
        assert!(
            game.aliens[0][0] && game.aliens[9][0],
            "np.roll wraps row 9 to row 0"
        );
        let mut obs = vec![0.0; GRID * GRID * 6];
        game.write_state(&mut obs);
        assert!(
            SpaceInvaders::terminal_of(&obs),
            "the wrap is read off the frame"
        );
    }
}
