//! Gumbel MuZero's selection (Danihelka et al. 2022, "Policy improvement by planning with
//! Gumbel"), as DeepMind's mctx implements it.
//!
//! At the root, Gumbel-top-m sampling and sequential halving are one rule: a simulation
//! visits, among the actions whose visit count equals the count sequential halving is at
//! (`considered_visits`), the one with the highest `g + logits + σ(q̂)`. While that count is
//! 0 every unvisited action qualifies and Q is not known yet, so the first m simulations
//! visit the m actions with the highest `g + logits`: a Gumbel-top-m sample without
//! replacement. Later counts admit only the actions that survived the previous halving.
//!
//! Q values are completed (an unvisited action gets the mixed value, an estimate of the
//! node's value under the prior) and min–max normalised over the node's own completed Q, as
//! mctx does (pUCT normalises over the whole tree instead).

use super::config::GumbelConfig;
use super::tree::{Node, Tree, ROOT};

/// Scores that rank below every legal action's (mctx's `low_logit`).
const LOW_SCORE: f32 = -1e9;
/// Smallest Q range the normalisation divides by (mctx's).
const MIN_RANGE: f32 = 1e-8;

/// Sequential halving's schedule: for each of `simulations` simulations, the visit count of
/// the actions it chooses among, with `m` actions considered (mctx's
/// `get_sequence_of_considered_visits`). The budget is split evenly over ⌈log₂ m⌉ phases;
/// each phase gives every remaining action `simulations / (⌈log₂ m⌉ · remaining)` visits (at
/// least one), then halves the remaining actions (never below 2).
pub(crate) fn considered_visits(m: usize, simulations: usize, out: &mut Vec<u32>) {
    out.clear();
    if m <= 1 {
        out.extend(0..simulations as u32);
        return;
    }
    let phases = (m as f64).log2().ceil() as usize;
    let mut remaining = m;
    // Within a phase all remaining actions have the same count, so one number tracks them.
    let mut visits = 0u32;
    while out.len() < simulations {
        let extra = (simulations / (phases * remaining)).max(1);
        for _ in 0..extra {
            out.resize(out.len() + remaining, visits);
            visits += 1;
        }
        remaining = (remaining / 2).max(2);
    }
    out.truncate(simulations);
}

/// σ(q̂) of every child of `node` into `sigma` (0 for illegal children):
/// `σ(q̂) = (c_visit + max_b N(b)) · c_scale · q̂`, where q̂ is the completed Q (the mixed
/// value for unvisited actions) min–max normalised over the node's legal children.
pub(crate) fn sigma_completed_q<S>(
    tree: &Tree<S>,
    node: u32,
    config: &GumbelConfig,
    discount_sign: f32,
    sigma: &mut [f32],
) {
    let children = tree.children(node);
    let mixed = mixed_value(tree.nodes[node as usize].raw_value, children, discount_sign);
    let (mut lo, mut hi, mut max_visits) = (f32::INFINITY, f32::NEG_INFINITY, 0u32);
    for (s, child) in sigma.iter_mut().zip(children) {
        *s = if !child.is_legal() {
            0.0
        } else if child.visits > 0 {
            child.q(discount_sign)
        } else {
            mixed
        };
        if child.is_legal() {
            lo = lo.min(*s);
            hi = hi.max(*s);
            max_visits = max_visits.max(child.visits);
        }
    }
    let scale = (config.c_visit + max_visits as f32) * config.c_scale / (hi - lo).max(MIN_RANGE);
    for (s, child) in sigma.iter_mut().zip(children) {
        if child.is_legal() {
            *s = (*s - lo) * scale;
        }
    }
}

