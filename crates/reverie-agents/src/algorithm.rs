//! The algorithms reverie trains, as types: [`Algorithm`] names them (the one place their
//! command-line names and one-line summaries live) and [`AgentConfig`] holds one algorithm's
//! parsed hyperparameters and builds its [`Agent`].

use reverie_core::{Agent, Rng, Space};
use reverie_envs::EnvRecipe;
use reverie_nn::DeviceSpec;
use serde::{Deserialize, Serialize};

mod key_docs;

pub use key_docs::doc_summary;

use crate::error::AgentError;
use crate::{
    DqnConfig, DreamerConfig, DynaQConfig, MbpoConfig, MpcAgentConfig, MuZeroConfig,
    NeuralDynaConfig, PpoConfig, PrioritizedSweepingConfig, QLearningConfig, RandomAgent,
    SacConfig, WorldModelsConfig,
};

/// A trainable algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Uniformly random actions.
    Random,
    /// Tabular Q-learning.
    QLearning,
    /// Dyna-Q.
    DynaQ,
    /// Dyna-Q+ (exploration bonus).
    DynaQPlus,
    /// Prioritized sweeping.
    PrioritizedSweeping,
    /// PETS (probabilistic ensemble, TS∞, CEM).
    Pets,
    /// MPC over a learned model (or the true simulator).
    Mpc,
    /// DQN.
    Dqn,
    /// PPO.
    Ppo,
    /// A2C (synchronous advantage actor-critic): PPO's update taken once per rollout.
    A2c,
    /// MBPO.
    Mbpo,
    /// Neural Dyna (DQN + imagined rollouts).
    NeuralDyna,
    /// SAC.
    Sac,
    /// Dreamer (a latent world model, actor-critic in imagination).
    Dreamer,
    /// MuZero (tree search in a learned latent model).
    MuZero,
    /// AlphaZero mode: MuZero's training with the search stepping the true simulator.
    AlphaZero,
    /// World Models (VAE, MDN-RNN, CMA-ES controller, in reality or in the dream).
    WorldModels,
}

impl Algorithm {
    /// Every algorithm, in the order `reverie algos` lists them.
    pub const ALL: [Algorithm; 17] = [
        Algorithm::Random,
        Algorithm::QLearning,
        Algorithm::DynaQ,
        Algorithm::DynaQPlus,
        Algorithm::PrioritizedSweeping,
        Algorithm::Pets,
        Algorithm::Mpc,
        Algorithm::Dqn,
        Algorithm::Ppo,
        Algorithm::A2c,
        Algorithm::Mbpo,
        Algorithm::NeuralDyna,
        Algorithm::Sac,
        Algorithm::Dreamer,
        Algorithm::MuZero,
        Algorithm::AlphaZero,
        Algorithm::WorldModels,
    ];

