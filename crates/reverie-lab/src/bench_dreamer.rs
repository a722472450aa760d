//! `reverie bench dreamer`: Dreamer's update cost at its size presets, from CartPole-v1
//! vectors and from its 64 × 64 RGB frames — the world-model update (loss over B × T
//! steps, backward, Adam) and the behaviour update (imagination from every posterior
//! state, critic and actor) — and the env steps per wall-clock hour that the preset's train
//! ratio allows.
//!
//! Each preset trains through the ordinary driver just long enough for `updates` updates;
//! the agent's own `time/world_model_s` and `time/behaviour_s` metrics, averaged over one
//! logging window that spans the run, give the cost of an update.

use reverie_agents::AgentConfig;
use reverie_core::SeedStreams;
use reverie_envs::make;
use reverie_run::algos::agent_config;
use reverie_run::config::{resolve, ConfigRequest};
use reverie_run::train::{train, RunLocation};

use crate::plot::read_metric;

/// The env of each observation kind the bench measures.
pub const OBSERVATIONS: &[(&str, &str)] =
    &[("vector", "CartPole-v1"), ("pixels", "CartPolePixels-v1")];

/// Times `updates` Dreamer updates for each size preset (`default` is the algorithm's own
/// sizes) and observation kind (`vector`, `pixels`); returns a Markdown table.
pub fn bench_dreamer(
    updates: usize,
    presets: &[String],
    observations: &[String],
) -> anyhow::Result<String> {
    let mut out = String::from(
        "| preset | observations | parameters | world model ms/update | behaviour ms/update | updates/s | env steps/hour at its train ratio |\n|---|---|---|---|---|---|---|\n",
    );
    for kind in observations {
        let env = OBSERVATIONS
            .iter()
            .find(|(name, _)| name == kind)
            .map(|(_, env)| *env)
            .ok_or_else(|| {
                anyhow::anyhow!("unknown observation kind '{kind}': vector or pixels")
            })?;
        for preset in presets {
            let row = bench_one(updates, preset, env)?;
            out.push_str(&format!(
                "| {preset} | {kind} | {} | {:.1} | {:.1} | {:.2} | {:.0} |\n",
                row.parameters,
                1e3 * row.world_model_s,
                1e3 * row.behaviour_s,
                1.0 / row.update_s(),
                3600.0 / (row.update_s() / row.env_steps_per_update)
            ));
        }
    }
    out.push_str(
        "\nActing is left out of the last column: under 0.1 ms an env step from vectors at every size.\n",
    );
    Ok(out)
}

/// One row of the table.
struct Timing {
    parameters: usize,
    world_model_s: f64,
    behaviour_s: f64,
    env_steps_per_update: f64,
}

impl Timing {
    fn update_s(&self) -> f64 {
        self.world_model_s + self.behaviour_s
    }
}

fn bench_one(updates: usize, preset: &str, env: &str) -> anyhow::Result<Timing> {
    let request = |overrides: Vec<String>, steps: Option<u64>| ConfigRequest {
        algo: "dreamer".into(),
        env: env.into(),
        preset: (preset != "default").then(|| preset.to_string()),
        overrides,
        seed: Some(0),
        steps,
        ..Default::default()
    };
    let defaults = resolve(&request(Vec::new(), None))?;
    let AgentConfig::Dreamer(dreamer) = agent_config("dreamer", &defaults.agent)? else {
        unreachable!("the dreamer table parses as Dreamer's");
    };
    let env_steps_per_update = (dreamer.batch_size * dreamer.seq_len) as f64 / dreamer.train_ratio;
    let steps = dreamer.learning_starts + (updates as f64 * env_steps_per_update).ceil() as u64;
    let seq_len = dreamer.seq_len as u64;
    let probe = make(env)?;
    let parameters = dreamer
        .init(
            &probe.observation_space(),
            &probe.action_space(),
            SeedStreams::new(0).rng("agent"),
        )?
        .parameter_count();

    // One logging window over the whole run, no evaluation, no periodic checkpoints; every
    // preset on 2 threads (the tiny preset's own is 1, and a process sets its thread count
    // once: the first run's would hold for the others). The replay holds just the run's
    // steps: the pixel presets' 100k frames would reserve 1.2 GB.
    let config = resolve(&request(
        vec![
            "threads=2".into(),
            format!("log_every={steps}"),
            "eval_episodes=0".into(),
            "checkpoint_every=0".into(),
            "checkpoint_minutes=0".into(),
            format!("agent.buffer_size={}", steps.max(seq_len)),
        ],
        Some(steps),
    ))?;
    let dir = std::env::temp_dir().join(format!(
        "reverie-bench-dreamer-{preset}-{env}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    train(&config, &RunLocation::At(dir.clone()), false)?;
    let mean = |metric: &str| -> anyhow::Result<f64> {
        read_metric(&dir, metric)?
            .last()
            .map(|p| p.1)
            .ok_or_else(|| anyhow::anyhow!("the run logged no {metric}"))
    };
    let timing = Timing {
        parameters,
        world_model_s: mean("time/world_model_s")?,
        behaviour_s: mean("time/behaviour_s")?,
        env_steps_per_update,
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(timing)
}
