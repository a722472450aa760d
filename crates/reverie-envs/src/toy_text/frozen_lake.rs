//! FrozenLake-v1, as Gymnasium 1.4.0's `FrozenLakeEnv`, plus its random map generator.

use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{Env, EnvError, Info, InfoValue, Observation, Rng, SimulatorState, Space, Step};

use super::tabular::{check_probability, parse_discrete_state, ConfigError};
use super::{Transition, TransitionTable};

const ENV_ID: &str = "FrozenLake-v1";

/// Action: move left.
const LEFT: usize = 0;
/// Action: move down.
const DOWN: usize = 1;
/// Action: move right.
const RIGHT: usize = 2;
/// Action: move up.
const UP: usize = 3;
const N_ACTIONS: usize = 4;

/// Gymnasium's `MAPS["4x4"]`.
const MAP_4X4: [&str; 4] = ["SFFF", "FHFH", "FFFH", "HFFG"];
/// Gymnasium's `MAPS["8x8"]`.
const MAP_8X8: [&str; 8] = [
    "SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG",
];

/// Gymnasium's default `success_rate`: with the two perpendicular slips every direction is
/// equally likely.
const DEFAULT_SUCCESS_RATE: f64 = 1.0 / 3.0;
/// Gymnasium's default `reward_schedule` (goal, hole, frozen).
const DEFAULT_REWARD_SCHEDULE: [f64; 3] = [1.0, 0.0, 0.0];
/// Probability that a tile of a generated map is frozen when Gymnasium picks the map itself.
pub const DEFAULT_FROZEN_PROB: f64 = 0.8;

/// The predefined map `name` (`"4x4"` or `"8x8"`), as rows of `S`/`F`/`H`/`G` tiles.
pub fn builtin_map(name: &str) -> Option<Vec<String>> {
    let rows: &[&str] = match name {
        "4x4" => &MAP_4X4,
        "8x8" => &MAP_8X8,
        _ => return None,
    };
    Some(rows.iter().map(|r| r.to_string()).collect())
}

/// Whether `board` (a square of side `size`) has a path of non-hole tiles from the top-left
/// corner to a goal: Gymnasium's `is_valid`, a depth-first search.
fn has_path(board: &[Vec<u8>], size: usize) -> bool {
    let mut frontier = vec![(0usize, 0usize)];
    let mut discovered = vec![false; size * size];
    while let Some((r, c)) = frontier.pop() {
        if discovered[r * size + c] {
            continue;
        }
        discovered[r * size + c] = true;
        for (dr, dc) in [(1i64, 0i64), (0, 1), (-1, 0), (0, -1)] {
            let (nr, nc) = (r as i64 + dr, c as i64 + dc);
            if nr < 0 || nr >= size as i64 || nc < 0 || nc >= size as i64 {
                continue;
            }
            let (nr, nc) = (nr as usize, nc as usize);
            match board[nr][nc] {
                b'G' => return true,
                b'H' => {}
                _ => frontier.push((nr, nc)),
            }
        }
    }
    false
}

/// A random `size × size` map with a path from the start (top left) to the goal (bottom
/// right), as Gymnasium's `generate_random_map`: each tile is frozen with probability `p`
/// (else a hole), and boards are redrawn until the goal is reachable.
///
/// Needs `size >= 2` (a 1×1 board has no room for both S and G) and `0 < p <= 1` (with
/// `p = 0` no board of side > 2 ever has a path). Small `p` on large boards may take very
/// many redraws, as in Gymnasium.
pub fn generate_random_map(size: usize, p: f64, rng: &mut Rng) -> Result<Vec<String>, ConfigError> {
    if size < 2 {
        return Err(ConfigError::new(
            "size",
            format!("a random map needs a side of at least 2, got {size}"),
        ));
    }
    if !(p > 0.0 && p <= 1.0) {
        return Err(ConfigError::new(
            "p",
            format!("the frozen-tile probability must be in (0, 1], got {p}"),
        ));
    }
    loop {
        let mut board: Vec<Vec<u8>> = (0..size)
            .map(|_| {
                (0..size)
                    .map(|_| if rng.uniform() < p { b'F' } else { b'H' })
                    .collect()
            })
            .collect();
        board[0][0] = b'S';
        board[size - 1][size - 1] = b'G';
        if has_path(&board, size) {
            return Ok(board
                .into_iter()
                .map(|row| String::from_utf8(row).expect("ASCII tiles"))
                .collect());
        }
    }
}

