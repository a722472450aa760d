//! One-line documentation of every `[agent]` key, read from the config structs' own doc
//! comments (derived with `documented`), so `--print-config` and `reverie algos ALGO` say
//! what a key means without a second copy of the text.

use documented::DocumentedFields;
use reverie_models::{EnsembleModelConfig, LinearModelConfig, TrainerConfig};
use reverie_planning::{
    CategoricalCemConfig, CemConfig, GradientPlannerConfig, ICemConfig, MppiConfig,
    OptimizerConfig, RandomShootingConfig,
};

use super::AgentConfig;
use crate::planning::ModelObjectiveConfig;
use crate::{DqnConfig, MbpoConfig, MpcAgentConfig, NeuralDynaConfig, SacConfig};

/// The first sentence of a doc comment, on one line (docs wrap at 100 columns).
pub fn doc_summary(doc: &str) -> String {
    let text = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    // "e.g." and "i.e." end no sentence.
    let end = text
        .match_indices(". ")
        .map(|(i, _)| i)
        .find(|&i| !text[..i].ends_with("e.g") && !text[..i].ends_with("i.e"));
    match end {
        Some(end) => text[..=end].to_string(),
        None => text,
    }
}

/// The doc of the field `path` names in `T` (a one-element path).
fn field<T: DocumentedFields>(path: &[&str]) -> Option<String> {
    match path {
        [name] => T::get_field_docs(name).ok().map(doc_summary),
        _ => None,
    }
}

/// Docs of a planner's keys: `kind`, then the chosen optimiser's own.
fn planner(config: &OptimizerConfig, path: &[&str]) -> Option<String> {
    if path == ["kind"] {
        return Some(
            "The optimiser: random-shooting, cem, icem, mppi, categorical-cem or gradient.".into(),
        );
    }
    match config {
        OptimizerConfig::RandomShooting(_) => field::<RandomShootingConfig>(path),
        OptimizerConfig::Cem(_) => field::<CemConfig>(path),
        OptimizerConfig::Icem(_) => field::<ICemConfig>(path),
        OptimizerConfig::Mppi(_) => field::<MppiConfig>(path),
        OptimizerConfig::CategoricalCem(_) => field::<CategoricalCemConfig>(path),
        OptimizerConfig::Gradient(_) => field::<GradientPlannerConfig>(path),
    }
}

/// Docs of the MPC agent's keys and its nested tables.
fn mpc(config: &MpcAgentConfig, path: &[&str]) -> Option<String> {
    match path {
        ["planner", rest @ ..] if !rest.is_empty() => planner(&config.planner, rest),
        ["rollouts", rest @ ..] if !rest.is_empty() => field::<ModelObjectiveConfig>(rest),
        ["linear", rest @ ..] if !rest.is_empty() => field::<LinearModelConfig>(rest),
        ["model", rest @ ..] if !rest.is_empty() => field::<EnsembleModelConfig>(rest),
        ["trainer", rest @ ..] if !rest.is_empty() => field::<TrainerConfig>(rest),
        _ => field::<MpcAgentConfig>(path),
    }
}

