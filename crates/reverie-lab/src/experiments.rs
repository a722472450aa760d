//! `reverie experiment <name>`: experiments that reproduce published claims with numbers.
//!
//! Each writes `DIR/summary.csv` (one row per configuration, headline figures), per-run CSVs,
//! PNG + SVG plots and `report.txt` (the table printed to the terminal), and returns the
//! report.

mod board;
pub(crate) mod common;
mod dqn;
mod dreamer;
mod dreamer_imagination;
mod dyna_changing;
mod dyna_frozen_lake;
mod dyna_planning;
mod imagination;
mod model_free;
mod muzero;
mod pets;
mod runs;
mod sweeping;
mod threshold;
mod world_models;

use std::path::PathBuf;

pub use common::{greedy_path_length, mean_ci95};
pub use dyna_changing::{changing_maze_run, ChangingMaze};
pub use dyna_frozen_lake::{episodes_to_solve, greedy_reaches_goal};
pub use dyna_planning::{dyna_maze_run, MazeRun};
pub use sweeping::{updates_to_near_optimal, Planner};

/// `(name, what it reproduces)` of every experiment.
pub const EXPERIMENTS: &[(&str, &str)] = &[
    ("dyna-planning", "Dyna-Q with n = 0, 5, 50 planning steps on the Dyna maze (Sutton & Barto Figure 8.2)"),
    ("dyna-frozen-lake", "Dyna-Q planning steps 0, 5, 10, 50 on deterministic FrozenLake 8x8: episodes to solve"),
    ("dyna-changing", "Dyna-Q vs Dyna-Q+ on the blocking and shortcut mazes (Sutton & Barto Figures 8.4, 8.5)"),
    ("prioritized-sweeping", "prioritized sweeping vs Dyna-Q: updates to an optimal path on mazes of growing size (Example 8.4)"),
    ("pets-cartpole", "PETS (iCEM and mbrl-lib's CEM) on continuous cart-pole balance: trials and wall-clock to return ≥ 195"),
    ("pets-pendulum", "PETS on Pendulum-v1: episodes until the mean of the last 3 returns ≥ −200"),
    ("pets-swingup", "PETS on cart-pole swing-up: return per trial over 10 trials"),
    ("dqn-cartpole", "DQN and neural Dyna (planning 5) on CartPole-v1, 10 seeds: real steps to 500, seeds ending at ≥ 475"),
    ("dqn-collapse", "DQN's fall-back after 500 on CartPole-v1: Double DQN, target staleness, lr annealing, n-step returns, alone and combined"),
    ("ppo-cartpole", "PPO on CartPole-v1 with rl-zoo's settings: evaluation 500 within 100k steps, wall-clock"),
    ("a2c-cartpole", "A2C on CartPole-v1 with SB3's settings: evaluation 500 within 500k steps, wall-clock"),
    ("sac-pendulum", "SAC on Pendulum-v1 with rl-zoo's settings: evaluation ≥ −200 within 20k steps, wall-clock"),
    ("ppo-pendulum", "PPO (Gaussian policy) on Pendulum-v1: evaluation ≥ −250 within 200k steps"),
    ("mbpo-vs-sac", "MBPO vs SAC on Pendulum-v1 (≥ −200) and the cart-pole swing-up (≥ 100): real steps to the threshold"),
    ("dyna-neural", "DQN vs neural Dyna (planning 5, 10) and DQN with as many updates on CartPole-v1: real steps to 500"),
    ("rollout-length", "MBPO with rollout lengths 1, 5, 15, 50 and disagreement-stopped 50 on Pendulum-v1: returns and model disagreement"),
    ("ppo-clip", "PPO on CartPole-v1 with clip ε = 0.2 versus ε = 100 (the clamp never bites), same seeds"),
    ("ppo-kl-stop", "PPO with the approximate-KL early stop: at which epoch it stops, early versus late in training"),
    ("dreamer-cartpole", "Dreamer on CartPole-v1 from vectors: evaluation ≥ 475, steps and wall-clock to reach it"),
    ("dreamer-ablations", "Dreamer on Pendulum-v1 without free bits, KL balancing, symlog/two-hot, or with Gaussian latents: steps to ≥ −200"),
    ("dreamer-imagination", "Dreamer's world model on Pendulum-v1 vectors and frames: 5 observed + 45 imagined steps against the real ones (PNG strip), error by horizon beside the state-space ensemble"),
    ("dreamer-pendulum", "Dreamer, SAC and MBPO on Pendulum-v1 from vectors: real steps and wall-clock to an evaluation ≥ −200"),
    ("muzero-cartpole", "MuZero (pUCT 25 simulations; Gumbel 8 and 4), DQN and PPO on CartPole-v1: steps and wall-clock to an evaluation ≥ 475"),
    ("alphazero-cartpole", "AlphaZero mode (the true simulator as the dynamics) on CartPole-v1: steps and wall-clock to an evaluation ≥ 475"),
    ("muzero-search", "What search buys: MuZero networks trained 4k steps on CartPole-v1, acting from the policy head vs searching with 8, 25, 100 simulations"),
    ("muzero-tictactoe", "MuZero and AlphaZero mode by self-play on tic-tac-toe: 100 games of each final agent against perfect play and against a random player"),
    ("dreamer-pixels-pendulum", "Dreamer on PendulumPixels-v1 (64 x 64 RGB frames): real steps to an evaluation ≥ −300"),
    ("dreamer-pixels-cartpole", "Dreamer on CartPolePixels-v1 (64 x 64 RGB frames): real steps to an evaluation ≥ 400"),
    ("world-models-cartpole", "World Models on CartPole-v1: the controller searched by CMA-ES in reality vs only in the dream (1 and 4 rounds of the memory model): steps to an evaluation ≥ 475"),
    ("world-models-temperature", "World Models on CartPole-v1: the dream-trained controller at temperatures 0.5 to 2.0, its return in the dream vs in reality"),
    ("dreamer-swingup", "Dreamer and MBPO on the cart-pole swing-up (CartPoleSwingUp-v0) from vectors: real steps to an evaluation ≥ 100"),
];

