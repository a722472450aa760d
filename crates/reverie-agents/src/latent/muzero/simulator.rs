//! AlphaZero mode (Silver et al. 2018, on MuZero's training loop): the search expands its
//! leaves with a copy of the env's own simulator (its settable state) instead of the
//! learned dynamics, and only `h` and `f` are learned, from the same replay and targets
//! (no unrolled steps: `unroll = 0`). The env must expose `SimulatorState` and recover its
//! state from an observation (the classic-control envs and the board games do). In a board
//! game the simulator's `info["action_mask"]` masks every node, not only the root, and its
//! rewards are turned to the mover's view.

use candle_core::Tensor;
use reverie_core::{
    mover_before, mover_reward, read_action_mask, Action, BoxedEnv, Mode, Rng, Space,
};
use reverie_envs::EnvRecipe;
use reverie_planning::search::{
    Evaluation, Evaluations, Leaves, Mcts, MctsConfig, SearchModel, SearchOutput,
};

use super::networks::{push_evaluated, MuZeroNets};
use crate::AgentError;

/// The simulator and the search over its states.
pub(super) struct Simulator {
    env: BoxedEnv,
    /// The first action's index in the env's `Discrete` space.
    start: i64,
    search: Mcts<Vec<f64>>,
    roots: Evaluations<Vec<f64>>,
    two_player: bool,
}

impl Simulator {
    /// A copy of the env `recipe` builds (with its options, without its time limit: a
    /// search looks past where an episode is cut), checked for a settable state.
    pub(super) fn new(
        recipe: &EnvRecipe,
        search: &MctsConfig,
        actions: usize,
    ) -> Result<Self, AgentError> {
        let mut options = recipe.options.clone();
        options.insert(
            "max_episode_steps",
            reverie_envs::OptionValue::Int(i64::from(u32::MAX)),
        );
        let mut env = reverie_envs::make_with(&recipe.id, &options)
            .map_err(|e| AgentError::Env(e.to_string()))?;
        let (first, _) = env.reset(Some(0));
        let recovers = env
            .simulator()
            .and_then(|sim| sim.state_of_observation(&first))
            .is_some();
        if !recovers {
            return Err(AgentError::UnsupportedSpace {
                agent: "alphazero",
                needs:
                    "an env whose state can be set and read off its observation (SimulatorState)",
                found: recipe.id.clone(),
            });
        }
        let start = match env.action_space() {
            Space::Discrete { start, .. } => start,
            other => {
                return Err(AgentError::UnsupportedSpace {
                    agent: "alphazero",
                    needs: "Discrete actions",
                    found: other.describe(),
                })
            }
        };
        Ok(Self {
            env,
            start,
            search: Mcts::new(search.clone()).map_err(|m| AgentError::InvalidConfig {
                key: "search",
                value: m,
                expected: "a valid setting",
            })?,
            roots: Evaluations::new(actions),
            two_player: search.two_player,
        })
    }

    /// One search from each observation row of `obs` (`[rows, obs_dim]`), its root actions
    /// masked by `legal` (`[rows × actions]`) where given.
    pub(super) fn search(
        &mut self,
        nets: &MuZeroNets,
        obs: &[f32],
        obs_dim: usize,
        legal: Option<&[bool]>,
        mode: Mode,
        rng: &mut Rng,
    ) -> candle_core::Result<&[SearchOutput]> {
        let rows = obs.len() / obs_dim;
        let sim = self
            .env
            .simulator()
            .expect("checked when the simulator was built");
        let mut states = Vec::with_capacity(rows);
        for row in obs.chunks_exact(obs_dim) {
            let observation = reverie_core::Observation::Vector(row.to_vec());
            states.push(sim.state_of_observation(&observation).ok_or_else(|| {
                candle_core::Error::Msg("the simulator cannot read this observation".into())
            })?);
        }
        let x = Tensor::from_slice(obs, (rows, obs_dim), nets.device())?;
        let (logits, values) = nets.evaluate(&nets.represent(&x)?)?;
        push_evaluated(
            &mut self.roots,
            states.into_iter().map(|s| (s, 0.0)),
            &logits,
            &values,
            legal,
        );
        let mut model = SimulatorModel {
            env: &mut self.env,
            start: self.start,
            nets,
            obs_dim,
            two_player: self.two_player,
        };
        self.search.search(&mut model, &mut self.roots, mode, rng)
    }
}

/// The simulator as the search sees it: a node is the env's state; a leaf is stepped by
/// setting that state and taking the action, and its observation evaluated by `f(h(·))`,
/// all of one simulation step's leaves in one batch.
struct SimulatorModel<'a> {
    env: &'a mut BoxedEnv,
    start: i64,
    nets: &'a MuZeroNets,
    obs_dim: usize,
    two_player: bool,
}

impl SearchModel for SimulatorModel<'_> {
    type State = Vec<f64>;
    type Error = candle_core::Error;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, Vec<f64>>,
        out: &mut Evaluations<Vec<f64>>,
    ) -> candle_core::Result<()> {
        let sim_error = |e: reverie_core::EnvError| candle_core::Error::Msg(e.to_string());
        // (state, reward, terminal) per leaf; the observations and legal actions of the
        // non-terminal ones.
        let mut stepped = Vec::with_capacity(leaves.len());
        let mut obs = Vec::new();
        let mut legal = Vec::new();
        let mut masked = false;
        let a = out.num_actions();
        for (state, action) in leaves.iter() {
            let sim = self.env.simulator_mut().expect("checked at construction");
            sim.set_state(state).map_err(sim_error)?;
            let step = self
                .env
                .step(&Action::Discrete(self.start + action as i64))
                .map_err(sim_error)?;
            let next = self
                .env
                .simulator()
                .expect("checked at construction")
                .state();
            if !step.terminated {
                let row = step.obs.as_vector().ok_or_else(|| {
                    candle_core::Error::Msg("the simulator's observations are not vectors".into())
                })?;
                obs.extend_from_slice(row);
                let start = legal.len();
                legal.resize(start + a, true);
                masked |= read_action_mask(&step.info, &mut legal[start..]);
            }
            let reward = match (self.two_player, mover_before(&step.info)) {
                (true, Some(mover)) => mover_reward(step.reward, mover),
                _ => step.reward,
            };
            stepped.push((next, reward as f32, step.terminated));
        }
        let rows = obs.len() / self.obs_dim;
        let (logits, values) = if rows > 0 {
            let x = Tensor::from_vec(obs, (rows, self.obs_dim), self.nets.device())?;
            self.nets.evaluate(&self.nets.represent(&x)?)?
        } else {
            (Vec::new(), Vec::new())
        };
        let mut evaluated = logits.iter().zip(values).enumerate();
        for (state, reward, terminal) in stepped {
            if terminal {
                out.push_terminal(state, reward);
            } else {
                let (i, (logits, value)) = evaluated.next().expect("one evaluation per live leaf");
                out.push(
                    state,
                    reward,
                    Evaluation {
                        logits,
                        value,
                        legal: masked.then(|| &legal[i * a..(i + 1) * a]),
                    },
                );
            }
        }
        Ok(())
    }
}
