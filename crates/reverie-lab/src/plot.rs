//! Learning-curve plots (PNG and SVG): the mean over runs with a ±1 standard deviation band,
//! one colour per group (algorithm × env, or any label).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use reverie_core::atomic::write_atomic;
use reverie_core::metrics::read_metrics_csv;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The bitmap backend draws text with this embedded font, so plots need no system
        // fonts; failure would only mean an unreadable font file, which the tests catch.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// `(x, mean, std)` points of an aggregated curve.
type Aggregate = Vec<(f64, f64, f64)>;

/// One group of runs drawn as one line with a band.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// Each run's `(x, y)` points, x ascending.
    pub runs: Vec<Vec<(f64, f64)>>,
    /// Average each run over a trailing window before aggregating (noisy episodic returns);
    /// off for curves that are already averages.
    pub smooth: bool,
}

impl Curve {
    /// A smoothed curve (the usual choice for episodic returns).
    pub fn smoothed(label: impl Into<String>, runs: Vec<Vec<(f64, f64)>>) -> Self {
        Self {
            label: label.into(),
            runs,
            smooth: true,
        }
    }

    /// A curve drawn from the raw points.
    pub fn raw(label: impl Into<String>, runs: Vec<Vec<(f64, f64)>>) -> Self {
        Self {
            label: label.into(),
            runs,
            smooth: false,
        }
    }
}

/// Mean and standard deviation of the smoothed runs on a common grid:
/// `(x, mean, std)` where at least one run has data.
///
/// Each run is smoothed by averaging its last `window` points at or before x (episodic
/// returns are noisy); `window` is 1/20 of the run's points, at least 1.
pub fn aggregate(curve: &Curve, grid_points: usize) -> Vec<(f64, f64, f64)> {
    // Raw curves whose runs share their x values (experiments over episodes, seeds, sizes)
    // are aggregated point by point, with no resampling.
    if !curve.smooth && !curve.runs.is_empty() {
        let xs: Vec<f64> = curve.runs[0].iter().map(|p| p.0).collect();
        if curve
            .runs
            .iter()
            .all(|r| r.len() == xs.len() && r.iter().zip(&xs).all(|(p, x)| p.0 == *x))
        {
            let n = curve.runs.len() as f64;
            return xs
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let mean = curve.runs.iter().map(|r| r[i].1).sum::<f64>() / n;
                    let var = curve
                        .runs
                        .iter()
                        .map(|r| (r[i].1 - mean).powi(2))
                        .sum::<f64>()
                        / n;
                    (x, mean, var.sqrt())
                })
                .collect();
        }
    }
    let min_x = curve
        .runs
        .iter()
        .filter_map(|r| r.first().map(|p| p.0))
        .fold(f64::INFINITY, f64::min);
    let max_x = curve
        .runs
        .iter()
        .filter_map(|r| r.last().map(|p| p.0))
        .fold(0.0_f64, f64::max);
    if !min_x.is_finite() || max_x <= min_x || grid_points < 2 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(grid_points);
    for g in 0..grid_points {
        let x = min_x + (max_x - min_x) * g as f64 / (grid_points - 1) as f64;
        let values: Vec<f64> = curve
            .runs
            .iter()
            .filter_map(|run| {
                let upto = run.partition_point(|p| p.0 <= x);
                if upto == 0 {
                    return None;
                }
                let window = if curve.smooth {
                    (run.len() / 20).max(1)
                } else {
                    1
                };
                let from = upto.saturating_sub(window);
                let slice = &run[from..upto];
                Some(slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64)
            })
            .collect();
        if values.is_empty() {
            continue;
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        out.push((x, mean, var.sqrt()));
    }
    out
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    curves: &[Curve],
    title: &str,
    x_label: &str,
    y_label: &str,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot drawing failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let series: Vec<(String, Aggregate)> = curves
        .iter()
        .map(|c| (c.label.clone(), aggregate(c, 200)))
        .collect();
    let points = series.iter().flat_map(|(_, s)| s.iter());
    let (mut x_min, mut x_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_min, mut y_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(x, m, s) in points {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(m - s);
        y_max = y_max.max(m + s);
    }
    if !y_min.is_finite() {
        (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
    }
    if x_max <= x_min {
        x_max = x_min + 1.0;
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_min..x_max, (y_min - pad)..(y_max + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .x_label_formatter(&|x| format_tick(*x))
        .y_label_formatter(&|y| format_tick(*y))
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, (label, s)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        if s.len() > 1 && s.iter().any(|p| p.2 > 0.0) {
            let mut band: Vec<(f64, f64)> = s.iter().map(|&(x, m, sd)| (x, m + sd)).collect();
            band.extend(s.iter().rev().map(|&(x, m, sd)| (x, m - sd)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                s.iter().map(|&(x, m, _)| (x, m)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
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
    let mut pixels = vec![0u8; (width * height * 3) as usize];
    {
        let backend = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        draw(backend, curves, title, x_label, y_label)?;
    }
    let mut svg_text = String::new();
    {
        let backend = SVGBackend::with_string(&mut svg_text, (width, height)).into_drawing_area();
        draw(backend, curves, title, x_label, y_label)?;
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

/// `(x, y)` points of `metric` in a run directory's `metrics.csv`.
pub fn read_metric(run_dir: &Path, metric: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let records = read_metrics_csv(&run_dir.join("metrics.csv"))?;
    Ok(records
        .into_iter()
        .filter(|r| r.metric == metric && r.value.is_finite())
        .map(|r| (r.global_step as f64, r.value))
        .collect())
}

/// Axis tick text: integers without a decimal point, small numbers with up to 3 digits.
fn format_tick(value: f64) -> String {
    if (value.fract() == 0.0 && value.abs() < 1e15) || value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
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
    fn aggregate_averages_runs() {
        let curve = Curve::smoothed(
            "x",
            vec![vec![(1.0, 1.0), (2.0, 1.0)], vec![(1.0, 3.0), (2.0, 3.0)]],
        );
        let agg = aggregate(&curve, 3);
        let last = agg.last().unwrap();
        assert_eq!(last.0, 2.0);
        assert!((last.1 - 2.0).abs() < 1e-12);
        assert!((last.2 - 1.0).abs() < 1e-12);
    }

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
}
