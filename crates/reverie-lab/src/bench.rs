//! `reverie bench envs`: environment steps per second, single env and vectorised, with
//! random actions and automatic resets; `reverie bench tabular`: Dyna planning updates per
//! second and the wall-clock of the `dyna-planning` experiment.

use std::hint::black_box;
use std::time::Instant;

use reverie_core::{AutoresetMode, DynEnv, Env, Rng, SimulatorState, TimeLimit, VecEnv};
use reverie_envs::classic::{CartPole, Pendulum};
use reverie_envs::minatar::{Breakout, MinAtar};
use reverie_envs::{Pixels, PixelsConfig};

/// One measured row.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchRow {
    /// Env id.
    pub env: String,
    /// `single` (typed env), `vec<N>` (VecEnv), or `dyn` (boxed registry env).
    pub mode: String,
    /// Environment steps per second (summed over sub-envs for VecEnv).
    pub steps_per_s: f64,
}

/// Steps `env` with sampled actions for at least `seconds`, resetting at episode ends.
pub fn bench_single<E: Env>(
    mut env: E,
    mut sample: impl FnMut(&mut Rng) -> E::Action,
    seconds: f64,
) -> f64 {
    let mut rng = Rng::seed_from_u64(0);
    env.reset(Some(0));
    let mut steps = 0u64;
    let mut checksum = 0.0;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..100_000 {
            let action = sample(&mut rng);
            let step = env.step(&action).expect("sampled actions are valid");
            checksum += step.reward;
            if step.terminated || step.truncated {
                env.reset(None);
            }
        }
        steps += 100_000;
    }
    black_box(checksum);
    steps as f64 / start.elapsed().as_secs_f64()
}

/// Steps a [`VecEnv`] of `num_envs` copies for at least `seconds`; returns env-steps/s.
pub fn bench_vec<E: Env>(
    make: impl FnMut() -> E,
    num_envs: usize,
    mut sample: impl FnMut(&mut Rng) -> E::Action,
    seconds: f64,
) -> f64 {
    let mut rng = Rng::seed_from_u64(0);
    let mut venv = VecEnv::from_fn(num_envs, AutoresetMode::NextStep, make);
    venv.reset(Some(0));
    let mut actions: Vec<E::Action> = (0..num_envs).map(|_| sample(&mut rng)).collect();
    let mut steps = 0u64;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..2_000 {
            for a in actions.iter_mut() {
                *a = sample(&mut rng);
            }
            venv.step(&actions).expect("sampled actions are valid");
            black_box(venv.observations());
        }
        steps += 2_000 * num_envs as u64;
    }
    steps as f64 / start.elapsed().as_secs_f64()
}

/// Steps the registry env `id` through the dynamic API for at least `seconds`, with random
/// actions among those its info's `action_mask` allows where it gives one (the board games
/// refuse illegal moves); returns env-steps/s.
pub fn bench_dyn(id: &str, seconds: f64) -> f64 {
    let mut env = reverie_envs::make(id).expect("registered env");
    let space = DynEnv::action_space(env.as_ref());
    let mut rng = Rng::seed_from_u64(0);
    let mut info = DynEnv::reset(env.as_mut(), Some(0)).1;
    let mut steps = 0u64;
    let mut checksum = 0.0;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..100_000 {
            let action = space.sample_masked(info.action_mask(), &mut rng);
            let step = DynEnv::step(env.as_mut(), &action).expect("sampled actions are valid");
            checksum += step.reward;
            info = if step.terminated || step.truncated {
                DynEnv::reset(env.as_mut(), None).1
            } else {
                step.info
            };
        }
        steps += 100_000;
    }
    black_box(checksum);
    steps as f64 / start.elapsed().as_secs_f64()
}

