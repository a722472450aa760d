//! The resolved configuration as TOML with every key's one-line doc above it, for
//! `reverie train --print-config` and `reverie algos ALGO`.

use documented::DocumentedFields;
use toml::{Table, Value};

use reverie_agents::algorithm::doc_summary;

use super::{EnvConfig, TrainConfig};
use crate::algos::agent_config;

/// `config` as commented TOML (it parses back to the same configuration).
pub fn annotated_toml(config: &TrainConfig) -> String {
    let table = Table::try_from(config).expect("a TrainConfig always serialises");
    let agent = agent_config(&config.algo, &config.agent).ok();
    let mut out = String::new();
    let top = |path: &[&str]| match path {
        [key] => TrainConfig::get_field_docs(key).ok().map(doc_summary),
        ["env", key] => EnvConfig::get_field_docs(key).ok().map(doc_summary),
        ["env", "options", _] => Some("An option of the env (as gym.make(id, **options)).".into()),
        ["agent", rest @ ..] => agent.as_ref().and_then(|a| a.key_doc(rest)),
        _ => None,
    };
    write_table(&table, &mut Vec::new(), &top, &mut out);
    out
}

/// The `[agent]` section of `config` alone, commented (for `reverie algos ALGO`).
pub fn annotated_agent_toml(config: &TrainConfig) -> String {
    let agent = agent_config(&config.algo, &config.agent).ok();
    let doc = |path: &[&str]| match path {
        ["agent", rest @ ..] => agent.as_ref().and_then(|a| a.key_doc(rest)),
        _ => None,
    };
    let mut table = Table::new();
    table.insert("agent".into(), Value::Table(config.agent.clone()));
    let mut out = String::new();
    write_table(&table, &mut Vec::new(), &doc, &mut out);
    out.trim_start().to_string()
}

/// Writes `table`'s values (each under its doc), then its sub-tables as `[a.b]` sections.
fn write_table(
    table: &Table,
    path: &mut Vec<String>,
    doc: &dyn Fn(&[&str]) -> Option<String>,
    out: &mut String,
) {
    for (key, value) in table.iter().filter(|(_, v)| !v.is_table()) {
        path.push(key.clone());
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Some(text) = doc(&keys) {
            out.push_str(&format!("# {text}\n"));
        }
        out.push_str(&format!("{} = {value}\n", quoted(key)));
        path.pop();
    }
    for (key, value) in table {
        if let Value::Table(sub) = value {
            path.push(key.clone());
            let header: Vec<String> = path.iter().map(|k| quoted(k)).collect();
            out.push_str(&format!("\n[{}]\n", header.join(".")));
            write_table(sub, path, doc, out);
            path.pop();
        }
    }
}

/// A bare key when TOML allows it, else a quoted one.
fn quoted(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{resolve, ConfigRequest};

    #[test]
    fn every_key_has_its_doc_and_the_text_parses_back() {
        for (algo, env) in [
            ("pets", "CartPoleContinuous-v0"),
            ("ppo", "CartPole-v1"),
            ("mbpo", "Pendulum-v1"),
        ] {
            let config = resolve(&ConfigRequest {
                algo: algo.into(),
                env: env.into(),
                ..Default::default()
            })
            .unwrap();
            let text = annotated_toml(&config);
            assert_eq!(TrainConfig::from_saved(&text).unwrap(), config, "{algo}");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if line.contains(" = ") && !line.starts_with('#') {
                    assert!(
                        i > 0 && lines[i - 1].starts_with("# "),
                        "{algo}: `{line}` has no doc"
                    );
                }
            }
        }
    }
}
