//! The gridworld mazes of Sutton & Barto (2nd ed.), chapter 8: the Dyna maze (§8.2,
//! Figure 8.2), the blocking maze (§8.3, Figure 8.4) and the shortcut maze (Figure 8.5).
//!
//! Actions: 0 up, 1 down, 2 left, 3 right. A move into a wall or off the grid leaves the agent
//! in place. Reward 0 per step and 1 on reaching the goal, which terminates the episode.
//! Observation: `row * cols + col`. No time limit (the book has none). The changing mazes
//! swap their walls once the env has taken `change_at` steps in total, counted across
//! episodes from construction, as in the book's experiments.

use reverie_core::env::{check_discrete_action, observed_state};
use reverie_core::{Env, EnvError, Info, Observation, SimulatorState, Space, Step};

/// A maze's geometry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MazeLayout {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Start cell `(row, col)`.
    pub start: (usize, usize),
    /// Goal cell `(row, col)`.
    pub goal: (usize, usize),
    /// Wall cells `(row, col)`.
    pub walls: Vec<(usize, usize)>,
}

impl MazeLayout {
    /// The Dyna maze of Figure 8.2 (6 × 9, shortest path 14 steps).
    pub fn dyna_maze() -> Self {
        Self {
            rows: 6,
            cols: 9,
            start: (2, 0),
            goal: (0, 8),
            walls: vec![(1, 2), (2, 2), (3, 2), (4, 5), (0, 7), (1, 7), (2, 7)],
        }
    }

    /// Figure 8.4 before the change: the gap is on the right of the wall.
    pub fn blocking_before() -> Self {
        Self {
            rows: 6,
            cols: 9,
            start: (5, 3),
            goal: (0, 8),
            walls: (0..8).map(|c| (3, c)).collect(),
        }
    }

    /// Figure 8.4 after the change: the gap moves to the left end.
    pub fn blocking_after() -> Self {
        Self {
            walls: (1..9).map(|c| (3, c)).collect(),
            ..Self::blocking_before()
        }
    }

    /// Figure 8.5 before the change: only the long way round on the left.
    pub fn shortcut_before() -> Self {
        Self {
            walls: (1..9).map(|c| (3, c)).collect(),
            ..Self::blocking_before()
        }
    }

    /// Figure 8.5 after the change: a shortcut opens on the right.
    pub fn shortcut_after() -> Self {
        Self {
            walls: (1..8).map(|c| (3, c)).collect(),
            ..Self::blocking_before()
        }
    }

    /// This maze with every cell blown up into `factor × factor` cells (Example 8.4's
    /// mazes of growing size; the shortest path grows about `factor` times).
    pub fn scaled(&self, factor: usize) -> Self {
        assert!(factor >= 1, "scale factor must be >= 1");
        let scale = |(r, c): (usize, usize)| (r * factor, c * factor);
        let mut walls = Vec::new();
        for &(r, c) in &self.walls {
            for dr in 0..factor {
                for dc in 0..factor {
                    walls.push((r * factor + dr, c * factor + dc));
                }
            }
        }
        Self {
            rows: self.rows * factor,
            cols: self.cols * factor,
            start: scale(self.start),
            goal: scale(self.goal),
            walls,
        }
    }

    /// Number of cells (states).
    pub fn n_states(&self) -> usize {
        self.rows * self.cols
    }

    /// `row * cols + col`.
    pub fn index(&self, (r, c): (usize, usize)) -> usize {
        r * self.cols + c
    }

