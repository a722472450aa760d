//! `reverie bench dreamer`: Dreamer's update cost at its presets' sizes on CartPole-v1
//! vectors — the world-model update (loss over B × T steps, backward, Adam) and the
//! behaviour update (imagination from every posterior state, critic and actor) — and the
//! env steps per wall-clock hour that the preset's train ratio allows.
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

/// Times `updates` Dreamer updates for each size preset; returns a Markdown table.
pub fn bench_dreamer(updates: usize) -> anyhow::Result<String> {
    let mut out = String::from(
        "| preset | parameters | world model ms/update | behaviour ms/update | updates/s | env steps/hour at its train ratio |\n|---|---|---|---|---|---|\n",
    );
    for preset in [Some("tiny"), None] {
        let request = |overrides: Vec<String>, steps: Option<u64>| ConfigRequest {
            algo: "dreamer".into(),
            env: "CartPole-v1".into(),
            preset: preset.map(str::to_string),
            overrides,
            seed: Some(0),
            steps,
            ..Default::default()
        };
        let defaults = resolve(&request(Vec::new(), None))?;
        let AgentConfig::Dreamer(dreamer) = agent_config("dreamer", &defaults.agent)? else {
            unreachable!("the dreamer table parses as Dreamer's");
        };
        let per_update = (dreamer.batch_size * dreamer.seq_len) as f64 / dreamer.train_ratio;
        let steps = dreamer.learning_starts + (updates as f64 * per_update).ceil() as u64;
        let probe = make("CartPole-v1")?;
        let parameters = dreamer
            .init(
                &probe.observation_space(),
                &probe.action_space(),
                SeedStreams::new(0).rng("agent"),
            )?
            .parameter_count();

        // One logging window over the whole run, no evaluation, no periodic checkpoints;
        // both presets on 2 threads (the tiny preset's own is 1, and a process sets its
        // thread count once: the first run's would hold for the second).
        let config = resolve(&request(
            vec![
                "threads=2".into(),
                format!("log_every={steps}"),
                "eval_episodes=0".into(),
                "checkpoint_every=0".into(),
                "checkpoint_minutes=0".into(),
            ],
            Some(steps),
        ))?;
        let dir = std::env::temp_dir().join(format!(
            "reverie-bench-dreamer-{}-{}",
            preset.unwrap_or("default"),
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
        let (world_model, behaviour) = (mean("time/world_model_s")?, mean("time/behaviour_s")?);
        let _ = std::fs::remove_dir_all(&dir);
        let update_s = world_model + behaviour;
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.2} | {:.0} |\n",
            preset.unwrap_or("default"),
            parameters,
            1e3 * world_model,
            1e3 * behaviour,
            1.0 / update_s,
            3600.0 / (update_s / per_update)
        ));
    }
    out.push_str(
        "\nActing is left out of the last column: under 0.1 ms an env step at both sizes.\n",
    );
    Ok(out)
}
