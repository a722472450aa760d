//! `reverie`: model-based reinforcement learning from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// candle allocates a fresh buffer for every tensor op; the system allocator returns large
/// freed buffers to the OS and page-faults them back in on the next op, which cost more
/// time than the arithmetic when training models (measured: 800k page faults and 57% of
/// the time in the kernel for 3 epochs). mimalloc with purging off keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3 (libmimalloc-sys 0.1.49, pinned in Cargo.toml).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hand freed pages back to the OS (the process is short-lived and its peak is small).
fn keep_freed_memory() {
    // SAFETY: called first thing in main, before other threads exist; mi_option_set is
    // only unsafe because it is not thread-safe.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

use reverie_core::env_check::check_env;
use reverie_core::DynEnv;
use reverie_envs::{make_with, specs};
use reverie_lab::plot::group::{group_runs, read_config, relabel, shared_algo_and_env};
use reverie_lab::plot::{plot_curves, plot_run, read_metric, Band, Curve};
use reverie_run::algos::Algorithm;
use reverie_run::config::{env_options, named_presets, parse_value, preset_envs, ConfigRequest};
use reverie_run::run_dir::RunDir;
use reverie_run::{resolve, train, RunLocation};

const EXAMPLES: &str = "\
Examples:
  reverie envs
  reverie train q-learning --env FrozenLake-v1
  reverie train ppo --env CartPole-v1
  reverie eval runs/ppo/CartPole-v1/<run>
  reverie train q-learning --env FrozenLake-v1 --set env.options.map_name=8x8 \\
      --set env.options.is_slippery=false --steps 50000 --seed 3
  reverie plot runs/q-learning/FrozenLake-v1/* --out frozen_lake
  reverie env-check CartPole-v1
  reverie bench envs
  reverie bench model-free";

/// Model-based reinforcement learning: native Gymnasium-exact environments, agents that
/// learn world models, and the tools to measure them.
#[derive(Parser)]
#[command(name = "reverie", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the registered environments with their spaces and episode limits.
    Envs,
    /// List the trainable algorithms and their presets; with ALGO, its every key with its
    /// default and one-line doc.
    #[command(
        after_help = "Examples:\n  reverie algos\n  reverie algos pets          # keys, defaults, env presets, named presets"
    )]
    Algos {
        /// An algorithm to describe in full.
        algo: Option<String>,
    },
    /// Check an environment against the API contract (spaces, determinism, flags, errors).
    #[command(
        after_help = "Examples:\n  reverie env-check FrozenLake-v1 --set is_slippery=false\n  reverie env-check CartPolePixels-v1 --video cartpole.gif   # watch random actions"
    )]
    EnvCheck {
        /// Registered env id, e.g. CartPole-v1.
        id: String,
        /// Seed for the checks.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Env option as key=value (repeatable), e.g. --set map_name=8x8.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Also record one episode of uniformly random actions as a GIF, to look at the env.
        #[arg(long, value_name = "FILE.gif")]
        video: Option<PathBuf>,
        /// Size of the video frames relative to the env's natural picture.
        #[arg(long, default_value_t = 0.5)]
        video_scale: f64,
    },
    /// Train an agent; writes a run directory with config, metrics, checkpoints and plots.
    #[command(after_help = "\
Configuration is layered, later layers winning:
  built-in presets (base, <algo>/default, <algo>/<env>)  ->  --config FILE  ->  --set KEY=VALUE  ->  --seed/--steps
Keys: seed, total_steps, eval_every, eval_episodes, eval_max_episode_steps, checkpoint_every, log_every,
      env.options.<option>, agent.<hyperparameter>. Unknown keys are refused with the valid ones listed.
The resolved configuration (every default included) is saved as config.toml in the run
directory; --print-config shows it without training, and --config RUN/config.toml re-runs it.
Checkpoints (the whole run: agent, optimisers, buffers, generators, envs) are written every
checkpoint_every steps and checkpoint_minutes minutes, and on Ctrl-C / SIGTERM; --resume RUN
continues a stopped run exactly where its last checkpoint was. Metrics go to metrics.csv,
metrics.jsonl and a TensorBoard event file (tensorboard --logdir runs).

Examples:
  reverie train q-learning --env FrozenLake-v1
  reverie train q-learning --env Taxi-v4 --set agent.alpha=0.5 --seed 1 --out /tmp/runs
  reverie train random --env CartPole-v1 --steps 5000
  reverie train ppo --env CartPole-v1 --print-config
  reverie train --config runs/ppo/CartPole-v1/20261124-120000-s0/config.toml --seed 1
  reverie train --resume runs/sac/Pendulum-v1/20261124-120000-s0")]
    Train {
        /// Algorithm (see `reverie algos`); taken from --config's `algo` when omitted.
        algo: Option<String>,
        /// Registered env id (see `reverie envs`); taken from --config's `[env] id` when omitted.
        #[arg(long)]
        env: Option<String>,
        /// A named preset of the algorithm laid over its env preset (see `reverie algos ALGO`),
        /// e.g. --preset mbrl-lib for PETS' paper settings.
        #[arg(long, value_name = "NAME")]
        preset: Option<String>,
        /// A TOML file laid over the presets (a run's config.toml re-runs that run).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override one key, e.g. agent.alpha=0.2 or env.options.is_slippery=false (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Root seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Real environment steps.
        #[arg(long)]
        steps: Option<u64>,
        /// Root folder for run directories.
        #[arg(long, value_name = "DIR", default_value = "runs")]
        out: PathBuf,
        /// Exact run directory (instead of DIR/<algo>/<env>/<timestamp>-s<seed>).
        #[arg(long, value_name = "DIR")]
        run_dir: Option<PathBuf>,
        /// Print the fully resolved configuration (every default) and exit without training.
        #[arg(long)]
        print_config: bool,
        /// Continue the run in RUN_DIR from its last checkpoint (its own config; no other
        /// configuration flags).
        #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["algo", "env", "preset", "config", "overrides", "seed", "steps", "run_dir", "print_config"])]
        resume: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Evaluate a trained run: reload its checkpoint and run the deterministic policy.
    #[command(after_help = "\
Reads RUN/config.toml and RUN/checkpoints/latest.bin (or --checkpoint FILE), runs N episodes
with the deterministic policy (greedy / mean action) and prints the mean ± std return. With the
default seed it reproduces the final evaluation printed at the end of training.

Examples:
  reverie eval runs/ppo/CartPole-v1/20261124-120000-s0
  reverie eval RUN --episodes 100 --seed 7
  reverie eval RUN --checkpoint RUN/checkpoints/step-000050000.bin
  reverie eval RUN --video cartpole.gif            # look at what the agent does
  reverie eval RUN --set agent.search.simulations=100   # a MuZero run, searching more
  reverie eval RUN --opponent perfect --games 100       # a board game: play perfect play

With --opponent (board games: TicTacToe-v0, ConnectFour-v0) the agent plays --games games
against `random`, `perfect` (alpha-beta to the end) or `alpha-beta-D` (D plies deep), first in
half of them and second in the others, and the wins, draws and losses are printed.")]
    Eval {
        /// Run directory written by `reverie train`.
        run: PathBuf,
        /// Episodes to run.
        #[arg(long, default_value_t = 10)]
        episodes: u32,
        /// Seed of the first episode (default: the run's evaluation seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Checkpoint file (default: RUN/checkpoints/latest.bin).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Also record one episode of the policy as a GIF (from the first episode's seed).
        #[arg(long, value_name = "FILE.gif")]
        video: Option<PathBuf>,
        /// Size of the video frames relative to the env's natural picture.
        #[arg(long, default_value_t = 0.5)]
        video_scale: f64,
        /// Override a key of the saved config before the agent is rebuilt, e.g.
        /// `--set agent.search.simulations=100` (repeatable; keys that change the networks'
        /// shapes cannot load the checkpoint).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Play a board game against this opponent instead: `random`, `perfect` or
        /// `alpha-beta-D`.
        #[arg(long, value_name = "OPPONENT")]
        opponent: Option<reverie_envs::board::Opponent>,
        /// Games against --opponent (half as each side).
        #[arg(long, default_value_t = 100)]
        games: u32,
    },
    /// Plot learning curves of one or more runs: one curve per configuration (runs that
    /// differ only in seed, threads, device or checkpoint interval), its mean and a band.
    #[command(after_help = "\
Runs are grouped by their config.toml: runs whose configurations agree on every key but seed,
threads, device and checkpoint_every are averaged into one curve. Each curve is labelled by the
keys that differ between groups (e.g. `agent.alpha=0.2`; `algo on env` when all runs share one
configuration) and its legend says how many runs it averages and what the band is.

Examples:
  reverie plot runs/q-learning/FrozenLake-v1/* --out curves
  reverie plot runs/dqn/CartPole-v1/* runs/ppo/CartPole-v1/* --band ci95 --out cartpole
  reverie plot runs/a* runs/b* --label 'alpha 0.05' --label 'alpha 0.2'
  reverie plot runs/ppo/CartPole-v1/* --metric eval/episodic_return")]
    Plot {
        /// Run directories.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Metric to plot.
        #[arg(long, default_value = "charts/episodic_return")]
        metric: String,
        /// Output path without extension; writes STEM.png and STEM.svg.
        #[arg(long, default_value = "plot")]
        out: PathBuf,
        /// Legend label of one curve, replacing the derived one (repeatable: one per group,
        /// in the order the groups' first runs are given).
        #[arg(long = "label", value_name = "NAME")]
        labels: Vec<String>,
        /// The band around each mean: `std` (±1 standard deviation of the runs) or `ci95`
        /// (95% confidence interval of the mean, ±1.96·s/√n).
        #[arg(long, default_value = "std", value_name = "std|ci95")]
        band: Band,
    },
    /// Run an experiment that reproduces a published result (see `reverie experiment --list`).
    #[command(after_help = "\
Every experiment writes DIR/summary.csv (one row per configuration, headline figures),
per-run CSVs, PNG + SVG plots and report.txt (the table printed here).

Examples:
  reverie experiment dyna-planning --out results/dyna-planning
  reverie experiment dyna-changing --seeds 5 --out /tmp/changing
  reverie experiment rollout-length --seeds 3 --jobs 2 --out results/rollout-length
  reverie experiment --list")]
    Experiment {
        /// Experiment name.
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "results")]
        out: PathBuf,
        /// Repetitions (seeds) per configuration; default: the experiment's own.
        #[arg(long)]
        seeds: Option<usize>,
        /// Seeds trained at once by the experiments that train full runs (each run uses
        /// one core; wall-clock figures are measured under this load).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Keep the finished runs already in DIR/runs whose saved config.toml is the one
        /// the experiment would train, and resume its unfinished ones from their last
        /// checkpoint (an interrupted experiment continues; runs of a changed
        /// configuration are trained again).
        #[arg(long)]
        reuse: bool,
        /// List the experiments.
        #[arg(long)]
        list: bool,
    },
    /// Train an ensemble world model on random transitions and measure its compounding
    /// error and whether its disagreement predicts its error.
    #[command(after_help = "\
Writes DIR/summary.csv (k,error_mean,... with disagreement_error_spearman), per_dim_error.csv,
calibration.csv, training.csv, compounding_error.png/svg, calibration.png/svg, the model
checkpoint and report.txt.

Examples:
  reverie model-eval --env CartPole-v1 --out results/model-eval-cartpole
  reverie model-eval --env Pendulum-v1 --steps 10000 --horizon 30")]
    ModelEval {
        /// Registered env id with a Box observation space.
        #[arg(long)]
        env: String,
        /// Root seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder.
        #[arg(long, value_name = "DIR", default_value = "results/model-eval")]
        out: PathBuf,
        /// Random transitions to train on.
        #[arg(long, default_value_t = 5000)]
        steps: usize,
        /// Longest open-loop horizon k.
        #[arg(long, default_value_t = 20)]
        horizon: usize,
        /// Ensemble members.
        #[arg(long, default_value_t = 5)]
        members: usize,
        /// Maximum training epochs.
        #[arg(long, default_value_t = 200)]
        max_epochs: usize,
        /// Hidden layer widths, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "200,200,200")]
        hidden: Vec<usize>,
        /// CPU threads for candle.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// DQN, PPO and SAC: fused training ops versus candle's, and whole rl-zoo runs timed.
    ModelFree {
        /// SAC steps to time (rl-zoo's budget is 20000).
        #[arg(long, default_value_t = 20_000)]
        sac_steps: u64,
    },
    /// Environment steps per second: single env, VecEnv, and the dynamic API.
    Envs {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Sub-envs in the vectorised rows.
        #[arg(long, default_value_t = 64)]
        num_envs: usize,
    },
    /// The deep-learning layer: ensemble train step, conv autoencoder, GRU unroll, planning
    /// forward and single-row acting, each beside PyTorch's time for the same workload.
    Nn {
        /// CPU threads for candle (and for PyTorch).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// A Python with PyTorch installed (see benches/pytorch_baseline.py): runs the
        /// baseline in the same sitting and prints the ratio of each row.
        #[arg(long, value_name = "PYTHON")]
        pytorch: Option<std::path::PathBuf>,
    },
    /// Planning: milliseconds per PETS action (CEM, iCEM) on cart-pole shapes.
    Planning {
        /// CPU threads for rollouts.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Dreamer: world-model and behaviour updates per second at the size presets, from
    /// CartPole-v1 vectors and 64 x 64 frames (2 threads), and env steps per hour at their
    /// train ratio.
    Dreamer {
        /// Updates to time per row.
        #[arg(long, default_value_t = 10)]
        updates: usize,
        /// Size presets to time (`default`: the algorithm's own sizes).
        #[arg(long, value_delimiter = ',', default_value = "tiny,default,xs,s")]
        presets: Vec<String>,
        /// Observation kinds: `vector` (CartPole-v1), `pixels` (CartPolePixels-v1).
        #[arg(long, value_delimiter = ',', default_value = "vector,pixels")]
        obs: Vec<String>,
    },
    /// Tree search: simulations per second of the bare search (a stub model) and of MuZero
    /// acting with its networks, pUCT and Gumbel, one search and N searches together
    /// (1 thread).
    Mcts {
        /// Seconds per row.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
        /// Searches stepped together in the parallel rows.
        #[arg(long, default_value_t = 16)]
        parallel: usize,
    },
    /// CMA-ES: generations per second of ask + tell at World Models' controller sizes (the
    /// search alone; benches/cma_baseline.py times pycma on the same cases).
    Cmaes {
        /// Generations timed per row (eigendecompositions included).
        #[arg(long, default_value_t = 400)]
        generations: usize,
    },
    /// Tabular planning: Dyna-Q planning updates per second, dyna-planning experiment time.
    Tabular {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 1.0)]
        seconds: f64,
    },
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // As shells report a process ended by SIGINT: 128 + 2.
            if e.is::<reverie_run::Interrupted>() {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The algorithm and env of `reverie train`: from the command line, or else from the
/// `--config` file (a run's `config.toml`); a command line that contradicts the file is
/// refused rather than silently applied.
fn algo_and_env(
    algo: Option<String>,
    env: Option<String>,
    file: Option<&(String, String)>,
) -> anyhow::Result<(String, String)> {
    let from_file = match file {
        Some((name, text)) => {
            let table = reverie_run::config::parse_toml(text, name)?;
            let algo = table
                .get("algo")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let env = table
                .get("env")
                .and_then(|e| e.get("id"))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            (algo, env, name.clone())
        }
        None => (None, None, String::new()),
    };
    let pick = |given: Option<String>, saved: Option<String>, what: &str, flag: &str| {
        match (given, saved) {
            (Some(g), Some(s)) if g != s => anyhow::bail!(
                "{what} `{g}` contradicts {} which says `{s}`; drop {flag} or edit the file",
                from_file.2
            ),
            (Some(g), _) => Ok(g),
            (None, Some(s)) => Ok(s),
            (None, None) => anyhow::bail!(
                "name the {what}: reverie train ALGO --env ID (or --config FILE with `algo` and `[env] id`)"
            ),
        }
    };
    Ok((
        pick(algo, from_file.0.clone(), "algorithm", "ALGO")?,
        pick(env, from_file.1.clone(), "env", "--env")?,
    ))
}

/// Draws the learning curve and prints what a finished run measured.
fn report_training(summary: &reverie_run::TrainSummary) -> anyhow::Result<()> {
    plot_run(&summary.run_dir, &summary.algo, &summary.env)
        .with_context(|| format!("run directory: {}", summary.run_dir.display()))?;
    let config = RunDir::open(&summary.run_dir)?.config()?;
    println!(
        "{} on {}: {} steps, {} episodes, {:.0} steps/s",
        summary.algo, summary.env, summary.total_steps, summary.episodes, summary.sps
    );
    if config.eval_episodes == 0 {
        println!("no greedy evaluation (eval_episodes = 0)");
    } else {
        println!(
            "final greedy evaluation over {} episodes: {:.3} ± {:.3}",
            config.eval_episodes, summary.final_eval_return_mean, summary.final_eval_return_std
        );
    }
    if config.eval_episodes > 0 && summary.best_eval_step != summary.total_steps {
        println!(
            "best evaluation: {:.3} at step {} (checkpoints/best.bin)",
            summary.best_eval_return_mean, summary.best_eval_step
        );
    }
    println!("run directory: {}", summary.run_dir.display());
    Ok(())
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Envs => {
            let width = specs().iter().map(|s| s.id.len()).max().unwrap_or(2);
            println!(
                "{:<width$} {:<28} {:<32} {:>6}  summary",
                "id", "actions", "observations", "limit"
            );
            for spec in specs() {
                let env = make_with(spec.id, &Default::default())?;
                let limit = spec
                    .max_episode_steps
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "none".into());
                println!(
                    "{:<width$} {:<28} {:<32} {:>6}  {}",
                    spec.id,
                    DynEnv::action_space(env.as_ref()).describe(),
                    DynEnv::observation_space(env.as_ref()).describe(),
                    limit,
                    spec.summary
                );
            }
            Ok(())
        }
        Command::Algos { algo: None } => {
            for algorithm in Algorithm::ALL {
                let (name, summary) = (algorithm.name(), algorithm.summary());
                let presets = preset_envs(name);
                println!("{name:<12} {summary}");
                if !presets.is_empty() {
                    println!("{:<12} env presets: {}", "", presets.join(", "));
                }
                for (preset, summary) in named_presets(name) {
                    println!("{:<12} --preset {preset}: {summary}", "");
                }
            }
            println!(
                "\n`reverie algos ALGO` lists an algorithm's keys with their defaults and docs."
            );
            Ok(())
        }
        Command::Algos { algo: Some(name) } => {
            let algorithm = reverie_run::algos::algorithm(&name)?;
            println!("{name}: {}", algorithm.summary());
            let presets = preset_envs(&name);
            if !presets.is_empty() {
                println!("env presets (applied with --env): {}", presets.join(", "));
            }
            for (preset, summary) in named_presets(&name) {
                println!("--preset {preset}: {summary}");
            }
            // The defaults every env starts from: the base and the algorithm's own preset.
            let config = resolve(&ConfigRequest {
                algo: name.clone(),
                env: "default".into(),
                ..Default::default()
            })?;
            println!("\nKeys and defaults (set with --set agent.KEY=VALUE; env presets may change some):\n");
            print!("{}", reverie_run::config::annotated_agent_toml(&config));
            Ok(())
        }
        Command::EnvCheck {
            id,
            seed,
            options,
            video,
            video_scale,
        } => {
            let mut table = toml::Table::new();
            for option in &options {
                let (k, v) = option
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--set {option}: expected key=value"))?;
                table.insert(k.trim().to_string(), parse_value(v.trim()));
            }
            let env_options = env_options(&table)?;
            make_with(&id, &env_options)?;
            let make = || make_with(&id, &env_options).expect("checked above");
            let report = check_env(&make, seed);
            for check in &report.checks {
                match &check.outcome {
                    Ok(detail) => println!("ok    {}: {detail}", check.name),
                    Err(problem) => println!("FAIL  {}: {problem}", check.name),
                }
            }
            if let Some(path) = &video {
                let mut env = make();
                let space = env.action_space();
                let mut rng = reverie_core::Rng::seed_from_u64(seed);
                let recorded = reverie_envs::render::video::record_episode(
                    env.as_mut(),
                    |_, info| space.sample_masked(info.action_mask(), &mut rng),
                    seed,
                    10_000,
                    path,
                    video_scale,
                )
                .map_err(|e| anyhow::anyhow!("cannot record {}: {e}", path.display()))?;
                println!(
                    "video: {} ({} frames, {}x{}, random actions, return {:.3})",
                    path.display(),
                    recorded.frames,
                    recorded.width,
                    recorded.height,
                    recorded.episode_return
                );
            }
            if report.passed() {
                println!("{id}: all {} checks passed", report.checks.len());
                Ok(())
            } else {
                anyhow::bail!("{id} failed the env check")
            }
        }
        Command::Train {
            algo,
            env,
            preset,
            config,
            overrides,
            seed,
            steps,
            out,
            run_dir,
            quiet,
            print_config,
            resume,
        } => {
            reverie_run::signals::install().context("cannot install the signal handlers")?;
            if let Some(run) = resume {
                let summary =
                    reverie_run::train::resume(&run, !quiet, &mut reverie_run::driver::NoHooks)?;
                return report_training(&summary);
            }
            let file = match config {
                Some(path) => Some((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).map_err(|e| {
                        anyhow::anyhow!("cannot read --config {}: {e}", path.display())
                    })?,
                )),
                None => None,
            };
            let (algo, env) = algo_and_env(algo, env, file.as_ref())?;
            reverie_run::algos::check_algorithm(&algo)?;
            reverie_envs::spec(&env)?;
            let config = resolve(&ConfigRequest {
                algo,
                env,
                preset,
                file,
                overrides,
                seed,
                steps,
            })?;
            if print_config {
                print!("{}", config.to_toml());
                return Ok(());
            }
            let location = match run_dir {
                Some(path) => RunLocation::At(path),
                None => RunLocation::Under(out),
            };
            let summary = train(&config, &location, !quiet)?;
            report_training(&summary)
        }
        Command::Eval {
            run,
            episodes,
            seed,
            checkpoint,
            video,
            video_scale,
            overrides,
            opponent,
            games,
        } => {
            if let Some(opponent) = opponent {
                let record = reverie_run::versus::versus_run(
                    &run,
                    checkpoint.as_deref(),
                    opponent,
                    games,
                    seed,
                    &overrides,
                )?;
                println!(
                    "{} games against {opponent}, half as each side: {} won, {} drawn, {} lost",
                    record.games(),
                    record.wins,
                    record.draws,
                    record.losses
                );
                for lost in &record.lost_games {
                    let moves: Vec<String> = lost.moves.iter().map(i64::to_string).collect();
                    println!(
                        "  lost, moving {}: {}",
                        if lost.agent_moved_first {
                            "first"
                        } else {
                            "second"
                        },
                        moves.join(" ")
                    );
                }
                return Ok(());
            }
            let report = reverie_run::eval::eval_run_with(
                &run,
                checkpoint.as_deref(),
                episodes,
                seed,
                &overrides,
            )?;
            println!(
                "{} on {} ({}): {} episodes from seed {}: {:.3} ± {:.3}",
                report.algo,
                report.env,
                report.checkpoint.display(),
                report.episodes,
                report.seed,
                report.mean,
                report.std
            );
            if let Some(path) = &video {
                let recorded = reverie_run::eval::record_run_video(
                    &run,
                    checkpoint.as_deref(),
                    seed,
                    path,
                    video_scale,
                )?;
                println!(
                    "video: {} ({} frames, {}x{}, return {:.3})",
                    path.display(),
                    recorded.frames,
                    recorded.width,
                    recorded.height,
                    recorded.episode_return
                );
            }
            Ok(())
        }
        Command::Plot {
            runs,
            metric,
            out,
            labels,
            band,
        } => {
            let mut configs = Vec::new();
            for path in &runs {
                let run = RunDir::open(path)?;
                configs.push((path.clone(), read_config(run.path())?));
            }
            let mut groups = group_runs(&configs);
            if !labels.is_empty() {
                relabel(&mut groups, &labels)?;
            }
            let mut curves: Vec<Curve> = Vec::new();
            for group in &groups {
                let mut points = Vec::new();
                for path in &group.runs {
                    let run = read_metric(path, &metric)?;
                    if run.is_empty() {
                        anyhow::bail!("{} has no values for metric {metric}", path.display());
                    }
                    points.push(run);
                }
                let curve = Curve::for_metric(&group.label, &metric, points).with_band(band);
                println!("{}", curve.legend());
                curves.push(curve);
            }
            // Curves labelled only by hyperparameters need the algorithm and env somewhere.
            let title = match shared_algo_and_env(&groups) {
                Some(what) if groups.len() > 1 => format!("{what}: {metric}"),
                _ => metric.clone(),
            };
            let (png, svg) = plot_curves(&curves, &title, "environment steps", &metric, &out)?;
            println!("wrote {} and {}", png.display(), svg.display());
            Ok(())
        }
        Command::ModelEval {
            env,
            seed,
            out,
            steps,
            horizon,
            members,
            max_epochs,
            hidden,
            threads,
        } => {
            reverie_nn::threads::set_num_threads(threads);
            reverie_envs::spec(&env)?;
            if members == 0 || horizon == 0 || steps < 100 {
                anyhow::bail!("need --members >= 1, --horizon >= 1 and --steps >= 100");
            }
            let report =
                reverie_lab::model_eval::run(&reverie_lab::model_eval::ModelEvalOptions {
                    env,
                    seed,
                    out: out.clone(),
                    steps,
                    horizon,
                    members,
                    max_epochs,
                    hidden_sizes: hidden,
                })?;
            print!("{report}");
            println!("outputs in {}", out.display());
            Ok(())
        }
        Command::Experiment {
            name,
            out,
            seeds,
            jobs,
            reuse,
            list,
        } => {
            if list {
                for (name, what) in reverie_lab::experiments::EXPERIMENTS {
                    println!("{name:<22} {what}");
                }
                return Ok(());
            }
            let name = name.expect("clap requires a name unless --list");
            let report = reverie_lab::experiments::run(
                &name,
                &reverie_lab::experiments::ExperimentOptions {
                    out: out.clone(),
                    seeds,
                    jobs,
                    reuse,
                },
            )?;
            print!("{report}");
            println!("outputs in {}", out.display());
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Envs { seconds, num_envs },
        } => {
            let rows = reverie_lab::bench::bench_envs(seconds, num_envs);
            print!("{}", reverie_lab::bench::format_table(&rows));
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::ModelFree { sac_steps },
        } => {
            // Before the first tensor: candle sizes its thread pool once (see reverie_nn::threads).
            reverie_nn::threads::set_num_threads(1);
            print!(
                "{}",
                reverie_lab::bench_model_free::bench_model_free(sac_steps)?
            );
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Nn { threads, pytorch },
        } => {
            reverie_nn::threads::set_num_threads(threads);
            let rows = reverie_lab::bench_nn::measure()?;
            let torch = match &pytorch {
                Some(python) => Some(reverie_lab::bench_nn::pytorch_figures(python, threads)?),
                None => None,
            };
            print!(
                "{}",
                reverie_lab::bench_nn::format_table(&rows, torch.as_ref())
            );
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Planning { threads },
        } => {
            reverie_nn::threads::set_num_threads(threads);
            print!("{}", reverie_lab::bench::bench_planning(threads)?);
            Ok(())
        }
        Command::Bench {
            what:
                BenchCommand::Dreamer {
                    updates,
                    presets,
                    obs,
                },
        } => {
            reverie_nn::threads::set_num_threads(2);
            print!(
                "{}",
                reverie_lab::bench_dreamer::bench_dreamer(updates, &presets, &obs)?
            );
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Mcts { seconds, parallel },
        } => {
            reverie_nn::threads::set_num_threads(1);
            print!(
                "{}",
                reverie_lab::bench_mcts::bench_mcts(seconds, parallel.max(1))?
            );
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Cmaes { generations },
        } => {
            print!("{}", reverie_lab::bench::bench_cmaes(generations));
            Ok(())
        }
        Command::Bench {
            what: BenchCommand::Tabular { seconds },
        } => {
            print!("{}", reverie_lab::bench::bench_tabular(seconds)?);
            Ok(())
        }
    }
}
