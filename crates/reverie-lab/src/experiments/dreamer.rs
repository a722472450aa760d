//! Dreamer's results: CartPole-v1 from vectors, Pendulum-v1 from vectors beside MBPO and
//! SAC on the same seeds, the cart-pole swing-up beside MBPO, the ablation of DreamerV3's
//! robustness pieces, and Pendulum-v1 and CartPole-v1 from 64 × 64 frames.

use super::runs::Spec;
use super::threshold::threshold_experiment;
use super::ExperimentOptions;

/// `reverie experiment dreamer-cartpole`: evaluation ≥ 475 on CartPole-v1 from vectors.
pub fn run_cartpole(options: &ExperimentOptions) -> anyhow::Result<String> {
    // 20k steps (the issue asks for 50k) so that 5 seeds fit 2 cores in ~40 min; one
    // thread a run, two runs at once with --jobs 2.
    let spec = Spec::new(
        "Dreamer CartPole-v1 (vectors, 20k steps)",
        "dreamer",
        "CartPole-v1",
        &["eval_every=2000", "total_steps=20000", "threads=1"],
    );
    threshold_experiment(
        &[spec],
        475.0,
        5,
        "issue target: ≥ 475 within 50k steps on ≥ 4 of 5 seeds; sheeprl's DreamerV3 is reported near 144 after 140k steps",
        options,
    )
}

/// `reverie experiment dreamer-pendulum`: real steps and wall-clock to an evaluation of
/// −200 on Pendulum-v1 from vectors, for Dreamer (its Pendulum preset), SAC (rl-zoo's) and
/// MBPO (its Pendulum preset), every one on seeds `0..5`, one thread a run, evaluated on 5
/// deterministic episodes. PETS is `pets-pendulum` (the same seeds): its evaluation plans
/// every action (62 ms each), and evaluating it as often as the others would take longer
/// than its training.
pub fn run_pendulum(options: &ExperimentOptions) -> anyhow::Result<String> {
    let specs = [
        Spec::new(
            "Dreamer (20k steps)",
            "dreamer",
            "Pendulum-v1",
            &["eval_every=1000", "eval_episodes=5", "threads=1"],
        ),
        Spec::new(
            "SAC (rl-zoo, 20k steps)",
            "sac",
            "Pendulum-v1",
            &["eval_every=1000", "eval_episodes=5", "threads=1"],
        ),
        // MBPO's whole budget is 4,000 steps: evaluated every 500.
        Spec::new(
            "MBPO (4k steps)",
            "mbpo",
            "Pendulum-v1",
            &["eval_every=500", "eval_episodes=5", "threads=1"],
        ),
    ];
    threshold_experiment(
        &specs,
        -200.0,
        5,
        "issue target for Dreamer: ≥ −200 within 20k steps on ≥ 4 of 5 seeds, ≤ 20 min on 2 cores; rl-zoo SAC −157 at 20k; PETS: see pets-pendulum",
        options,
    )
}

/// `reverie experiment dreamer-swingup`: real steps to an evaluation of 100 (half the
/// episode's maximum of 200) on CartPoleSwingUp-v0 from vectors, for Dreamer (its
/// swing-up preset, 30k steps) and MBPO (its defaults, 10k steps: where `mbpo-vs-sac`'s
/// longer probe saw one seed of three get there), on seeds `0..3`, one thread a run. PETS
/// is `pets-swingup` (~63 of 200 on both of its seeds).
pub fn run_swingup(options: &ExperimentOptions) -> anyhow::Result<String> {
    let specs = [
        Spec::new(
            "Dreamer (30k steps)",
            "dreamer",
            "CartPoleSwingUp-v0",
            &["eval_every=2000", "eval_episodes=5", "threads=1"],
        ),
        Spec::new(
            "MBPO (10k steps)",
            "mbpo",
            "CartPoleSwingUp-v0",
            &[
                "total_steps=10000",
                "eval_every=1000",
                "eval_episodes=5",
                "threads=1",
            ],
        ),
    ];
    threshold_experiment(
        &specs,
        100.0,
        3,
        "no published Dreamer number on this env; MBPO and PETS do not solve it in our budgets (mbpo-vs-sac, pets-swingup)",
        options,
    )
}

/// `reverie experiment dreamer-pixels-pendulum`: Dreamer on `PendulumPixels-v1` (its
/// preset), real steps to an evaluation of −300.
pub fn run_pixels_pendulum(options: &ExperimentOptions) -> anyhow::Result<String> {
    let spec = Spec::new(
        "Dreamer PendulumPixels-v1 (64 x 64 RGB)",
        "dreamer",
        "PendulumPixels-v1",
        &["total_steps=40000"],
    );
    pixel_experiment(spec, -300.0, "≥ −300", options)
}

/// `reverie experiment dreamer-pixels-cartpole`: Dreamer on `CartPolePixels-v1` (its
/// preset), real steps to an evaluation of 400.
pub fn run_pixels_cartpole(options: &ExperimentOptions) -> anyhow::Result<String> {
    let spec = Spec::new(
        "Dreamer CartPolePixels-v1 (64 x 64 RGB)",
        "dreamer",
        "CartPolePixels-v1",
        &["total_steps=50000"],
    );
    pixel_experiment(spec, 400.0, "≥ 400", options)
}

/// Dreamer on a 64 × 64 pixel env (`spec`: its preset and budget), over seeds `0..3`: real
/// steps to an evaluation of `threshold` (`target` as the issue words it).
///
/// The 100k steps take ~3 hours a seed at the pixel presets on one thread (~0.1 s
/// an env step: an update of ~170–200 ms every 2 steps). The budgets are sized so that one
/// seed of each env, side by side, fits a session: CartPole seed 0 reached 400 at 17.5k.
/// Seeds can be added over several sessions with `--seeds N --reuse`, which keeps the
/// finished runs.
fn pixel_experiment(
    spec: Spec,
    threshold: f64,
    target: &str,
    options: &ExperimentOptions,
) -> anyhow::Result<String> {
    let published =
        format!("issue target: {target} within 100k env steps, learning curves over ≥ 3 seeds");
    threshold_experiment(&[spec], threshold, 3, &published, options)
}

/// `reverie experiment dreamer-ablations`: DreamerV3's robustness pieces removed one at a
/// time on Pendulum-v1 from vectors (the Pendulum preset, 10k steps — the full agent
/// reaches −200 by 4k–6k), over the same seeds: free bits, KL balancing, symlog
/// reconstruction with the two-hot reward head, and discrete latents (DreamerV1's
/// Gaussian instead).
pub fn run_ablations(options: &ExperimentOptions) -> anyhow::Result<String> {
    let common = ["total_steps=10000", "threads=1"];
    let spec = |label: &'static str, extra: &[&str]| {
        let overrides: Vec<&str> = common.iter().chain(extra).copied().collect();
        Spec::new(label, "dreamer", "Pendulum-v1", &overrides)
    };
    let specs = [
        spec("DreamerV3 pieces all on", &[]),
        spec("no free bits", &["agent.world_model.free_nats=0.0"]),
        spec("no KL balancing", &["agent.world_model.balance=false"]),
        spec(
            "no symlog, no two-hot reward",
            &[
                "agent.world_model.symlog_obs=false",
                "agent.world_model.two_hot_reward=false",
            ],
        ),
        spec(
            "Gaussian latents",
            &["agent.world_model.rssm.latent=\"gaussian\""],
        ),
    ];
    threshold_experiment(
        &specs,
        -200.0,
        3,
        "DreamerV3 (Hafner et al. 2023) reports each piece as a robustness fix across domains, not a Pendulum number",
        options,
    )
}
