//! Experiments made of ordinary `reverie train` runs: one configuration trained over
//! seeds, optionally several seeds at once, and the metrics read back from the run
//! directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::ExperimentOptions;
use crate::plot::plot_run;
use reverie_run::algos::full_agent_table;
use reverie_run::config::{resolve, ConfigRequest, TrainConfig};
use reverie_run::driver::NoHooks;
use reverie_run::run_dir::RunDir;
use reverie_run::train::{resume, train, RunLocation, TrainSummary};

/// One algorithm × env configuration trained over seeds.
pub(super) struct Spec {
    pub(super) label: &'static str,
    algo: &'static str,
    pub(super) env: &'static str,
    overrides: Vec<String>,
}

impl Spec {
    pub(super) fn new(
        label: &'static str,
        algo: &'static str,
        env: &'static str,
        overrides: &[&str],
    ) -> Self {
        Self {
            label,
            algo,
            env,
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Trains seed `seed` into `DIR/runs/<label>/seed-<seed>` (replacing an earlier run) and
    /// draws its learning curve. With `reuse`, a run already there with this very
    /// configuration is read back if it finished, and resumed from its last checkpoint if
    /// it did not.
    pub(super) fn train(
        &self,
        seed: u64,
        options: &ExperimentOptions,
    ) -> anyhow::Result<(TrainSummary, PathBuf)> {
        let dir = options
            .out
            .join("runs")
            .join(run_dir_name(self.label))
            .join(format!("seed-{seed}"));
        let config = resolve(&ConfigRequest {
            algo: self.algo.into(),
            env: self.env.into(),
            preset: None,
            file: None,
            overrides: self.overrides.clone(),
            seed: Some(seed),
            steps: None,
        })?;
        let reusable = options.reuse && same_run(&dir, &config);
        if reusable {
            if let Some(summary) = finished_summary(&dir) {
                return Ok((summary, dir));
            }
        }
        let summary = if reusable && dir.join("checkpoints").join("latest.bin").is_file() {
            // An interrupted run of this configuration goes on from its last checkpoint
            // (the pixel Dreamer runs take about an hour a seed).
            resume(&dir, false, &mut NoHooks)?
        } else {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            train(&config, &RunLocation::At(dir.clone()), false)?
        };
        // As `reverie train` does: the run directory gets its learning curve.
        plot_run(&dir, &summary.algo, &summary.env)?;
        Ok((summary, dir))
    }

    /// Trains seeds `0..seeds` into `options.out`, `options.jobs` of them at once (each
    /// run is single-threaded); the results come back in seed order.
    pub(super) fn train_seeds(
        &self,
        seeds: usize,
        options: &ExperimentOptions,
    ) -> anyhow::Result<Vec<(TrainSummary, PathBuf)>> {
        type TrainedSeed = anyhow::Result<(TrainSummary, PathBuf)>;
        let jobs = options.jobs.clamp(1, seeds.max(1));
        if jobs == 1 {
            return (0..seeds as u64)
                .map(|seed| self.train(seed, options))
                .collect();
        }
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<TrainedSeed>>> =
            Mutex::new((0..seeds).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds {
                        break;
                    }
                    let outcome = self.train(seed as u64, options);
                    results.lock().expect("no worker panics holding it")[seed] = Some(outcome);
                });
            }
        });
        results
            .into_inner()
            .expect("no worker panics holding it")
            .into_iter()
            .map(|r| r.expect("every seed was trained"))
            .collect()
    }
}

/// Whether `dir` holds a run, finished or not, whose saved configuration trains the same
/// run as `config`.
fn same_run(dir: &Path, config: &TrainConfig) -> bool {
    let saved = RunDir::open(dir).ok().and_then(|run| run.config().ok());
    saved.is_some_and(|saved| same_training(&saved, config))
}

/// The summary of the run in `dir` if it finished (its `summary.json` is written last, so
/// a run without one did not).
fn finished_summary(dir: &Path) -> Option<TrainSummary> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether two configurations train the same run: equal, with each `[agent]` table
/// compared with every default filled in. A run saved before an agent gained a setting
/// lacks that key, yet it trained with the default; compared as written, adding any
/// setting would make `--reuse` retrain every earlier run.
fn same_training(a: &TrainConfig, b: &TrainConfig) -> bool {
    let full = |c: &TrainConfig| full_agent_table(&c.algo, &c.agent).ok();
    let (fa, fb) = (full(a), full(b));
    let without_agent = |c: &TrainConfig| TrainConfig {
        agent: Default::default(),
        ..c.clone()
    };
    fa.is_some() && fa == fb && without_agent(a) == without_agent(b)
}

/// The folder name of a configuration's runs under `DIR/runs`.
pub(super) fn run_dir_name(label: &str) -> String {
    label
        .replace([' ', '=', '/', ','], "_")
        .replace(['(', ')'], "")
}

/// `(step, value, seconds since the run started)` rows of one metric of a run.
pub(super) fn metric_with_time(run: &Path, name: &str) -> anyhow::Result<Vec<(u64, f64, f64)>> {
    let text = std::fs::read_to_string(run.join("metrics.csv"))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells.len() >= 4 && cells[1] == name).then(|| {
                (
                    cells[0].parse().unwrap_or(0),
                    cells[2].parse().unwrap_or(f64::NAN),
                    cells[3].parse().unwrap_or(f64::NAN),
                )
            })
        })
        .collect())
}

