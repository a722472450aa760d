//! The search driver: N independent searches stepped together, one batched expansion per
//! simulation step.

use reverie_core::{Mode, Rng};

use super::config::{MctsConfig, Selection};
use super::gumbel;
use super::model::{Evaluations, LeafSlot, Leaves, SearchModel};
use super::noise::gumbel_draw;
use super::puct;
use super::tree::{Tree, NONE, ROOT};

/// What one search found at its root.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchOutput {
    /// `[num_actions]` simulations that went through each root action.
    pub visits: Vec<u32>,
    /// The search's value of the root, for the player to move there: the mean of the root's
    /// own evaluation and every simulation's return (MuZero's value target bootstraps from
    /// it).
    pub value: f32,
    /// `[num_actions]` the improved policy, the policy target: the visit distribution
    /// (pUCT) or softmax(logits + σ(completed Q)) (Gumbel). 0 for illegal actions.
    pub policy: Vec<f32>,
    /// The action Gumbel MuZero plays: the winner of sequential halving. `None` for pUCT,
    /// whose caller picks from the visits with [`select_action`].
    pub action: Option<usize>,
}

/// Monte Carlo tree search over a [`SearchModel`], for N roots at once.
///
/// Each simulation step descends one path in every tree, hands all the new leaves to
/// [`SearchModel::expand`] in one call, then backs each leaf's value up its own tree. The
/// trees are independent: a search gives the same result alone as among others, for the
/// same random draws (which are all made at the roots, before the simulations, in root
/// order). Memory is kept from one call to the next.
#[derive(Clone, Debug)]
pub struct Mcts<S> {
    config: MctsConfig,
    trees: Vec<Tree<S>>,
    slots: Vec<LeafSlot>,
    expansions: Evaluations<S>,
    outputs: Vec<SearchOutput>,
    /// `[num_actions]` scratch: Dirichlet draws, Gumbel's σ.
    sigma: Vec<f32>,
    /// `[num_actions]` scratch: Gumbel's improved policy.
    probs: Vec<f32>,
}

