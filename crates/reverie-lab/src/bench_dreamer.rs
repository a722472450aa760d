//! `reverie bench dreamer`: Dreamer's update cost at its presets' sizes on CartPole-v1
//! vectors — the world-model update (loss over B × T steps, backward, Adam) and the
//! behaviour update (imagination from every posterior state, critic and actor) — and the
//! env steps per wall-clock hour that the preset's train ratio allows.

use std::time::Instant;

use reverie_agents::AgentConfig;
use reverie_core::{Action, Agent, AutoresetMode, DynEnv, Mode, SeedStreams, VecEnv};
use reverie_envs::make;
use reverie_run::algos::agent_config;
use reverie_run::config::{resolve, ConfigRequest};

/// Times `updates` Dreamer updates for each size preset; returns a Markdown table.
pub fn bench_dreamer(updates: usize) -> anyhow::Result<String> {
    let mut out = String::from(
        "| preset | parameters | world model ms/update | behaviour ms/update | updates/s | acting ms/step | env steps/hour at its train ratio |\n|---|---|---|---|---|---|---|\n",
    );
    for preset in [Some("tiny"), None] {
        let config = resolve(&ConfigRequest {
            algo: "dreamer".into(),
            env: "CartPole-v1".into(),
            preset: preset.map(str::to_string),
            ..Default::default()
        })?;
        let probe = make("CartPole-v1")?;
        let (obs_space, act_space) = (probe.observation_space(), probe.action_space());
        let AgentConfig::Dreamer(dreamer) = agent_config("dreamer", &config.agent)? else {
            unreachable!("the dreamer table parses as Dreamer's");
        };
        let mut agent = dreamer.init(&obs_space, &act_space, SeedStreams::new(0).rng("agent"))?;
        let parameters = agent.parameter_count();
        let mut envs = VecEnv::new(vec![make("CartPole-v1")?], AutoresetMode::SameStep);
        let mut obs = envs.reset(Some(0)).clone();
        let mut carry = agent.initial_carry(1);
        let mut first = vec![true];
        let mut actions: Vec<Action> = Vec::new();
        let (mut done, mut wm, mut behaviour, mut acting, mut acted) = (0, 0.0, 0.0, 0.0, 0u64);
        while done < updates {
            let t = Instant::now();
            agent.act(&obs, &first, &mut carry, Mode::Explore, &mut actions);
            acting += t.elapsed().as_secs_f64();
            acted += 1;
            envs.step(&actions)?;
            let mut next = envs.observations().clone();
            for (i, ended) in envs.ended().iter().enumerate() {
                if *ended {
                    next.copy_row(i, envs.final_observations(), i);
                }
            }
            let metrics = agent.observe(&reverie_core::StepBatch {
                obs: &obs,
                actions: &actions,
                rewards: envs.rewards(),
                next_obs: &next,
                terminated: envs.terminated(),
                truncated: envs.truncated(),
            });
            for (name, value) in metrics {
                match name {
                    "time/world_model_s" => {
                        wm += value;
                        done += 1;
                    }
                    "time/behaviour_s" => behaviour += value,
                    _ => {}
                }
            }
            first = envs.ended().to_vec();
            obs.clone_from(envs.observations());
        }
        let n = done as f64;
        let (wm_ms, behaviour_ms) = (1e3 * wm / n, 1e3 * behaviour / n);
        let update_s = (wm + behaviour) / n;
        let act_ms = 1e3 * acting / acted as f64;
        let agent_config = &config.agent;
        let ratio = agent_config
            .get("train_ratio")
            .and_then(|v| v.as_float())
            .unwrap_or(32.0);
        let batch = agent_config
            .get("batch_size")
            .and_then(|v| v.as_integer())
            .unwrap_or(16) as f64;
        let seq = agent_config
            .get("seq_len")
            .and_then(|v| v.as_integer())
            .unwrap_or(64) as f64;
        let per_step = update_s * ratio / (batch * seq) + act_ms / 1e3;
        out.push_str(&format!(
            "| {} | {} | {wm_ms:.1} | {behaviour_ms:.1} | {:.2} | {act_ms:.2} | {:.0} |\n",
            preset.unwrap_or("default"),
            parameters,
            1.0 / update_s,
            3600.0 / per_step
        ));
    }
    Ok(out)
}
