//! Learning-curve plots (PNG and SVG): the mean over runs with a band (±1 standard deviation
//! or a 95% confidence interval), one colour per group (algorithm × env, a configuration, or
//! any label). Every legend entry says how many runs it averages and what the band is.

mod aggregate;
mod draw;
pub mod group;
mod ticks;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use plotters::prelude::*;

use reverie_core::atomic::write_atomic;
use reverie_core::metrics::for_each_metric;

pub use aggregate::{aggregate, Point};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bitmap backend draws text with this embedded font, so plots need no system
        // fonts; failure would only mean an unreadable font file, which the tests catch.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// What the shaded band around a mean curve shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Band {
    /// ±1 standard deviation of the runs (their spread).
    #[default]
    Std,
    /// A 95% confidence interval of the mean: ±1.96 · s/√n, s the sample standard deviation
    /// (n − 1 in the denominator: with few seeds the population formula would understate it).
    Ci95,
}

impl Band {
    /// Half-width of the band around `mean` of `values` (0 for fewer than two values).
    pub fn half_width(self, values: &[f64], mean: f64) -> f64 {
        let n = values.len() as f64;
        if values.len() < 2 {
            return 0.0;
        }
        let squares = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>();
        match self {
            Band::Std => (squares / n).sqrt(),
            Band::Ci95 => 1.96 * (squares / (n - 1.0)).sqrt() / n.sqrt(),
        }
    }

    /// How a legend names the band.
    pub fn describe(self) -> &'static str {
        match self {
            Band::Std => "±1 std",
            Band::Ci95 => "95% CI",
        }
    }
}

impl FromStr for Band {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "std" => Ok(Band::Std),
            "ci95" => Ok(Band::Ci95),
            other => Err(format!("unknown band '{other}' (std or ci95)")),
        }
    }
}

/// One group of runs drawn as one line with a band.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// Legend label; the legend adds the run count and the band.
    pub label: String,
    /// Each run's `(x, y)` points, x ascending.
    pub runs: Vec<Vec<(f64, f64)>>,
    /// Average each run over a trailing window before aggregating (noisy episodic returns);
    /// off for curves that are already averages.
    pub smooth: bool,
    /// What the band around the mean shows.
    pub band: Band,
}

impl Curve {
    /// A smoothed curve (the usual choice for episodic returns).
    pub fn smoothed(label: impl Into<String>, runs: Vec<Vec<(f64, f64)>>) -> Self {
        Self {
            label: label.into(),
            runs,
            smooth: true,
            band: Band::Std,
        }
    }

    /// A curve drawn from the raw points.
    pub fn raw(label: impl Into<String>, runs: Vec<Vec<(f64, f64)>>) -> Self {
        Self {
            label: label.into(),
            runs,
            smooth: false,
            band: Band::Std,
        }
    }

    /// The curve for a metric of `metrics.csv`: evaluations (`eval/...`) are already means
    /// over episodes, taken at the same steps in every run, so they are drawn raw; anything
    /// else (episodic returns, losses) is smoothed.
    pub fn for_metric(label: impl Into<String>, metric: &str, runs: Vec<Vec<(f64, f64)>>) -> Self {
        if metric.starts_with("eval/") {
            Self::raw(label, runs)
        } else {
            Self::smoothed(label, runs)
        }
    }

    /// The same curve with another band.
    pub fn with_band(mut self, band: Band) -> Self {
        self.band = band;
        self
    }

    /// Runs with at least one point.
    pub fn run_count(&self) -> usize {
        self.runs.iter().filter(|r| !r.is_empty()).count()
    }

    /// The legend text: the label, the run count and (with more than one run) the band, so
    /// a reader knows how much the curve rests on.
    pub fn legend(&self) -> String {
        match self.run_count() {
            1 => format!("{} (n=1 run)", self.label),
            n => format!(
                "{} (n={n} runs, band: {})",
                self.label,
                self.band.describe()
            ),
        }
    }
}

