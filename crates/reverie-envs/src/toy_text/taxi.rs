//! Taxi-v4, as Gymnasium 1.4.0's `TaxiEnv` (Dietterich 2000), including its rainy and fickle
//! variants.

use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{Env, EnvError, Info, InfoValue, Observation, Rng, SimulatorState, Space, Step};

use super::tabular::{check_probability, parse_discrete_state, ConfigError};
use super::{Transition, TransitionTable};

const ENV_ID: &str = "Taxi-v4";

/// Gymnasium's map. Cell `(row, col)` is at `MAP[1 + row][2 * col + 1]`; the character to its
/// east is `MAP[1 + row][2 * col + 2]` and to its west `MAP[1 + row][2 * col]`, where `:`
/// means open and `|` a wall.
const MAP: [&[u8]; 7] = [
    b"+---------+",
    b"|R: | : :G|",
    b"| : | : : |",
    b"| : : : : |",
    b"| | : | : |",
    b"|Y| : |B: |",
    b"+---------+",
];
const MAX_ROW: usize = 4;
const MAX_COL: usize = 4;
const N_STATES: usize = 500;
const N_ACTIONS: usize = 6;
/// Passenger location meaning "in the taxi".
const IN_TAXI: usize = 4;

const SOUTH: usize = 0;
const NORTH: usize = 1;
const EAST: usize = 2;
const WEST: usize = 3;
const PICKUP: usize = 4;
const DROPOFF: usize = 5;

/// Reward of every step that earns nothing else (moves, including blocked ones).
const STEP_REWARD: f64 = -1.0;
/// Reward of a pickup or drop-off that is not allowed where it is tried.
const ILLEGAL_REWARD: f64 = -10.0;
/// Reward of delivering the passenger at the destination.
const DELIVERY_REWARD: f64 = 20.0;

/// Gymnasium's default `rainy_probability`.
const DEFAULT_RAINY_PROBABILITY: f64 = 0.8;
/// Gymnasium's default `fickle_probability`.
const DEFAULT_FICKLE_PROBABILITY: f64 = 0.3;

/// Row/column changes of (forward, left, right) for each move when it rains, relative to the
/// heading (Gymnasium's `moves` table; south: left = east, right = west, and so on).
const RAINY_MOVES: [[(i64, i64); 3]; 4] = [
    [(1, 0), (0, 1), (0, -1)],
    [(-1, 0), (0, -1), (0, 1)],
    [(0, 1), (-1, 0), (1, 0)],
    [(0, -1), (1, 0), (-1, 0)],
];

/// Whether the side of cell `(row, col)` at map column `map_col` is open.
#[inline]
fn open(row: usize, map_col: usize) -> bool {
    MAP[1 + row][map_col] == b':'
}

/// The parameters of [`Taxi`] (Gymnasium's constructor arguments).
#[derive(Clone, Debug, PartialEq)]
pub struct TaxiConfig {
    /// Moves slip: the intended direction with probability `rainy_probability`, each lateral
    /// one with the rest split in two. Pickup and drop-off stay deterministic.
    pub is_rainy: bool,
    /// The passenger may change destination once, on the first move after the first pickup.
    pub fickle_passenger: bool,
    /// Probability of moving as intended when it rains.
    pub rainy_probability: f64,
    /// Probability (drawn at reset) that the passenger is fickle in this episode.
    pub fickle_probability: f64,
}

impl Default for TaxiConfig {
    /// Gymnasium's defaults: dry, not fickle (deterministic), 0.8 and 0.3.
    fn default() -> Self {
        Self {
            is_rainy: false,
            fickle_passenger: false,
            rainy_probability: DEFAULT_RAINY_PROBABILITY,
            fickle_probability: DEFAULT_FICKLE_PROBABILITY,
        }
    }
}

