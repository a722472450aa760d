//! MuZero's replay: whole games with their search statistics, positions sampled in
//! proportion to a priority (prioritised replay, Schaul et al. 2016, as MuZero uses it:
//! `P(i) ∝ pᵢ^α` with `pᵢ = |ν_i − z_i|`, importance weights `(N·P(i))^−β`), and the
//! unroll targets of a position: n-step values bootstrapped from the search's root values,
//! the observed rewards, and the visit-count policies.

use std::collections::VecDeque;

use reverie_core::Rng;
use serde::{Deserialize, Serialize};

/// One finished (or running) episode.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Game {
    /// `[T, obs]` observations the actions were searched from.
    pub(super) obs: Vec<f32>,
    pub(super) actions: Vec<usize>,
    pub(super) rewards: Vec<f32>,
    /// The search's value of each root (the bootstrap of n-step targets).
    pub(super) root_values: Vec<f32>,
    /// `[T, actions]` the search's improved policies (the policy targets).
    pub(super) policies: Vec<f32>,
    /// `[T]` sampling priorities.
    pub(super) priorities: Vec<f32>,
    /// `[T, actions]` the legal actions at each position where the env reports them (board
    /// games), empty otherwise: reanalyse masks its new searches' roots with them.
    #[serde(default)]
    pub(super) legal: Vec<bool>,
    /// The episode ended in a terminal state (values beyond it are 0); otherwise it was cut
    /// and the last root value stands in for what follows.
    pub(super) terminated: bool,
}

impl Game {
    pub(super) fn len(&self) -> usize {
        self.actions.len()
    }
}

/// The unroll targets of a batch, row-major over `[B, K + 1]` (policies `[B, K + 1, A]`).
#[derive(Debug, Default)]
pub(super) struct Targets {
    /// `[B, obs]` the observation at each sampled position.
    pub(super) obs: Vec<f32>,
    /// `[B, K]` the actions unrolled (random past the game's end, as MuZero does).
    pub(super) actions: Vec<usize>,
    /// `[B, K + 1]` n-step value targets.
    pub(super) values: Vec<f32>,
    /// `[B, K + 1]` the discounted rewards of each value target, without its bootstrap.
    pub(super) value_rewards: Vec<f32>,
    /// `[B, K + 1]` γⁿ of each value target's bootstrap (0 where it has none).
    pub(super) bootstrap_scale: Vec<f32>,
    /// `[B, K + 1, obs]` the observation each bootstrap value is of (zeros where none):
    /// reanalyse evaluates it with the latest network.
    pub(super) bootstrap_obs: Vec<f32>,
    /// `[B, K + 1, obs]` the observation at each unrolled step inside the game (zeros
    /// past its end): reanalyse searches it again for a fresh policy target.
    pub(super) step_obs: Vec<f32>,
    /// `[B, K + 1, A]` the legal actions at each unrolled step (all, where the game
    /// recorded none or past its end).
    pub(super) step_legal: Vec<bool>,
    /// `[B, K + 1]` reward targets (entry 0 unused: no reward leads to the root).
    pub(super) rewards: Vec<f32>,
    /// `[B, K + 1, A]` policy targets.
    pub(super) policies: Vec<f32>,
    /// `[B, K + 1]` 1 where the step lies inside the game (its policy target is real).
    pub(super) inside: Vec<f32>,
    /// `[B]` importance-sampling weights, normalised by their maximum.
    pub(super) weights: Vec<f32>,
    /// `[B]` (game, position) of each row, to update its priority.
    pub(super) positions: Vec<(usize, usize)>,
}

/// Settings of the targets.
#[derive(Clone, Copy, Debug)]
pub(super) struct TargetConfig {
    pub(super) unroll: usize,
    pub(super) td_steps: usize,
    pub(super) discount: f32,
    pub(super) actions: usize,
    pub(super) obs_dim: usize,
    pub(super) alpha: f32,
    pub(super) beta: f32,
}

/// Finished games, oldest first, holding at most `capacity` positions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct GameBuffer {
    games: VecDeque<Game>,
    /// Positions evicted so far: game `i` of the deque is game `evicted_games + i` overall.
    evicted_games: usize,
    positions: usize,
    capacity: usize,
    max_priority: f32,
}

