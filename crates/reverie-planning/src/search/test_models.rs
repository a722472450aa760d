//! Small search models with known answers, for the search's tests.

use std::convert::Infallible;

use super::model::{Evaluation, Evaluations, Leaves, SearchModel};

/// A single-player tree of depth 3 with 3 actions per node whose best first action is hidden
/// behind a misleading prior: every node's prior favours action 0, which at the root pays
/// 0.5 at once and nothing after, while action 2 pays nothing until the path 2 → 0 → 0
/// pays 2 at its last step. Action 1 pays 0.1 at every step.
pub(crate) struct Hidden {
    /// Value estimates are the optimal values with an error of up to ±0.3 (an imperfect
    /// value network) instead of 0 (none).
    pub(crate) informed: bool,
    /// Make action 0 (the highest prior) illegal everywhere.
    pub(crate) mask_first: bool,
    /// The discount the optimal values are computed with.
    pub(crate) discount: f32,
    /// Leaves expanded through an illegal action (must stay 0).
    pub(crate) illegal_expansions: usize,
    /// Calls to `expand` and leaves expanded.
    pub(crate) calls: usize,
    pub(crate) leaves: usize,
}

pub(crate) const HIDDEN_LOGITS: [f32; 3] = [1.5, 0.5, 0.0];
const DEPTH: usize = 3;

impl Hidden {
    pub(crate) fn new(discount: f32) -> Self {
        Self {
            informed: false,
            mask_first: false,
            discount,
            illegal_expansions: 0,
            calls: 0,
            leaves: 0,
        }
    }

    /// The reward of the step that made `path`.
    pub(crate) fn reward(path: &[u8]) -> f32 {
        match path {
            [0] => 0.5,
            [1, ..] => 0.1,
            [2, 0, 0] => 2.0,
            _ => 0.0,
        }
    }

    fn legal(&self) -> [bool; 3] {
        [!self.mask_first, true, true]
    }

    /// The optimal return from `path` (0 at the end).
    pub(crate) fn optimal_value(&self, path: &[u8]) -> f32 {
        if path.len() == DEPTH {
            return 0.0;
        }
        let legal = self.legal();
        (0..3u8)
            .filter(|&a| legal[a as usize])
            .map(|a| self.optimal_q(path, a))
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// The optimal return of taking `a` at `path`.
    pub(crate) fn optimal_q(&self, path: &[u8], a: u8) -> f32 {
        let mut next = path.to_vec();
        next.push(a);
        Self::reward(&next) + self.discount * self.optimal_value(&next)
    }

    fn value(&self, path: &[u8]) -> f32 {
        if !self.informed {
            return 0.0;
        }
        // A fixed pseudo-random error per state, in [−0.3, 0.3).
        let code = path.iter().fold(1u64, |h, &a| h * 4 + a as u64 + 1);
        let error = 0.3 * ((code * 2_654_435_761 % 1000) as f32 / 500.0 - 1.0);
        self.optimal_value(path) + error
    }

    /// Pushes `path` as a root.
    pub(crate) fn push_root(&self, roots: &mut Evaluations<Vec<u8>>, path: Vec<u8>) {
        let value = self.value(&path);
        let legal = self.legal();
        roots.push(
            path,
            0.0,
            Evaluation {
                logits: &HIDDEN_LOGITS,
                value,
                legal: Some(&legal),
            },
        );
    }
}

impl SearchModel for Hidden {
    type State = Vec<u8>;
    type Error = Infallible;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, Vec<u8>>,
        out: &mut Evaluations<Vec<u8>>,
    ) -> Result<(), Infallible> {
        self.calls += 1;
        self.leaves += leaves.len();
        let legal = self.legal();
        for (state, action) in leaves.iter() {
            if !legal[action] {
                self.illegal_expansions += 1;
            }
            let mut child = state.clone();
            child.push(action as u8);
            let reward = Self::reward(&child);
            if child.len() == DEPTH {
                out.push_terminal(child, reward);
            } else {
                let value = self.value(&child);
                out.push(
                    child,
                    reward,
                    Evaluation {
                        logits: &HIDDEN_LOGITS,
                        value,
                        legal: Some(&legal),
                    },
                );
            }
        }
        Ok(())
    }
}

/// A two-player game of two plies: the first player picks one of 3 moves, the second one
/// of 2 replies (the third action is illegal), and the game ends with the first player's
/// payoff `PAYOFF[move][reply]`, paid as the second player's reward −payoff. The prior
/// favours move 2, the gamble; the minimax move is 1 (worst case 0.5).
pub(crate) struct TwoPly;

pub(crate) const PAYOFF: [[f32; 2]; 3] = [[5.0, -3.0], [1.0, 0.5], [10.0, -10.0]];

impl TwoPly {
    pub(crate) fn push_root(roots: &mut Evaluations<Vec<u8>>) {
        roots.push(
            Vec::new(),
            0.0,
            Evaluation {
                logits: &[0.0, 0.0, 2.0],
                value: 0.0,
                legal: None,
            },
        );
    }
}

impl SearchModel for TwoPly {
    type State = Vec<u8>;
    type Error = Infallible;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, Vec<u8>>,
        out: &mut Evaluations<Vec<u8>>,
    ) -> Result<(), Infallible> {
        for (state, action) in leaves.iter() {
            let mut child = state.clone();
            child.push(action as u8);
            match child[..] {
                [_] => out.push(
                    child,
                    0.0,
                    Evaluation {
                        logits: &[0.0, 0.0, 0.0],
                        value: 0.0,
                        legal: Some(&[true, true, false]),
                    },
                ),
                [m, r] => {
                    let payoff = PAYOFF[m as usize][r as usize];
                    out.push_terminal(child, -payoff);
                }
                _ => unreachable!("the game has two plies"),
            }
        }
        Ok(())
    }
}