/// Taxi-v4 (Gymnasium 1.4.0's `TaxiEnv`): drive a taxi on a 5×5 grid with walls, pick a
/// passenger up at one of four stands (R, G, Y, B) and drop them off at their destination.
///
/// State and observation `((row * 5 + col) * 5 + passenger) * 4 + destination` (500 states),
/// where passenger 0..=3 is a stand and 4 means in the taxi. Actions: 0 south, 1 north,
/// 2 east, 3 west, 4 pickup, 5 drop-off. Rewards: -1 per step, -10 for a pickup or drop-off
/// that is not allowed there, +20 for the delivery, which terminates. Dropping the passenger
/// at another stand is allowed (-1). Registered with a 200-step limit. `info` holds `prob`
/// and `action_mask` (6 ints: 1 where the action changes the state) after reset and every step.
///
/// Reset draws uniformly among the 300 valid start states (passenger at a stand that is not
/// the destination). The rainy and fickle variants follow Gymnasium 1.4.0; the fickle
/// passenger's destination change is drawn in `step` and is not part of the transition table,
/// nor is the episode's hidden "fickle" flag part of `state()` (as in Gymnasium, where
/// overwriting `s` leaves it alone).
#[derive(Clone, Debug)]
pub struct Taxi {
    config: TaxiConfig,
    table: TransitionTable,
    start_states: Vec<usize>,
    s: usize,
    /// The passenger will change destination on the next move with them on board.
    fickle_step: bool,
    rng: Rng,
}

impl Default for Taxi {
    fn default() -> Self {
        Self::new()
    }
}

impl Taxi {
    /// Where the stands R, G, Y, B are, as `(row, col)`; passenger and destination indices
    /// refer to this list.
    pub const LOCATIONS: [(usize, usize); 4] = [(0, 0), (0, 4), (4, 0), (4, 3)];

    /// The deterministic taxi (Gymnasium's defaults).
    pub fn new() -> Self {
        Self::with_config(TaxiConfig::default()).expect("the default config is valid")
    }

    /// A taxi with `config`; refuses probabilities outside [0, 1].
    pub fn with_config(config: TaxiConfig) -> Result<Self, ConfigError> {
        check_probability("rainy_probability", config.rainy_probability)?;
        check_probability("fickle_probability", config.fickle_probability)?;
        let table = Self::build_table(&config);
        let start_states = (0..N_STATES)
            .filter(|&s| {
                let (_, _, pass, dest) = Self::decode(s);
                pass < IN_TAXI && pass != dest
            })
            .collect();
        Ok(Self {
            config,
            table,
            start_states,
            s: 0,
            fickle_step: false,
            rng: Rng::seed_from_u64(0),
        })
    }

    /// The state index of taxi at `(row, col)`, passenger at `pass` (0..=3 a stand, 4 in the
    /// taxi) and destination `dest` (0..=3).
    pub fn encode(row: usize, col: usize, pass: usize, dest: usize) -> usize {
        ((row * 5 + col) * 5 + pass) * 4 + dest
    }

    /// `(row, col, passenger, destination)` of state `s`. Panics if `s >= 500`.
    pub fn decode(s: usize) -> (usize, usize, usize, usize) {
        assert!(s < N_STATES, "Taxi state {s} is out of range 0..500");
        let dest = s % 4;
        let s = s / 4;
        let pass = s % 5;
        let s = s / 5;
        (s / 5, s % 5, pass, dest)
    }

    /// Gymnasium's `action_mask(s)`: 1 for each action that changes the state of `s`
    /// (moves not blocked by a wall or the edge, a pickup at the passenger's stand, a drop-off
    /// at a stand with the passenger on board). Panics if `s >= 500`.
    pub fn action_mask(s: usize) -> [i64; N_ACTIONS] {
        let (row, col, pass, dest) = Self::decode(s);
        let taxi = (row, col);
        let mut mask = [0; N_ACTIONS];
        mask[SOUTH] = (row < MAX_ROW) as i64;
        mask[NORTH] = (row > 0) as i64;
        mask[EAST] = (col < MAX_COL && open(row, 2 * col + 2)) as i64;
        mask[WEST] = (col > 0 && open(row, 2 * col)) as i64;
        mask[PICKUP] = (pass < IN_TAXI && taxi == Self::LOCATIONS[pass]) as i64;
        mask[DROPOFF] = (pass == IN_TAXI
            && (taxi == Self::LOCATIONS[dest] || Self::LOCATIONS.contains(&taxi)))
            as i64;
        mask
    }

    /// Gymnasium's `_pickup`: the new passenger location and reward.
    fn pickup(taxi: (usize, usize), pass: usize, reward: f64) -> (usize, f64) {
        if pass < IN_TAXI && taxi == Self::LOCATIONS[pass] {
            (IN_TAXI, reward)
        } else {
            (pass, ILLEGAL_REWARD)
        }
    }