    /// The command-line name (also the preset folder), e.g. `q-learning`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Random => "random",
            Algorithm::QLearning => "q-learning",
            Algorithm::DynaQ => "dyna-q",
            Algorithm::DynaQPlus => "dyna-q-plus",
            Algorithm::PrioritizedSweeping => "prioritized-sweeping",
            Algorithm::Pets => "pets",
            Algorithm::Mpc => "mpc",
            Algorithm::Dqn => "dqn",
            Algorithm::Ppo => "ppo",
            Algorithm::A2c => "a2c",
            Algorithm::Mbpo => "mbpo",
            Algorithm::NeuralDyna => "neural-dyna",
            Algorithm::Sac => "sac",
            Algorithm::Dreamer => "dreamer",
            Algorithm::MuZero => "muzero",
            Algorithm::AlphaZero => "alphazero",
            Algorithm::WorldModels => "world-models",
        }
    }

    /// One line on what it is and which spaces it needs.
    pub fn summary(self) -> &'static str {
        match self {
            Algorithm::Random => "uniformly random actions: the baseline (any env)",
            Algorithm::QLearning => {
                "tabular Q-learning with ε-greedy exploration (Discrete obs and actions)"
            }
            Algorithm::DynaQ => {
                "Dyna-Q: Q-learning + planning from a learned tabular model (deterministic or distribution)"
            }
            Algorithm::DynaQPlus => {
                "Dyna-Q+: Dyna-Q with the exploration bonus κ√τ for changing environments"
            }
            Algorithm::PrioritizedSweeping => {
                "prioritized sweeping: planning ordered by TD-error priority (deterministic envs)"
            }
            Algorithm::Pets => {
                "PETS: probabilistic ensemble + iCEM/CEM model predictive control with TS∞ particles (Box actions)"
            }
            Algorithm::Mpc => {
                "MPC over a learned deterministic model: random shooting, CEM, iCEM, MPPI or categorical CEM (any actions)"
            }
            Algorithm::Dqn => {
                "DQN: replay, target network, Huber loss, ε schedule, n-step returns, annealed learning rate, optional Double DQN (Box obs, Discrete actions)"
            }
            Algorithm::Ppo => {
                "PPO: parallel rollouts, GAE, clipped surrogate, KL early stop (Box obs; Discrete or Box actions)"
            }
            Algorithm::A2c => {
                "A2C: parallel n-step rollouts, advantage actor-critic with an entropy bonus, one update per rollout (Box obs; Discrete or Box actions)"
            }
            Algorithm::Mbpo => {
                "MBPO: SAC on short branched rollouts of a probabilistic ensemble, mixed with real data (Box obs and actions)"
            }
            Algorithm::NeuralDyna => {
                "neural Dyna: DQN whose Q-network also learns from imagined rollouts of a learned ensemble (Box obs, Discrete actions)"
            }
            Algorithm::Sac => {
                "SAC: twin Q, tanh-squashed Gaussian policy, automatic entropy tuning (Box obs and actions)"
            }
            Algorithm::Dreamer => {
                "Dreamer (V3): RSSM world model with discrete latents, actor-critic trained in imagination (vector or 64x64 image obs; Discrete or Box actions)"
            }
            Algorithm::MuZero => {
                "MuZero: MCTS (pUCT or Gumbel) in a learned latent model h/g/f, K-step unrolled training, prioritised replay (Box obs, Discrete actions, one player)"
            }
            Algorithm::AlphaZero => {
                "AlphaZero mode: MuZero's search and training with the env's true simulator as the dynamics; h and f learned (envs with a settable state)"
            }
            Algorithm::WorldModels => {
                "World Models: VAE + MDN-RNN learned from random episodes, a linear controller on [z, h] searched by CMA-ES in reality or in the dream (vector or 64x64 image obs; Discrete or Box actions)"
            }
        }
    }

    /// The algorithm called `name`, or an error listing the valid names.
    pub fn from_name(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                format!("unknown algorithm '{name}'; known: {}", names.join(", "))
            })
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The random agent has no hyperparameters: any key is refused.
#[derive(
    Clone, Debug, Default, PartialEq, Serialize, Deserialize, documented::DocumentedFields,
)]
#[serde(deny_unknown_fields)]
pub struct RandomConfig {}

/// One algorithm's hyperparameters: the `[agent]` table of a run, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentConfig {
    /// See [`Algorithm::Random`].
    Random(RandomConfig),
    /// See [`Algorithm::QLearning`].
    QLearning(QLearningConfig),
    /// See [`Algorithm::DynaQ`].
    DynaQ(DynaQConfig),
    /// See [`Algorithm::DynaQPlus`]; `kappa` must be positive.
    DynaQPlus(DynaQConfig),
    /// See [`Algorithm::PrioritizedSweeping`].
    PrioritizedSweeping(PrioritizedSweepingConfig),
    /// See [`Algorithm::Pets`] (the MPC agent with PETS' defaults in its preset).
    Pets(MpcAgentConfig),
    /// See [`Algorithm::Mpc`].
    Mpc(MpcAgentConfig),
    /// See [`Algorithm::Dqn`].
    Dqn(DqnConfig),
    /// See [`Algorithm::Ppo`].
    Ppo(PpoConfig),
    /// See [`Algorithm::A2c`] (PPO's settings with A2C's defaults in its preset;
    /// `n_epochs` must be 1 and `batch_size` the whole rollout).
    A2c(PpoConfig),
    /// See [`Algorithm::Mbpo`].
    Mbpo(MbpoConfig),
    /// See [`Algorithm::NeuralDyna`].
    NeuralDyna(NeuralDynaConfig),
    /// See [`Algorithm::Sac`].
    Sac(SacConfig),
    /// See [`Algorithm::Dreamer`].
    Dreamer(DreamerConfig),
    /// See [`Algorithm::MuZero`].
    MuZero(MuZeroConfig),
    /// See [`Algorithm::AlphaZero`] (MuZero's settings; `unroll` must be 0).
    AlphaZero(MuZeroConfig),
    /// See [`Algorithm::WorldModels`].
    WorldModels(WorldModelsConfig),
}