/// The median of `values` (NaN when empty); sorts them.
pub(super) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_seeds_come_back_in_order_and_match_sequential_ones() {
        let spec = Spec::new("q", "q-learning", "FrozenLake-v1", &["eval_every=0"]);
        let root = std::env::temp_dir().join(format!("reverie-seeds-{}", std::process::id()));
        let run = |jobs: usize| {
            let options = ExperimentOptions {
                out: root.join(jobs.to_string()),
                seeds: None,
                jobs,
                reuse: false,
            };
            spec.train_seeds(3, &options).unwrap()
        };
        let (one, two) = (run(1), run(2));
        for (seed, ((a, _), (b, dir))) in one.iter().zip(&two).enumerate() {
            assert_eq!((a.seed, b.seed), (seed as u64, seed as u64));
            assert_eq!(a.final_eval_return_mean, b.final_eval_return_mean);
            assert_eq!(a.last_100_train_return_mean, b.last_100_train_return_mean);
            assert!(dir.ends_with(format!("seed-{seed}")));
        }
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_saved_config_without_a_later_default_key_trains_the_same_run() {
        let resolved = |overrides: &[&str]| {
            resolve(&ConfigRequest {
                algo: "muzero".into(),
                env: "CartPole-v1".into(),
                overrides: overrides.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            })
            .unwrap()
        };
        let current = resolved(&[]);
        // A run saved before `reanalyse_fraction` existed has no such key.
        let mut older = current.clone();
        assert!(older.agent.remove("reanalyse_fraction").is_some());
        assert_ne!(older, current);
        assert!(same_training(&older, &current));
        assert!(!same_training(
            &resolved(&["agent.reanalyse_fraction=0.5"]),
            &current
        ));
        assert!(!same_training(&resolved(&["total_steps=100"]), &current));
    }

    #[test]
    fn reuse_keeps_finished_runs_of_the_same_configuration_only() {
        let root = std::env::temp_dir().join(format!("reverie-reuse-{}", std::process::id()));
        let options = |reuse: bool| ExperimentOptions {
            out: root.clone(),
            seeds: None,
            jobs: 1,
            reuse,
        };
        let spec =
            |steps: &str| Spec::new("q", "q-learning", "FrozenLake-v1", &["eval_every=0", steps]);
        let (first, dir) = spec("total_steps=2000").train(0, &options(false)).unwrap();
        // A file the training run does not write: it survives only if the run is kept.
        let marker = dir.join("kept");
        std::fs::write(&marker, b"").unwrap();
        let (again, _) = spec("total_steps=2000").train(0, &options(true)).unwrap();
        assert!(marker.exists(), "the finished run was trained again");
        assert_eq!(
            again.last_100_train_return_mean,
            first.last_100_train_return_mean
        );
        assert_eq!(again.wall_time_s, first.wall_time_s);
        // Another configuration in the same folder is trained afresh, and so is any run
        // without `reuse`.
        spec("total_steps=3000").train(0, &options(true)).unwrap();
        assert!(!marker.exists());
        std::fs::write(&marker, b"").unwrap();
        spec("total_steps=3000").train(0, &options(false)).unwrap();
        assert!(!marker.exists());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn reuse_resumes_an_interrupted_run_where_it_stopped() {
        use reverie_run::driver::{Flow, Hooks};
        use reverie_run::train::train_with_hooks;
        struct StopAt(u64);
        impl Hooks for StopAt {
            fn on_step(&mut self, step: u64, _: &reverie_core::StepBatch<'_>) -> Flow {
                if step >= self.0 {
                    Flow::Interrupt
                } else {
                    Flow::Continue
                }
            }
        }
        let root = std::env::temp_dir().join(format!("reverie-resume-{}", std::process::id()));
        let options = |sub: &str| ExperimentOptions {
            out: root.join(sub),
            seeds: None,
            jobs: 1,
            reuse: true,
        };
        let spec = Spec::new(
            "q",
            "q-learning",
            "FrozenLake-v1",
            &["eval_every=0", "total_steps=2000", "checkpoint_every=500"],
        );
        let (whole, _) = spec.train(0, &options("whole")).unwrap();
        // The same run, stopped at step 1,000 as a signal would stop it.
        let dir = root.join("cut").join("runs").join("q").join("seed-0");
        let config = resolve(&ConfigRequest {
            algo: spec.algo.into(),
            env: spec.env.into(),
            overrides: spec.overrides.clone(),
            seed: Some(0),
            ..Default::default()
        })
        .unwrap();
        let stopped = train_with_hooks(
            &config,
            &RunLocation::At(dir.clone()),
            false,
            &mut StopAt(1000),
        );
        assert!(stopped.is_err(), "the interrupted run reports it");
        let marker = dir.join("kept");
        std::fs::write(&marker, b"").unwrap();
        let (resumed, _) = spec.train(0, &options("cut")).unwrap();
        assert!(
            marker.exists(),
            "the interrupted run was trained again from scratch"
        );
        assert_eq!(resumed.episodes, whole.episodes);
        assert_eq!(
            resumed.last_100_train_return_mean,
            whole.last_100_train_return_mean
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
