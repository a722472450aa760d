//! MinAtar Freeway, as `minatar/environments/freeway.py` (1.0.15) plays it.

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use super::{state_int, MinAtarGame, GRID};

/// Steps between the chicken's moves.
const PLAYER_SPEED: u32 = 3;
/// The reference ends an episode when this counter, decremented each step, goes below 0:
/// after 2,501 steps.
const TIME_LIMIT: i32 = 2500;
/// Steps in a reference episode; the registry's time limit, as Freeway's end is a clock
/// that no frame shows (reported as truncated, not terminated).
pub const EPISODE_STEPS: u32 = TIME_LIMIT as u32 + 1;
/// The chicken's column.
const CHICKEN_X: i32 = 4;
/// Cars, one per lane (rows 1–8).
const CARS: usize = 8;

/// The cars' velocities, lane by lane: a car moves one cell every `|v|` steps, to the
/// right when `v > 0`.
pub type Velocities = [i8; CARS];

/// One car: column, lane, steps until it moves, velocity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Car {
    x: i32,
    lane: i32,
    timer: i32,
    velocity: i8,
}

/// Freeway: the chicken crosses 8 lanes of cars from the bottom row to the top (+1 each
/// crossing; it then starts again at the bottom and every car gets a new speed and
/// direction). A car that reaches the chicken sends it back to the bottom. The chicken
/// moves at most every 3 steps. Channels: chicken, car, then 5 trail channels (the cell
/// behind each car, in the channel of its speed). Actions that matter: no-op, up, down.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Freeway {
    cars: [Car; CARS],
    chicken: i32,
    move_timer: u32,
    terminate_timer: i32,
    terminal: bool,
}

/// The reference's `_randomize_cars` draws: speeds `randint(1, 6, 8)`, then directions
/// `sign(rand(8) − 0.5)`.
fn draw_velocities(rng: &mut Rng) -> Velocities {
    let mut velocities: Velocities = std::array::from_fn(|_| 1 + rng.below(5) as i8);
    for v in &mut velocities {
        if rng.uniform() < 0.5 {
            *v = -*v;
        }
    }
    velocities
}

impl Freeway {
    /// The start of an episode with the cars' `velocities`: every car at column 0, the
    /// chicken at the bottom.
    pub fn start(velocities: Velocities) -> Self {
        Self {
            cars: std::array::from_fn(|i| Car {
                x: 0,
                lane: i as i32 + 1,
                timer: velocities[i].unsigned_abs() as i32,
                velocity: velocities[i],
            }),
            chicken: GRID as i32 - 1,
            move_timer: PLAYER_SPEED,
            terminate_timer: TIME_LIMIT,
            terminal: false,
        }
    }

    /// One step given the action the env settled on: the reference's `act`, in its order,
    /// with its `terminal` (the clock running out). `redraw` gives the cars' new velocities
    /// when the chicken has crossed.
    pub fn step(&mut self, action: usize, redraw: &mut dyn FnMut() -> Velocities) -> (f32, bool) {
        if self.terminal {
            return (0.0, true);
        }
        let mut reward = 0.0;
        match super::ACTIONS[action] {
            'u' if self.move_timer == 0 => {
                self.move_timer = PLAYER_SPEED;
                self.chicken = (self.chicken - 1).max(0);
            }
            'd' if self.move_timer == 0 => {
                self.move_timer = PLAYER_SPEED;
                self.chicken = (self.chicken + 1).min(GRID as i32 - 1);
            }
            _ => {}
        }
        if self.chicken == 0 {
            reward += 1.0;
            for (car, v) in self.cars.iter_mut().zip(redraw()) {
                car.timer = v.unsigned_abs() as i32;
                car.velocity = v;
            }
            self.chicken = GRID as i32 - 1;
        }
        for car in &mut self.cars {
            if car.x == CHICKEN_X && car.lane == self.chicken {
                self.chicken = GRID as i32 - 1;
            }
            if car.timer == 0 {
                car.timer = car.velocity.unsigned_abs() as i32;
                car.x = (car.x + if car.velocity > 0 { 1 } else { -1 }).rem_euclid(GRID as i32);
                if car.x == CHICKEN_X && car.lane == self.chicken {
                    self.chicken = GRID as i32 - 1;
                }
            } else {
                car.timer -= 1;
            }
        }
        self.move_timer = self.move_timer.saturating_sub(1);
        self.terminate_timer -= 1;
        if self.terminate_timer < 0 {
            self.terminal = true;
        }
        (reward, self.terminal)
    }

