//! The classic-control pictures, with Gymnasium 1.4.0's geometry and colours.
//!
//! Each function draws one env's state into a frame of any size. World coordinates are
//! Gymnasium's pygame surface coordinates at the natural size (pixels, y up, as drawn before
//! its final vertical flip), scaled to the frame. Where Gymnasium rounds a position to whole
//! pixels (circle centres and radii, the flag, the track line) the same rounding is applied
//! in world coordinates, so the full-size frame lines up with Gymnasium's to the pixel.

use std::f64::consts::{FRAC_PI_2, PI};

use reverie_core::Frame;

use super::{Canvas, Rgb, Transform};

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

/// CartPole's and Mountain Car's natural frame size.
pub const CARTPOLE_SIZE: (usize, usize) = (600, 400);
/// Pendulum's natural frame size.
pub const PENDULUM_SIZE: (usize, usize) = (500, 500);
/// Mountain Car's natural frame size.
pub const MOUNTAIN_CAR_SIZE: (usize, usize) = (600, 400);
/// Acrobot's natural frame size.
pub const ACROBOT_SIZE: (usize, usize) = (500, 500);

/// Gymnasium's track height for CartPole (pixels from the bottom of a 400-pixel frame).
pub const CARTPOLE_TRACK_Y: f64 = 100.0;

/// A canvas over `frame` with world = the natural `size` surface, y up.
fn canvas(frame: &mut Frame, size: (usize, usize)) -> Canvas<'_> {
    let (w, h) = (frame.width(), frame.height());
    Canvas::new(
        frame,
        Transform::fit_y_up(size.0 as f64, size.1 as f64, w, h),
    )
}

/// `v` rotated by `a` radians counter-clockwise (pygame's `Vector2.rotate_rad`).
#[inline]
fn rotate(v: (f64, f64), a: f64) -> (f64, f64) {
    let (s, c) = a.sin_cos();
    (v.0 * c - v.1 * s, v.0 * s + v.1 * c)
}

/// Python's `int()` of a float: truncation towards zero.
#[inline]
fn trunc(x: f64) -> f64 {
    x.trunc()
}

/// A pygame `gfxdraw.filled_circle` + `aacircle` of integer centre `(cx, cy)` and integer
/// radius `r` (surface pixels): the disc of radius `r + 1/2` around the centre of that pixel.
fn pixel_disc(canvas: &mut Canvas<'_>, cx: f64, cy: f64, r: f64, rgb: Rgb) {
    canvas.fill_circle((trunc(cx) + 0.5, trunc(cy) + 0.5), trunc(r) + 0.5, rgb);
}

/// The rectangle `l, r, b, t` rotated by `a` and moved by `at`, as Gymnasium builds its
/// poles, rods and links.
fn rotated_rect(l: f64, r: f64, b: f64, t: f64, a: f64, at: (f64, f64)) -> [(f64, f64); 4] {
    [(l, b), (l, t), (r, t), (r, b)].map(|c| {
        let p = rotate(c, a);
        (p.0 + at.0, p.1 + at.1)
    })
}

/// The cart-pole: cart at `x` (m) on a track of half-length `x_threshold` (the frame's width),
/// pole at `theta` (radians from upright, positive towards +x) of half-length `length`, track
/// line `track_y` surface pixels above the bottom of the 600 × 400 surface
/// ([`CARTPOLE_TRACK_Y`] for Gymnasium's CartPole).
pub fn cartpole(
    frame: &mut Frame,
    x: f64,
    theta: f64,
    x_threshold: f64,
    length: f64,
    track_y: f64,
) {
    let (w, _) = CARTPOLE_SIZE;
    let mut c = canvas(frame, CARTPOLE_SIZE);
    c.clear(WHITE);
    let scale = w as f64 / (2.0 * x_threshold);
    let pole_width = 10.0;
    let pole_len = scale * (2.0 * length);
    let (cart_w, cart_h) = (50.0, 30.0);
    let axle_offset = cart_h / 4.0;
    let cart_x = x * scale + w as f64 / 2.0;
    let cart_y = track_y;
    c.fill_polygon(
        &rotated_rect(
            -cart_w / 2.0,
            cart_w / 2.0,
            -cart_h / 2.0,
            cart_h / 2.0,
            0.0,
            (cart_x, cart_y),
        ),
        BLACK,
    );
    let half = pole_width / 2.0;
    c.fill_polygon(
        &rotated_rect(
            -half,
            half,
            -half,
            pole_len - half,
            -theta,
            (cart_x, cart_y + axle_offset),
        ),
        [202, 152, 101],
    );
    pixel_disc(&mut c, cart_x, cart_y + axle_offset, half, [129, 132, 203]);
    let ty = trunc(cart_y);
    c.fill_rect((0.0, ty), (w as f64, ty + 1.0), BLACK);
}

