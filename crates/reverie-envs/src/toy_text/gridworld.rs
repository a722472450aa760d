//! GridWorld-v0: reverie's own small deterministic grid, for tabular agents and planners.

use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{Env, EnvError, Info, Observation, SimulatorState, Space, Step};

use super::tabular::parse_discrete_state;
use super::{Transition, TransitionTable};

const ENV_ID: &str = "GridWorld-v0";

const SIZE: usize = 5;
const N_STATES: usize = SIZE * SIZE;
const N_ACTIONS: usize = 4;
/// Cell (0, 0).
const START: usize = 0;
/// Cell (4, 4).
const GOAL: usize = N_STATES - 1;
/// Cells `(row, col)` the agent cannot enter.
const OBSTACLES: [(usize, usize); 3] = [(2, 2), (2, 3), (3, 2)];
/// Reward of every step that does not reach the goal (blocked moves included).
const STEP_REWARD: f64 = -1.0;
/// Reward of the step into the goal (instead of the step cost).
const GOAL_REWARD: f64 = 100.0;
/// Row and column change of actions 0 up, 1 right, 2 down, 3 left (clockwise from up, the
/// order CliffWalking uses).
const MOVES: [(i64, i64); N_ACTIONS] = [(-1, 0), (0, 1), (1, 0), (0, -1)];

/// Whether cell `s` is an obstacle.
const fn is_obstacle(s: usize) -> bool {
    let (row, col) = (s / SIZE, s % SIZE);
    let mut i = 0;
    while i < OBSTACLES.len() {
        if OBSTACLES[i].0 == row && OBSTACLES[i].1 == col {
            return true;
        }
        i += 1;
    }
    false
}

/// GridWorld-v0: walk a 5×5 grid from the top-left corner (0, 0) to the bottom-right one
/// (4, 4) around three obstacles at (2, 2), (2, 3) and (3, 2).
///
/// Observation `row * 5 + col`; actions 0 up, 1 right, 2 down, 3 left (clockwise from up).
/// A move off the grid or into an obstacle leaves the agent in place. Each step costs -1;
/// the step into the goal earns +100 instead and terminates (so the best return is
/// 7 · (-1) + 100 = 93, in 8 steps). The goal is absorbing: stepping on from it stays there
/// with reward 0, as FrozenLake's goal does. Deterministic, so the reset seed changes nothing.
/// Registered with a 100-step limit.
#[derive(Clone, Debug)]
pub struct GridWorld {
    s: usize,
}

impl Default for GridWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl GridWorld {
    /// The grid, with the agent at the start.
    pub fn new() -> Self {
        Self { s: START }
    }

    /// The outcome (probability 1) of action `a` in state `s`: the true model, for planners.
    /// Obstacle cells are never occupied; from one, every action stays put at -1, so sweeps
    /// over all 25 states stay well defined. Panics if `s >= 25` or `a >= 4`.
    pub const fn transition(s: usize, a: usize) -> Transition {
        assert!(
            s < N_STATES && a < N_ACTIONS,
            "state or action out of range"
        );
        if s == GOAL {
            return Transition {
                prob: 1.0,
                next_state: GOAL,
                reward: 0.0,
                terminated: true,
            };
        }
        let (dr, dc) = MOVES[a];
        let row = (s / SIZE) as i64 + dr;
        let col = (s % SIZE) as i64 + dc;
        let inside = row >= 0 && row < SIZE as i64 && col >= 0 && col < SIZE as i64;
        let mut next = s;
        if inside && !is_obstacle(row as usize * SIZE + col as usize) && !is_obstacle(s) {
            next = row as usize * SIZE + col as usize;
        }
        Transition {
            prob: 1.0,
            next_state: next,
            reward: if next == GOAL {
                GOAL_REWARD
            } else {
                STEP_REWARD
            },
            terminated: next == GOAL,
        }
    }

    /// The transition function as a table (one entry per state and action), for code
    /// written against the stochastic toy-text envs' `P[s][a]`.
    pub fn transition_table(&self) -> TransitionTable {
        TransitionTable::build(N_STATES, N_ACTIONS, |s, a, out| {
            out.push(Self::transition(s, a))
        })
    }

    /// Whether state `s` is an obstacle cell.
    pub fn is_obstacle(&self, s: usize) -> bool {
        s < N_STATES && is_obstacle(s)
    }

    /// The start state (0).
    pub fn start_state(&self) -> usize {
        START
    }

    /// The goal state (24).
    pub fn goal_state(&self) -> usize {
        GOAL
    }

    /// Number of states (25).
    pub fn n_states(&self) -> usize {
        N_STATES
    }

    /// Number of actions (4).
    pub fn n_actions(&self) -> usize {
        N_ACTIONS
    }
}

