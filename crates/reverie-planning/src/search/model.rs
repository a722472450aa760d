//! The seam between the search and whatever predicts: MuZero's learned model, AlphaZero's
//! true simulator, or a test stub.
//!
//! Perspective, everywhere: a node's value is for the player to move at that node; the
//! reward of a transition is for the player who took the action (the player to move at the
//! parent). In a single-player problem both are simply "the agent's".

use super::tree::{Tree, NONE};

/// What a search expands its leaves with.
///
/// One call expands a batch of leaves, at most one from each of the independent searches run
/// together (N envs or games), so a network evaluates them in one forward pass. The trait is
/// object-safe: `dyn SearchModel<State = S, Error = E>` works where a boxed model is needed.
pub trait SearchModel {
    /// A node's state: a latent vector (MuZero), a position (AlphaZero), an id (a stub).
    type State;
    /// What an expansion fails with (a network's error; `std::convert::Infallible` for a
    /// simulator that cannot fail).
    type Error: std::fmt::Display;

    /// For every leaf `i` (a parent state and an action from it), pushes into `out`, in
    /// order, the child state, the reward of the transition and the child's evaluation:
    /// exactly `leaves.len()` pushes. `out` arrives empty.
    fn expand(
        &mut self,
        leaves: &Leaves<'_, Self::State>,
        out: &mut Evaluations<Self::State>,
    ) -> Result<(), Self::Error>;
}

/// Where one leaf sits: the search it belongs to, the expanded parent node, the action taken
/// from it, and the new node that will hold the child.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeafSlot {
    pub(crate) search: u32,
    pub(crate) parent: u32,
    pub(crate) action: u32,
    pub(crate) node: u32,
}

/// The leaves of one simulation step, one per search that needs an expansion (a search whose
/// simulation ended in a terminal state needs none), read in place from the trees.
pub struct Leaves<'a, S> {
    pub(crate) trees: &'a [Tree<S>],
    pub(crate) slots: &'a [LeafSlot],
}

impl<'a, S> Leaves<'a, S> {
    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The state the action of leaf `i` is taken from.
    pub fn state(&self, i: usize) -> &'a S {
        let slot = self.slots[i];
        let tree = &self.trees[slot.search as usize];
        let index = tree.nodes[slot.parent as usize].state;
        debug_assert_ne!(index, NONE, "a leaf's parent is always expanded");
        &tree.states[index as usize]
    }

    /// The action of leaf `i`, in `0..num_actions`.
    pub fn action(&self, i: usize) -> usize {
        self.slots[i].action as usize
    }

    /// Which of the searches run together (the index of its root) leaf `i` belongs to.
    pub fn search(&self, i: usize) -> usize {
        self.slots[i].search as usize
    }

    /// `(state, action)` of every leaf, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a S, usize)> + '_ {
        (0..self.len()).map(move |i| (self.state(i), self.action(i)))
    }
}

/// A model's evaluation of one non-terminal state.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation<'a> {
    /// `[num_actions]` prior logits (any finite values; only their softmax over the legal
    /// actions matters, and Gumbel MuZero adds them to Gumbel noise and Q terms).
    pub logits: &'a [f32],
    /// Value estimate for the player to move in this state.
    pub value: f32,
    /// `[num_actions]` which actions are legal; `None` when all are. Illegal actions get no
    /// prior and are never selected.
    pub legal: Option<&'a [bool]>,
}

/// States with their evaluations, row by row: what the caller hands the search as roots
/// (after its initial inference) and what [`SearchModel::expand`] writes for the leaves.
#[derive(Clone, Debug)]
pub struct Evaluations<S> {
    num_actions: usize,
    pub(crate) states: Vec<S>,
    rewards: Vec<f32>,
    values: Vec<f32>,
    /// `[rows, num_actions]`.
    logits: Vec<f32>,
    /// `[rows, num_actions]`.
    legal: Vec<bool>,
    terminal: Vec<bool>,
}

/// One row of [`Evaluations`] without its state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row<'a> {
    pub(crate) reward: f32,
    pub(crate) value: f32,
    pub(crate) logits: &'a [f32],
    pub(crate) legal: &'a [bool],
    pub(crate) terminal: bool,
}

impl<S> Evaluations<S> {
    /// An empty batch for a problem with `num_actions` actions (at least one).
    pub fn new(num_actions: usize) -> Self {
        assert!(num_actions > 0, "a search needs at least one action");
        Self {
            num_actions,
            states: Vec::new(),
            rewards: Vec::new(),
            values: Vec::new(),
            logits: Vec::new(),
            legal: Vec::new(),
            terminal: Vec::new(),
        }
    }

    /// Actions per state.
    pub fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Forgets every row, keeping the memory.
    pub fn clear(&mut self) {
        self.states.clear();
        self.rewards.clear();
        self.values.clear();
        self.logits.clear();
        self.legal.clear();
        self.terminal.clear();
    }