/// The default table: CartPole-v1 and Pendulum-v1 single and vec64, their 64×64 pixel
/// variants single and vec16, MinAtar Breakout single and vec64, then every registered env
/// through the dynamic API.
pub fn bench_envs(seconds: f64, num_envs: usize) -> Vec<BenchRow> {
    let mut rows = Vec::new();
    let mut push = |env: &str, mode: String, steps_per_s: f64| {
        rows.push(BenchRow {
            env: env.to_string(),
            mode,
            steps_per_s,
        })
    };
    let cartpole = || TimeLimit::new(CartPole::new(), Some(500));
    let pendulum = || TimeLimit::new(Pendulum::new(), Some(200));
    let coin = |rng: &mut Rng| rng.below(2) as i64;
    let torque = |rng: &mut Rng| [(rng.uniform_f32() * 4.0 - 2.0)];
    push(
        "CartPole-v1",
        "single".into(),
        bench_single(cartpole(), coin, seconds),
    );
    push(
        "CartPole-v1",
        format!("vec{num_envs}"),
        bench_vec(cartpole, num_envs, coin, seconds),
    );
    push(
        "Pendulum-v1",
        "single".into(),
        bench_single(pendulum(), torque, seconds),
    );
    push(
        "Pendulum-v1",
        format!("vec{num_envs}"),
        bench_vec(pendulum, num_envs, torque, seconds),
    );
    // 64×64 RGB pixel observations (the registered pixel variants, typed): each step renders
    // the frame straight at 64×64. Gymnasium's counterpart is render() + ResizeObservation
    // (cv2 INTER_AREA), measured by benches/gymnasium_baseline.py with 16 envs.
    let pixels = PixelsConfig::default();
    let cartpole_pixels = || Pixels::new(cartpole(), pixels).expect("CartPole renders");
    let pendulum_pixels = || Pixels::new(pendulum(), pixels).expect("Pendulum renders");
    push(
        "CartPolePixels-v1",
        "single".into(),
        bench_single(cartpole_pixels(), coin, seconds),
    );
    push(
        "CartPolePixels-v1",
        "vec16".into(),
        bench_vec(cartpole_pixels, 16, coin, seconds),
    );
    push(
        "PendulumPixels-v1",
        "single".into(),
        bench_single(pendulum_pixels(), torque, seconds),
    );
    push(
        "PendulumPixels-v1",
        "vec16".into(),
        bench_vec(pendulum_pixels, 16, torque, seconds),
    );
    // MinAtar Breakout with the reference's sticky actions and all 6 actions; its
    // counterpart is benches/minatar_baseline.py (`act` and `state()` each step).
    let breakout = || MinAtar::<Breakout>::new(0.1, false);
    let six = |rng: &mut Rng| rng.below(6) as i64;
    push(
        "MinAtar/Breakout-v0",
        "single".into(),
        bench_single(breakout(), six, seconds),
    );
    push(
        "MinAtar/Breakout-v0",
        format!("vec{num_envs}"),
        bench_vec(breakout, num_envs, six, seconds),
    );
    for spec in reverie_envs::specs() {
        push(spec.id, "dyn".into(), bench_dyn(spec.id, seconds / 2.0));
    }
    rows
}

/// Formats rows as an aligned table.
pub fn format_table(rows: &[BenchRow]) -> String {
    let mut out = format!("{:<28} {:<8} {:>14}\n", "env", "mode", "steps_per_s");
    for r in rows {
        out.push_str(&format!(
            "{:<28} {:<8} {:>14.0}\n",
            r.env, r.mode, r.steps_per_s
        ));
    }
    out
}

