//! Helpers the CLI test files share: run the binary, read its output, scratch folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `reverie ARGS` to completion.
pub fn reverie(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reverie"))
        .args(args)
        .output()
        .expect("the reverie binary runs")
}

/// Its standard error.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Its standard output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh, empty scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reverie-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether `path` is missing or empty.
pub fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// `metrics.csv` without the wall-clock column and `charts/SPS` (the values that differ
/// between identical runs).
pub fn metrics_without_timing(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("charts/SPS"))
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}
