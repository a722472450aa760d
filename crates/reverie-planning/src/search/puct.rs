//! MuZero's pUCT rule (Schrittwieser et al. 2020, appendix B) and its Dirichlet root noise.

use reverie_core::Rng;

use super::config::{PuctConfig, UnvisitedQ};
use super::noise::dirichlet_draw;
use super::tree::{Tree, ROOT};

/// The child of `node` with the highest
/// `Q̂ + P · √N(node) / (1 + N(child)) · (c1 + ln((N(node) + c2 + 1) / c2))`,
/// illegal children excluded, ties to the lowest action (deterministic, so no random draw
/// is spent on tie-breaks). `Q̂` is Q min–max normalised over the whole tree.
pub(crate) fn select<S>(
    tree: &Tree<S>,
    node: u32,
    config: &PuctConfig,
    discount_sign: f32,
) -> usize {
    let parent = &tree.nodes[node as usize];
    let n = parent.visits as f32;
    let exploration = n.sqrt() * (config.c1 + ((n + config.c2 + 1.0) / config.c2).ln());
    let unvisited = match config.unvisited_q {
        UnvisitedQ::Zero => 0.0,
        // The node's value is for the player to move there, as its children's Q are.
        UnvisitedQ::ParentValue => tree.bounds.normalize(parent.value()),
    };
    let mut best = (f32::NEG_INFINITY, usize::MAX);
    for (a, child) in tree.children(node).iter().enumerate() {
        if !child.is_legal() {
            continue;
        }
        let q = if child.visits > 0 {
            tree.bounds.normalize(child.q(discount_sign))
        } else {
            unvisited
        };
        let score = q + child.prior * exploration / (1 + child.visits) as f32;
        if score > best.0 {
            best = (score, a);
        }
    }
    debug_assert_ne!(best.1, usize::MAX, "an expanded node has a legal child");
    best.1
}

/// Mixes Dirichlet(α) noise into the legal root priors: `P = (1 − ε) P + ε · noise`.
/// `noise` is scratch space of at least `num_actions` values.
pub(crate) fn add_root_noise<S>(
    tree: &mut Tree<S>,
    config: &PuctConfig,
    noise: &mut [f32],
    rng: &mut Rng,
) {
    let legal = tree.children(ROOT).iter().filter(|c| c.is_legal()).count();
    let noise = &mut noise[..legal];
    dirichlet_draw(rng, config.dirichlet_alpha as f64, noise);
    let eps = config.exploration_fraction;
    let mut draws = noise.iter();
    for child in tree.children_mut(ROOT).iter_mut().filter(|c| c.is_legal()) {
        let x = draws.next().expect("one draw per legal action");
        child.prior = (1.0 - eps) * child.prior + eps * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::model::Row;

    fn tree(logits: &[f32], legal: &[bool]) -> Tree<()> {
        let mut t = Tree::default();
        let row = Row {
            reward: 0.0,
            value: 0.0,
            logits,
            legal,
            terminal: false,
        };
        t.reset(logits.len(), 8, None, (), row);
        t
    }

    #[test]
    fn the_first_selection_follows_the_prior_and_skips_illegal_actions() {
        let t = tree(&[0.0, 1.0, 5.0], &[true, true, false]);
        assert_eq!(select(&t, ROOT, &PuctConfig::default(), 1.0), 1);
    }

    #[test]
    fn q_outweighs_a_higher_prior_after_visits() {
        let mut t = tree(&[1.0, 0.0], &[true, true]);
        let children = t.nodes[0].children;
        // Action 0 returned 0, action 1 returned 1, each visited 5 times.
        for (a, value) in [(0u32, 0.0), (1, 1.0)] {
            let c = &mut t.nodes[(children + a) as usize];
            c.visits = 5;
            c.value_sum = 5.0 * value;
            t.bounds.update(value as f32);
        }
        t.nodes[0].visits = 11;
        assert_eq!(select(&t, ROOT, &PuctConfig::default(), 1.0), 1);
    }

    #[test]
    fn root_noise_keeps_a_distribution_over_legal_actions() {
        let mut t = tree(&[0.0, 0.0, 0.0, 0.0], &[true, false, true, true]);
        let mut scratch = vec![0.0; 4];
        add_root_noise(
            &mut t,
            &PuctConfig::default(),
            &mut scratch,
            &mut Rng::seed_from_u64(3),
        );
        let priors: Vec<f32> = t.children(ROOT).iter().map(|c| c.prior).collect();
        assert_eq!(priors[1], 0.0);
        assert!((priors.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(
            priors[0] != priors[2],
            "noise changed the priors: {priors:?}"
        );
    }
}