impl<S> Mcts<S> {
    /// A search with `config`, checked.
    pub fn new(config: MctsConfig) -> Result<Self, String> {
        config.validate()?;
        Ok(Self {
            config,
            trees: Vec::new(),
            slots: Vec::new(),
            expansions: Evaluations::new(1),
            outputs: Vec::new(),
            sigma: Vec::new(),
            probs: Vec::new(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &MctsConfig {
        &self.config
    }

    /// Runs one search from every root in `roots` and returns one output per root, in
    /// order. The root states move into the trees: `roots` is left empty, ready to be
    /// refilled.
    ///
    /// `mode` decides the root noise: [`Mode::Explore`] mixes Dirichlet noise into the
    /// pUCT priors (if `root_noise`) or draws Gumbel MuZero's Gumbel noise;
    /// [`Mode::Evaluate`] draws nothing, and the search is deterministic.
    ///
    /// # Panics
    /// If a root is terminal or has no legal action (a finished episode has nothing to
    /// search), or the model does not push one evaluation per leaf.
    pub fn search<M>(
        &mut self,
        model: &mut M,
        roots: &mut Evaluations<S>,
        mode: Mode,
        rng: &mut Rng,
    ) -> Result<&[SearchOutput], M::Error>
    where
        M: SearchModel<State = S> + ?Sized,
    {
        let n = roots.len();
        let actions = roots.num_actions();
        for i in 0..n {
            assert!(
                !roots.is_terminal(i) && roots.legal(i).iter().any(|&l| l),
                "root {i} is terminal or has no legal action: there is nothing to search"
            );
        }
        if self.expansions.num_actions() != actions {
            self.expansions = Evaluations::new(actions);
        }
        self.sigma.resize(actions, 0.0);
        self.probs.resize(actions, 0.0);
        self.trees
            .resize_with(self.trees.len().max(n), Tree::default);
        let discount_sign = self.config.discount_sign();

        let mut states = std::mem::take(&mut roots.states);
        for (i, state) in states.drain(..).enumerate() {
            let known = match &self.config.selection {
                Selection::Puct(p) => p.known_bounds,
                Selection::Gumbel(_) => None,
            };
            self.trees[i].reset(actions, self.config.simulations, known, state, roots.row(i));
            self.prepare_root(i, mode, rng);
        }
        roots.states = states;
        roots.clear();

        for _ in 0..self.config.simulations {
            self.slots.clear();
            for (i, tree) in self.trees[..n].iter_mut().enumerate() {
                match descend(
                    tree,
                    &self.config.selection,
                    discount_sign,
                    &mut self.sigma,
                    &mut self.probs,
                ) {
                    Some((parent, node)) => self.slots.push(LeafSlot {
                        search: i as u32,
                        parent,
                        action: node - tree.nodes[parent as usize].children,
                        node,
                    }),
                    // A terminal state (value 0) or a dead end (no legal action): nothing to
                    // expand, its value goes up again.
                    None => {
                        let last = *tree.path.last().expect("a path has a root");
                        let value = tree.nodes[last as usize].raw_value;
                        tree.backup(value, discount_sign);
                    }
                }
            }
            if self.slots.is_empty() {
                continue;
            }
            self.expansions.clear();
            let leaves = Leaves {
                trees: &self.trees[..n],
                slots: &self.slots,
            };
            model.expand(&leaves, &mut self.expansions)?;
            assert_eq!(
                self.expansions.len(),
                self.slots.len(),
                "SearchModel::expand must push exactly one evaluation per leaf"
            );
            let mut states = std::mem::take(&mut self.expansions.states);
            for (k, (slot, state)) in self.slots.iter().zip(states.drain(..)).enumerate() {
                let row = self.expansions.row(k);
                let tree = &mut self.trees[slot.search as usize];
                tree.expand(slot.node, state, row);
                let value = tree.nodes[slot.node as usize].raw_value;
                tree.backup(value, discount_sign);
            }
            self.expansions.states = states;
        }

        self.outputs
            .resize_with(self.outputs.len().max(n), SearchOutput::default);
        for i in 0..n {
            self.summarize(i, discount_sign);
        }
        Ok(&self.outputs[..n])
    }

    /// Root noise and, for Gumbel, the halving schedule of root `i`.
    fn prepare_root(&mut self, i: usize, mode: Mode, rng: &mut Rng) {
        let tree = &mut self.trees[i];
        match &self.config.selection {
            Selection::Puct(p) => {
                if mode.explores() && p.root_noise && p.exploration_fraction > 0.0 {
                    puct::add_root_noise(tree, p, &mut self.sigma, rng);
                }
            }
            Selection::Gumbel(g) => {
                let actions = tree.num_actions();
                tree.gumbel.clear();
                if mode.explores() && g.gumbel_scale > 0.0 {
                    // One draw per action, legal or not, so masks do not shift the stream.
                    tree.gumbel
                        .extend((0..actions).map(|_| g.gumbel_scale * gumbel_draw(rng) as f32));
                } else {
                    tree.gumbel.resize(actions, 0.0);
                }
                let legal = tree.children(ROOT).iter().filter(|c| c.is_legal()).count();
                let m = g.max_considered_actions.min(legal);
                gumbel::considered_visits(m, self.config.simulations, &mut tree.considered);
            }
        }
    }

    /// Writes the output of search `i`.
    fn summarize(&mut self, i: usize, discount_sign: f32) {
        let tree = &self.trees[i];
        let out = &mut self.outputs[i];
        let children = tree.children(ROOT);
        out.visits.clear();
        out.visits.extend(children.iter().map(|c| c.visits));
        out.value = tree.nodes[ROOT as usize].value();
        out.policy.resize(children.len(), 0.0);
        match &self.config.selection {
            Selection::Puct(_) => {
                let total: u32 = out.visits.iter().sum();
                for (p, &v) in out.policy.iter_mut().zip(&out.visits) {
                    *p = v as f32 / total as f32;
                }
                out.action = None;
            }
            Selection::Gumbel(g) => {
                gumbel::root_policy(tree, g, discount_sign, &mut self.sigma, &mut out.policy);
                out.action = Some(gumbel::final_action(
                    tree,
                    g,
                    discount_sign,
                    &mut self.sigma,
                ));
            }
        }
    }
}

/// Descends from the root of `tree` to the next node to expand, recording the path.
/// Returns `(parent, node)` of a new leaf, or `None` when the path ends in a node that has
/// no children (a terminal state, or one without legal actions).
fn descend<S>(
    tree: &mut Tree<S>,
    selection: &Selection,
    discount_sign: f32,
    sigma: &mut [f32],
    probs: &mut [f32],
) -> Option<(u32, u32)> {
    tree.path.clear();
    let mut node = ROOT;
    loop {
        tree.path.push(node);
        let current = tree.nodes[node as usize];
        if current.state == NONE {
            return Some((tree.path[tree.path.len() - 2], node));
        }
        if current.children == NONE {
            return None;
        }
        let action = match selection {
            Selection::Puct(p) => puct::select(tree, node, p, discount_sign),
            Selection::Gumbel(g) if node == ROOT => {
                gumbel::select_root(tree, g, discount_sign, sigma)
            }
            Selection::Gumbel(g) => {
                gumbel::select_interior(tree, node, g, discount_sign, sigma, probs)
            }
        };
        node = current.children + action as u32;
    }
}

/// Picks an action from root visit counts at `temperature`: 0 is the most visited (the
/// lowest index among ties), otherwise a draw with probability ∝ N(a)^(1/T) (AlphaZero's
/// and MuZero's acting rule; T = 1 follows the visit distribution).
///
/// # Panics
/// If the temperature is negative or not finite, or no action was visited.
pub fn select_action(visits: &[u32], temperature: f32, rng: &mut Rng) -> usize {
    assert!(
        temperature.is_finite() && temperature >= 0.0,
        "temperature must be finite and ≥ 0, got {temperature}"
    );
    let most = visits.iter().copied().max().unwrap_or(0);
    assert!(most > 0, "no action was visited");
    if temperature == 0.0 {
        return visits.iter().position(|&v| v == most).expect("a maximum");
    }
    // (N / max N)^(1/T) keeps small temperatures from overflowing N^(1/T).
    let weight = |v: u32| (v as f64 / most as f64).powf(1.0 / temperature as f64);
    let total: f64 = visits.iter().map(|&v| weight(v)).sum();
    let mut u = rng.uniform() * total;
    let mut last = 0;
    for (a, &v) in visits.iter().enumerate() {
        if v == 0 {
            continue;
        }
        last = a;
        u -= weight(v);
        if u < 0.0 {
            return a;
        }
    }
    // Rounding left a sliver past the last visited action.
    last
}

#[cfg(test)]
mod tests;