impl GameBuffer {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            max_priority: 1.0,
            ..Default::default()
        }
    }

    /// Positions held.
    pub(super) fn positions(&self) -> usize {
        self.positions
    }

    /// Adds a game, its positions at the highest priority seen (so each is sampled soon),
    /// evicting the oldest games beyond the capacity.
    pub(super) fn push(&mut self, mut game: Game) {
        if game.len() == 0 {
            return;
        }
        game.priorities = vec![self.max_priority; game.len()];
        self.positions += game.len();
        self.games.push_back(game);
        while self.positions > self.capacity && self.games.len() > 1 {
            let old = self.games.pop_front().expect("more than one game");
            self.positions -= old.len();
            self.evicted_games += 1;
        }
    }

    /// Sets the priority of the sampled positions `(game id, position)` to `|error|`
    /// (games evicted since are skipped).
    pub(super) fn update_priorities(&mut self, positions: &[(usize, usize)], errors: &[f32]) {
        for (&(id, t), &e) in positions.iter().zip(errors) {
            let Some(game) = id
                .checked_sub(self.evicted_games)
                .and_then(|i| self.games.get_mut(i))
            else {
                continue;
            };
            let p = e.abs().max(1e-6);
            game.priorities[t] = p;
            self.max_priority = self.max_priority.max(p);
        }
    }

    /// Samples `batch` positions by priority and builds their targets into `out`.
    pub(super) fn sample(&self, batch: usize, c: &TargetConfig, rng: &mut Rng, out: &mut Targets) {
        *out = Targets::default();
        // P(i) ∝ p^α over every position; a cumulative sum per batch is O(positions), a few
        // tens of µs at the sizes these runs hold.
        let mut cumulative = Vec::with_capacity(self.positions);
        let mut index = Vec::with_capacity(self.positions);
        let mut total = 0.0f64;
        for (g, game) in self.games.iter().enumerate() {
            for (t, p) in game.priorities.iter().enumerate() {
                total += (*p as f64).powf(c.alpha as f64);
                cumulative.push(total);
                index.push((g, t));
            }
        }
        let n = self.positions as f64;
        let mut max_weight = 0.0f32;
        for _ in 0..batch {
            let u = rng.uniform() * total;
            let i = cumulative.partition_point(|&c| c <= u).min(index.len() - 1);
            let (g, t) = index[i];
            let p = (cumulative[i] - if i == 0 { 0.0 } else { cumulative[i - 1] }) / total;
            let weight = (n * p).powf(-(c.beta as f64)) as f32;
            max_weight = max_weight.max(weight);
            out.weights.push(weight);
            out.positions.push((self.evicted_games + g, t));
            self.targets(&self.games[g], t, c, rng, out);
        }
        for w in &mut out.weights {
            *w /= max_weight;
        }
    }

    /// The targets of position `t` of `game`, appended to `out`.
    fn targets(&self, game: &Game, t: usize, c: &TargetConfig, rng: &mut Rng, out: &mut Targets) {
        let len = game.len();
        out.obs
            .extend_from_slice(&game.obs[t * c.obs_dim..(t + 1) * c.obs_dim]);
        for k in 0..c.unroll {
            let i = t + k;
            out.actions.push(if i < len {
                game.actions[i]
            } else {
                rng.index(c.actions)
            });
        }
        let obs_at = |i: usize| &game.obs[i * c.obs_dim..(i + 1) * c.obs_dim];
        let zeros = vec![0.0f32; c.obs_dim];
        for k in 0..=c.unroll {
            let i = t + k;
            let (rewards, bootstrap) = value_parts(game, i, c);
            out.value_rewards.push(rewards);
            match bootstrap {
                Some((j, scale)) => {
                    out.values.push(rewards + scale * game.root_values[j]);
                    out.bootstrap_scale.push(scale);
                    out.bootstrap_obs.extend_from_slice(obs_at(j));
                }
                None => {
                    out.values.push(rewards);
                    out.bootstrap_scale.push(0.0);
                    out.bootstrap_obs.extend_from_slice(&zeros);
                }
            }
            out.step_obs
                .extend_from_slice(if i < len { obs_at(i) } else { &zeros });
            if i < len && !game.legal.is_empty() {
                out.step_legal
                    .extend_from_slice(&game.legal[i * c.actions..(i + 1) * c.actions]);
            } else {
                out.step_legal.extend(std::iter::repeat_n(true, c.actions));
            }
            out.rewards.push(match k {
                0 => 0.0,
                _ if i - 1 < len => game.rewards[i - 1],
                _ => 0.0,
            });
            if i < len {
                out.policies
                    .extend_from_slice(&game.policies[i * c.actions..(i + 1) * c.actions]);
                out.inside.push(1.0);
            } else {
                out.policies
                    .extend(std::iter::repeat_n(1.0 / c.actions as f32, c.actions));
                out.inside.push(0.0);
            }
        }
    }
}

