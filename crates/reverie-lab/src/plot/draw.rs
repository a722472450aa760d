//! Drawing curves on a plotters area: ranges, ticks that fit, bands, markers, legend.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ticks::Axis;
use super::{aggregate, Curve, Point};

/// Grid points of a resampled curve.
const GRID_POINTS: usize = 200;
/// Curves with at most this many points get a circle on each (evaluations, per-episode
/// experiments): a line through a handful of points hides where the data is, and a single
/// point would not show at all.
const MARKER_MAX_POINTS: usize = 30;
/// Margin around the chart, in pixels.
const MARGIN: u32 = 12;
/// Tick label font size, in pixels.
const LABEL_PX: u32 = 14;

/// One curve, aggregated and ready to draw.
struct Series {
    legend: String,
    points: Vec<Point>,
}

impl Series {
    fn markers(&self) -> bool {
        self.points.len() <= MARKER_MAX_POINTS
    }
}

/// Space around the plotting area that the tick labels need.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Layout {
    /// Right margin: the last x tick label is centred on the right edge of the plot, so
    /// half of the widest label must fit beyond it (a fixed margin cut "100000" to "10000").
    pub right_margin: u32,
    /// Width left of the plot: the widest y tick label, the tick and the rotated y title.
    pub y_label_area: u32,
}

impl Layout {
    /// The layout for tick labels at most `widest_x` and `widest_y` pixels wide.
    pub fn for_labels(widest_x: u32, widest_y: u32) -> Self {
        Self {
            right_margin: MARGIN.max(widest_x.div_ceil(2) + 8),
            y_label_area: 60.max(widest_y + 40),
        }
    }
}