/// The parameters of [`FrozenLake`] (Gymnasium's constructor arguments).
#[derive(Clone, Debug, PartialEq)]
pub struct FrozenLakeConfig {
    /// The map, one string per row: `S` start (exactly one), `F` frozen, `H` hole, `G` goal
    /// (at least one). Rows must have equal lengths.
    pub desc: Vec<String>,
    /// Whether moves slip: the intended direction is taken with probability
    /// `success_rate`, each perpendicular one with `(1 - success_rate) / 2`.
    pub is_slippery: bool,
    /// Probability of moving as intended on a slippery lake.
    pub success_rate: f64,
    /// Rewards for entering a goal, a hole, and a frozen (or start) tile.
    pub reward_schedule: [f64; 3],
}

impl Default for FrozenLakeConfig {
    /// Gymnasium's defaults: the 4x4 map, slippery, success rate 1/3, rewards (1, 0, 0).
    fn default() -> Self {
        Self {
            desc: builtin_map("4x4").expect("the 4x4 map exists"),
            is_slippery: true,
            success_rate: DEFAULT_SUCCESS_RATE,
            reward_schedule: DEFAULT_REWARD_SCHEDULE,
        }
    }
}

impl FrozenLakeConfig {
    /// The defaults with the predefined map `name` (`"4x4"` or `"8x8"`).
    pub fn named(name: &str) -> Result<Self, ConfigError> {
        let desc = builtin_map(name).ok_or_else(|| {
            ConfigError::new(
                "map_name",
                format!("unknown map {name:?}; expected \"4x4\" or \"8x8\""),
            )
        })?;
        Ok(Self {
            desc,
            ..Self::default()
        })
    }

    /// The defaults with the custom map `desc`.
    pub fn with_desc(desc: Vec<String>) -> Self {
        Self {
            desc,
            ..Self::default()
        }
    }

    /// Builder: sets `is_slippery`.
    pub fn slippery(mut self, on: bool) -> Self {
        self.is_slippery = on;
        self
    }

    /// Builder: sets `success_rate`.
    pub fn success_rate(mut self, p: f64) -> Self {
        self.success_rate = p;
        self
    }

    /// Builder: sets `reward_schedule` (goal, hole, frozen).
    pub fn reward_schedule(mut self, schedule: [f64; 3]) -> Self {
        self.reward_schedule = schedule;
        self
    }
}

/// The checked map: tiles row-major, shape, start index.
struct Board {
    tiles: Vec<u8>,
    nrow: usize,
    ncol: usize,
    start: usize,
}

fn parse_board(desc: &[String]) -> Result<Board, ConfigError> {
    let bad = |reason: String| ConfigError::new("desc", reason);
    let nrow = desc.len();
    let ncol = desc.first().map_or(0, |r| r.len());
    if nrow == 0 || ncol == 0 {
        return Err(bad("the map is empty".into()));
    }
    let mut tiles = Vec::with_capacity(nrow * ncol);
    for (r, row) in desc.iter().enumerate() {
        if row.len() != ncol {
            return Err(bad(format!(
                "the map is not rectangular: row {r} ({row:?}) has {} tiles, row 0 has {ncol}",
                row.len()
            )));
        }
        for (c, tile) in row.bytes().enumerate() {
            if !matches!(tile, b'S' | b'F' | b'H' | b'G') {
                return Err(bad(format!(
                    "row {r} ({row:?}), column {c}: unknown tile {:?}; expected S, F, H or G",
                    row[c..].chars().next().unwrap_or('?')
                )));
            }
            tiles.push(tile);
        }
    }
    let starts: Vec<usize> = (0..tiles.len()).filter(|&i| tiles[i] == b'S').collect();
    if starts.len() != 1 {
        return Err(bad(format!(
            "the map needs exactly one start tile S, found {}",
            starts.len()
        )));
    }
    if !tiles.contains(&b'G') {
        return Err(bad("the map needs at least one goal tile G".into()));
    }
    Ok(Board {
        tiles,
        nrow,
        ncol,
        start: starts[0],
    })
}

