//! Metric logging in CleanRL's naming (`charts/episodic_return`, `charts/SPS`,
//! `losses/td_error`), to CSV and JSON Lines.
//!
//! Both files are in long format, one record per line:
//! `global_step,metric,value,wall_time_s`. Records are kept in memory and both files are
//! rewritten atomically at every flush, so a reader never sees a torn line.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;

/// One logged value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// Environment steps taken when the value was logged.
    pub global_step: u64,
    /// Metric name, e.g. `charts/episodic_return`.
    pub metric: String,
    /// The value.
    pub value: f64,
    /// Seconds since the logger was created.
    pub wall_time_s: f64,
}

/// Collects metric records and writes `metrics.csv` and `metrics.jsonl` into a folder.
#[derive(Debug)]
pub struct MetricsLogger {
    csv_path: PathBuf,
    jsonl_path: PathBuf,
    records: Vec<MetricRecord>,
    start: Instant,
    last_flush: Instant,
    flush_every: Duration,
}

impl MetricsLogger {
    /// A logger writing `dir/metrics.csv` and `dir/metrics.jsonl`.
    pub fn new(dir: &Path) -> Self {
        let now = Instant::now();
        Self {
            csv_path: dir.join("metrics.csv"),
            jsonl_path: dir.join("metrics.jsonl"),
            records: Vec::new(),
            start: now,
            last_flush: now,
            flush_every: Duration::from_secs(5),
        }
    }

    /// Records `value` for `metric` at `global_step`; flushes every few seconds. Non-finite
    /// values are recorded as they are (a NaN loss is worth seeing) but written as `NaN` /
    /// `inf` in CSV and `null` in JSON.
    pub fn log(&mut self, global_step: u64, metric: &str, value: f64) -> io::Result<()> {
        self.records.push(MetricRecord {
            global_step,
            metric: metric.to_string(),
            value,
            wall_time_s: self.start.elapsed().as_secs_f64(),
        });
        if self.last_flush.elapsed() >= self.flush_every {
            self.flush()?;
        }
        Ok(())
    }

    /// All records so far.
    pub fn records(&self) -> &[MetricRecord] {
        &self.records
    }

    /// Rewrites both files atomically with every record so far.
    pub fn flush(&mut self) -> io::Result<()> {
        let mut csv = String::from("global_step,metric,value,wall_time_s\n");
        let mut jsonl = String::new();
        for r in &self.records {
            csv.push_str(&format!(
                "{},{},{},{:.3}\n",
                r.global_step, r.metric, r.value, r.wall_time_s
            ));
            let value = if r.value.is_finite() {
                serde_json::Value::from(r.value)
            } else {
                serde_json::Value::Null
            };
            let line = serde_json::json!({
                "global_step": r.global_step,
                "metric": r.metric,
                "value": value,
                "wall_time_s": (r.wall_time_s * 1000.0).round() / 1000.0,
            });
            jsonl.push_str(&line.to_string());
            jsonl.push('\n');
        }
        write_atomic(&self.csv_path, csv.as_bytes())?;
        write_atomic(&self.jsonl_path, jsonl.as_bytes())?;
        self.last_flush = Instant::now();
        Ok(())
    }
}

/// Reads a `metrics.csv` written by [`MetricsLogger`].
pub fn read_metrics_csv(path: &Path) -> io::Result<Vec<MetricRecord>> {
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let bad = |line: usize, why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{line}: {why}", path.display()),
        )
    };
    match lines.next() {
        Some("global_step,metric,value,wall_time_s") => {}
        _ => {
            return Err(bad(
                1,
                "not a reverie metrics file (expected header global_step,metric,value,wall_time_s)",
            ))
        }
    }
    let mut records = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 4 {
            return Err(bad(i + 2, "expected 4 comma-separated fields"));
        }
        let parse = |s: &str| s.parse::<f64>().map_err(|_| bad(i + 2, "not a number"));
        records.push(MetricRecord {
            global_step: fields[0]
                .parse()
                .map_err(|_| bad(i + 2, "global_step is not an integer"))?,
            metric: fields[1].to_string(),
            value: parse(fields[2])?,
            wall_time_s: parse(fields[3])?,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip() {
        let dir = std::env::temp_dir().join(format!("reverie-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut logger = MetricsLogger::new(&dir);
        logger.log(10, "charts/episodic_return", 1.5).unwrap();
        logger.log(20, "losses/td_error", f64::NAN).unwrap();
        logger.flush().unwrap();
        let back = read_metrics_csv(&dir.join("metrics.csv")).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].metric, "charts/episodic_return");
        assert_eq!(back[0].value, 1.5);
        assert!(back[1].value.is_nan());
        let jsonl = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
        assert_eq!(jsonl.lines().count(), 2);
        assert!(jsonl.contains("\"value\":null"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