impl AgentConfig {
    /// Parses `algorithm`'s hyperparameters from any serde source (a TOML table in the
    /// CLI); unknown keys are refused by each config.
    pub fn parse<'de, D: serde::Deserializer<'de>>(
        algorithm: Algorithm,
        source: D,
    ) -> Result<Self, D::Error> {
        Ok(match algorithm {
            Algorithm::Random => AgentConfig::Random(Deserialize::deserialize(source)?),
            Algorithm::QLearning => AgentConfig::QLearning(Deserialize::deserialize(source)?),
            Algorithm::DynaQ => AgentConfig::DynaQ(Deserialize::deserialize(source)?),
            Algorithm::DynaQPlus => AgentConfig::DynaQPlus(Deserialize::deserialize(source)?),
            Algorithm::PrioritizedSweeping => {
                AgentConfig::PrioritizedSweeping(Deserialize::deserialize(source)?)
            }
            Algorithm::Pets => AgentConfig::Pets(Deserialize::deserialize(source)?),
            Algorithm::Mpc => AgentConfig::Mpc(Deserialize::deserialize(source)?),
            Algorithm::Dqn => AgentConfig::Dqn(Deserialize::deserialize(source)?),
            Algorithm::Ppo => AgentConfig::Ppo(Deserialize::deserialize(source)?),
            Algorithm::A2c => AgentConfig::A2c(Deserialize::deserialize(source)?),
            Algorithm::Mbpo => AgentConfig::Mbpo(Deserialize::deserialize(source)?),
            Algorithm::NeuralDyna => AgentConfig::NeuralDyna(Deserialize::deserialize(source)?),
            Algorithm::Sac => AgentConfig::Sac(Deserialize::deserialize(source)?),
            Algorithm::Dreamer => AgentConfig::Dreamer(Deserialize::deserialize(source)?),
            Algorithm::MuZero => AgentConfig::MuZero(Deserialize::deserialize(source)?),
            Algorithm::AlphaZero => AgentConfig::AlphaZero(Deserialize::deserialize(source)?),
            Algorithm::WorldModels => AgentConfig::WorldModels(Deserialize::deserialize(source)?),
        })
    }