/// Planning updates per second of a Dyna-Q agent whose model was filled by `episodes` real
/// episodes on the Dyna maze (deterministic model) or slippery FrozenLake (distribution).
pub fn bench_dyna_planning(model: reverie_agents::ModelKind, seconds: f64) -> f64 {
    use reverie_agents::{DynaQ, DynaQConfig};
    use reverie_envs::toy_text::{FrozenLake, FrozenLakeConfig, Maze, MazeLayout};
    let config = DynaQConfig {
        planning_steps: 0,
        model,
        ..DynaQConfig::default()
    };
    let mut rng = Rng::seed_from_u64(0);
    let mut fill = |agent: &mut DynaQ, env: &mut dyn DynEnv| {
        for _ in 0..20_000 {
            let s = env.reset(None).0.as_discrete().unwrap() as usize;
            let a = rng.index(4);
            env.simulator_mut()
                .expect("toy-text states can be set")
                .set_state(&[s as f64])
                .unwrap();
            let step = env.step(&reverie_core::Action::Discrete(a as i64)).unwrap();
            let next = step.obs.as_discrete().unwrap() as usize;
            agent.learn(s, a, step.reward, next, step.terminated);
        }
    };
    let mut agent = match model {
        reverie_agents::ModelKind::Deterministic => {
            let layout = MazeLayout::dyna_maze();
            let mut agent = DynaQ::new(config, layout.n_states(), 4, Rng::seed_from_u64(1));
            let mut env = Maze::new(layout);
            // Visit every open cell with every action.
            for s in 0..54 {
                for a in 0..4 {
                    if SimulatorState::set_state(&mut env, &[s as f64]).is_ok() {
                        let step = Env::step(&mut env, &(a as i64)).unwrap();
                        agent.learn(s, a, step.reward, step.obs as usize, step.terminated);
                    }
                }
            }
            agent
        }
        reverie_agents::ModelKind::Distribution => {
            let lake = FrozenLake::new(FrozenLakeConfig::default()).expect("default map");
            let mut agent = DynaQ::new(config, lake.n_states(), 4, Rng::seed_from_u64(1));
            let mut env = TimeLimit::new(lake, None);
            fill(&mut agent, &mut env);
            agent
        }
    };
    let chunk = 1_000_000;
    let before = agent.updates();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        agent.plan(chunk);
    }
    let elapsed = start.elapsed().as_secs_f64();
    black_box(agent.q_table().values()[0]);
    (agent.updates() - before) as f64 / elapsed
}

/// The tabular table: planning updates per second and the dyna-planning experiment's
/// wall-clock (its 3 × 30 runs, plots and files included).
pub fn bench_tabular(seconds: f64) -> anyhow::Result<String> {
    let deterministic = bench_dyna_planning(reverie_agents::ModelKind::Deterministic, seconds);
    let distribution = bench_dyna_planning(reverie_agents::ModelKind::Distribution, seconds);
    let out = std::env::temp_dir().join(format!("reverie-bench-dyna-{}", std::process::id()));
    let start = Instant::now();
    crate::experiments::run(
        "dyna-planning",
        &crate::experiments::ExperimentOptions {
            out: out.clone(),
            seeds: None,
            jobs: 1,
            reuse: false,
        },
    )?;
    let experiment = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&out);
    Ok(format!(
        "{:<72} {:>12}\n{:<72} {:>12.0}\n{:<72} {:>12.0}\n{:<72} {:>12.3}\n",
        "measurement",
        "value",
        "dyna-q planning updates/s (deterministic model, Dyna maze)",
        deterministic,
        "dyna-q planning updates/s (distribution model, slippery FrozenLake 4x4)",
        distribution,
        "experiment dyna-planning wall-clock (s, 3 x 30 runs)",
        experiment
    ))
}