impl AgentConfig {
    /// The one-line doc of the `[agent]` key at `path` (e.g. `["planner", "population"]`),
    /// or `None` for a key these hyperparameters do not have.
    pub fn key_doc(&self, path: &[&str]) -> Option<String> {
        match self {
            AgentConfig::Random(_) => None,
            AgentConfig::QLearning(_) => field::<crate::QLearningConfig>(path),
            AgentConfig::DynaQ(_) | AgentConfig::DynaQPlus(_) => field::<crate::DynaQConfig>(path),
            AgentConfig::PrioritizedSweeping(_) => field::<crate::PrioritizedSweepingConfig>(path),
            AgentConfig::Pets(c) | AgentConfig::Mpc(c) => mpc(c, path),
            AgentConfig::Dqn(_) => field::<DqnConfig>(path),
            AgentConfig::Ppo(_) | AgentConfig::A2c(_) => field::<crate::PpoConfig>(path),
            AgentConfig::Sac(_) => field::<SacConfig>(path),
            AgentConfig::Mbpo(_) => match path {
                ["model", rest @ ..] if !rest.is_empty() => field::<EnsembleModelConfig>(rest),
                ["trainer", rest @ ..] if !rest.is_empty() => field::<TrainerConfig>(rest),
                ["sac", rest @ ..] if !rest.is_empty() => field::<SacConfig>(rest),
                _ => field::<MbpoConfig>(path),
            },
            AgentConfig::Dreamer(_) => match path {
                ["world_model", "rssm", rest @ ..] if !rest.is_empty() => {
                    field::<reverie_models::RssmConfig>(rest)
                }
                ["world_model", rest @ ..] if !rest.is_empty() => {
                    field::<reverie_models::WorldModelConfig>(rest)
                }
                _ => field::<crate::DreamerConfig>(path),
            },
            AgentConfig::MuZero(_) | AgentConfig::AlphaZero(_) => match path {
                ["search", "selection", rest @ ..] if !rest.is_empty() => {
                    field::<reverie_planning::search::PuctConfig>(rest)
                        .or_else(|| field::<reverie_planning::search::GumbelConfig>(rest))
                        .or_else(|| {
                            (rest == ["kind"])
                                .then(|| "`puct` (MuZero) or `gumbel` (Gumbel MuZero)".to_string())
                        })
                }
                ["search", rest @ ..] if !rest.is_empty() => {
                    field::<reverie_planning::search::MctsConfig>(rest)
                }
                _ => field::<crate::MuZeroConfig>(path),
            },
            AgentConfig::WorldModels(_) => match path {
                ["vae", rest @ ..] if !rest.is_empty() => field::<reverie_models::VaeConfig>(rest),
                ["rnn", rest @ ..] if !rest.is_empty() => {
                    field::<reverie_models::MdnRnnConfig>(rest)
                }
                ["cmaes", rest @ ..] if !rest.is_empty() => {
                    field::<reverie_planning::CmaEsConfig>(rest)
                }
                _ => field::<crate::WorldModelsConfig>(path),
            },
            AgentConfig::NeuralDyna(_) => match path {
                ["model", rest @ ..] if !rest.is_empty() => field::<EnsembleModelConfig>(rest),
                ["trainer", rest @ ..] if !rest.is_empty() => field::<TrainerConfig>(rest),
                ["dqn", rest @ ..] if !rest.is_empty() => field::<DqnConfig>(rest),
                _ => field::<NeuralDynaConfig>(path),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    /// Every key of every algorithm's full default table has a doc.
    #[test]
    fn every_default_key_is_documented() {
        fn walk(config: &AgentConfig, table: &toml::Table, prefix: &mut Vec<String>) {
            for (key, value) in table {
                prefix.push(key.clone());
                match value {
                    toml::Value::Table(t) => walk(config, t, prefix),
                    _ => {
                        let path: Vec<&str> = prefix.iter().map(String::as_str).collect();
                        let doc = config.key_doc(&path);
                        assert!(
                            doc.is_some_and(|d| !d.is_empty()),
                            "{}: `{}` has no doc",
                            config.algorithm(),
                            path.join(".")
                        );
                    }
                }
                prefix.pop();
            }
        }
        for algorithm in Algorithm::ALL {
            let config = AgentConfig::parse(algorithm, serde_json::json!({})).unwrap();
            walk(&config, &config.to_table().unwrap(), &mut Vec::new());
        }
        assert_eq!(
            doc_summary("Algorithm name, e.g. `dqn`.\nMore.  Text."),
            "Algorithm name, e.g. `dqn`."
        );
        let mpc = AgentConfig::parse(Algorithm::Mpc, serde_json::json!({})).unwrap();
        assert_eq!(mpc.key_doc(&["no_such_key"]), None);
    }
}
