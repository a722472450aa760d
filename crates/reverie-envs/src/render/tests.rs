use super::*;

/// Coverage of every pixel (the red channel of white drawn on black, over 255).
fn coverage(frame: &Frame) -> Vec<f64> {
    frame
        .data()
        .chunks_exact(3)
        .map(|p| f64::from(p[0]) / 255.0)
        .collect()
}

fn draw(w: usize, h: usize, f: impl FnOnce(&mut Canvas<'_>)) -> Frame {
    let mut frame = Frame::new(w, h);
    let mut c = Canvas::new(&mut frame, Transform::IDENTITY);
    f(&mut c);
    frame
}

const WHITE: Rgb = [255, 255, 255];

#[test]
fn half_covered_pixel_is_half_grey() {
    // A square covering the left half of pixel (1, 1) and all of pixel (0, 1).
    let f = draw(4, 4, |c| {
        c.fill_polygon(&[(0.0, 1.0), (1.5, 1.0), (1.5, 2.0), (0.0, 2.0)], WHITE)
    });
    let cov = coverage(&f);
    assert!((cov[4] - 1.0).abs() < 0.01, "{}", cov[4]);
    assert!((cov[5] - 0.5).abs() < 0.01, "{}", cov[5]);
    assert_eq!(cov[6], 0.0);
    assert_eq!(cov[0], 0.0);
}

#[test]
fn diagonal_halves_a_pixel() {
    // The triangle below the diagonal of pixel (0, 0): exactly half of it.
    let f = draw(2, 2, |c| {
        c.fill_polygon(&[(0.0, 0.0), (1.0, 1.0), (0.0, 1.0)], WHITE)
    });
    assert!((coverage(&f)[0] - 0.5).abs() < 0.01);
}

#[test]
fn polygon_total_coverage_is_its_area() {
    // A rotated rectangle 7.3 × 2.9 and a triangle, away from the borders.
    let (a, w, h) = (0.7f64, 7.3, 2.9);
    let (s, co) = a.sin_cos();
    let rect: Vec<(f64, f64)> = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]
        .iter()
        .map(|&(x, y)| (10.3 + x * co - y * s, 6.1 + x * s + y * co))
        .collect();
    let f = draw(24, 24, |c| c.fill_polygon(&rect, WHITE));
    let total: f64 = coverage(&f).iter().sum();
    assert!((total - w * h).abs() < 0.05, "{total} vs {}", w * h);
    let tri: [(f64, f64); 3] = [(2.2, 3.1), (19.7, 5.4), (8.9, 20.6)];
    let area = 0.5
        * ((tri[1].0 - tri[0].0) * (tri[2].1 - tri[0].1)
            - (tri[2].0 - tri[0].0) * (tri[1].1 - tri[0].1))
            .abs();
    let f = draw(24, 24, |c| c.fill_polygon(&tri, WHITE));
    let total: f64 = coverage(&f).iter().sum();
    assert!((total - area).abs() < 0.1, "{total} vs {area}");
}

#[test]
fn disc_coverage_is_pi_r_squared() {
    let f = draw(32, 32, |c| c.fill_circle((15.3, 16.7), 9.4, WHITE));
    let total: f64 = coverage(&f).iter().sum();
    let area = std::f64::consts::PI * 9.4 * 9.4;
    assert!((total - area).abs() < 0.2, "{total} vs {area}");
}

#[test]
fn shapes_are_clipped_at_the_frame_edges() {
    // A square half outside on every side covers exactly the frame.
    let f = draw(5, 3, |c| {
        c.fill_polygon(&[(-3.0, -2.0), (9.0, -2.0), (9.0, 7.0), (-3.0, 7.0)], WHITE)
    });
    assert!(coverage(&f).iter().all(|&v| v == 1.0));
    // A triangle crossing the left edge: the visible part's area.
    let f = draw(8, 8, |c| {
        c.fill_polygon(&[(-4.0, 0.0), (4.0, 0.0), (-4.0, 8.0)], WHITE)
    });
    let total: f64 = coverage(&f).iter().sum();
    // Visible: x in [0, 4], below the line y = 4 - x … the part of the triangle right of 0.
    assert!((total - 8.0).abs() < 0.05, "{total}");
}

#[test]
fn rect_and_polygon_agree() {
    let a = draw(10, 10, |c| c.fill_rect((1.25, 2.5), (7.75, 6.1), WHITE));
    let b = draw(10, 10, |c| {
        c.fill_polygon(&[(1.25, 2.5), (7.75, 2.5), (7.75, 6.1), (1.25, 6.1)], WHITE)
    });
    // Equal up to rounding to 8 bits.
    assert!(a
        .data()
        .iter()
        .zip(b.data())
        .all(|(x, y)| x.abs_diff(*y) <= 1));
}

#[test]
fn polyline_joints_do_not_darken() {
    // A straight polyline of many segments covers as a single line does.
    let pts: Vec<(f64, f64)> = (0..=10).map(|i| (1.0 + i as f64, 4.3)).collect();
    let a = draw(14, 8, |c| c.stroke_polyline(&pts, 1.0, WHITE));
    let b = draw(14, 8, |c| {
        c.stroke_line((1.0, 4.3), (11.0, 4.3), 1.0, WHITE)
    });
    assert_eq!(a, b);
    let total: f64 = coverage(&a).iter().sum();
    assert!((total - 10.0).abs() < 0.05, "{total}");
}

#[test]
fn small_frame_equals_area_averaged_large_frame() {
    // Drawing at 1/8 scale is the full-size drawing area-averaged down.
    let scene = |c: &mut Canvas<'_>| {
        c.clear([255, 255, 255]);
        c.fill_polygon(&[(30.0, 40.0), (170.0, 65.0), (90.0, 150.0)], [0, 0, 0]);
    };
    let mut big = Frame::new(200, 160);
    scene(&mut Canvas::new(&mut big, Transform::IDENTITY));
    let mut small = Frame::new(25, 20);
    let t = Transform {
        sx: 0.125,
        sy: 0.125,
        ox: 0.0,
        oy: 0.0,
    };
    scene(&mut Canvas::new(&mut small, t));
    let down = resize_area(&big, 25, 20);
    assert!(
        mean_abs_diff(&small, &down) < 0.6,
        "{}",
        mean_abs_diff(&small, &down)
    );
}

#[test]
fn y_up_transform_flips() {
    let t = Transform::fit_y_up(600.0, 400.0, 60, 40);
    assert_eq!(t.apply((0.0, 0.0)), (0.0, 40.0));
    assert_eq!(t.apply((600.0, 400.0)), (60.0, 0.0));
}
