//! `reverie bench envs`: environment steps per second, single env and vectorised, with
//! random actions and automatic resets, as a table.

use std::hint::black_box;
use std::time::Instant;

use reverie_core::{AutoresetMode, DynEnv, Env, Rng, TimeLimit, VecEnv};
use reverie_envs::classic::{CartPole, Pendulum};

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

/// Steps a boxed registry env through the dynamic API (enum actions and observations).
pub fn bench_dyn(id: &str, seconds: f64) -> f64 {
    let env = reverie_envs::make(id).expect("registered env");
    let space = DynEnv::action_space(env.as_ref());
    bench_single(env, |rng| space.sample(rng), seconds)
}

/// The default table: CartPole-v1 and Pendulum-v1 single and vec64, then every registered
/// env through the dynamic API.
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