/// FrozenLake-v1 (Gymnasium 1.4.0's `FrozenLakeEnv`): walk from `S` to `G` across a grid
/// without falling into a hole `H`.
///
/// Observation `row * ncol + col`; actions 0 left, 1 down, 2 right, 3 up; moves off the grid
/// leave the agent in place. Entering a goal gives `reward_schedule[0]` (default 1) and
/// terminates; entering a hole gives `reward_schedule[1]` (0) and terminates; other tiles give
/// `reward_schedule[2]` (0). Holes and goals are absorbing: every action stays, reward 0,
/// terminated. On a slippery lake the move is the intended one with probability
/// `success_rate`, else one of the two perpendicular ones. Registered with a 100-step limit.
///
/// Steps sample the transition table with reverie's [`Rng`], not numpy's, so slippery
/// trajectories differ from Gymnasium's while following the same probabilities;
/// non-slippery ones are identical. `info["prob"]` is the probability of the entry drawn.
#[derive(Clone, Debug)]
pub struct FrozenLake {
    config: FrozenLakeConfig,
    tiles: Vec<u8>,
    nrow: usize,
    ncol: usize,
    start: usize,
    table: TransitionTable,
    s: usize,
    rng: Rng,
}

impl Default for FrozenLake {
    fn default() -> Self {
        Self::new(FrozenLakeConfig::default()).expect("the default config is valid")
    }
}

impl FrozenLake {
    /// Builds the lake and its transition table; refuses a malformed map (not rectangular,
    /// not exactly one `S`, no `G`, unknown tiles), a `success_rate` outside [0, 1] and
    /// non-finite rewards.
    pub fn new(config: FrozenLakeConfig) -> Result<Self, ConfigError> {
        let board = parse_board(&config.desc)?;
        check_probability("success_rate", config.success_rate)?;
        if !config.reward_schedule.iter().all(|r| r.is_finite()) {
            return Err(ConfigError::new(
                "reward_schedule",
                format!("rewards must be finite, got {:?}", config.reward_schedule),
            ));
        }
        let table = Self::build_table(&board, &config);
        Ok(Self {
            tiles: board.tiles,
            nrow: board.nrow,
            ncol: board.ncol,
            start: board.start,
            s: board.start,
            table,
            config,
            rng: Rng::seed_from_u64(0),
        })
    }

    /// Gymnasium's construction of `P`, entry for entry.
    fn build_table(board: &Board, config: &FrozenLakeConfig) -> TransitionTable {
        let (nrow, ncol) = (board.nrow, board.ncol);
        let fail_rate = (1.0 - config.success_rate) / 2.0;
        // Gymnasium's `inc`: one move, clamped to the grid.
        let step_to = |row: usize, col: usize, a: usize| -> usize {
            let (row, col) = match a {
                LEFT => (row, col.saturating_sub(1)),
                DOWN => ((row + 1).min(nrow - 1), col),
                RIGHT => (row, (col + 1).min(ncol - 1)),
                UP => (row.saturating_sub(1), col),
                _ => unreachable!("4 actions"),
            };
            row * ncol + col
        };
        let outcome = |prob: f64, next: usize| -> Transition {
            let tile = board.tiles[next];
            let reward = match tile {
                b'G' => config.reward_schedule[0],
                b'H' => config.reward_schedule[1],
                _ => config.reward_schedule[2],
            };
            Transition {
                prob,
                next_state: next,
                reward,
                terminated: matches!(tile, b'G' | b'H'),
            }
        };
        TransitionTable::build(nrow * ncol, N_ACTIONS, |s, a, out| {
            let (row, col) = (s / ncol, s % ncol);
            if matches!(board.tiles[s], b'G' | b'H') {
                // Absorbing: the episode is over, stepping on changes nothing.
                out.push(Transition {
                    prob: 1.0,
                    next_state: s,
                    reward: 0.0,
                    terminated: true,
                });
            } else if config.is_slippery {
                // Gymnasium's order: the direction clockwise before, the intended one, after.
                for b in [(a + N_ACTIONS - 1) % N_ACTIONS, a, (a + 1) % N_ACTIONS] {
                    let prob = if b == a {
                        config.success_rate
                    } else {
                        fail_rate
                    };
                    out.push(outcome(prob, step_to(row, col, b)));
                }
            } else {
                out.push(outcome(1.0, step_to(row, col, a)));
            }
        })
    }