/// The pendulum at `theta` (radians, 0 upright, positive counter-clockwise) on a 500 × 500
/// surface. With `last_u` (the last torque, N·m) a black arc arrow around the pivot shows its
/// direction and size, where Gymnasium blits its `clockwise.png` (drawn here as shapes, not
/// copied): clockwise for a negative torque, `113.6 · |u| / 2` pixels across.
pub fn pendulum(frame: &mut Frame, theta: f64, last_u: Option<f64>) {
    let dim = PENDULUM_SIZE.0 as f64;
    let mut c = canvas(frame, PENDULUM_SIZE);
    c.clear(WHITE);
    let scale = dim / (2.2 * 2.0);
    let offset = (PENDULUM_SIZE.0 / 2) as f64;
    let rod_len = scale;
    let rod_w = 0.2 * scale;
    let red = [204, 77, 77];
    let a = theta + FRAC_PI_2;
    c.fill_polygon(
        &rotated_rect(0.0, rod_len, -rod_w / 2.0, rod_w / 2.0, a, (offset, offset)),
        red,
    );
    pixel_disc(&mut c, offset, offset, rod_w / 2.0, red);
    let end = rotate((rod_len, 0.0), a);
    pixel_disc(&mut c, end.0 + offset, end.1 + offset, rod_w / 2.0, red);
    if let Some(u) = last_u {
        torque_arrow(&mut c, (offset, offset), scale * u.abs() / 2.0, u > 0.0);
    }
    pixel_disc(&mut c, offset, offset, 0.05 * scale, BLACK);
}

/// A black three-quarter-circle arrow `size` across centred on `center`: clockwise, or
/// counter-clockwise when `counter_clockwise`.
fn torque_arrow(c: &mut Canvas<'_>, center: (f64, f64), size: f64, counter_clockwise: bool) {
    if size <= 0.0 {
        return;
    }
    let r = 0.44 * size;
    let lw = 0.032 * size;
    let mirror = |p: (f64, f64)| {
        if counter_clockwise {
            (2.0 * center.0 - p.0, p.1)
        } else {
            p
        }
    };
    // Clockwise from the top round to the left side (angles in the y-up world).
    let (a0, a1) = (FRAC_PI_2, -PI + 0.25);
    let n = 48;
    let pts: Vec<(f64, f64)> = (0..=n)
        .map(|i| {
            let a = a0 + (a1 - a0) * i as f64 / n as f64;
            mirror((center.0 + r * a.cos(), center.1 + r * a.sin()))
        })
        .collect();
    c.stroke_polyline(&pts, lw, BLACK);
    // Arrow head at the end, pointing along the clockwise tangent.
    let (s, co) = a1.sin_cos();
    let base = (center.0 + r * co, center.1 + r * s);
    let tangent = (s, -co);
    let normal = (co, s);
    let (len, half) = (0.17 * size, 0.075 * size);
    let head = [
        (base.0 + tangent.0 * len, base.1 + tangent.1 * len),
        (base.0 + normal.0 * half, base.1 + normal.1 * half),
        (base.0 - normal.0 * half, base.1 - normal.1 * half),
    ]
    .map(mirror);
    c.fill_polygon(&head, BLACK);
}