/// The mixed value (paper, appendix D): the node's own value estimate averaged with the
/// prior-weighted Q of its visited children,
/// `(v̂ + Σ_b N(b) · Σ_visited π(a) q(a) / Σ_visited π(a)) / (1 + Σ_b N(b))`.
fn mixed_value(raw_value: f32, children: &[Node], discount_sign: f32) -> f32 {
    let (mut visits, mut count) = (0u32, 0u32);
    let (mut p_sum, mut pq_sum, mut q_sum) = (0.0f32, 0.0f32, 0.0f32);
    for child in children.iter().filter(|c| c.visits > 0) {
        let q = child.q(discount_sign);
        visits += child.visits;
        count += 1;
        p_sum += child.prior;
        pq_sum += child.prior * q;
        q_sum += q;
    }
    if visits == 0 {
        return raw_value;
    }
    // Visited actions whose priors underflowed to 0: weigh them equally (mctx floors each
    // prior at the smallest float, which comes to the same).
    let weighted = if p_sum > 0.0 {
        pq_sum / p_sum
    } else {
        q_sum / count as f32
    };
    (raw_value + visits as f32 * weighted) / (1 + visits) as f32
}

/// The largest legal logit of `children`.
fn max_logit(children: &[Node]) -> f32 {
    children
        .iter()
        .map(|c| c.logit)
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Among the legal children with exactly `considered` visits (all legal children when
/// none has), the one with the highest `max(LOW_SCORE, g + logit − max logit + σ)`;
/// ties to the lowest action.
fn best_considered(children: &[Node], gumbel: &[f32], sigma: &[f32], considered: u32) -> usize {
    let top = max_logit(children);
    let score = |a: usize, c: &Node| (gumbel[a] + c.logit - top + sigma[a]).max(LOW_SCORE);
    let mut best = (f32::NEG_INFINITY, usize::MAX);
    for (a, child) in children.iter().enumerate() {
        if child.is_legal() && child.visits == considered && score(a, child) > best.0 {
            best = (score(a, child), a);
        }
    }
    if best.1 == usize::MAX {
        // The schedule always leaves an action at its count; this only guards the search
        // against an inconsistent one.
        for (a, child) in children.iter().enumerate() {
            if child.is_legal() && score(a, child) > best.0 {
                best = (score(a, child), a);
            }
        }
    }
    best.1
}

/// The root action of the next simulation (sequential halving).
pub(crate) fn select_root<S>(
    tree: &Tree<S>,
    config: &GumbelConfig,
    discount_sign: f32,
    sigma: &mut [f32],
) -> usize {
    // Every finished simulation passed through the root once; its own evaluation is the
    // first visit.
    let simulation = (tree.nodes[ROOT as usize].visits - 1) as usize;
    let considered = tree.considered[simulation.min(tree.considered.len() - 1)];
    sigma_completed_q(tree, ROOT, config, discount_sign, sigma);
    best_considered(tree.children(ROOT), &tree.gumbel, sigma, considered)
}

/// The action to play: among the most visited root actions (the last survivors of the
/// halving), the highest `g + logits + σ(q̂)`.
pub(crate) fn final_action<S>(
    tree: &Tree<S>,
    config: &GumbelConfig,
    discount_sign: f32,
    sigma: &mut [f32],
) -> usize {
    let children = tree.children(ROOT);
    let most = children
        .iter()
        .filter(|c| c.is_legal())
        .map(|c| c.visits)
        .max()
        .unwrap_or(0);
    sigma_completed_q(tree, ROOT, config, discount_sign, sigma);
    best_considered(children, &tree.gumbel, sigma, most)
}

/// The improved policy π' = softmax(logits + σ(completed q̂)) over the legal children of
/// `node`, into `probs`; `sigma` must hold the node's σ.
fn improved(children: &[Node], sigma: &[f32], probs: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for ((p, c), s) in probs.iter_mut().zip(children).zip(sigma) {
        *p = c.logit + s;
        max = max.max(*p);
    }
    let mut sum = 0.0;
    for (p, c) in probs.iter_mut().zip(children) {
        *p = if c.is_legal() { (*p - max).exp() } else { 0.0 };
        sum += *p;
    }
    for p in probs.iter_mut() {
        *p /= sum;
    }
}

/// The improved policy at the root (the policy target of Gumbel MuZero).
pub(crate) fn root_policy<S>(
    tree: &Tree<S>,
    config: &GumbelConfig,
    discount_sign: f32,
    sigma: &mut [f32],
    probs: &mut [f32],
) {
    sigma_completed_q(tree, ROOT, config, discount_sign, sigma);
    improved(tree.children(ROOT), sigma, probs);
}

/// An interior node's action: the paper's deterministic rule
/// `argmax_a π'(a) − N(a) / (1 + Σ_b N(b))`, which makes the visit distribution track the
/// improved policy. Ties to the lowest action.
pub(crate) fn select_interior<S>(
    tree: &Tree<S>,
    node: u32,
    config: &GumbelConfig,
    discount_sign: f32,
    sigma: &mut [f32],
    probs: &mut [f32],
) -> usize {
    sigma_completed_q(tree, node, config, discount_sign, sigma);
    let children = tree.children(node);
    improved(children, sigma, probs);
    let total: u32 = children.iter().map(|c| c.visits).sum();
    let mut best = (f32::NEG_INFINITY, usize::MAX);
    for (a, (child, p)) in children.iter().zip(probs.iter()).enumerate() {
        if !child.is_legal() {
            continue;
        }
        let score = p - child.visits as f32 / (1 + total) as f32;
        if score > best.0 {
            best = (score, a);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::model::Row;

    fn schedule(m: usize, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        considered_visits(m, n, &mut out);
        out
    }

    #[test]
    fn sequential_halving_schedules_match_mctx() {
        assert_eq!(schedule(1, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(schedule(2, 10), vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
        assert_eq!(schedule(4, 8), vec![0, 0, 0, 0, 1, 1, 2, 2]);
        // m = 4, n = 16: 2 phases of 8: [0]*4, [1]*4, then 2 actions × 4 more visits.
        assert_eq!(
            schedule(4, 16),
            vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        // Three actions, 3 simulations: one each.
        assert_eq!(schedule(3, 3), vec![0, 0, 0]);
    }

    fn root(logits: &[f32], legal: &[bool], value: f32) -> Tree<()> {
        let mut t = Tree::default();
        let row = Row {
            reward: 0.0,
            value,
            logits,
            legal,
            terminal: false,
        };
        t.reset(logits.len(), 8, None, (), row);
        t.gumbel = vec![0.0; logits.len()];
        considered_visits(logits.len(), 8, &mut t.considered);
        t
    }

    #[test]
    fn unvisited_actions_get_the_mixed_value() {
        let mut t = root(&[0.0, 0.0, 0.0], &[true; 3], 0.2);
        let first = t.nodes[0].children as usize;
        // Action 0 visited twice with return 1.0 (prior 1/3): mixed = (0.2 + 2 · 1) / 3.
        t.nodes[first].visits = 2;
        t.nodes[first].value_sum = 2.0;
        let children = t.children(ROOT);
        let mixed = mixed_value(0.2, children, 1.0);
        assert!((mixed - 2.2 / 3.0).abs() < 1e-6);
        let mut sigma = vec![0.0; 3];
        let config = GumbelConfig::default();
        sigma_completed_q(&t, ROOT, &config, 1.0, &mut sigma);
        // Completed Q: [1, m, m] → q̂ = [1, 0, 0], σ = (50 + 2) · q̂.
        assert!((sigma[0] - 52.0).abs() < 1e-4, "{sigma:?}");
        assert_eq!(sigma[1..], [0.0, 0.0]);
    }

    #[test]
    fn the_first_simulations_take_the_top_logits_and_never_illegal_actions() {
        let t = root(&[0.0, 3.0, 1.0, 9.0], &[true, true, true, false], 0.0);
        let mut sigma = vec![0.0; 4];
        let config = GumbelConfig::default();
        assert_eq!(select_root(&t, &config, 1.0, &mut sigma), 1);
        let mut probs = vec![0.0; 4];
        root_policy(&t, &config, 1.0, &mut sigma, &mut probs);
        assert_eq!(probs[3], 0.0);
        assert!(probs[1] > probs[2] && probs[2] > probs[0]);
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}
