//! The driver on the stub models of `test_models`: known answers, masks, two players,
//! batching and determinism.

use super::*;
use crate::search::config::{GumbelConfig, PuctConfig};
use crate::search::model::Evaluation;
use crate::search::test_models::{Hidden, TwoPly, PAYOFF};

fn puct(simulations: usize, discount: f32) -> MctsConfig {
    MctsConfig {
        simulations,
        discount,
        ..Default::default()
    }
}

fn gumbel(simulations: usize, discount: f32, m: usize) -> MctsConfig {
    MctsConfig {
        simulations,
        discount,
        selection: Selection::Gumbel(GumbelConfig {
            max_considered_actions: m,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One search of `model` from the root `path`.
fn search_hidden(
    config: MctsConfig,
    model: &mut Hidden,
    path: Vec<u8>,
    mode: Mode,
    rng: &mut Rng,
) -> SearchOutput {
    let mut mcts = Mcts::new(config).unwrap();
    let mut roots = Evaluations::new(3);
    model.push_root(&mut roots, path);
    mcts.search(model, &mut roots, mode, rng).unwrap()[0].clone()
}

fn argmax(xs: &[f32]) -> usize {
    (0..xs.len()).fold(0, |b, i| if xs[i] > xs[b] { i } else { b })
}

#[test]
fn puct_finds_the_hidden_best_action_and_concentrates_on_it() {
    let model = Hidden::new(0.9);
    // The true answer: action 2 (0.81 · 2), not the prior's favourite 0 (0.5).
    let q: Vec<f32> = (0..3).map(|a| model.optimal_q(&[], a)).collect();
    assert_eq!(argmax(&q), 2);
    let mut share = Vec::new();
    for simulations in [10, 50, 200] {
        // An imperfect value estimate (±0.3) and the misleading prior: the search has
        // to look at action 2 to correct the prior.
        let mut model = Hidden::new(0.9);
        model.informed = true;
        let out = search_hidden(
            puct(simulations, 0.9),
            &mut model,
            vec![],
            Mode::Evaluate,
            &mut Rng::seed_from_u64(0),
        );
        assert_eq!(out.visits.iter().sum::<u32>() as usize, simulations);
        assert_eq!(
            model.calls, model.leaves,
            "one leaf per call for one search"
        );
        share.push(out.policy[2]);
        if simulations == 200 {
            assert_eq!(
                select_action(&out.visits, 0.0, &mut Rng::seed_from_u64(0)),
                2
            );
            assert!(out.visits[2] > 100, "{:?}", out.visits);
            // Most simulations follow the best path, so the root value nears its return.
            assert!(out.value > 1.0, "{}", out.value);
        }
    }
    assert!(
        share[0] <= share[1] && share[1] < share[2],
        "share of the best action by budget: {share:?}"
    );
}

#[test]
fn two_player_search_plays_the_minimax_move() {
    // The prior favours move 2 (payoff 10 or −10); averaging over replies would favour
    // move 0 (mean 1); the reply that hurts most makes move 1 (worst case 0.5) the best.
    let worst: Vec<f32> = PAYOFF.iter().map(|r| r[0].min(r[1])).collect();
    assert_eq!(argmax(&worst), 1);
    for config in [puct(200, 1.0), gumbel(32, 1.0, 3)] {
        let config = MctsConfig {
            two_player: true,
            ..config
        };
        let gumbel = matches!(config.selection, Selection::Gumbel(_));
        let mut mcts = Mcts::new(config).unwrap();
        let mut roots = Evaluations::new(3);
        TwoPly::push_root(&mut roots);
        let mut rng = Rng::seed_from_u64(1);
        let out = &mcts
            .search(&mut TwoPly, &mut roots, Mode::Explore, &mut rng)
            .unwrap()[0];
        if gumbel {
            assert_eq!(out.action, Some(1), "{out:?}");
        } else {
            assert_eq!(select_action(&out.visits, 0.0, &mut rng), 1, "{out:?}");
        }
        assert_eq!(argmax(&out.policy), 1, "{out:?}");
    }
}

#[test]
fn illegal_actions_are_never_visited() {
    for config in [puct(200, 0.9), gumbel(16, 0.9, 16)] {
        let mut model = Hidden::new(0.9);
        model.mask_first = true;
        let out = search_hidden(
            config,
            &mut model,
            vec![],
            Mode::Explore,
            &mut Rng::seed_from_u64(2),
        );
        assert_eq!(out.visits[0], 0, "{out:?}");
        assert_eq!(out.policy[0], 0.0);
        assert_ne!(out.action, Some(0));
        assert_eq!(
            model.illegal_expansions, 0,
            "an illegal action was expanded inside the tree"
        );
        assert!(model.leaves > 0);
    }
}

#[test]
fn gumbel_finds_the_best_action_with_a_small_budget() {
    // Values are nearly right and the prior misleads: a handful of simulations must show
    // that action 2 is best, whatever the Gumbel noise.
    for seed in 0..20 {
        for simulations in [4, 8] {
            let mut model = Hidden::new(0.9);
            model.informed = true;
            let out = search_hidden(
                gumbel(simulations, 0.9, 4),
                &mut model,
                vec![],
                Mode::Explore,
                &mut Rng::seed_from_u64(seed),
            );
            assert_eq!(out.action, Some(2), "seed {seed}: {out:?}");
            assert_eq!(argmax(&out.policy), 2, "seed {seed}: {out:?}");
            assert!(out.policy[2] > 0.9, "seed {seed}: {out:?}");
            assert_eq!(out.visits.iter().sum::<u32>() as usize, simulations);
        }
    }
}

#[test]
fn gumbel_visits_follow_sequential_halving() {
    // m = 3 considered of 3, 8 simulations: 2 phases; each action once, then the best
    // two get (8 − 3) / 2 more each, rounded as the schedule does.
    let mut model = Hidden::new(0.9);
    model.informed = true;
    let out = search_hidden(
        gumbel(8, 0.9, 3),
        &mut model,
        vec![],
        Mode::Evaluate,
        &mut Rng::seed_from_u64(0),
    );
    let mut sorted = out.visits.clone();
    sorted.sort_unstable();
    assert_eq!(sorted[0], 1, "{out:?}");
    assert!(sorted[2] >= 3, "{out:?}");
    assert_eq!(out.action, Some(2));
}

/// Searches three roots together, then each alone, from the same generator state.
fn batched_and_alone(config: MctsConfig) {
    let roots_at = [vec![], vec![2u8], vec![1u8]];
    let mut model = Hidden::new(0.9);
    let mut mcts = Mcts::new(config.clone()).unwrap();
    let mut roots = Evaluations::new(3);
    for path in &roots_at {
        model.push_root(&mut roots, path.clone());
    }
    let mut rng = Rng::seed_from_u64(11);
    let together = mcts
        .search(&mut model, &mut roots, Mode::Explore, &mut rng)
        .unwrap()
        .to_vec();
    assert!(roots.is_empty());
    assert!(model.calls <= config.simulations && model.leaves > model.calls);

    let mut rng = Rng::seed_from_u64(11);
    for (path, batched) in roots_at.iter().zip(&together) {
        let mut alone_model = Hidden::new(0.9);
        let alone = search_hidden(
            config.clone(),
            &mut alone_model,
            path.clone(),
            Mode::Explore,
            &mut rng,
        );
        assert_eq!(&alone, batched, "root {path:?}");
    }

    // The same seed again, in the same (reused) search: the same results.
    let mut rng = Rng::seed_from_u64(11);
    for path in &roots_at {
        model.push_root(&mut roots, path.clone());
    }
    let again = mcts
        .search(&mut model, &mut roots, Mode::Explore, &mut rng)
        .unwrap();
    assert_eq!(again, &together[..]);
}

#[test]
fn batched_searches_match_searches_run_alone() {
    batched_and_alone(puct(40, 0.9));
    batched_and_alone(gumbel(12, 0.9, 3));
    // Noise matters: another seed gives other visits.
    let config = MctsConfig {
        selection: Selection::Puct(PuctConfig {
            exploration_fraction: 0.9,
            ..Default::default()
        }),
        ..puct(40, 0.9)
    };
    let runs: Vec<SearchOutput> = (0..2)
        .map(|seed| {
            search_hidden(
                config.clone(),
                &mut Hidden::new(0.9),
                vec![],
                Mode::Explore,
                &mut Rng::seed_from_u64(seed),
            )
        })
        .collect();
    assert_ne!(runs[0].visits, runs[1].visits);
}

#[test]
fn evaluation_mode_draws_nothing() {
    let mut rng = Rng::seed_from_u64(5);
    let before = rng.clone();
    for config in [puct(20, 0.9), gumbel(20, 0.9, 3)] {
        search_hidden(
            config,
            &mut Hidden::new(0.9),
            vec![],
            Mode::Evaluate,
            &mut rng,
        );
    }
    assert_eq!(rng, before);
}

#[test]
fn select_action_follows_the_temperature() {
    let visits = [3u32, 10, 0, 10, 1];
    let mut rng = Rng::seed_from_u64(4);
    assert_eq!(select_action(&visits, 0.0, &mut rng), 1);
    assert_eq!(select_action(&visits, 1e-4, &mut rng) % 2, 1);
    let mut counts = [0usize; 5];
    let n = 24_000;
    for _ in 0..n {
        counts[select_action(&visits, 1.0, &mut rng)] += 1;
    }
    assert_eq!(counts[2], 0);
    for (c, v) in counts.iter().zip(visits) {
        let expected = v as f64 / 24.0;
        assert!(
            ((*c as f64 / n as f64) - expected).abs() < 0.01,
            "{counts:?}"
        );
    }
    // T = 2: weights √N.
    let mut counts = [0usize; 2];
    for _ in 0..n {
        counts[select_action(&[1, 4], 2.0, &mut rng)] += 1;
    }
    assert!(
        (counts[0] as f64 / n as f64 - 1.0 / 3.0).abs() < 0.01,
        "{counts:?}"
    );
}

/// Every child is a dead end: not terminal, worth 1, with no legal action.
struct DeadEnds;

impl SearchModel for DeadEnds {
    type State = ();
    type Error = std::convert::Infallible;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, ()>,
        out: &mut Evaluations<()>,
    ) -> Result<(), Self::Error> {
        for _ in 0..leaves.len() {
            out.push(
                (),
                0.0,
                Evaluation {
                    logits: &[0.0, 0.0],
                    value: 1.0,
                    legal: Some(&[false, false]),
                },
            );
        }
        Ok(())
    }
}

#[test]
fn simulations_that_reach_a_dead_end_back_its_value_up_again() {
    for config in [puct(30, 0.5), gumbel(30, 0.5, 2)] {
        let mut mcts = Mcts::new(config).unwrap();
        let mut roots = Evaluations::new(2);
        let root = Evaluation {
            logits: &[0.0, 0.0],
            value: 0.5,
            legal: None,
        };
        roots.push((), 0.0, root);
        let out = &mcts
            .search(
                &mut DeadEnds,
                &mut roots,
                Mode::Evaluate,
                &mut Rng::seed_from_u64(0),
            )
            .unwrap()[0];
        assert_eq!(out.visits.iter().sum::<u32>(), 30);
        // Every return is γ · 1; with the root's own 0.5: (0.5 + 30 · 0.5) / 31.
        assert!((out.value - 0.5).abs() < 1e-6, "{out:?}");
    }
}

#[test]
fn the_model_is_usable_as_a_trait_object() {
    let mut model: Box<dyn SearchModel<State = Vec<u8>, Error = std::convert::Infallible>> =
        Box::new(TwoPly);
    let mut mcts = Mcts::new(MctsConfig {
        two_player: true,
        ..puct(20, 1.0)
    })
    .unwrap();
    let mut roots = Evaluations::new(3);
    TwoPly::push_root(&mut roots);
    let out = mcts
        .search(
            model.as_mut(),
            &mut roots,
            Mode::Evaluate,
            &mut Rng::seed_from_u64(0),
        )
        .unwrap();
    assert_eq!(out[0].visits.iter().sum::<u32>(), 20);
}
