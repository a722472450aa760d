//! `reverie bench mcts`: simulations per second of the tree search, bare (a stub model
//! that costs nothing, so the table measures the search itself) and with MuZero's networks
//! (the default preset's sizes on CartPole-v1 shapes, through the agent's own acting path:
//! `h` and `f` at the roots, one batched `g` + `f` per simulation step), for one search at a
//! time and for N searches stepped together.

use std::time::Instant;

use reverie_agents::MuZeroConfig;
use reverie_core::space::BoxSpace;
use reverie_core::{ActContext, Action, Agent, Carry, Mode, ObsBatch, Rng, Space};
use reverie_planning::search::{
    Evaluation, Evaluations, Leaves, Mcts, MctsConfig, SearchModel, Selection,
};

/// A model that costs nothing: state = depth, uniform priors, value 0, reward 0.
struct Stub {
    actions: usize,
    logits: Vec<f32>,
}

impl SearchModel for Stub {
    type State = u32;
    type Error = std::convert::Infallible;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, u32>,
        out: &mut Evaluations<u32>,
    ) -> Result<(), Self::Error> {
        for (state, action) in leaves.iter() {
            out.push(
                state * self.actions as u32 + action as u32,
                0.0,
                Evaluation {
                    logits: &self.logits,
                    value: 0.0,
                    legal: None,
                },
            );
        }
        Ok(())
    }
}

/// The search settings of a row: pUCT or Gumbel at `simulations`.
fn config(simulations: usize, gumbel: bool) -> MctsConfig {
    MctsConfig {
        simulations,
        selection: if gumbel {
            Selection::Gumbel(Default::default())
        } else {
            Selection::default()
        },
        ..MctsConfig::default()
    }
}

/// Simulations per second of the bare search: `searches` roots searched together at
/// `simulations` each, repeated for about `seconds`.
fn stub_rate(
    actions: usize,
    searches: usize,
    simulations: usize,
    gumbel: bool,
    seconds: f64,
) -> f64 {
    let mut mcts = Mcts::new(config(simulations, gumbel)).expect("valid settings");
    let mut model = Stub {
        actions,
        logits: vec![0.0; actions],
    };
    let mut roots = Evaluations::new(actions);
    let mut rng = Rng::seed_from_u64(0);
    let (start, mut done) = (Instant::now(), 0usize);
    while done == 0 || start.elapsed().as_secs_f64() < seconds {
        for _ in 0..searches {
            roots.push(
                0,
                0.0,
                Evaluation {
                    logits: &model.logits,
                    value: 0.0,
                    legal: None,
                },
            );
        }
        let Ok(outputs) = mcts.search(&mut model, &mut roots, Mode::Explore, &mut rng);
        done += outputs.len() * simulations;
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// Simulations per second of MuZero acting in `envs` CartPole-shaped envs (4 numbers in,
/// 2 actions) at its default sizes.
fn network_rate(
    envs: usize,
    simulations: usize,
    gumbel: bool,
    seconds: f64,
) -> anyhow::Result<f64> {
    let obs_space = Space::Box(BoxSpace::new(vec![-1.0; 4], vec![1.0; 4]));
    let act_space = Space::Discrete { n: 2, start: 0 };
    let mut agent = MuZeroConfig {
        num_envs: envs,
        search: config(simulations, gumbel),
        ..MuZeroConfig::default()
    }
    .init(&obs_space, &act_space, 1, Rng::seed_from_u64(0))?;
    let mut rng = Rng::seed_from_u64(1);
    let rows: Vec<f32> = (0..envs * 4)
        .map(|_| rng.uniform_range(-0.05, 0.05) as f32)
        .collect();
    let obs = ObsBatch::from_f32(rows, 4);
    let (mut carry, mut actions) = (Carry::none(), Vec::<Action>::new());
    let first = vec![false; envs];
    let (start, mut done) = (Instant::now(), 0usize);
    while done == 0 || start.elapsed().as_secs_f64() < seconds {
        agent.act(
            &obs,
            &ActContext::new(&first),
            &mut carry,
            Mode::Explore,
            &mut actions,
        );
        done += envs * simulations;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// The table: stub and network rows, pUCT and Gumbel, 1 and `parallel` searches.
pub fn bench_mcts(seconds: f64, parallel: usize) -> anyhow::Result<String> {
    let mut out = String::from(
        "| model | selection | actions | searches together | simulations per search | simulations/s | searches/s |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for (gumbel, name) in [(false, "pUCT"), (true, "Gumbel")] {
        for (actions, searches, simulations) in
            [(2, 1, 50), (7, 1, 50), (7, 1, 800), (7, parallel, 50)]
        {
            let rate = stub_rate(actions, searches, simulations, gumbel, seconds);
            out.push_str(&format!(
                "| stub | {name} | {actions} | {searches} | {simulations} | {rate:.0} | {:.0} |\n",
                rate / simulations as f64
            ));
        }
    }
    for (gumbel, name, simulations) in [(false, "pUCT", 25), (true, "Gumbel", 8)] {
        for envs in [1, parallel] {
            let rate = network_rate(envs, simulations, gumbel, seconds)?;
            out.push_str(&format!(
                "| MuZero nets (latent 32, 64 wide) | {name} | 2 | {envs} | {simulations} | {rate:.0} | {:.0} |\n",
                rate / simulations as f64
            ));
        }
    }
    Ok(out)
}
