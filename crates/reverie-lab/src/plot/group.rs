//! Which runs belong on one curve: `reverie plot` groups run directories by their resolved
//! configuration (`config.toml`), so runs of different algorithms or hyperparameters are
//! never averaged together, and names each group by what sets it apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Config keys that do not change what a run learns, left out when grouping: the seed is
/// what repetitions vary, `threads` and `device` change only the speed of the arithmetic,
/// `checkpoint_every` / `checkpoint_minutes` only how often the run is saved, and the
/// divergence guard only when a failing run stops.
pub const IGNORED_KEYS: &[&str] = &[
    "seed",
    "threads",
    "device",
    "checkpoint_every",
    "checkpoint_minutes",
    "max_nonfinite_updates",
];

/// A configuration flattened to dotted keys (`agent.alpha`, `env.options.is_slippery`)
/// with the text of each value (strings without quotes).
pub type FlatConfig = BTreeMap<String, String>;

/// Runs with one configuration (up to the ignored keys), drawn as one curve.
#[derive(Clone, Debug, PartialEq)]
pub struct RunGroup {
    /// Legend label: the keys that differ between the groups, or `algo on env` when all
    /// runs share one configuration.
    pub label: String,
    /// The group's run directories, in the order given.
    pub runs: Vec<PathBuf>,
    /// The shared configuration, without [`IGNORED_KEYS`].
    pub config: FlatConfig,
}

/// Flattens a TOML table to dotted keys; empty tables contribute nothing.
pub fn flatten(table: &toml::Table) -> FlatConfig {
    fn walk(prefix: &str, table: &toml::Table, out: &mut FlatConfig) {
        for (key, value) in table {
            let key = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(inner) => walk(&key, inner, out),
                toml::Value::String(text) => {
                    out.insert(key, text.clone());
                }
                other => {
                    out.insert(key, other.to_string());
                }
            }
        }
    }
    let mut out = FlatConfig::new();
    walk("", table, &mut out);
    out
}

/// The flattened `config.toml` of a run directory.
pub fn read_config(run_dir: &Path) -> anyhow::Result<FlatConfig> {
    let path = run_dir.join("config.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(flatten(&table))
}

/// Groups runs whose configurations agree on every key but [`IGNORED_KEYS`], in the order
/// each configuration first appears, and labels the groups.
pub fn group_runs(runs: &[(PathBuf, FlatConfig)]) -> Vec<RunGroup> {
    let mut groups: Vec<RunGroup> = Vec::new();
    for (path, config) in runs {
        let mut config = config.clone();
        config.retain(|key, _| !IGNORED_KEYS.contains(&key.as_str()));
        match groups.iter_mut().find(|g| g.config == config) {
            Some(group) => group.runs.push(path.clone()),
            None => groups.push(RunGroup {
                label: String::new(),
                runs: vec![path.clone()],
                config,
            }),
        }
    }
    let configs: Vec<&FlatConfig> = groups.iter().map(|g| &g.config).collect();
    let names = labels(&configs);
    for (group, label) in groups.iter_mut().zip(names) {
        group.label = label;
    }
    groups
}

/// `algo on env` when every group shares both (a title for curves labelled only by
/// hyperparameters).
pub fn shared_algo_and_env(groups: &[RunGroup]) -> Option<String> {
    let first = groups.first()?;
    let name = algo_on_env(&first.config)?;
    groups
        .iter()
        .all(|g| algo_on_env(&g.config).as_deref() == Some(&name))
        .then_some(name)
}

/// Replaces the labels by `names`, one per group in group order; a count that does not
/// match is refused with the groups listed, so the user can see which name goes where.
pub fn relabel(groups: &mut [RunGroup], names: &[String]) -> anyhow::Result<()> {
    if names.len() != groups.len() {
        let listing: Vec<String> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let runs: Vec<String> = g.runs.iter().map(|r| r.display().to_string()).collect();
                format!("  {}. {} ({})", i + 1, g.label, runs.join(", "))
            })
            .collect();
        anyhow::bail!(
            "{} --label given but the runs form {} group{} (one --label per group, in this order):\n{}",
            names.len(),
            groups.len(),
            if groups.len() == 1 { "" } else { "s" },
            listing.join("\n")
        );
    }
    for (group, name) in groups.iter_mut().zip(names) {
        group.label = name.clone();
    }
    Ok(())
}

fn algo_on_env(config: &FlatConfig) -> Option<String> {
    Some(format!(
        "{} on {}",
        config.get("algo")?,
        config.get("env.id")?
    ))
}