    /// The cars' velocities as a frame shows them: the trail's channel is the speed, its
    /// side the direction (the tests read the reference's draws back this way).
    pub fn velocities_of(obs: &[f32]) -> Velocities {
        let c = Self::CHANNELS.len();
        std::array::from_fn(|i| {
            let lane = i + 1;
            let at = |col: usize, ch: usize| obs[(lane * GRID + col) * c + ch] > 0.5;
            let Some(x) = (0..GRID).find(|&col| at(col, 1)) else {
                return 0;
            };
            let Some((speed, behind)) =
                (2..7).find_map(|ch| (0..GRID).find(|&col| at(col, ch)).map(|col| (ch - 1, col)))
            else {
                return 0;
            };
            // The trail is the cell behind the car: to its left when it drives right.
            if behind == (x + GRID - 1) % GRID {
                speed as i8
            } else {
                -(speed as i8)
            }
        })
    }

    fn chicken_row(obs: &[f32]) -> Option<usize> {
        let c = Self::CHANNELS.len();
        (0..GRID).find(|&r| obs[(r * GRID + CHICKEN_X as usize) * c] > 0.5)
    }
}

impl MinAtarGame for Freeway {
    const NAME: &'static str = "Freeway";
    const CHANNELS: &'static [&'static str] = &[
        "chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5",
    ];
    const MINIMAL_ACTIONS: &'static [usize] = &[0, 2, 4];

    fn reset(rng: &mut Rng) -> Self {
        Self::start(draw_velocities(rng))
    }

    /// The reference's step, except that its clock does not end the episode here: the
    /// registry's time limit of [`EPISODE_STEPS`] truncates it instead.
    fn act(&mut self, action: usize, rng: &mut Rng) -> (f32, bool) {
        let (reward, _) = self.step(action, &mut || draw_velocities(rng));
        self.terminal = false;
        (reward, false)
    }

    fn write_state(&self, out: &mut [f32]) {
        let c = Self::CHANNELS.len();
        out.fill(0.0);
        out[(self.chicken as usize * GRID + CHICKEN_X as usize) * c] = 1.0;
        for car in &self.cars {
            let (x, lane) = (car.x as usize, car.lane as usize);
            out[(lane * GRID + x) * c + 1] = 1.0;
            let back = if car.velocity > 0 {
                (x + GRID - 1) % GRID
            } else {
                (x + 1) % GRID
            };
            out[(lane * GRID + back) * c + 1 + car.velocity.unsigned_abs() as usize] = 1.0;
        }
    }

    /// A crossing sends the chicken from the top lane (row 1) back to the bottom, as a hit
    /// there does; a crossing also redraws every car's velocity, a hit none. (A redraw that
    /// repeats all 8 velocities, about one in 10⁸, reads as a hit.)
    fn reward_of(obs: &[f32], next: &[f32]) -> f32 {
        let crossed = Self::chicken_row(obs) == Some(1)
            && Self::chicken_row(next) == Some(GRID - 1)
            && Self::velocities_of(obs) != Self::velocities_of(next);
        crossed as u8 as f32
    }

    /// Nothing ends a Freeway episode but the clock (a truncation).
    fn terminal_of(_: &[f32]) -> bool {
        false
    }

    /// `[chicken row, move timer, clock, terminal (0/1), then per car: column, lane,
    /// timer, velocity]`.
    fn to_state(&self) -> Vec<f64> {
        let mut state = vec![
            self.chicken as f64,
            self.move_timer as f64,
            self.terminate_timer as f64,
            self.terminal as u8 as f64,
        ];
        for car in &self.cars {
            state.extend([car.x, car.lane, car.timer, car.velocity as i32].map(f64::from));
        }
        state
    }

    fn from_state(state: &[f64]) -> Result<Self, String> {
        if state.len() != 4 + 4 * CARS {
            return Err(format!(
                "expected {} values (chicken row, move timer, clock, terminal, then column, \
                 lane, timer, velocity of each of {CARS} cars), got {}",
                4 + 4 * CARS,
                state.len()
            ));
        }
        let int = |i: usize, name: &str, range: std::ops::RangeInclusive<i64>| {
            state_int(state, i, name, range).map(|v| v as i32)
        };
        let mut cars = [Car {
            x: 0,
            lane: 1,
            timer: 0,
            velocity: 1,
        }; CARS];
        for (i, car) in cars.iter_mut().enumerate() {
            let k = 4 + 4 * i;
            let velocity = int(k + 3, "a car's velocity", -5..=5)?;
            if velocity == 0 {
                return Err("a car's velocity is 0; expected ±1 to ±5".into());
            }
            *car = Car {
                x: int(k, "a car's column", 0..=9)?,
                lane: int(k + 1, "a car's lane", 1..=8)?,
                timer: int(k + 2, "a car's timer", 0..=5)?,
                velocity: velocity as i8,
            };
        }
        Ok(Self {
            cars,
            chicken: int(0, "the chicken's row", 0..=9)?,
            move_timer: int(1, "the move timer", 0..=3)? as u32,
            terminate_timer: int(2, "the clock", i32::MIN.into()..=TIME_LIMIT.into())?,
            terminal: int(3, "terminal", 0..=1)? == 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(game: &Freeway) -> Vec<f32> {
        let mut obs = vec![0.0; GRID * GRID * Freeway::CHANNELS.len()];
        game.write_state(&mut obs);
        obs
    }

    #[test]
    fn a_crossing_pays_one_redraws_the_cars_and_reads_off_the_frames() {
        let mut game = Freeway::start([1, -2, 3, -4, 5, -1, 2, -3]);
        game.chicken = 1;
        game.move_timer = 0;
        // Keep the cars away from the chicken's column this step.
        game.cars.iter_mut().for_each(|car| car.x = 8);
        let before = frame(&game);
        let redrawn = [2, 2, 2, 2, 2, 2, 2, 2];
        assert_eq!(game.step(2, &mut || redrawn), (1.0, false));
        let after = frame(&game);
        assert_eq!(Freeway::velocities_of(&after), redrawn);
        assert_eq!(Freeway::reward_of(&before, &after), 1.0);
        // A car reaching the chicken in row 1 also sends it to the bottom, unpaid.
        let mut hit = Freeway::start([1; 8]);
        hit.chicken = 1;
        hit.cars[0].x = CHICKEN_X;
        let before = frame(&hit);
        assert_eq!(hit.step(0, &mut || unreachable!()), (0.0, false));
        let after = frame(&hit);
        assert_eq!(Freeway::chicken_row(&after), Some(GRID - 1));
        assert_eq!(Freeway::reward_of(&before, &after), 0.0);
    }

    #[test]
    fn the_reference_clock_ends_after_2501_steps_and_the_env_leaves_it_to_the_time_limit() {
        let mut game = Freeway::start([5; 8]);
        for _ in 0..TIME_LIMIT {
            assert!(!game.step(0, &mut || [5; 8]).1);
        }
        assert!(game.step(0, &mut || [5; 8]).1, "step 2,501 ends it");
        let mut rng = Rng::seed_from_u64(0);
        let mut env_game = Freeway::start([5; 8]);
        for _ in 0..=TIME_LIMIT + 10 {
            assert!(!env_game.act(0, &mut rng).1);
        }
    }
}