/// Draws `curves` to `<stem>.png` and `<stem>.svg`; returns both paths.
pub fn plot_curves(
    curves: &[Curve],
    title: &str,
    x_label: &str,
    y_label: &str,
    stem: &Path,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    register_font();
    let (width, height) = (960u32, 600u32);
    let pixels = render_rgb(curves, title, x_label, y_label, (width, height))?;
    let mut svg_text = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg_text, (width, height)).into_drawing_area();
        draw::draw(backend, curves, title, x_label, y_label)?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    // Written atomically: a failed plot never leaves half a file.
    let png_path = stem.with_extension("png");
    let svg_path = stem.with_extension("svg");
    write_atomic(&png_path, &png_bytes)?;
    write_atomic(&svg_path, svg_text.as_bytes())?;
    Ok((png_path, svg_path))
}

/// The plot as RGB pixels, row by row.
fn render_rgb(
    curves: &[Curve],
    title: &str,
    x_label: &str,
    y_label: &str,
    (width, height): (u32, u32),
) -> anyhow::Result<Vec<u8>> {
    register_font();
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let backend = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw::draw(backend, curves, title, x_label, y_label)?;
    }
    Ok(pixels)
}

/// `(x, y)` points of `metric` in a run directory's `metrics.csv`.
pub fn read_metric(run_dir: &Path, metric: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let mut points = Vec::new();
    for_each_metric(&run_dir.join("metrics.csv"), |r| {
        if r.metric == metric && r.value.is_finite() {
            points.push((r.global_step as f64, r.value));
        }
    })?;
    Ok(points)
}

/// Draws the run's training and evaluation curves into `plots/learning_curve.{png,svg}`.
pub fn plot_run(run_dir: &Path, algo: &str, env: &str) -> anyhow::Result<()> {
    let train = read_metric(run_dir, "charts/episodic_return")?;
    let eval = read_metric(run_dir, "eval/episodic_return")?;
    let mut curves = vec![Curve::smoothed("training episodes", vec![train])];
    if !eval.is_empty() {
        curves.push(Curve::raw("greedy evaluation", vec![eval]));
    }
    plot_curves(
        &curves,
        &format!("{algo} on {env}"),
        "environment steps",
        "episodic return",
        &run_dir.join("plots").join("learning_curve"),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_png_and_svg() {
        let dir = std::env::temp_dir().join(format!("reverie-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let curve = Curve::raw(
            "demo",
            vec![(1..50).map(|i| (i as f64, (i as f64).sqrt())).collect()],
        );
        let (png, svg) =
            plot_curves(&[curve], "demo", "steps", "return", &dir.join("curve")).unwrap();
        let png_bytes = std::fs::read(&png).unwrap();
        assert_eq!(&png_bytes[1..4], b"PNG");
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn legend_states_n_and_the_band() {
        let runs = vec![vec![(1.0, 1.0)], vec![(1.0, 2.0)], vec![]];
        assert_eq!(
            Curve::raw("dqn", runs.clone()).legend(),
            "dqn (n=2 runs, band: ±1 std)"
        );
        assert_eq!(
            Curve::raw("dqn", runs).with_band(Band::Ci95).legend(),
            "dqn (n=2 runs, band: 95% CI)"
        );
        assert_eq!(
            Curve::raw("dqn", vec![vec![(1.0, 1.0)]]).legend(),
            "dqn (n=1 run)"
        );
        assert_eq!("ci95".parse::<Band>(), Ok(Band::Ci95));
        assert!("sem".parse::<Band>().unwrap_err().contains("std or ci95"));
    }

    #[test]
    fn eval_metrics_are_drawn_raw() {
        assert!(!Curve::for_metric("a", "eval/episodic_return", vec![]).smooth);
        assert!(Curve::for_metric("a", "charts/episodic_return", vec![]).smooth);
    }
}