/// Draws `curves` on `root`.
pub(super) fn draw<DB: DrawingBackend>(
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
    let series: Vec<Series> = curves
        .iter()
        .map(|c| Series {
            legend: c.legend(),
            points: aggregate(c, GRID_POINTS),
        })
        .collect();
    let raw = || curves.iter().flat_map(|c| c.runs.iter().flatten());
    let x_integer = raw().all(|p| p.0.fract() == 0.0);
    let y_integer = raw().all(|p| p.1.fract() == 0.0);
    let ((x_range, x_integer), (y_range, y_integer)) = ranges(&series, x_integer, y_integer);
    let x_axis = Axis::new(x_range.clone(), x_integer);
    let y_axis = Axis::new(y_range.clone(), y_integer);

    let label_style = TextStyle::from(("sans-serif", LABEL_PX).into_font());
    let widest = |axis: &Axis| {
        axis.texts()
            .filter_map(|t| root.estimate_text_size(&t, &label_style).ok())
            .map(|(w, _)| w)
            .max()
            .unwrap_or(0)
    };
    let layout = Layout::for_labels(widest(&x_axis), widest(&y_axis));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(MARGIN)
        .margin_right(layout.right_margin)
        .x_label_area_size(40)
        .y_label_area_size(layout.y_label_area)
        .build_cartesian_2d(x_range.clone(), y_range.clone())
        .map_err(err)?;
    let x_text = |x: &f64| x_axis.format.format(*x);
    let y_text = |y: &f64| y_axis.format.format(*y);
    chart
        .configure_mesh()
        .x_labels(x_axis.labels)
        .y_labels(y_axis.labels)
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&x_text)
        .y_label_formatter(&y_text)
        .label_style(label_style.clone())
        .draw()
        .map_err(err)?;
    for (i, s) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let p = &s.points;
        if p.len() > 1 && p.iter().any(|q| q.band > 0.0) {
            let mut band: Vec<(f64, f64)> = p.iter().map(|q| (q.x, q.mean + q.band)).collect();
            band.extend(p.iter().rev().map(|q| (q.x, q.mean - q.band)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
                .map_err(err)?;
        } else if let [q] = p.as_slice() {
            // A band needs two x values; one point gets an error bar instead.
            if q.band > 0.0 {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(q.x, q.mean - q.band), (q.x, q.mean + q.band)],
                        color.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
        }
        let radius = if s.markers() { 4 } else { 0 };
        if s.markers() {
            chart
                .draw_series(
                    p.iter()
                        .map(|q| Circle::new((q.x, q.mean), radius, color.filled())),
                )
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(
                p.iter().map(|q| (q.x, q.mean)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(s.legend.as_str())
            .legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (20, 0)], color.stroke_width(2))
                    + Circle::new((10, 0), radius, color.filled())
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", LABEL_PX))
        .position(legend_corner(&series, &x_range, &y_range))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// An axis's range and whether it gets integer ticks.
type AxisRange = (Range<f64>, bool);

/// The x and y ranges, each with whether it gets integer ticks: all means and bands, y
/// padded by 5%; a single x value or a flat curve gets room around it.
///
/// Integer data (steps, episodes, steps per episode) gets integer ticks when its range spans
/// at least 2, and then a range ending on whole numbers so the ticks reach both ends; a
/// smaller range needs fractional ticks (returns of 0 or 1 averaged over episodes and runs).
fn ranges(series: &[Series], x_integer: bool, y_integer: bool) -> (AxisRange, AxisRange) {
    let (mut x_min, mut x_max) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_min, mut y_max) = (f64::INFINITY, f64::NEG_INFINITY);
    for q in series.iter().flat_map(|s| &s.points) {
        x_min = x_min.min(q.x);
        x_max = x_max.max(q.x);
        y_min = y_min.min(q.mean - q.band);
        y_max = y_max.max(q.mean + q.band);
    }
    if !y_min.is_finite() {
        return ((0.0..1.0, false), (0.0..1.0, false));
    }
    if x_max <= x_min {
        let room = (x_min.abs() * 0.05).max(1.0);
        (x_min, x_max) = (x_min - room, x_max + room);
    }
    let pad = if y_max > y_min {
        (y_max - y_min) * 0.05
    } else {
        (y_min.abs() * 0.1).max(0.1)
    };
    let snap = |(min, max): (f64, f64), integer: bool| {
        let integer = integer && max - min >= 2.0;
        if integer && max - min < 10.0 {
            (min.floor()..max.ceil(), true)
        } else {
            (min..max, integer)
        }
    };
    (
        snap((x_min, x_max), x_integer),
        snap((y_min - pad, y_max + pad), y_integer),
    )
}

/// The corner whose quarter of the chart holds the fewest curve points, so the legend
/// hides as little data as possible (lower right first: learning curves rise).
fn legend_corner(series: &[Series], x: &Range<f64>, y: &Range<f64>) -> SeriesLabelPosition {
    let corners = [
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let count = |right: bool, upper: bool| {
        series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|q| {
                let fx = (q.x - x.start) / (x.end - x.start);
                let fy = (q.mean - y.start) / (y.end - y.start);
                (if right { fx > 0.5 } else { fx < 0.5 })
                    && (if upper { fy > 0.65 } else { fy < 0.35 })
            })
            .count()
    };
    let mut best = (SeriesLabelPosition::LowerRight, usize::MAX);
    for (corner, right, upper) in corners {
        let n = count(right, upper);
        if n < best.1 {
            best = (corner, n);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::super::render_rgb;
    use super::*;

    fn white_column(pixels: &[u8], (w, h): (u32, u32), x: u32, rows: Range<u32>) -> bool {
        rows.filter(|&y| y < h)
            .all(|y| pixels[((y * w + x) * 3) as usize..][..3] == [255, 255, 255])
    }

    #[test]
    fn margins_leave_room_for_the_widest_labels() {
        // Half of a 60 px label sticks out past the last tick, plus a gap to the edge.
        let layout = Layout::for_labels(60, 80);
        assert!(layout.right_margin > 30);
        // The y labels plus the rotated title beside them.
        assert!(layout.y_label_area >= 80 + 20);
        assert_eq!(Layout::for_labels(0, 0).right_margin, MARGIN);
    }

    #[test]
    fn the_last_x_tick_label_is_not_cut() {
        // The reported plot: 0..100000 steps, whose last label lost its last digit.
        let size = (960, 600);
        let curve = Curve::smoothed(
            "demo",
            vec![(0..=100).map(|i| (i as f64 * 1000.0, i as f64)).collect()],
        );
        let pixels = render_rgb(&[curve], "demo", "steps", "return", size).unwrap();
        // The tick labels sit just below the plot; nothing of them may touch the right
        // edge, where a cut label would end.
        assert!(white_column(&pixels, size, size.0 - 1, 0..size.1));
        assert!(white_column(&pixels, size, size.0 - 4, 0..size.1));
    }

    #[test]
    fn a_single_point_is_drawn() {
        let size = (960, 600);
        let one = Curve::raw("one", vec![vec![(5.0, 0.5)]]);
        let pixels = render_rgb(&[one], "t", "x", "y", size).unwrap();
        // A lone point sits in the middle of its ranges, far from the legend in a corner:
        // Palette99's first colour must show there.
        let coloured = (size.1 * 2 / 5..size.1 * 3 / 5)
            .flat_map(|y| (size.0 * 2 / 5..size.0 * 3 / 5).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let c = &pixels[((y * size.0 + x) * 3) as usize..][..3];
                c[0] > 200 && c[1] < 80 && c[2] < 120
            })
            .count();
        assert!(coloured >= 20, "{coloured} marker pixels");
    }

    #[test]
    fn sparse_curves_get_markers() {
        let series = |n: usize| Series {
            legend: String::new(),
            points: (0..n)
                .map(|i| Point {
                    x: i as f64,
                    mean: 0.0,
                    band: 0.0,
                })
                .collect(),
        };
        assert!(series(1).markers() && series(5).markers());
        assert!(!series(200).markers());
    }

    #[test]
    fn integer_data_ranges_end_on_whole_numbers() {
        let point = |x: f64, mean: f64| Point { x, mean, band: 0.0 };
        let series = |points| Series {
            legend: String::new(),
            points,
        };
        let steps = series(vec![point(1.0, 14.2), point(3.0, 17.5)]);
        let ((x, x_int), (y, y_int)) = ranges(&[steps], true, true);
        assert_eq!((x.start, x.end, x_int), (1.0, 3.0, true));
        assert_eq!((y.start, y.end, y_int), (14.0, 18.0, true));
        // Mean returns of 0/1 episodes: integer data, but a range under 2 needs fractions.
        let returns = series(vec![point(1.0, 0.0), point(3.0, 0.1)]);
        let (_, (y, y_int)) = ranges(&[returns], true, true);
        assert!(!y_int && y.end < 0.2, "{y:?}");
    }
}
