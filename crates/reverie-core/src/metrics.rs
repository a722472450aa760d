//! Metric logging in CleanRL's naming (`charts/episodic_return`, `charts/SPS`,
//! `losses/td_error`), to CSV, JSON Lines and a TensorBoard event file.
//!
//! All three are in long format, one record per line (or event):
//! `global_step,metric,value,wall_time_s`. Records are buffered and appended every few
//! seconds, never rewritten, so memory stays bounded on long runs; a checkpoint keeps the
//! files' lengths at its flush ([`LogPosition`]) and a resumed run cuts them back there, so
//! no row is duplicated or lost. `wall_time_s` and `charts/SPS` are the only wall-clock
//! values: comparisons of runs drop them.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::tfevents::TfEventsWriter;

/// Buffered CSV bytes that trigger a flush.
const FLUSH_BYTES: usize = 1 << 20;

/// CSV header of `metrics.csv`.
const CSV_HEADER: &str = "global_step,metric,value,wall_time_s\n";

/// One logged value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// Environment steps taken when the value was logged.
    pub global_step: u64,
    /// Metric name, e.g. `charts/episodic_return`.
    pub metric: String,
    /// The value.
    pub value: f64,
    /// Seconds of the run so far (across resumes).
    pub wall_time_s: f64,
}

/// Where a logger's files ended at a flush; a resumed run cuts them back to here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogPosition {
    /// Bytes of `metrics.csv`.
    pub csv: u64,
    /// Bytes of `metrics.jsonl`.
    pub jsonl: u64,
    /// File name of the TensorBoard event file.
    pub tfevents_file: String,
    /// Bytes of that file.
    pub tfevents: u64,
    /// Seconds of the run at the flush.
    pub wall_time_s: f64,
}

/// Appends metric records to `metrics.csv`, `metrics.jsonl` and `events.out.tfevents.*`.
#[derive(Debug)]
pub struct MetricsLogger {
    csv: File,
    jsonl: File,
    tb: TfEventsWriter,
    pending_csv: String,
    pending_jsonl: String,
    start: Instant,
    /// Run seconds before this logger started (earlier sessions of a resumed run).
    wall_offset: f64,
    /// Unix time of `start`, for TensorBoard's wall-time axis.
    unix_start: f64,
    last_flush: Instant,
    flush_every: Duration,
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().append(true).open(path)
}

impl MetricsLogger {
    /// A logger writing new files into `dir`.
    pub fn create(dir: &Path) -> io::Result<Self> {
        std::fs::write(dir.join("metrics.csv"), CSV_HEADER)?;
        std::fs::write(dir.join("metrics.jsonl"), "")?;
        let tb = TfEventsWriter::create(dir)?;
        Self::open(dir, tb, 0.0)
    }

    /// A logger continuing the files in `dir` from `position`, dropping what was written
    /// after it (records of steps that the resumed run takes again).
    pub fn resume(dir: &Path, position: &LogPosition) -> io::Result<Self> {
        for (name, len) in [
            ("metrics.csv", position.csv),
            ("metrics.jsonl", position.jsonl),
        ] {
            let file = OpenOptions::new().write(true).open(dir.join(name))?;
            if file.metadata()?.len() < len {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{name} is shorter than the checkpoint says: it was cut or replaced"),
                ));
            }
            file.set_len(len)?;
        }
        let tb = TfEventsWriter::reopen(&dir.join(&position.tfevents_file), position.tfevents)?;
        Self::open(dir, tb, position.wall_time_s)
    }

    fn open(dir: &Path, tb: TfEventsWriter, wall_offset: f64) -> io::Result<Self> {
        let now = Instant::now();
        let unix_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Ok(Self {
            csv: append(&dir.join("metrics.csv"))?,
            jsonl: append(&dir.join("metrics.jsonl"))?,
            tb,
            pending_csv: String::new(),
            pending_jsonl: String::new(),
            start: now,
            wall_offset,
            unix_start,
            last_flush: now,
            flush_every: Duration::from_secs(5),
        })
    }

    /// Seconds of the run so far (across resumes).
    pub fn wall_time_s(&self) -> f64 {
        self.wall_offset + self.start.elapsed().as_secs_f64()
    }

    /// Records `value` for `metric` at `global_step`; flushes every few seconds. Non-finite
    /// values are recorded as they are (a NaN loss is worth seeing) but written as `NaN` /
    /// `inf` in CSV and `null` in JSON.
    pub fn log(&mut self, global_step: u64, metric: &str, value: f64) -> io::Result<()> {
        let elapsed = self.start.elapsed().as_secs_f64();
        let wall = self.wall_offset + elapsed;
        self.pending_csv
            .push_str(&format!("{global_step},{metric},{value},{wall:.3}\n"));
        let json_value = if value.is_finite() {
            serde_json::Value::from(value)
        } else {
            serde_json::Value::Null
        };
        let line = serde_json::json!({
            "global_step": global_step,
            "metric": metric,
            "value": json_value,
            "wall_time_s": (wall * 1000.0).round() / 1000.0,
        });
        self.pending_jsonl.push_str(&line.to_string());
        self.pending_jsonl.push('\n');
        self.tb
            .scalar(global_step, metric, value, self.unix_start + elapsed)?;
        // Every few seconds, or sooner when a fast run (tabular, 10⁶ steps/s) has buffered
        // a megabyte: memory stays flat however fast the rows come.
        if self.last_flush.elapsed() >= self.flush_every || self.pending_csv.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends the buffered records to the files and returns where they now end.
    pub fn flush(&mut self) -> io::Result<LogPosition> {
        self.csv.write_all(self.pending_csv.as_bytes())?;
        self.jsonl.write_all(self.pending_jsonl.as_bytes())?;
        self.pending_csv.clear();
        self.pending_jsonl.clear();
        let tfevents = self.tb.flush()?;
        self.last_flush = Instant::now();
        Ok(LogPosition {
            csv: self.csv.metadata()?.len(),
            jsonl: self.jsonl.metadata()?.len(),
            tfevents_file: self
                .tb
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tfevents,
            wall_time_s: self.wall_time_s(),
        })
    }
}