/// Options shared by all experiments.
#[derive(Clone, Debug)]
pub struct ExperimentOptions {
    /// Output folder (created if missing).
    pub out: PathBuf,
    /// Repetitions / seeds per configuration (`None`: the experiment's default).
    pub seeds: Option<usize>,
    /// Seeds trained concurrently by experiments made of full training runs (at least 1).
    pub jobs: usize,
    /// Read back the finished runs already under `out/runs` whose saved configuration is
    /// the one the experiment would train, instead of training them again, and resume the
    /// unfinished ones from their last checkpoint (an interrupted experiment continues
    /// where it stopped).
    pub reuse: bool,
}

/// Runs experiment `name`; returns the report printed to the terminal.
pub fn run(name: &str, options: &ExperimentOptions) -> anyhow::Result<String> {
    if let Some(0) = options.seeds {
        anyhow::bail!("--seeds must be at least 1");
    }
    if options.jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    let runner: fn(&ExperimentOptions) -> anyhow::Result<String> = match name {
        "dyna-planning" => dyna_planning::run,
        "dyna-frozen-lake" => dyna_frozen_lake::run,
        "dyna-changing" => dyna_changing::run,
        "prioritized-sweeping" => sweeping::run,
        "pets-cartpole" => |o| pets::run("cartpole", o),
        "pets-pendulum" => |o| pets::run("pendulum", o),
        "pets-swingup" => |o| pets::run("swingup", o),
        "dqn-cartpole" => dqn::run_cartpole,
        "dqn-collapse" => dqn::run_collapse,
        "ppo-cartpole" => |o| model_free::run_threshold("ppo-cartpole", o),
        "a2c-cartpole" => |o| model_free::run_threshold("a2c-cartpole", o),
        "sac-pendulum" => |o| model_free::run_threshold("sac-pendulum", o),
        "ppo-pendulum" => |o| model_free::run_threshold("ppo-pendulum", o),
        "ppo-clip" => model_free::run_clip,
        "mbpo-vs-sac" => imagination::run_mbpo_vs_sac,
        "dyna-neural" => imagination::run_dyna_neural,
        "rollout-length" => imagination::run_rollout_length,
        "ppo-kl-stop" => model_free::run_kl_stop,
        "dreamer-cartpole" => dreamer::run_cartpole,
        "dreamer-pendulum" => dreamer::run_pendulum,
        "dreamer-imagination" => dreamer_imagination::run,
        "dreamer-ablations" => dreamer::run_ablations,
        "dreamer-swingup" => dreamer::run_swingup,
        "dreamer-pixels-pendulum" => dreamer::run_pixels_pendulum,
        "dreamer-pixels-cartpole" => dreamer::run_pixels_cartpole,
        "muzero-cartpole" => muzero::run_cartpole,
        "muzero-search" => muzero::run_search,
        "alphazero-cartpole" => muzero::run_alphazero,
        "muzero-tictactoe" => board::run_tictactoe,
        "world-models-cartpole" => world_models::run_cartpole,
        "world-models-temperature" => world_models::run_temperature,
        _ => anyhow::bail!(
            "unknown experiment '{name}'; known: {}",
            EXPERIMENTS
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    std::fs::create_dir_all(&options.out).map_err(|e| {
        anyhow::anyhow!("cannot create output folder {}: {e}", options.out.display())
    })?;
    let report = runner(options)?;
    reverie_core::atomic::write_atomic(&options.out.join("report.txt"), report.as_bytes())?;
    Ok(report)
}