    /// Appends a non-terminal `state`, reached with `reward` (ignored for a root), and its
    /// evaluation.
    ///
    /// # Panics
    /// If the logits or mask do not have `num_actions` entries, or a number is not finite: a
    /// NaN would silently poison every statistic above it in the tree.
    pub fn push(&mut self, state: S, reward: f32, evaluation: Evaluation<'_>) {
        let a = self.num_actions;
        assert_eq!(
            evaluation.logits.len(),
            a,
            "an evaluation needs one logit per action ({a})"
        );
        assert!(
            reward.is_finite() && evaluation.value.is_finite(),
            "search model produced a non-finite reward ({reward}) or value ({})",
            evaluation.value
        );
        match evaluation.legal {
            Some(mask) => {
                assert_eq!(mask.len(), a, "a legal-action mask needs {a} entries");
                self.legal.extend_from_slice(mask);
            }
            None => self.legal.resize(self.legal.len() + a, true),
        }
        // An illegal action's logit is never read (a masked network output may be −∞).
        let mask = &self.legal[self.legal.len() - a..];
        for (i, (&l, &legal)) in evaluation.logits.iter().zip(mask).enumerate() {
            assert!(
                !legal || l.is_finite(),
                "search model produced logit {l} for legal action {i}"
            );
        }
        self.logits.extend_from_slice(evaluation.logits);
        self.states.push(state);
        self.rewards.push(reward);
        self.values.push(evaluation.value);
        self.terminal.push(false);
    }

    /// Appends a terminal `state` reached with `reward`: the episode ends there, its value
    /// is 0 and the search never expands it.
    pub fn push_terminal(&mut self, state: S, reward: f32) {
        assert!(
            reward.is_finite(),
            "search model produced a non-finite reward ({reward})"
        );
        let a = self.num_actions;
        self.states.push(state);
        self.rewards.push(reward);
        self.values.push(0.0);
        self.logits.resize(self.logits.len() + a, 0.0);
        self.legal.resize(self.legal.len() + a, false);
        self.terminal.push(true);
    }

    /// The state of row `i`.
    pub fn state(&self, i: usize) -> &S {
        &self.states[i]
    }

    /// The reward of the transition into row `i`'s state.
    pub fn reward(&self, i: usize) -> f32 {
        self.rewards[i]
    }

    /// The value estimate of row `i` (0 for a terminal state).
    pub fn value(&self, i: usize) -> f32 {
        self.values[i]
    }

    /// The prior logits of row `i`.
    pub fn logits(&self, i: usize) -> &[f32] {
        &self.logits[i * self.num_actions..(i + 1) * self.num_actions]
    }

    /// The legal actions of row `i` (none for a terminal state).
    pub fn legal(&self, i: usize) -> &[bool] {
        &self.legal[i * self.num_actions..(i + 1) * self.num_actions]
    }

    /// Whether row `i` is terminal.
    pub fn is_terminal(&self, i: usize) -> bool {
        self.terminal[i]
    }

    /// Row `i` without its state.
    pub(crate) fn row(&self, i: usize) -> Row<'_> {
        Row {
            reward: self.rewards[i],
            value: self.values[i],
            logits: self.logits(i),
            legal: self.legal(i),
            terminal: self.terminal[i],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_default_to_all_legal() {
        let mut e = Evaluations::new(3);
        e.push(
            "a",
            0.5,
            Evaluation {
                logits: &[1.0, 2.0, 3.0],
                value: -1.0,
                legal: None,
            },
        );
        e.push(
            "b",
            0.0,
            Evaluation {
                logits: &[0.0, f32::NEG_INFINITY, 0.0],
                value: 0.25,
                legal: Some(&[true, false, true]),
            },
        );
        e.push_terminal("c", 1.0);
        assert_eq!(e.len(), 3);
        assert_eq!(e.legal(0), &[true; 3]);
        assert_eq!(e.legal(1), &[true, false, true]);
        assert_eq!(e.logits(0), &[1.0, 2.0, 3.0]);
        assert_eq!((e.value(1), e.reward(0)), (0.25, 0.5));
        assert!(e.is_terminal(2) && !e.is_terminal(1));
        assert_eq!((e.value(2), e.reward(2)), (0.0, 1.0));
        e.clear();
        assert!(e.is_empty());
    }

    #[test]
    #[should_panic(expected = "non-finite")]
    fn refuses_a_nan_value() {
        let mut e = Evaluations::new(2);
        e.push(
            (),
            0.0,
            Evaluation {
                logits: &[0.0, 0.0],
                value: f32::NAN,
                legal: None,
            },
        );
    }

    #[test]
    #[should_panic(expected = "logit")]
    fn refuses_an_infinite_logit_for_a_legal_action() {
        let mut e = Evaluations::new(2);
        e.push(
            (),
            0.0,
            Evaluation {
                logits: &[f32::NEG_INFINITY, 0.0],
                value: 0.0,
                legal: None,
            },
        );
    }
}
