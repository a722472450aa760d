//! Run directories: `runs/<algo>/<env>/<timestamp>-s<seed>/` holding `config.toml`,
//! `metrics.csv` / `metrics.jsonl`, `checkpoints/`, `plots/` and `summary.json`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use reverie_core::atomic::write_atomic;

/// How many `checkpoints/step-N.bin` files a run keeps.
pub const KEEP_STEP_CHECKPOINTS: usize = 3;

/// A run directory on disk.
#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
}

/// UTC `YYYYmmdd-HHMMSS` for `secs` since the Unix epoch (civil-from-days, Hinnant).
pub fn utc_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

impl RunDir {
    /// Creates `root/<algo>/<env>/<timestamp>-s<seed>` (with a numeric suffix if taken).
    pub fn create_under(root: &Path, algo: &str, env: &str, seed: u64) -> anyhow::Result<Self> {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let base = root
            .join(algo)
            .join(env)
            .join(format!("{}-s{seed}", utc_timestamp(secs)));
        let mut path = base.clone();
        let mut n = 2;
        while path.exists() {
            path = PathBuf::from(format!("{}-{n}", base.display()));
            n += 1;
        }
        Self::create_at(&path)
    }

    /// Creates exactly `path`, which must not exist or be an empty folder.
    pub fn create_at(path: &Path) -> anyhow::Result<Self> {
        if path.exists()
            && fs::read_dir(path)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            anyhow::bail!(
                "run directory {} already exists and is not empty; choose another with --run-dir or --out",
                path.display()
            );
        }
        let create = || -> io::Result<()> {
            fs::create_dir_all(path.join("checkpoints"))?;
            fs::create_dir_all(path.join("plots"))
        };
        create().with_context(|| {
            format!(
                "cannot create run directory {}; choose a writable location with --out DIR",
                path.display()
            )
        })?;
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing run directory (for `plot` and `eval`).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if !path.join("config.toml").is_file() {
            anyhow::bail!(
                "{} is not a reverie run directory (no config.toml)",
                path.display()
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The run's saved `config.toml`, checked as a fresh configuration is.
    pub fn config(&self) -> anyhow::Result<crate::config::TrainConfig> {
        self.config_with(&[])
    }

    /// The saved configuration with `--set KEY=VALUE` assignments applied on top.
    pub fn config_with(&self, overrides: &[String]) -> anyhow::Result<crate::config::TrainConfig> {
        let file = self.path.join("config.toml");
        let text =
            fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
        crate::config::TrainConfig::from_saved_with(&text, overrides)
            .with_context(|| format!("{}", file.display()))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `plots/` inside the run.
    pub fn plots(&self) -> PathBuf {
        self.path.join("plots")
    }

    /// Writes `name` inside the run atomically.
    pub fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let target = self.path.join(name);
        write_atomic(&target, bytes).with_context(|| format!("cannot write {}", target.display()))
    }

    /// Saves a checkpoint as `checkpoints/step-<step>.bin` and `checkpoints/latest.bin`,
    /// keeping the newest [`KEEP_STEP_CHECKPOINTS`] step files.
    pub fn save_checkpoint(&self, step: u64, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let file = self
            .path
            .join("checkpoints")
            .join(format!("step-{step:09}.bin"));
        write_atomic(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
        let latest = self.path.join("checkpoints").join("latest.bin");
        write_atomic(&latest, bytes)
            .with_context(|| format!("cannot write {}", latest.display()))?;
        self.prune_step_checkpoints(KEEP_STEP_CHECKPOINTS);
        Ok(file)
    }

    /// Removes all but the newest `keep` `step-N.bin` files (a long run would otherwise
    /// leave thousands); failures to remove are ignored, they only cost disk.
    fn prune_step_checkpoints(&self, keep: usize) {
        let Ok(entries) = fs::read_dir(self.path.join("checkpoints")) else {
            return;
        };
        let mut steps: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("step-") && n.ends_with(".bin"))
            })
            .collect();
        // Zero-padded step numbers sort as text.
        steps.sort();
        for old in steps.iter().rev().skip(keep) {
            let _ = fs::remove_file(old);
        }
    }

    /// Saves a checkpoint as `checkpoints/<name>` (e.g. `best.bin`), atomically.
    pub fn save_named_checkpoint(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let file = self.path.join("checkpoints").join(name);
        write_atomic(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
        Ok(file)
    }

    /// Removes the run directory (used when a run fails before it produced anything).
    pub fn discard(self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(utc_timestamp(0), "19700101-000000");
        // 2026-11-24 12:54:56 UTC
        assert_eq!(utc_timestamp(1_795_524_896), "20261124-125456");
        // Leap day.
        assert_eq!(utc_timestamp(951_782_400), "20000229-000000");
    }

    #[test]
    fn refuses_non_empty_folder_and_unwritable_root() {
        let dir = std::env::temp_dir().join(format!("reverie-rundir-{}", std::process::id()));
        let run = RunDir::create_at(&dir).unwrap();
        run.write("config.toml", b"x").unwrap();
        assert!(RunDir::create_at(&dir).is_err());
        run.discard();
        let err = RunDir::create_at(Path::new("/proc/reverie-cannot-write")).unwrap_err();
        assert!(format!("{err:#}").contains("cannot create run directory"));
    }
}