    /// Gymnasium's `_dropoff`: the new passenger location, reward and termination.
    fn dropoff(taxi: (usize, usize), pass: usize, dest: usize, reward: f64) -> (usize, f64, bool) {
        if taxi == Self::LOCATIONS[dest] && pass == IN_TAXI {
            (dest, DELIVERY_REWARD, true)
        } else if pass == IN_TAXI {
            match Self::LOCATIONS.iter().position(|&l| l == taxi) {
                // Leaving the passenger at another stand is allowed and costs a plain step.
                Some(stand) => (stand, reward, false),
                None => (pass, ILLEGAL_REWARD, false),
            }
        } else {
            (pass, ILLEGAL_REWARD, false)
        }
    }

    /// Gymnasium's `_calc_new_position` (a lateral move in the rain). Its wall checks use the
    /// clamped target cell, which can only matter at the edge, where the taxi stays anyway.
    fn lateral(row: usize, col: usize, (dr, dc): (i64, i64)) -> (usize, usize) {
        let new_row = (row as i64 + dr).clamp(0, MAX_ROW as i64) as usize;
        let new_col = (col as i64 + dc).clamp(0, MAX_COL as i64) as usize;
        if dc == 1 && !open(new_row, 2 * new_col) {
            return (row, col);
        }
        if dc == -1 && !open(new_row, 2 * new_col + 2) {
            return (row, col);
        }
        (new_row, new_col)
    }

    /// Gymnasium's `_build_dry_transitions`.
    fn dry(row: usize, col: usize, pass: usize, dest: usize, a: usize, out: &mut Vec<Transition>) {
        let (mut new_row, mut new_col, mut new_pass) = (row, col, pass);
        let mut reward = STEP_REWARD;
        let mut terminated = false;
        match a {
            SOUTH => new_row = (row + 1).min(MAX_ROW),
            NORTH => new_row = row.saturating_sub(1),
            EAST => {
                if open(row, 2 * col + 2) {
                    new_col = (col + 1).min(MAX_COL);
                }
            }
            WEST => {
                if open(row, 2 * col) {
                    new_col = col.saturating_sub(1);
                }
            }
            PICKUP => (new_pass, reward) = Self::pickup((row, col), pass, reward),
            DROPOFF => {
                (new_pass, reward, terminated) = Self::dropoff((row, col), pass, dest, reward)
            }
            _ => unreachable!("6 actions"),
        }
        out.push(Transition {
            prob: 1.0,
            next_state: Self::encode(new_row, new_col, new_pass, dest),
            reward,
            terminated,
        });
    }

    /// Gymnasium's `_build_rainy_transitions`.
    fn rainy(
        config: &TaxiConfig,
        (row, col, pass, dest): (usize, usize, usize, usize),
        a: usize,
        out: &mut Vec<Transition>,
    ) {
        let lateral_probability = (1.0 - config.rainy_probability) / 2.0;
        let (mut new_row, mut new_col, mut new_pass) = (row, col, pass);
        let (mut left, mut right) = ((row, col), (row, col));
        let mut reward = STEP_REWARD;
        let mut terminated = false;
        let can_move = match a {
            SOUTH => row < MAX_ROW,
            NORTH => row > 0,
            EAST => open(row, 2 * col + 2),
            WEST => open(row, 2 * col),
            _ => false,
        };
        if can_move {
            let [(dr, dc), left_move, right_move] = RAINY_MOVES[a];
            new_row = (row as i64 + dr).clamp(0, MAX_ROW as i64) as usize;
            new_col = (col as i64 + dc).clamp(0, MAX_COL as i64) as usize;
            left = Self::lateral(row, col, left_move);
            right = Self::lateral(row, col, right_move);
        } else if a == PICKUP {
            (new_pass, reward) = Self::pickup((row, col), pass, reward);
        } else if a == DROPOFF {
            (new_pass, reward, terminated) = Self::dropoff((row, col), pass, dest, reward);
        }
        let intended = Self::encode(new_row, new_col, new_pass, dest);
        if a <= WEST {
            // A blocked move does not drift either: all three entries stay put.
            for (prob, next) in [
                (config.rainy_probability, intended),
                (
                    lateral_probability,
                    Self::encode(left.0, left.1, new_pass, dest),
                ),
                (
                    lateral_probability,
                    Self::encode(right.0, right.1, new_pass, dest),
                ),
            ] {
                out.push(Transition {
                    prob,
                    next_state: next,
                    reward: STEP_REWARD,
                    terminated,
                });
            }
        } else {
            out.push(Transition {
                prob: 1.0,
                next_state: intended,
                reward,
                terminated,
            });
        }
    }