/// Labels naming what sets each configuration apart. Keys every configuration has but
/// with different values come first (`algo=dqn, agent.learning_rate=0.001`); keys only
/// some have (another algorithm's hyperparameters) are added only when needed to tell the
/// groups apart, since they mostly repeat what `algo` already says.
fn labels(configs: &[&FlatConfig]) -> Vec<String> {
    if configs.len() == 1 {
        let label = algo_on_env(configs[0]).unwrap_or_else(|| "all runs".to_string());
        return vec![label];
    }
    let mut keys: Vec<&String> = configs.iter().flat_map(|c| c.keys()).collect();
    keys.sort_by_key(|k| (key_rank(k), k.as_str()));
    keys.dedup();
    let differs = |key: &str| {
        let first = configs[0].get(key);
        configs.iter().any(|c| c.get(key) != first)
    };
    let everywhere = |key: &str| configs.iter().all(|c| c.contains_key(key));
    let text = |keys: &[&String]| -> Vec<String> {
        configs
            .iter()
            .map(|c| {
                keys.iter()
                    .map(|k| format!("{k}={}", c.get(*k).map_or("(unset)", String::as_str)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect()
    };
    let shared: Vec<&String> = keys
        .iter()
        .copied()
        .filter(|k| differs(k) && everywhere(k))
        .collect();
    let labels = text(&shared);
    let mut unique = labels.clone();
    unique.sort();
    unique.dedup();
    if unique.len() == labels.len() {
        return labels;
    }
    let all: Vec<&String> = keys.iter().copied().filter(|k| differs(k)).collect();
    text(&all)
}

/// The algorithm and env first, then everything else alphabetically.
fn key_rank(key: &str) -> u8 {
    match key {
        "algo" => 0,
        "env.id" => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> FlatConfig {
        flatten(&toml::from_str(text).unwrap())
    }

    const BASE: &str = "algo = \"q-learning\"\nseed = 1\ntotal_steps = 100\nthreads = 2\n\
        device = \"cpu\"\n[env]\nid = \"FrozenLake-v1\"\n[env.options]\n[agent]\nalpha = 0.05\n";

    fn run(name: &str, text: &str) -> (PathBuf, FlatConfig) {
        (PathBuf::from(name), config(text))
    }

    #[test]
    fn flattens_to_dotted_keys() {
        let c = config("a = 1\n[env]\nid = \"X\"\n[env.options]\nslippery = false\n[b]\n");
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "env.id", "env.options.slippery"]);
        assert_eq!(c["env.id"], "X");
        assert_eq!(c["env.options.slippery"], "false");
    }

    #[test]
    fn seeds_threads_and_device_do_not_split_groups() {
        let other = BASE
            .replace("seed = 1", "seed = 2")
            .replace("threads = 2", "threads = 8")
            .replace("\"cpu\"", "\"cuda\"");
        let groups = group_runs(&[run("a", BASE), run("b", &other)]);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].label, "q-learning on FrozenLake-v1");
        assert_eq!(groups[0].runs, [PathBuf::from("a"), PathBuf::from("b")]);
    }

    #[test]
    fn groups_are_labelled_by_what_differs() {
        let fast = BASE.replace("alpha = 0.05", "alpha = 0.2");
        let groups = group_runs(&[run("a1", BASE), run("b1", &fast), run("a2", BASE)]);
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["agent.alpha=0.05", "agent.alpha=0.2"]);
        assert_eq!(groups[0].runs.len(), 2);
        assert_eq!(
            shared_algo_and_env(&groups).as_deref(),
            Some("q-learning on FrozenLake-v1")
        );
    }

    #[test]
    fn other_algorithms_are_named_without_their_whole_config() {
        let dqn = "algo = \"dqn\"\n[env]\nid = \"CartPole-v1\"\n[agent]\nlearning_rate = 0.001\nbuffer = 5\n";
        let ppo = "algo = \"ppo\"\n[env]\nid = \"CartPole-v1\"\n[agent]\nlearning_rate = 0.0003\nclip = 0.2\n";
        let groups = group_runs(&[run("d", dqn), run("p", ppo)]);
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "algo=dqn, agent.learning_rate=0.001",
                "algo=ppo, agent.learning_rate=0.0003"
            ]
        );
        assert_eq!(shared_algo_and_env(&groups), None);
    }

    #[test]
    fn a_key_only_one_group_sets_is_named_when_nothing_else_differs() {
        let extra = format!("{BASE}decay = 0.5\n");
        let groups = group_runs(&[run("a", BASE), run("b", &extra)]);
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["agent.decay=(unset)", "agent.decay=0.5"]);
    }

    #[test]
    fn relabel_needs_one_name_per_group() {
        let fast = BASE.replace("alpha = 0.05", "alpha = 0.2");
        let mut groups = group_runs(&[run("a", BASE), run("b", &fast)]);
        let err = relabel(&mut groups, &["only one".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 --label given but the runs form 2 groups"),
            "{err}"
        );
        assert!(err.contains("1. agent.alpha=0.05 (a)"), "{err}");
        assert!(err.contains("2. agent.alpha=0.2 (b)"), "{err}");
        relabel(&mut groups, &["slow".to_string(), "fast".to_string()]).unwrap();
        assert_eq!(groups[1].label, "fast");
    }
}