    /// The parameters the lake was built with.
    pub fn config(&self) -> &FrozenLakeConfig {
        &self.config
    }

    /// Number of rows of the map.
    pub fn nrow(&self) -> usize {
        self.nrow
    }

    /// Number of columns of the map.
    pub fn ncol(&self) -> usize {
        self.ncol
    }

    /// The tile (`b'S'`, `b'F'`, `b'H'` or `b'G'`) of state `s`. Panics if out of range.
    pub fn tile(&self, s: usize) -> u8 {
        self.tiles[s]
    }

    /// The start state (the `S` tile).
    pub fn start_state(&self) -> usize {
        self.start
    }

    /// Number of states (`nrow * ncol`).
    pub fn n_states(&self) -> usize {
        self.table.n_states()
    }

    /// Number of actions (4).
    pub fn n_actions(&self) -> usize {
        N_ACTIONS
    }

    /// Gymnasium's `P[s][a]`. Panics if `s` or `a` is out of range.
    pub fn transitions(&self, s: usize, a: usize) -> &[Transition] {
        self.table.get(s, a)
    }

    /// The whole transition table.
    pub fn transition_table(&self) -> &TransitionTable {
        &self.table
    }
}

impl Env for FrozenLake {
    type Obs = i64;
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.s, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.s, self.rng) = reverie_core::env::decode_state("FrozenLake", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        Space::discrete(self.n_states() as u64)
    }

    fn action_space(&self) -> Space {
        Space::discrete(N_ACTIONS as u64)
    }

    fn reset(&mut self, seed: Option<u64>) -> (i64, Info) {
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        // The start distribution is a point mass: the map has exactly one S.
        self.s = self.start;
        (
            self.s as i64,
            Info::new().with("prob", InfoValue::Float(1.0)),
        )
    }

    #[inline]
    fn step(&mut self, action: &i64) -> Result<Step<i64>, EnvError> {
        check_discrete_action(*action, N_ACTIONS as u64)?;
        let t = *self.table.sample(self.s, *action as usize, &mut self.rng);
        self.s = t.next_state;
        Ok(Step {
            obs: t.next_state as i64,
            reward: t.reward,
            terminated: t.terminated,
            truncated: false,
            info: Info::new().with("prob", InfoValue::Float(t.prob)),
        })
    }

    fn simulator(&self) -> Option<&dyn SimulatorState> {
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        Some(self)
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some(crate::render::grid::grid_size(self.nrow, self.ncol, 512))
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        use crate::render::grid;
        let ncol = self.ncol;
        let tile = |r: usize, c: usize| match self.tiles[r * ncol + c] {
            b'S' => grid::START,
            b'G' => grid::GOAL,
            b'H' => grid::HOLE,
            _ => grid::ICE,
        };
        let agent = Some((self.s / ncol, self.s % ncol));
        grid::draw_grid(frame, self.nrow, ncol, tile, agent);
        Ok(())
    }
}