    /// The algorithm these hyperparameters are for.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            AgentConfig::Random(_) => Algorithm::Random,
            AgentConfig::QLearning(_) => Algorithm::QLearning,
            AgentConfig::DynaQ(_) => Algorithm::DynaQ,
            AgentConfig::DynaQPlus(_) => Algorithm::DynaQPlus,
            AgentConfig::PrioritizedSweeping(_) => Algorithm::PrioritizedSweeping,
            AgentConfig::Pets(_) => Algorithm::Pets,
            AgentConfig::Mpc(_) => Algorithm::Mpc,
            AgentConfig::Dqn(_) => Algorithm::Dqn,
            AgentConfig::Ppo(_) => Algorithm::Ppo,
            AgentConfig::A2c(_) => Algorithm::A2c,
            AgentConfig::Mbpo(_) => Algorithm::Mbpo,
            AgentConfig::NeuralDyna(_) => Algorithm::NeuralDyna,
            AgentConfig::Sac(_) => Algorithm::Sac,
            AgentConfig::Dreamer(_) => Algorithm::Dreamer,
            AgentConfig::MuZero(_) => Algorithm::MuZero,
            AgentConfig::AlphaZero(_) => Algorithm::AlphaZero,
            AgentConfig::WorldModels(_) => Algorithm::WorldModels,
        }
    }

    /// The hyperparameters as a TOML table, every default included.
    pub fn to_table(&self) -> Result<toml::Table, String> {
        let table = match self {
            AgentConfig::Random(c) => toml::Table::try_from(c),
            AgentConfig::QLearning(c) => toml::Table::try_from(c),
            AgentConfig::DynaQ(c) | AgentConfig::DynaQPlus(c) => toml::Table::try_from(c),
            AgentConfig::PrioritizedSweeping(c) => toml::Table::try_from(c),
            AgentConfig::Pets(c) | AgentConfig::Mpc(c) => toml::Table::try_from(c),
            AgentConfig::Dqn(c) => toml::Table::try_from(c),
            AgentConfig::Ppo(c) | AgentConfig::A2c(c) => toml::Table::try_from(c),
            AgentConfig::Mbpo(c) => toml::Table::try_from(c),
            AgentConfig::NeuralDyna(c) => toml::Table::try_from(c),
            AgentConfig::Sac(c) => toml::Table::try_from(c),
            AgentConfig::Dreamer(c) => toml::Table::try_from(c),
            AgentConfig::MuZero(c) | AgentConfig::AlphaZero(c) => toml::Table::try_from(c),
            AgentConfig::WorldModels(c) => toml::Table::try_from(c),
        };
        table.map_err(|e| e.to_string())
    }

    /// The same hyperparameters with every network on `device` (the run's top-level
    /// `device` key). Tabular agents and the random agent hold no tensors and ignore it.
    pub fn with_device(mut self, device: DeviceSpec) -> Self {
        match &mut self {
            AgentConfig::Pets(c) | AgentConfig::Mpc(c) => c.device = device,
            AgentConfig::Dqn(c) => c.device = device,
            AgentConfig::Ppo(c) | AgentConfig::A2c(c) => c.device = device,
            AgentConfig::Sac(c) => c.device = device,
            AgentConfig::Dreamer(c) => c.device = device,
            AgentConfig::MuZero(c) | AgentConfig::AlphaZero(c) => c.device = device,
            AgentConfig::WorldModels(c) => c.device = device,
            AgentConfig::Mbpo(c) => c.sac.device = device,
            AgentConfig::NeuralDyna(c) => c.dqn.device = device,
            AgentConfig::Random(_)
            | AgentConfig::QLearning(_)
            | AgentConfig::DynaQ(_)
            | AgentConfig::DynaQPlus(_)
            | AgentConfig::PrioritizedSweeping(_) => {}
        }
        self
    }

    /// Builds the agent for the env `env` builds (its spaces are passed in; model-based
    /// agents also take its known functions, the oracle a copy of its simulator);
    /// `total_steps` is the run's budget (schedules anneal over it).
    pub fn init(
        self,
        env: &EnvRecipe,
        observation_space: &Space,
        action_space: &Space,
        total_steps: u64,
        rng: Rng,
    ) -> Result<Box<dyn Agent>, AgentError> {
        let known = || {
            env.known_functions()
                .map_err(|e| AgentError::Env(e.to_string()))
        };
        let (obs, act) = (observation_space, action_space);
        Ok(match self {
            AgentConfig::Random(_) => Box::new(RandomAgent::new(act.clone(), rng)),
            AgentConfig::QLearning(c) => Box::new(c.init(obs, act, rng)?),
            AgentConfig::DynaQ(c) => Box::new(c.init(obs, act, rng)?),
            AgentConfig::DynaQPlus(c) => {
                crate::error::require(
                    c.kappa > 0.0,
                    "kappa",
                    c.kappa,
                    "> 0 for dyna-q-plus (the exploration bonus); use dyna-q for kappa = 0",
                )?;
                Box::new(c.init(obs, act, rng)?)
            }
            AgentConfig::PrioritizedSweeping(c) => Box::new(c.init(obs, act, rng)?),
            AgentConfig::Pets(c) | AgentConfig::Mpc(c) => Box::new(c.init(env, obs, act, rng)?),
            AgentConfig::Dqn(c) => Box::new(c.init(obs, act, total_steps, rng)?),
            AgentConfig::Ppo(c) => Box::new(c.init(obs, act, total_steps, rng)?),
            AgentConfig::A2c(c) => {
                // One pass of one minibatch: the probability ratio is 1 where the gradient
                // is taken, so the clipped surrogate's gradient is A2C's A·∇log π.
                crate::error::require(
                    c.n_epochs == 1,
                    "n_epochs",
                    c.n_epochs,
                    "1 for a2c (one update per rollout; use ppo for several epochs)",
                )?;
                crate::error::require(
                    c.batch_size == c.num_envs * c.n_steps,
                    "batch_size",
                    c.batch_size,
                    "num_envs * n_steps for a2c (the whole rollout in one update)",
                )?;
                Box::new(c.init(obs, act, total_steps, rng)?)
            }
            AgentConfig::Sac(c) => Box::new(c.init(obs, act, rng)?),
            AgentConfig::Dreamer(c) => Box::new(c.init(obs, act, rng)?),
            AgentConfig::MuZero(c) => {
                c.check_players(env)?;
                Box::new(c.init(obs, act, total_steps, rng)?)
            }
            AgentConfig::AlphaZero(c) => {
                c.check_players(env)?;
                Box::new(c.init_alphazero(env, obs, act, total_steps, rng)?)
            }
            AgentConfig::WorldModels(c) => Box::new(c.init(obs, act, rng)?),
            AgentConfig::Mbpo(c) => Box::new(c.init(&known()?, obs, act, rng)?),
            AgentConfig::NeuralDyna(c) => {
                Box::new(c.init(&known()?, obs, act, total_steps, rng)?)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_valid_ones() {
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.name()), Ok(algorithm));
        }
        let err = Algorithm::from_name("dqn2").unwrap_err();
        assert!(err.contains("neural-dyna"), "{err}");
    }

    #[test]
    fn every_algorithm_parses_its_defaults_and_refuses_unknown_keys() {
        for algorithm in Algorithm::ALL {
            let empty = serde_json::json!({});
            let config = AgentConfig::parse(algorithm, empty).unwrap();
            assert_eq!(config.algorithm(), algorithm);
            let bad = serde_json::json!({ "no_such_key": 1 });
            assert!(AgentConfig::parse(algorithm, bad).is_err(), "{algorithm}");
        }
    }
}