/// Median of `samples` timings (seconds) of `f`, after one warm-up call.
pub(crate) fn median_time(samples: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Milliseconds per PETS action on continuous cart-pole shapes (obs 4, action 1): CEM and
/// iCEM over 7 probabilistic members with 20 TS∞ particles. Weights are untrained: the
/// arithmetic is the same. Returns the table text.
pub fn bench_planning(threads: usize) -> anyhow::Result<String> {
    use candle_core::Device;
    use reverie_agents::planning::{ActionEncoding, ModelObjective, ModelObjectiveConfig};
    use reverie_models::{EnsembleModel, EnsembleModelConfig, FastDynamics};
    use reverie_planning::{ActionBounds, CemConfig, ICemConfig, Mpc, OptimizerConfig, PlanSpace};

    let mut rng = Rng::seed_from_u64(0);
    let cases: Vec<(&str, Vec<usize>, usize, OptimizerConfig, &str)> = vec![
        (
            "mbrl-lib cartpole default: 7 x (4 x 200), pop 350, H 15, 5 iters, 20 particles",
            vec![200; 4],
            15,
            OptimizerConfig::Cem(CemConfig {
                population: 350,
                ..Default::default()
            }),
            "<= 1050",
        ),
        (
            "PETS paper: 7 x (3 x 200), pop 500, H 30, 5 iters, 20 particles",
            vec![200; 3],
            30,
            OptimizerConfig::Cem(CemConfig::default()),
            "",
        ),
        (
            "iCEM: 7 x (4 x 200), pop 150 decaying x1.25, H 15, 3 iters, 20 particles",
            vec![200; 4],
            15,
            OptimizerConfig::Icem(ICemConfig::default()),
            "",
        ),
    ];
    let mut text = format!(
        "threads: {threads}\n{:<80} {:>10} {:>8}\n",
        "PETS planning (median of 5 actions)", "ms/action", "target"
    );
    for (name, hidden, horizon, planner, target) in cases {
        let config = EnsembleModelConfig {
            hidden_sizes: hidden,
            ..Default::default()
        };
        let model = EnsembleModel::new(config, 4, 1, &mut rng, &Device::Cpu)?;
        let mut objective = ModelObjective::new(
            Box::new(FastDynamics::new(&model, threads)?),
            reverie_envs::known_functions("CartPoleContinuous-v0", &Default::default())
                .expect("registered"),
            ModelObjectiveConfig::default(),
            ActionEncoding::Continuous {
                low: vec![-1.0],
                high: vec![1.0],
            },
            horizon,
            rng.fork(),
        )
        .map_err(anyhow::Error::msg)?;
        objective.set_start(&[0.01, -0.02, 0.03, 0.0]);
        let space = PlanSpace::Continuous(ActionBounds::uniform(horizon, 1, -1.0, 1.0));
        let mut mpc = Mpc::new(&planner, &space).map_err(anyhow::Error::msg)?;
        let mut plan_rng = rng.fork();
        let t = median_time(5, || {
            black_box(mpc.act(&mut objective, &mut plan_rng));
        });
        text.push_str(&format!("{name:<80} {:>10.1} {target:>8}\n", t * 1e3));
    }
    Ok(text)
}

/// CMA-ES generations per second (ask + tell, scores drawn at random: the search alone,
/// no evaluation) at World Models' controller sizes: CartPole-v1 from vectors with h
/// (138 parameters), from 64 × 64 frames (z 32 + h 256, 2 actions: 578) and the paper's
/// CarRacing (867, population 64). `generations` are timed after 3 of warm-up, so the
/// lazy eigendecompositions (one every 28 to 169 generations at these sizes) are included.
/// Returns the table text.
pub fn bench_cmaes(generations: usize) -> String {
    use reverie_planning::{CmaEs, CmaEsConfig};

    let mut out = String::from("| parameters | population | generations/s |\n|---:|---:|---:|\n");
    for (dim, population) in [(138, 32), (578, 32), (867, 64)] {
        let config = CmaEsConfig {
            population,
            sigma: 0.1,
        };
        let mut es = CmaEs::new(vec![0.0; dim], &config).expect("valid sizes");
        let mut rng = Rng::seed_from_u64(0);
        let generation = |es: &mut CmaEs, rng: &mut Rng| {
            let xs = es.ask(rng);
            let scores: Vec<f64> = xs.iter().map(|_| rng.normal()).collect();
            es.tell(&xs, &scores).expect("one score per candidate");
        };
        for _ in 0..3 {
            generation(&mut es, &mut rng);
        }
        let start = Instant::now();
        for _ in 0..generations {
            generation(&mut es, &mut rng);
        }
        let rate = generations as f64 / start.elapsed().as_secs_f64();
        out.push_str(&format!("| {dim} | {population} | {rate:.1} |\n"));
    }
    out
}
