//! One search tree in an arena: nodes in a `Vec`, the children of a node in one contiguous
//! block of `num_actions` nodes (child `a` of `n` is `n.children + a`), states of expanded
//! nodes in a second `Vec`. Nothing is freed during a search and the arena's memory is kept
//! between searches, so a simulation allocates nothing once the first search has grown it.

use super::model::Row;

/// "No index": a node without children, a node not expanded yet.
pub(crate) const NONE: u32 = u32::MAX;

/// A node, which is also the edge from its parent (MuZero's layout: the prior, the reward
/// and the statistics of taking action `a` live in child `a`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// Sum of the returns backed up through this node, for the player to move here. f64:
    /// thousands of returns of size ~100 (CartPole) would lose digits in f32.
    pub(crate) value_sum: f64,
    /// Prior probability of the action into this node (0 when illegal; root noise mixed in).
    pub(crate) prior: f32,
    /// The model's logit of that action; −∞ marks an illegal action.
    pub(crate) logit: f32,
    /// Reward of the transition into this node, for the player who moved.
    pub(crate) reward: f32,
    /// The model's value estimate when the node was expanded (0 for a terminal state).
    pub(crate) raw_value: f32,
    /// Times a simulation passed through (its own expansion included).
    pub(crate) visits: u32,
    /// First of the node's `num_actions` children, [`NONE`] while unexpanded and for a
    /// terminal state or one without legal actions.
    pub(crate) children: u32,
    /// Index of the node's state in [`Tree::states`], [`NONE`] until expanded.
    pub(crate) state: u32,
}

impl Node {
    fn edge(prior: f32, logit: f32) -> Self {
        Self {
            value_sum: 0.0,
            prior,
            logit,
            reward: 0.0,
            raw_value: 0.0,
            visits: 0,
            children: NONE,
            state: NONE,
        }
    }

    /// Whether the action into this node is legal.
    #[inline]
    pub(crate) fn is_legal(&self) -> bool {
        self.logit != f32::NEG_INFINITY
    }

    /// Q(s, a) of this child for the player to move at its parent: `r + γ · V(child)`;
    /// `discount_sign` is −γ in a two-player game, where V is the opponent's.
    #[inline]
    pub(crate) fn q(&self, discount_sign: f32) -> f32 {
        self.reward + discount_sign * self.value()
    }

    /// Mean backed-up value, for the player to move here (0 before any visit).
    #[inline]
    pub(crate) fn value(&self) -> f32 {
        if self.visits == 0 {
            0.0
        } else {
            (self.value_sum / self.visits as f64) as f32
        }
    }
}

/// MuZero's min–max statistics (appendix B): the range of the Q values backed up anywhere in
/// one tree, used to bring Q into [0, 1] for pUCT whatever the reward scale.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MinMax {
    min: f32,
    max: f32,
}

impl MinMax {
    /// Empty statistics, or statistics starting from known bounds.
    pub(crate) fn new(known: Option<[f32; 2]>) -> Self {
        match known {
            Some([min, max]) => Self { min, max },
            None => Self {
                min: f32::INFINITY,
                max: f32::NEG_INFINITY,
            },
        }
    }

    /// Widens the range to include `q`.
    #[inline]
    pub(crate) fn update(&mut self, q: f32) {
        self.min = self.min.min(q);
        self.max = self.max.max(q);
    }