    fn wall_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.n_states()];
        for &cell in &self.walls {
            mask[self.index(cell)] = true;
        }
        mask
    }

    /// Length of the shortest path from start to goal (breadth-first search), if any.
    pub fn shortest_path(&self) -> Option<usize> {
        let walls = self.wall_mask();
        let mut dist = vec![usize::MAX; self.n_states()];
        let mut queue = std::collections::VecDeque::new();
        dist[self.index(self.start)] = 0;
        queue.push_back(self.index(self.start));
        while let Some(s) = queue.pop_front() {
            if s == self.index(self.goal) {
                return Some(dist[s]);
            }
            for a in 0..4 {
                let next = move_cell(self, &walls, s, a);
                if dist[next] == usize::MAX {
                    dist[next] = dist[s] + 1;
                    queue.push_back(next);
                }
            }
        }
        None
    }
}

/// The cell reached from `s` by action `a`, staying put at walls and edges.
fn move_cell(layout: &MazeLayout, walls: &[bool], s: usize, a: usize) -> usize {
    let (r, c) = (s / layout.cols, s % layout.cols);
    let (nr, nc) = match a {
        0 => (r.wrapping_sub(1), c),
        1 => (r + 1, c),
        2 => (r, c.wrapping_sub(1)),
        _ => (r, c + 1),
    };
    if nr >= layout.rows || nc >= layout.cols || walls[nr * layout.cols + nc] {
        s
    } else {
        nr * layout.cols + nc
    }
}

/// A Sutton & Barto maze, optionally changing its walls after `change_at` total steps.
#[derive(Clone, Debug)]
pub struct Maze {
    layout: MazeLayout,
    walls: Vec<bool>,
    change: Option<(u64, MazeLayout)>,
    total_steps: u64,
    position: usize,
}

impl Maze {
    /// A fixed maze.
    pub fn new(layout: MazeLayout) -> Self {
        let walls = layout.wall_mask();
        let position = layout.index(layout.start);
        Self {
            layout,
            walls,
            change: None,
            total_steps: 0,
            position,
        }
    }

    /// A maze whose walls become `after`'s once `change_at` steps have been taken in total.
    pub fn changing(before: MazeLayout, after: MazeLayout, change_at: u64) -> Self {
        let mut maze = Self::new(before);
        maze.change = Some((change_at, after));
        maze
    }

    /// The current geometry (after the change, once it happened).
    pub fn layout(&self) -> &MazeLayout {
        &self.layout
    }

    /// Steps taken since construction (what triggers the change).
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// Deterministic transition `(next_state, reward, terminated)` under the current walls.
    pub fn transition(&self, s: usize, a: usize) -> (usize, f64, bool) {
        let goal = self.layout.index(self.layout.goal);
        if s == goal {
            return (s, 0.0, true);
        }
        let next = move_cell(&self.layout, &self.walls, s, a);
        if next == goal {
            (next, 1.0, true)
        } else {
            (next, 0.0, false)
        }
    }
}

impl Env for Maze {
    type Obs = i64;
    type Action = i64;

    fn save_state(&self) -> Option<Vec<u8>> {
        reverie_core::env::encode_state(&(self.total_steps, self.position))
    }