    fn build_table(config: &TaxiConfig) -> TransitionTable {
        TransitionTable::build(N_STATES, N_ACTIONS, |s, a, out| {
            let (row, col, pass, dest) = Self::decode(s);
            if config.is_rainy {
                Self::rainy(config, (row, col, pass, dest), a, out);
            } else {
                Self::dry(row, col, pass, dest, a, out);
            }
        })
    }

    /// The parameters the taxi was built with.
    pub fn config(&self) -> &TaxiConfig {
        &self.config
    }

    /// The 300 states reset draws from (passenger at a stand other than the destination),
    /// in increasing order.
    pub fn start_states(&self) -> &[usize] {
        &self.start_states
    }

    /// Number of states (500).
    pub fn n_states(&self) -> usize {
        N_STATES
    }

    /// Number of actions (6).
    pub fn n_actions(&self) -> usize {
        N_ACTIONS
    }

    /// Gymnasium's `P[s][a]` (without the fickle passenger's destination change). Panics if
    /// `s` or `a` is out of range.
    pub fn transitions(&self, s: usize, a: usize) -> &[Transition] {
        self.table.get(s, a)
    }

    /// The whole transition table.
    pub fn transition_table(&self) -> &TransitionTable {
        &self.table
    }

    fn info(s: usize, prob: f64) -> Info {
        Info::new().with("prob", InfoValue::Float(prob)).with(
            "action_mask",
            InfoValue::Ints(Self::action_mask(s).to_vec()),
        )
    }
}

impl Env for Taxi {
    type Obs = i64;
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.s, self.fickle_step, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.s, self.fickle_step, self.rng) = reverie_core::env::decode_state("Taxi", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        Space::discrete(N_STATES as u64)
    }

    fn action_space(&self) -> Space {
        Space::discrete(N_ACTIONS as u64)
    }

    fn reset(&mut self, seed: Option<u64>) -> (i64, Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        self.s = self.start_states[self.rng.index(self.start_states.len())];
        self.fickle_step =
            self.config.fickle_passenger && self.rng.uniform() < self.config.fickle_probability;
        (self.s as i64, Self::info(self.s, 1.0))
    }

    #[inline]
    fn step(&mut self, action: &i64) -> Result<Step<i64>, EnvError> {
        check_discrete_action(*action, N_ACTIONS as u64)?;
        let t = *self.table.sample(self.s, *action as usize, &mut self.rng);
        let mut next = t.next_state;
        if self.config.fickle_passenger && self.fickle_step {
            let (old_row, old_col, old_pass, old_dest) = Self::decode(self.s);
            let (row, col, pass, _) = Self::decode(next);
            // Only once, on the first move that actually displaces the passenger on board.
            if old_pass == IN_TAXI && (row, col) != (old_row, old_col) {
                self.fickle_step = false;
                let mut dest = self.rng.index(3);
                // Uniform over the three other stands (Gymnasium's `choice` over them).
                if dest >= old_dest {
                    dest += 1;
                }
                next = Self::encode(row, col, pass, dest);
            }
        }
        self.s = next;
        Ok(Step {
            obs: next as i64,
            reward: t.reward,
            terminated: t.terminated,
            truncated: false,
            info: Self::info(next, t.prob),
        })
    }

    fn simulator(&self) -> Option<&dyn SimulatorState> {
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        Some(self)
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::grid::TAXI_SIZE)
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        let (row, col, pass, dest) = Self::decode(self.s);
        crate::render::grid::taxi(
            frame,
            (row, col),
            (pass < IN_TAXI).then_some(pass),
            dest,
            &Self::LOCATIONS,
            |r, c| !open(r, 2 * c + 2),
        );
        Ok(())
    }
}