/// `z_i = Σ_{j<n} γʲ r_{i+j} + γⁿ ν_{i+n}` (MuZero's n-step target, ν the search's root
/// value) as its reward sum and its bootstrap `(index, γ^m)`, with the sum cut at the
/// game's end: no bootstrap beyond a terminal state; past a cut episode, the last root
/// value discounted to where it stands. In a two-player game `c.discount` is −γ: rewards
/// and values are the mover's, and the mover changes every ply.
fn value_parts(game: &Game, i: usize, c: &TargetConfig) -> (f32, Option<(usize, f32)>) {
    let len = game.len();
    if i >= len {
        return (0.0, None);
    }
    let end = i + c.td_steps;
    let mut value = 0.0f32;
    let mut scale = 1.0f32;
    for r in &game.rewards[i..end.min(len)] {
        value += scale * r;
        scale *= c.discount;
    }
    if end < len {
        (value, Some((end, scale)))
    } else if !game.terminated {
        (value, Some((len - 1, scale)))
    } else {
        (value, None)
    }
}

/// The n-step target of position `i` with the stored root values.
#[cfg(test)]
fn value_target(game: &Game, i: usize, c: &TargetConfig) -> f32 {
    match value_parts(game, i, c) {
        (rewards, Some((j, scale))) => rewards + scale * game.root_values[j],
        (rewards, None) => rewards,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TargetConfig {
        TargetConfig {
            unroll: 2,
            td_steps: 2,
            discount: 0.5,
            actions: 2,
            obs_dim: 1,
            alpha: 1.0,
            beta: 1.0,
        }
    }

    fn game(terminated: bool) -> Game {
        Game {
            obs: vec![0.0, 1.0, 2.0],
            actions: vec![0, 1, 0],
            rewards: vec![1.0, 2.0, 4.0],
            root_values: vec![10.0, 20.0, 40.0],
            policies: vec![0.5, 0.5, 0.25, 0.75, 1.0, 0.0],
            priorities: vec![],
            legal: vec![],
            terminated,
        }
    }

    #[test]
    fn n_step_values_bootstrap_inside_and_stop_at_a_terminal_state() {
        let c = config();
        // z_0 = 1 + 0.5·2 + 0.25·ν_2 = 2 + 10.
        assert_eq!(value_target(&game(true), 0, &c), 12.0);
        // z_1 = 2 + 0.5·4, then the terminal state: nothing more.
        assert_eq!(value_target(&game(true), 1, &c), 4.0);
        // A cut episode bootstraps from its last root value: 2 + 0.5·4 + 0.25·ν_2.
        assert_eq!(value_target(&game(false), 1, &c), 4.0 + 0.25 * 40.0);
        assert_eq!(value_target(&game(true), 3, &c), 0.0);
    }

    #[test]
    fn two_player_targets_change_sign_with_the_mover() {
        // Three moves, rewards from each mover's view: the third move (the first player's
        // second) wins. A discount of −1 is what MuZero uses for two players.
        let c = TargetConfig {
            td_steps: 9,
            discount: -1.0,
            ..config()
        };
        let g = Game {
            rewards: vec![0.0, 0.0, 1.0],
            ..game(true)
        };
        // Positions 0 and 2 are the winner's to move, position 1 the loser's.
        assert_eq!(value_target(&g, 0, &c), 1.0);
        assert_eq!(value_target(&g, 1, &c), -1.0);
        assert_eq!(value_target(&g, 2, &c), 1.0);
    }

    #[test]
    fn targets_past_the_end_are_absorbing_and_masked() {
        let mut buffer = GameBuffer::new(100);
        buffer.push(game(true));
        let mut out = Targets::default();
        let c = config();
        buffer.targets(
            &buffer.games[0],
            2,
            &c,
            &mut Rng::seed_from_u64(0),
            &mut out,
        );
        assert_eq!(out.obs, [2.0]);
        assert_eq!(out.actions[0], 0);
        assert_eq!(out.values, [4.0, 0.0, 0.0]);
        assert_eq!(out.rewards, [0.0, 4.0, 0.0]);
        assert_eq!(out.inside, [1.0, 0.0, 0.0]);
        assert_eq!(&out.policies[..2], [1.0, 0.0]);
    }

    #[test]
    fn priorities_steer_sampling_and_eviction_keeps_ids_stable() {
        let mut buffer = GameBuffer::new(4);
        buffer.push(game(true));
        buffer.push(game(true)); // 6 positions > 4: the first game goes.
        assert_eq!(buffer.positions(), 3);
        // Game 1 (the second pushed) keeps its id; game 0's update is skipped.
        buffer.update_priorities(&[(0, 0), (1, 0), (1, 1), (1, 2)], &[5.0, 1e-9, 1e-9, 1.0]);
        let mut out = Targets::default();
        let c = config();
        buffer.sample(200, &c, &mut Rng::seed_from_u64(1), &mut out);
        assert!(out.positions.iter().all(|&(g, t)| g == 1 && t == 2));
        assert!(out.weights.iter().all(|&w| (w - 1.0).abs() < 1e-6));
    }
}