/// Reads a `metrics.csv` written by [`MetricsLogger`].
pub fn read_metrics_csv(path: &Path) -> io::Result<Vec<MetricRecord>> {
    let mut records = Vec::new();
    for_each_metric(path, |record| records.push(record))?;
    Ok(records)
}

/// Streams the records of a `metrics.csv` to `visit`, one line at a time, so a reader that
/// keeps one metric of a long run (a 40M-step run logs millions of rows) holds only that.
/// A last line without its newline is a record a killed run was writing: it is skipped.
pub fn for_each_metric(path: &Path, mut visit: impl FnMut(MetricRecord)) -> io::Result<()> {
    use std::io::BufRead;
    let mut reader = io::BufReader::new(File::open(path)?);
    let bad = |line: usize, why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{line}: {why}", path.display()),
        )
    };
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if line.trim_end() != CSV_HEADER.trim_end() {
        return Err(bad(
            1,
            "not a reverie metrics file (expected header global_step,metric,value,wall_time_s)",
        ));
    }
    for number in 2.. {
        line.clear();
        if reader.read_line(&mut line)? == 0 || !line.ends_with('\n') {
            return Ok(());
        }
        let fields: Vec<&str> = line.trim_end().split(',').collect();
        if fields.len() != 4 {
            return Err(bad(number, "expected 4 comma-separated fields"));
        }
        let parse = |s: &str| s.parse::<f64>().map_err(|_| bad(number, "not a number"));
        visit(MetricRecord {
            global_step: fields[0]
                .parse()
                .map_err(|_| bad(number, "global_step is not an integer"))?,
            metric: fields[1].to_string(),
            value: parse(fields[2])?,
            wall_time_s: parse(fields[3])?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip() {
        let dir = std::env::temp_dir().join(format!("reverie-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut logger = MetricsLogger::create(&dir).unwrap();
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

    #[test]
    fn files_are_appended_and_a_resume_cuts_them_back_to_the_checkpoint() {
        let dir =
            std::env::temp_dir().join(format!("reverie-metrics-resume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut logger = MetricsLogger::create(&dir).unwrap();
        logger.log(1, "a", 1.0).unwrap();
        let position = logger.flush().unwrap();
        logger.log(2, "a", 2.0).unwrap();
        logger.flush().unwrap();
        drop(logger);
        // A run killed while writing leaves a torn line; readers skip it.
        let mut csv = append(&dir.join("metrics.csv")).unwrap();
        csv.write_all(b"3,a,3").unwrap();
        let steps = |records: Vec<MetricRecord>| -> Vec<u64> {
            records.iter().map(|r| r.global_step).collect()
        };
        assert_eq!(
            steps(read_metrics_csv(&dir.join("metrics.csv")).unwrap()),
            [1, 2]
        );

        let mut logger = MetricsLogger::resume(&dir, &position).unwrap();
        logger.log(4, "a", 4.0).unwrap();
        logger.flush().unwrap();
        assert_eq!(
            steps(read_metrics_csv(&dir.join("metrics.csv")).unwrap()),
            [1, 4]
        );
        let jsonl = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
        assert_eq!(jsonl.lines().count(), 2);
        let events = crate::tfevents::read_scalars(&dir.join(&position.tfevents_file)).unwrap();
        let tb_steps: Vec<u64> = events.iter().map(|e| e.0).collect();
        assert_eq!(tb_steps, [1, 4]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