    /// `q` mapped into [0, 1]. Before two different values were seen there is no scale;
    /// MuZero's pseudocode then returns `q` itself, which mixes an unscaled Q with the prior
    /// term. We return 0 instead: the prior decides until the tree has a range.
    #[inline]
    pub(crate) fn normalize(&self, q: f32) -> f32 {
        if self.max > self.min {
            ((q - self.min) / (self.max - self.min)).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// One search's tree, with the per-search buffers its simulations reuse.
#[derive(Clone, Debug)]
pub(crate) struct Tree<S> {
    pub(crate) nodes: Vec<Node>,
    pub(crate) states: Vec<S>,
    pub(crate) bounds: MinMax,
    /// `[num_actions]` root Gumbel noise (Gumbel selection only).
    pub(crate) gumbel: Vec<f32>,
    /// Sequential halving's visit count of the considered actions, per simulation.
    pub(crate) considered: Vec<u32>,
    /// The node indices of the current simulation, root first.
    pub(crate) path: Vec<u32>,
    num_actions: usize,
}

impl<S> Default for Tree<S> {
    fn default() -> Self {
        Self {
            nodes: Vec::new(),
            states: Vec::new(),
            bounds: MinMax::new(None),
            gumbel: Vec::new(),
            considered: Vec::new(),
            path: Vec::new(),
            num_actions: 0,
        }
    }
}

/// The root's index.
pub(crate) const ROOT: u32 = 0;

impl<S> Tree<S> {
    /// Starts a tree from an expanded root, with room for `simulations` expansions.
    pub(crate) fn reset(
        &mut self,
        num_actions: usize,
        simulations: usize,
        known_bounds: Option<[f32; 2]>,
        root: S,
        row: Row<'_>,
    ) {
        self.nodes.clear();
        self.states.clear();
        self.path.clear();
        self.num_actions = num_actions;
        self.bounds = MinMax::new(known_bounds);
        // Every expansion adds one block of children; the root adds the first.
        self.nodes.reserve(1 + num_actions * (simulations + 1));
        self.states.reserve(simulations + 1);
        self.nodes.push(Node::edge(1.0, 0.0));
        self.expand(ROOT, root, row);
        // The root's evaluation counts as its first visit, as every other node's does when
        // the simulation that expanded it is backed up (mctx does the same). N(parent) in
        // pUCT is then 1 + Σ N(children) at every node, so the prior term is not 0 at the
        // root's first selection (MuZero's pseudocode starts the root at 0 visits).
        let root = &mut self.nodes[ROOT as usize];
        root.visits = 1;
        root.value_sum = root.raw_value as f64;
    }

    /// Actions per node.
    #[inline]
    pub(crate) fn num_actions(&self) -> usize {
        self.num_actions
    }

    /// The children of `node` (empty if it has none).
    #[inline]
    pub(crate) fn children(&self, node: u32) -> &[Node] {
        let first = self.nodes[node as usize].children;
        if first == NONE {
            return &[];
        }
        &self.nodes[first as usize..first as usize + self.num_actions]
    }

    /// Mutable children of `node`.
    #[inline]
    pub(crate) fn children_mut(&mut self, node: u32) -> &mut [Node] {
        let first = self.nodes[node as usize].children;
        if first == NONE {
            return &mut [];
        }
        &mut self.nodes[first as usize..first as usize + self.num_actions]
    }

    /// Stores `state` and its evaluation in `node`, and gives it a block of children with
    /// the prior of each legal action (softmax of the legal logits). A terminal state and a
    /// state without legal actions get no children: simulations end there.
    pub(crate) fn expand(&mut self, node: u32, state: S, row: Row<'_>) {
        let index = self.states.len() as u32;
        self.states.push(state);
        let first = self.nodes.len() as u32;
        let n = &mut self.nodes[node as usize];
        n.state = index;
        n.reward = row.reward;
        n.raw_value = if row.terminal { 0.0 } else { row.value };
        if row.terminal || !row.legal.iter().any(|&l| l) {
            return;
        }
        n.children = first;
        let max = row
            .logits
            .iter()
            .zip(row.legal)
            .filter(|(_, &l)| l)
            .map(|(&x, _)| x)
            .fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (&logit, &legal) in row.logits.iter().zip(row.legal) {
            let (prior, logit) = if legal {
                ((logit - max).exp(), logit)
            } else {
                (0.0, f32::NEG_INFINITY)
            };
            sum += prior;
            self.nodes.push(Node::edge(prior, logit));
        }
        for child in &mut self.nodes[first as usize..] {
            child.prior /= sum;
        }
    }

    /// Backs `value` (for the player to move at the path's last node) up the current path:
    /// every node on it gets one more visit and the return seen from it, and the Q of each
    /// edge on the path widens the min–max range. `discount_sign` is γ, or −γ for two
    /// players.
    pub(crate) fn backup(&mut self, value: f32, discount_sign: f32) {
        let mut g = value;
        for i in (0..self.path.len()).rev() {
            let node = &mut self.nodes[self.path[i] as usize];
            node.value_sum += g as f64;
            node.visits += 1;
            if i > 0 {
                self.bounds.update(node.q(discount_sign));
            }
            g = node.reward + discount_sign * g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(logits: &'a [f32], legal: &'a [bool], value: f32, reward: f32) -> Row<'a> {
        Row {
            reward,
            value,
            logits,
            legal,
            terminal: false,
        }
    }

    #[test]
    fn expansion_masks_and_normalises_priors() {
        let mut tree = Tree::default();
        let legal = [true, false, true];
        tree.reset(3, 4, None, 'r', row(&[0.0, 9.0, 0.0], &legal, 0.5, 0.0));
        let priors: Vec<f32> = tree.children(ROOT).iter().map(|c| c.prior).collect();
        assert_eq!(priors, vec![0.5, 0.0, 0.5]);
        assert!(!tree.children(ROOT)[1].is_legal());
        assert_eq!(tree.nodes[0].visits, 1);
        assert_eq!(tree.nodes[0].value(), 0.5);
    }

    #[test]
    fn backup_discounts_and_alternates_signs() {
        let mut tree = Tree::default();
        let all = [true, true];
        tree.reset(2, 4, None, 0, row(&[0.0, 0.0], &all, 0.0, 0.0));
        // Root → child 1 (reward 1) → its child 0 (reward 2), leaf value 4.
        let c1 = tree.nodes[0].children + 1;
        tree.expand(c1, 1, row(&[0.0, 0.0], &all, 0.0, 1.0));
        let c10 = tree.nodes[c1 as usize].children;
        tree.expand(c10, 2, row(&[0.0, 0.0], &all, 4.0, 2.0));
        tree.path.extend([ROOT, c1, c10]);
        // Two players, γ = 0.5: the leaf's 4 is −2 for the mover before it, who also got 2:
        // 2 − 2 = 0 at c1; the root's player gets 1 − 0.5 · 0 = 1.
        tree.backup(4.0, -0.5);
        assert_eq!(tree.nodes[c10 as usize].value(), 4.0);
        assert_eq!(tree.nodes[c1 as usize].value(), 0.0);
        assert_eq!(tree.nodes[0].value_sum, 1.0);
        assert_eq!(tree.nodes[0].visits, 2);
        // Edge Qs seen: c10: 2 − 0.5 · 4 = 0; c1: 1 − 0.5 · 0 = 1.
        assert_eq!(tree.bounds.normalize(1.0), 1.0);
        assert_eq!(tree.bounds.normalize(0.5), 0.5);
    }

    #[test]
    fn min_max_without_range_is_zero_and_known_bounds_apply() {
        let mut m = MinMax::new(None);
        m.update(3.0);
        assert_eq!(m.normalize(3.0), 0.0);
        m.update(5.0);
        assert_eq!(m.normalize(4.5), 0.75);
        assert_eq!(m.normalize(9.0), 1.0);
        let k = MinMax::new(Some([-1.0, 1.0]));
        assert_eq!(k.normalize(0.0), 0.5);
    }
}