impl SimulatorState for FrozenLake {
    /// The observation is the state index.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 1)
    }

    fn state(&self) -> Vec<f64> {
        vec![self.s as f64]
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.s = parse_discrete_state(ENV_ID, state, self.n_states())?;
        Ok(Observation::Discrete(self.s as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(rows: &[&str]) -> Vec<String> {
        rows.iter().map(|r| r.to_string()).collect()
    }

    fn error_of(rows: &[&str]) -> ConfigError {
        FrozenLake::new(FrozenLakeConfig::with_desc(desc(rows))).unwrap_err()
    }

    #[test]
    fn malformed_maps_are_refused_with_the_reason() {
        let e = error_of(&[]);
        assert_eq!(e.option, "desc");
        assert!(e.reason.contains("empty"), "{e}");
        let e = error_of(&["SFF", "FG"]);
        assert!(e.reason.contains("not rectangular"), "{e}");
        let e = error_of(&["SFF", "FFF"]);
        assert!(e.reason.contains("goal"), "{e}");
        let e = error_of(&["FFF", "FFG"]);
        assert!(e.reason.contains("exactly one start") && e.reason.contains("found 0"));
        let e = error_of(&["SFS", "FFG"]);
        assert!(e.reason.contains("found 2"), "{e}");
        let e = error_of(&["SXF", "FFG"]);
        assert!(
            e.reason.contains("'X'") && e.reason.contains("column 1"),
            "{e}"
        );
    }

    #[test]
    fn bad_success_rates_and_rewards_are_refused() {
        let e = FrozenLake::new(FrozenLakeConfig::default().success_rate(1.5)).unwrap_err();
        assert_eq!(e.option, "success_rate");
        let e = FrozenLake::new(FrozenLakeConfig::default().success_rate(f64::NAN)).unwrap_err();
        assert_eq!(e.option, "success_rate");
        let e =
            FrozenLake::new(FrozenLakeConfig::default().reward_schedule([f64::INFINITY, 0.0, 0.0]))
                .unwrap_err();
        assert_eq!(e.option, "reward_schedule");
    }

    #[test]
    fn custom_map_starts_at_s_and_uses_the_reward_schedule() {
        let config = FrozenLakeConfig::with_desc(desc(&["FFS", "HFG"]))
            .slippery(false)
            .reward_schedule([5.0, -3.0, -0.5]);
        let mut env = FrozenLake::new(config).unwrap();
        assert_eq!(env.reset(Some(1)).0, 2);
        let s = env.step(&0).unwrap(); // left onto F
        assert_eq!((s.obs, s.reward, s.terminated), (1, -0.5, false));
        let s = env.step(&1).unwrap(); // down onto F
        assert_eq!((s.obs, s.reward, s.terminated), (4, -0.5, false));
        let s = env.step(&2).unwrap(); // right onto G
        assert_eq!((s.obs, s.reward, s.terminated), (5, 5.0, true));
        // The goal is absorbing.
        let s = env.step(&0).unwrap();
        assert_eq!((s.obs, s.reward, s.terminated), (5, 0.0, true));
        env.set_state(&[4.0]).unwrap();
        let s = env.step(&0).unwrap(); // left into the hole
        assert_eq!((s.obs, s.reward, s.terminated), (3, -3.0, true));
    }

    #[test]
    fn slippery_table_matches_gymnasium_order_and_rates() {
        let env = FrozenLake::new(FrozenLakeConfig::default().success_rate(0.75)).unwrap();
        // State 5 is a hole: one absorbing entry.
        assert_eq!(
            env.transitions(5, UP),
            &[Transition {
                prob: 1.0,
                next_state: 5,
                reward: 0.0,
                terminated: true
            }]
        );
        // From state 6 (row 1, col 2), up: left (5, a hole), up (2), right (7, a hole).
        let t = env.transitions(6, UP);
        let got: Vec<(f64, usize, bool)> = t
            .iter()
            .map(|t| (t.prob, t.next_state, t.terminated))
            .collect();
        assert_eq!(
            got,
            vec![(0.125, 7, true), (0.75, 2, false), (0.125, 5, true)]
        );
    }

    #[test]
    fn set_state_refuses_non_integers_and_out_of_range() {
        let mut env = FrozenLake::default();
        for bad in [[16.0], [-1.0], [0.5], [f64::NAN]] {
            assert!(matches!(
                env.set_state(&bad),
                Err(EnvError::InvalidState { .. })
            ));
        }
        assert_eq!(env.set_state(&[15.0]).unwrap(), Observation::Discrete(15));
    }

    #[test]
    fn random_maps_always_have_a_path() {
        let mut rng = Rng::seed_from_u64(3);
        for size in [2, 4, 8, 12] {
            for _ in 0..20 {
                let map = generate_random_map(size, 0.6, &mut rng).unwrap();
                assert_eq!(map.len(), size);
                let board: Vec<Vec<u8>> = map.iter().map(|r| r.bytes().collect()).collect();
                assert!(has_path(&board, size));
                assert!(FrozenLake::new(FrozenLakeConfig::with_desc(map)).is_ok());
            }
        }
        assert!(generate_random_map(1, 0.8, &mut rng).is_err());
        assert!(generate_random_map(4, 0.0, &mut rng).is_err());
    }
}