/// Height of the mountain-car hill at `x`.
#[inline]
fn hill(x: f64) -> f64 {
    (3.0 * x).sin() * 0.45 + 0.55
}

/// The mountain car at `position` on the hill `sin(3x)·0.45 + 0.55` over `[min_position,
/// max_position]`, with the goal flag at `goal_position`, on a 600 × 400 surface.
pub fn mountain_car(
    frame: &mut Frame,
    position: f64,
    min_position: f64,
    max_position: f64,
    goal_position: f64,
) {
    let (w, _) = MOUNTAIN_CAR_SIZE;
    let mut c = canvas(frame, MOUNTAIN_CAR_SIZE);
    c.clear(WHITE);
    let scale = w as f64 / (max_position - min_position);
    let (car_w, car_h) = (40.0, 20.0);
    // The hill: pygame's anti-aliased line through 100 points (pixel centres at +1/2).
    let curve: Vec<(f64, f64)> = (0..100)
        .map(|i| {
            let x = min_position + (max_position - min_position) * i as f64 / 99.0;
            ((x - min_position) * scale + 0.5, hill(x) * scale + 0.5)
        })
        .collect();
    c.stroke_polyline(&curve, 1.0, BLACK);
    let clearance = 10.0;
    let angle = (3.0 * position).cos();
    let at = (
        (position - min_position) * scale,
        clearance + hill(position) * scale,
    );
    c.fill_polygon(
        &rotated_rect(-car_w / 2.0, car_w / 2.0, 0.0, car_h, angle, at),
        BLACK,
    );
    for dx in [car_w / 4.0, -car_w / 4.0] {
        let p = rotate((dx, 0.0), angle);
        pixel_disc(&mut c, p.0 + at.0, p.1 + at.1, car_h / 2.5, [128, 128, 128]);
    }
    let flag_x = trunc((goal_position - min_position) * scale);
    let flag_y1 = trunc(hill(goal_position) * scale);
    let flag_y2 = flag_y1 + 50.0;
    c.fill_rect((flag_x, flag_y1), (flag_x + 1.0, flag_y2 + 1.0), BLACK);
    c.fill_polygon(
        &[
            (flag_x + 0.5, flag_y2 + 0.5),
            (flag_x + 0.5, flag_y2 - 9.5),
            (flag_x + 25.5, flag_y2 - 4.5),
        ],
        [204, 204, 0],
    );
}

/// The acrobot with link angles `theta1` (from hanging down) and `theta2` (relative to the
/// first link), links of lengths `l1` and `l2` (m), and the target line one link length above
/// the pivot, on a 500 × 500 surface.
pub fn acrobot(frame: &mut Frame, theta1: f64, theta2: f64, l1: f64, l2: f64) {
    let dim = ACROBOT_SIZE.0 as f64;
    let mut c = canvas(frame, ACROBOT_SIZE);
    c.clear(WHITE);
    let bound = l1 + l2 + 0.2;
    let scale = dim / (bound * 2.0);
    let offset = dim / 2.0;
    let line_y = trunc(1.0 * scale + offset);
    c.fill_rect(
        (trunc(-2.2 * scale + offset), line_y),
        (trunc(2.2 * scale + offset) + 1.0, line_y + 1.0),
        BLACK,
    );
    let joints = [
        (0.0, 0.0),
        (l1 * theta1.sin() * scale, -l1 * theta1.cos() * scale),
    ];
    let thetas = [theta1 - FRAC_PI_2, theta1 + theta2 - FRAC_PI_2];
    let lens = [l1 * scale, l2 * scale];
    for k in 0..2 {
        let (x, y) = (joints[k].0 + offset, joints[k].1 + offset);
        c.fill_polygon(
            &rotated_rect(0.0, lens[k], -0.1 * scale, 0.1 * scale, thetas[k], (x, y)),
            [0, 204, 204],
        );
        pixel_disc(&mut c, x, y, 0.1 * scale, [204, 204, 0]);
    }
}
