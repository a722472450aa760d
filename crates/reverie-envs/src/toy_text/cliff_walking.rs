//! CliffWalking-v1, as Gymnasium 1.4.0's `CliffWalkingEnv` (Sutton & Barto, Example 6.6).

use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{Env, EnvError, Info, InfoValue, Observation, Rng, SimulatorState, Space, Step};

use super::tabular::parse_discrete_state;
use super::{Transition, TransitionTable};

const ENV_ID: &str = "CliffWalking-v1";

const ROWS: usize = 4;
const COLS: usize = 12;
const N_STATES: usize = ROWS * COLS;
const N_ACTIONS: usize = 4;
/// Bottom-left cell (3, 0).
const START: usize = 36;
/// Bottom-right cell (3, 11).
const GOAL: usize = 47;
/// Reward of every step that does not fall off the cliff, including the one into the goal.
const STEP_REWARD: f64 = -1.0;
/// Reward of a step into the cliff (which sends the agent back to the start).
const CLIFF_REWARD: f64 = -100.0;
/// Row and column change of actions 0 up, 1 right, 2 down, 3 left (Gymnasium's
/// `POSITION_MAPPING`).
const MOVES: [(i64, i64); N_ACTIONS] = [(-1, 0), (0, 1), (1, 0), (0, -1)];

/// Whether `(row, col)` is on the cliff: the bottom row between start and goal.
fn is_cliff(row: usize, col: usize) -> bool {
    row == ROWS - 1 && col > 0 && col < COLS - 1
}

/// CliffWalking-v1 (Gymnasium 1.4.0's `CliffWalkingEnv`): walk along a 4×12 grid from the
/// bottom-left corner (state 36) to the bottom-right one (47) without stepping off the cliff
/// between them (states 37..=46).
///
/// Observation `row * 12 + col`; actions 0 up, 1 right, 2 down, 3 left; moves off the grid
/// leave the agent in place. Every step costs -1; a step into the cliff costs -100 and puts
/// the agent back at the start without ending the episode. Terminated on reaching the goal.
/// No time limit (as registered by Gymnasium), so a random walk can take tens of thousands of
/// steps. With `is_slippery` each move goes in the intended direction or either perpendicular
/// one, with probability 1/3 each (Gymnasium's `CliffWalkingSlippery-v1`). The transition
/// table covers all 48 cells, as Gymnasium's does: the cliff and goal cells are not
/// absorbing, they are never occupied in an episode that starts at 36.
#[derive(Clone, Debug)]
pub struct CliffWalking {
    is_slippery: bool,
    table: TransitionTable,
    s: usize,
    rng: Rng,
}

impl Default for CliffWalking {
    fn default() -> Self {
        Self::new()
    }
}

impl CliffWalking {
    /// The deterministic cliff (Gymnasium's default `is_slippery=False`).
    pub fn new() -> Self {
        Self::build(false)
    }

    /// Builder: a slippery cliff when `on` (each of the intended and the two perpendicular
    /// moves with probability 1/3).
    pub fn with_slippery(self, on: bool) -> Self {
        Self {
            rng: self.rng,
            s: self.s,
            ..Self::build(on)
        }
    }

    fn build(is_slippery: bool) -> Self {
        Self {
            is_slippery,
            table: Self::build_table(is_slippery),
            s: START,
            rng: Rng::seed_from_u64(0),
        }
    }

    /// Gymnasium's `_calculate_transition_prob` for every state and action.
    fn build_table(is_slippery: bool) -> TransitionTable {
        TransitionTable::build(N_STATES, N_ACTIONS, |s, a, out| {
            let (row, col) = (s / COLS, s % COLS);
            let directions: &[usize] = if is_slippery {
                // Gymnasium's order: (a - 1) % 4, a, (a + 1) % 4.
                &[(a + N_ACTIONS - 1) % N_ACTIONS, a, (a + 1) % N_ACTIONS]
            } else {
                &[a]
            };
            // Python's `1 / len(deltas)`: 1.0 or 0.3333333333333333.
            let prob = 1.0 / directions.len() as f64;
            for &d in directions {
                let (dr, dc) = MOVES[d];
                let r = (row as i64 + dr).clamp(0, ROWS as i64 - 1) as usize;
                let c = (col as i64 + dc).clamp(0, COLS as i64 - 1) as usize;
                out.push(if is_cliff(r, c) {
                    Transition {
                        prob,
                        next_state: START,
                        reward: CLIFF_REWARD,
                        terminated: false,
                    }
                } else {
                    let next = r * COLS + c;
                    Transition {
                        prob,
                        next_state: next,
                        reward: STEP_REWARD,
                        terminated: next == GOAL,
                    }
                });
            }
        })
    }

    /// Whether moves slip.
    pub fn is_slippery(&self) -> bool {
        self.is_slippery
    }

    /// The start state (36).
    pub fn start_state(&self) -> usize {
        START
    }

    /// The goal state (47).
    pub fn goal_state(&self) -> usize {
        GOAL
    }

    /// Whether state `s` is a cliff cell (37..=46).
    pub fn is_cliff(&self, s: usize) -> bool {
        s < N_STATES && is_cliff(s / COLS, s % COLS)
    }

    /// Number of states (48).
    pub fn n_states(&self) -> usize {
        N_STATES
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

impl Env for CliffWalking {
    type Obs = i64;
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.s, &self.rng))
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.s, self.rng) = reverie_core::env::decode_state("CliffWalking", bytes)?;
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
        self.s = START;
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
        Some((COLS * 64, ROWS * 64))
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        use crate::render::grid;
        let tile = |r: usize, c: usize| match r * COLS + c {
            START => grid::START,
            GOAL => grid::GOAL,
            _ if is_cliff(r, c) => grid::CLIFF,
            _ => grid::FREE,
        };
        grid::draw_grid(
            frame,
            ROWS,
            COLS,
            tile,
            Some((self.s / COLS, self.s % COLS)),
        );
        Ok(())
    }
}

impl SimulatorState for CliffWalking {
    /// The observation is the state index.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 1)
    }

    fn state(&self) -> Vec<f64> {
        vec![self.s as f64]
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        self.s = parse_discrete_state(ENV_ID, state, N_STATES)?;
        Ok(Observation::Discrete(self.s as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cliff_sends_back_to_start_without_ending() {
        let mut env = CliffWalking::new();
        assert_eq!(env.reset(Some(0)).0, 36);
        let s = env.step(&1).unwrap();
        assert_eq!((s.obs, s.reward, s.terminated), (36, -100.0, false));
        env.set_state(&[35.0]).unwrap();
        let s = env.step(&2).unwrap();
        assert_eq!((s.obs, s.reward, s.terminated), (47, -1.0, true));
    }

    #[test]
    fn slippery_moves_split_in_thirds_in_gymnasium_order() {
        let env = CliffWalking::new().with_slippery(true);
        // From 24 (row 2, col 0), down: right (25), down (36), left (stays 24).
        let t = env.transitions(24, 2);
        let got: Vec<usize> = t.iter().map(|t| t.next_state).collect();
        assert_eq!(got, vec![25, 36, 24]);
        assert!(t.iter().all(|t| t.prob == 1.0 / 3.0));
        // From the start, up: left (stays), up (24), right (cliff: back to start, -100).
        let t = env.transitions(36, 0);
        assert_eq!(t[2].reward, -100.0);
        assert_eq!(t[2].next_state, 36);
    }
}