impl Env for GridWorld {
    type Obs = i64;
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&self.s)
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.s = reverie_core::env::decode_state("GridWorld", bytes)?;
        Ok(())
    }

    fn observation_space(&self) -> Space {
        Space::discrete(N_STATES as u64)
    }

    fn action_space(&self) -> Space {
        Space::discrete(N_ACTIONS as u64)
    }

    fn reset(&mut self, _seed: Option<u64>) -> (i64, Info) {
        self.s = START;
        (START as i64, Info::new())
    }

    #[inline]
    fn step(&mut self, action: &i64) -> Result<Step<i64>, EnvError> {
        check_discrete_action(*action, N_ACTIONS as u64)?;
        let t = Self::transition(self.s, *action as usize);
        self.s = t.next_state;
        Ok(Step {
            obs: t.next_state as i64,
            reward: t.reward,
            terminated: t.terminated,
            truncated: false,
            info: Info::new(),
        })
    }

    fn simulator(&self) -> Option<&dyn SimulatorState> {
        Some(self)
    }

    fn simulator_mut(&mut self) -> Option<&mut dyn SimulatorState> {
        Some(self)
    }

    fn render_size(&self) -> Option<(usize, usize)> {
        Some((SIZE * 64, SIZE * 64))
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        use crate::render::grid;
        let tile = |r: usize, c: usize| match r * SIZE + c {
            START => grid::START,
            GOAL => grid::GOAL,
            s if is_obstacle(s) => grid::WALL,
            _ => grid::FREE,
        };
        grid::draw_grid(
            frame,
            SIZE,
            SIZE,
            tile,
            Some((self.s / SIZE, self.s % SIZE)),
        );
        Ok(())
    }
}

impl SimulatorState for GridWorld {
    /// The observation is the state index.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 1)
    }

    fn state(&self) -> Vec<f64> {
        vec![self.s as f64]
    }

    /// Refuses obstacle cells as well as non-integer or out-of-range states.
    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        let s = parse_discrete_state(ENV_ID, state, N_STATES)?;
        if is_obstacle(s) {
            return Err(EnvError::invalid_state(
                ENV_ID,
                format!("state {s} is an obstacle cell"),
            ));
        }
        self.s = s;
        Ok(Observation::Discrete(s as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shortest number of steps from `from` to the goal (breadth-first over the true model).
    fn shortest_path(from: usize) -> Option<usize> {
        let mut dist = [usize::MAX; N_STATES];
        dist[from] = 0;
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(s) = queue.pop_front() {
            if s == GOAL {
                return Some(dist[s]);
            }
            for a in 0..N_ACTIONS {
                let next = GridWorld::transition(s, a).next_state;
                if dist[next] == usize::MAX {
                    dist[next] = dist[s] + 1;
                    queue.push_back(next);
                }
            }
        }
        None
    }

    #[test]
    fn optimal_path_from_the_start_takes_8_steps() {
        assert_eq!(shortest_path(START), Some(8));
        // Along the top row and down the right column: 7 steps at -1, then +100.
        let mut env = GridWorld::new();
        env.reset(Some(0));
        let mut ret = 0.0;
        for (i, a) in [1, 1, 1, 1, 2, 2, 2, 2].into_iter().enumerate() {
            let step = env.step(&a).unwrap();
            ret += step.reward;
            assert_eq!(step.terminated, i == 7);
        }
        assert_eq!(ret, 93.0);
    }

    #[test]
    fn obstacles_and_walls_block() {
        // (1, 2) down is (2, 2), an obstacle.
        let t = GridWorld::transition(7, 2);
        assert_eq!((t.next_state, t.reward, t.terminated), (7, -1.0, false));
        // (3, 3) left is (3, 2), an obstacle; up is (2, 3), another.
        assert_eq!(GridWorld::transition(18, 3).next_state, 18);
        assert_eq!(GridWorld::transition(18, 0).next_state, 18);
        // Walls: up and left from the start stay.
        assert_eq!(GridWorld::transition(0, 0).next_state, 0);
        assert_eq!(GridWorld::transition(0, 3).next_state, 0);
        // The obstacle cells cannot be loaded.
        let mut env = GridWorld::new();
        assert!(env.set_state(&[12.0]).is_err());
        assert!(env.set_state(&[25.0]).is_err());
        assert_eq!(env.set_state(&[11.0]).unwrap(), Observation::Discrete(11));
    }

    #[test]
    fn goal_rewards_once_and_is_absorbing() {
        let mut env = GridWorld::new();
        env.set_state(&[23.0]).unwrap();
        let step = env.step(&1).unwrap();
        assert_eq!((step.obs, step.reward, step.terminated), (24, 100.0, true));
        let step = env.step(&0).unwrap();
        assert_eq!((step.obs, step.reward, step.terminated), (24, 0.0, true));
        assert!(env.step(&4).is_err());
    }

    #[test]
    fn the_table_matches_the_function() {
        let table = GridWorld::new().transition_table();
        for s in 0..N_STATES {
            for a in 0..N_ACTIONS {
                assert_eq!(table.get(s, a), &[GridWorld::transition(s, a)]);
            }
        }
    }
}