    /// The walls follow from the step count: a maze past its change gets the new walls.
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        (self.total_steps, self.position) = reverie_core::env::decode_state("Maze", bytes)?;
        if let Some((at, _)) = &self.change {
            if self.total_steps >= *at {
                let (_, after) = self.change.take().expect("checked");
                self.walls = after.wall_mask();
                self.layout = after;
            }
        }
        Ok(())
    }

    fn observation_space(&self) -> Space {
        Space::discrete(self.layout.n_states() as u64)
    }

    fn action_space(&self) -> Space {
        Space::discrete(4)
    }

    fn reset(&mut self, _seed: Option<u64>) -> (i64, Info) {
        // The maze is deterministic: the seed has nothing to draw.
        self.position = self.layout.index(self.layout.start);
        (self.position as i64, Info::new())
    }

    fn step(&mut self, action: &i64) -> Result<Step<i64>, EnvError> {
        check_discrete_action(*action, 4)?;
        let (next, reward, terminated) = self.transition(self.position, *action as usize);
        self.position = next;
        self.total_steps += 1;
        if let Some((at, _)) = &self.change {
            if self.total_steps == *at {
                let (_, after) = self.change.take().expect("checked");
                self.walls = after.wall_mask();
                self.layout = after;
            }
        }
        Ok(Step {
            obs: next as i64,
            reward,
            terminated,
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
        Some(crate::render::grid::grid_size(
            self.layout.rows,
            self.layout.cols,
            640,
        ))
    }

    fn render(&self, frame: &mut reverie_core::Frame) -> Result<(), EnvError> {
        use crate::render::grid;
        let l = &self.layout;
        let tile = |r: usize, c: usize| {
            if (r, c) == l.goal {
                grid::GOAL
            } else if (r, c) == l.start {
                grid::START
            } else if self.walls[r * l.cols + c] {
                grid::WALL
            } else {
                grid::FREE
            }
        };
        let agent = Some((self.position / l.cols, self.position % l.cols));
        grid::draw_grid(frame, l.rows, l.cols, tile, agent);
        Ok(())
    }
}

impl SimulatorState for Maze {
    /// The observation is the state index.
    fn state_of_observation(&self, obs: &Observation) -> Option<Vec<f64>> {
        observed_state(obs, 1)
    }

    fn state(&self) -> Vec<f64> {
        vec![self.position as f64]
    }

    fn set_state(&mut self, state: &[f64]) -> Result<Observation, EnvError> {
        let n = self.layout.n_states();
        match state {
            [s] if s.fract() == 0.0 && *s >= 0.0 && (*s as usize) < n && !self.walls[*s as usize] => {
                self.position = *s as usize;
                Ok(Observation::Discrete(self.position as i64))
            }
            _ => Err(EnvError::invalid_state(
                "maze",
                format!("expected [cell] with cell an integer in 0..{n} that is not a wall, got {state:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dyna_maze_shortest_path_is_14() {
        assert_eq!(MazeLayout::dyna_maze().shortest_path(), Some(14));
    }

    #[test]
    fn scaled_maze_grows_its_shortest_path() {
        let base = MazeLayout::dyna_maze();
        for factor in 2..5 {
            let scaled = base.scaled(factor);
            assert_eq!(scaled.n_states(), 54 * factor * factor);
            let path = scaled.shortest_path().unwrap();
            assert!(
                path >= 14 * factor - factor && path <= 14 * factor + 2 * factor,
                "{factor}: {path}"
            );
        }
    }

    #[test]
    fn blocking_maze_changes_after_the_given_step_count() {
        let mut maze = Maze::changing(
            MazeLayout::blocking_before(),
            MazeLayout::blocking_after(),
            5,
        );
        assert_eq!(maze.layout().shortest_path(), Some(10));
        maze.reset(None);
        for _ in 0..5 {
            maze.step(&0).unwrap();
        }
        assert_eq!(maze.layout().shortest_path(), Some(16));
    }

    #[test]
    fn shortcut_opens() {
        let before = MazeLayout::shortcut_before().shortest_path().unwrap();
        let after = MazeLayout::shortcut_after().shortest_path().unwrap();
        assert!(after < before, "{after} < {before}");
    }

    #[test]
    fn walls_block_and_goal_pays_one() {
        let mut maze = Maze::new(MazeLayout::dyna_maze());
        let (s, _) = maze.reset(None);
        assert_eq!(s, 18);
        // Right from (2,0) to (2,1), then right into the wall at (2,2): stays.
        assert_eq!(maze.step(&3).unwrap().obs, 19);
        assert_eq!(maze.step(&3).unwrap().obs, 19);
        maze.set_state(&[17.0]).unwrap(); // (1,8), just below the goal
        let step = maze.step(&0).unwrap();
        assert_eq!((step.obs, step.reward, step.terminated), (8, 1.0, true));
        assert!(
            maze.set_state(&[2.0 * 9.0 + 2.0]).is_err(),
            "a wall cell is not a state"
        );
    }
}
