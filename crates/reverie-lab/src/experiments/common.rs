//! Pieces shared by the experiments: statistics, tables, greedy rollouts.

use std::path::Path;

use reverie_agents::QTable;
use reverie_core::atomic::write_atomic;

/// Mean and half-width of a normal 95% confidence interval (1.96 standard errors).
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 1.96 * (var / n).sqrt())
}

/// Sample standard deviation.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// Steps the greedy policy of `q` (first maximum on ties, so the result is a property of
/// the table alone) takes from `start` to termination under a deterministic `transition`,
/// or `None` if it does not terminate within `max_steps`.
pub fn greedy_path_length(
    q: &QTable,
    start: usize,
    max_steps: usize,
    transition: impl Fn(usize, usize) -> (usize, bool),
) -> Option<usize> {
    let mut s = start;
    for step in 1..=max_steps {
        let row = q.row(s);
        let mut best = 0;
        for (a, &v) in row.iter().enumerate() {
            if v > row[best] {
                best = a;
            }
        }
        let (next, terminated) = transition(s, best);
        if terminated {
            return Some(step);
        }
        s = next;
    }
    None
}

/// One CSV cell: as it is, or in double quotes (inner quotes doubled) where it must be.
fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

/// A table written as CSV and printed as aligned text.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.header.len());
        self.rows.push(row);
    }

    /// CSV text (RFC 4180: a cell holding a comma, quote or line break is quoted, as
    /// labels such as "3-step, lr annealed to 0" are).
    pub fn to_csv(&self) -> String {
        let line = |cells: &[String]| {
            let quoted: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            quoted.join(",") + "\n"
        };
        let mut out = line(&self.header);
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }

    /// Writes the CSV atomically.
    pub fn write_csv(&self, path: &Path) -> anyhow::Result<()> {
        write_atomic(path, self.to_csv().as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    }

    /// Aligned text for the terminal.
    pub fn to_text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].len())
                    .chain(std::iter::once(self.header[c].len()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:>w$}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        let mut out = line(&self.header);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// Formats a float with `digits` decimals ("n/a" for NaN).
pub fn fmt(x: f64, digits: usize) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{x:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_cells_with_commas_and_quotes_only() {
        let mut table = Table::new(&["configuration", "seeds"]);
        table.push(vec!["3-step, lr annealed to 0".into(), "10".into()]);
        table.push(vec!["say \"hi\"".into(), "5".into()]);
        table.push(vec!["rl-zoo".into(), "10".into()]);
        assert_eq!(
            table.to_csv(),
            "configuration,seeds\n\"3-step, lr annealed to 0\",10\n\"say \"\"hi\"\"\",5\nrl-zoo,10\n"
        );
    }
}