impl SimulatorState for Taxi {
    /// The observation is the state index.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 1)
    }

    fn state(&self) -> Vec<f64> {
        vec![self.s as f64]
    }

    /// Sets `s`; the action mask of later steps follows from it (it is computed from the
    /// state, never cached). The fickle flag is left as it is, as in Gymnasium.
    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.s = parse_discrete_state(ENV_ID, state, N_STATES)?;
        Ok(Observation::Discrete(self.s as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_decode_are_inverse() {
        for s in 0..N_STATES {
            let (r, c, p, d) = Taxi::decode(s);
            assert_eq!(Taxi::encode(r, c, p, d), s);
        }
        assert_eq!(Taxi::decode(314), (3, 0, 3, 2));
    }

    #[test]
    fn reset_draws_only_valid_start_states() {
        let mut env = Taxi::new();
        assert_eq!(env.start_states().len(), 300);
        let mut seen = std::collections::HashSet::new();
        for seed in 0..3000 {
            let (obs, info) = env.reset(Some(seed));
            let (_, _, pass, dest) = Taxi::decode(obs as usize);
            assert!(pass < 4 && pass != dest, "{obs}");
            assert_eq!(
                info.get("action_mask"),
                Some(&InfoValue::Ints(Taxi::action_mask(obs as usize).to_vec()))
            );
            seen.insert(obs);
        }
        // 3000 uniform draws over 300 states miss one with probability ~300·e^-10.
        assert_eq!(seen.len(), 300);
    }

    #[test]
    fn delivery_illegal_actions_and_masks() {
        let mut env = Taxi::new();
        env.reset(Some(0));
        // Taxi at R (0, 0) with the passenger there, going to G.
        let s = Taxi::encode(0, 0, 0, 1);
        env.set_state(&[s as f64]).unwrap();
        assert_eq!(Taxi::action_mask(s), [1, 0, 1, 0, 1, 0]);
        let step = env.step(&5).unwrap();
        assert_eq!((step.reward, step.obs as usize), (-10.0, s));
        let step = env.step(&4).unwrap();
        assert_eq!(
            (step.reward, step.obs as usize),
            (-1.0, Taxi::encode(0, 0, 4, 1))
        );
        env.set_state(&[Taxi::encode(0, 4, 4, 1) as f64]).unwrap();
        let step = env.step(&5).unwrap();
        assert_eq!((step.reward, step.terminated), (20.0, true));
        assert_eq!(step.obs as usize, Taxi::encode(0, 4, 1, 1));
    }

    #[test]
    fn rainy_moves_drift_and_blocked_moves_stay() {
        let env = Taxi::with_config(TaxiConfig {
            is_rainy: true,
            ..TaxiConfig::default()
        })
        .unwrap();
        // From (2, 2) south: forward (3, 2), left = east (2, 3), right = west (2, 1).
        let t = env.transitions(Taxi::encode(2, 2, 0, 1), SOUTH);
        let got: Vec<(f64, usize)> = t.iter().map(|t| (t.prob, t.next_state)).collect();
        let lateral = (1.0 - 0.8) / 2.0;
        assert_eq!(
            got,
            vec![
                (0.8, Taxi::encode(3, 2, 0, 1)),
                (lateral, Taxi::encode(2, 3, 0, 1)),
                (lateral, Taxi::encode(2, 1, 0, 1))
            ]
        );
        // From (0, 1) east is a wall: no drift.
        let s = Taxi::encode(0, 1, 0, 1);
        assert!(env.transitions(s, EAST).iter().all(|t| t.next_state == s));
        // Pickup stays deterministic.
        assert_eq!(env.transitions(Taxi::encode(0, 0, 0, 1), PICKUP).len(), 1);
    }

    #[test]
    fn a_fickle_passenger_changes_destination_once() {
        let mut env = Taxi::with_config(TaxiConfig {
            fickle_passenger: true,
            fickle_probability: 1.0,
            ..TaxiConfig::default()
        })
        .unwrap();
        env.reset(Some(0));
        env.set_state(&[Taxi::encode(2, 2, 4, 1) as f64]).unwrap();
        let step = env.step(&(SOUTH as i64)).unwrap();
        let (row, col, pass, dest) = Taxi::decode(step.obs as usize);
        assert_eq!((row, col, pass), (3, 2, 4));
        assert_ne!(dest, 1);
        let step = env.step(&(NORTH as i64)).unwrap();
        assert_eq!(Taxi::decode(step.obs as usize).3, dest);
    }
}
