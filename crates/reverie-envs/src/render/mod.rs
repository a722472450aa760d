//! A small anti-aliased rasteriser, and the pictures of the native envs (Gymnasium's
//! `rgb_array` look).
//!
//! Shapes are given in *world* coordinates and drawn straight into a [`Frame`] of any size
//! through a [`Transform`] (scale, offset and an optional vertical flip). Every pixel gets the
//! exact fraction of its square that the shape covers (signed-area accumulation, no
//! sub-sampling), and the shape's colour is blended over the pixel with that fraction. So a
//! scene drawn at 64×64 is the scene drawn at full size and area-averaged down
//! (`cv2.resize(..., INTER_AREA)`), without ever drawing the full-size image: only the pixels
//! in each shape's bounding box are touched.
//!
//! ```
//! use reverie_core::Frame;
//! use reverie_envs::render::{Canvas, Transform};
//!
//! let mut frame = Frame::new(64, 64);
//! // World: a 600 × 400 plane with y pointing up, shown in the whole frame.
//! let mut canvas = Canvas::new(&mut frame, Transform::fit_y_up(600.0, 400.0, 64, 64));
//! canvas.clear([255, 255, 255]);
//! canvas.fill_polygon(&[(275.0, 85.0), (325.0, 85.0), (325.0, 115.0), (275.0, 115.0)], [0, 0, 0]);
//! canvas.fill_circle((300.0, 107.5), 5.5, [129, 132, 203]);
//! canvas.stroke_line((0.0, 100.5), (600.0, 100.5), 1.0, [0, 0, 0]);
//! ```
//!
//! The env pictures are in [`scenes`] (classic control), [`grid`] (toy text) and [`board`]
//! (board games); the envs'
//! [`reverie_core::Env::render`] call them. [`video`] writes animated GIFs of an episode.

pub mod board;
pub mod grid;
mod raster;
pub mod scenes;
pub mod video;

use reverie_core::Frame;

use raster::Coverage;

/// An RGB colour.
pub type Rgb = [u8; 3];

/// An affine map from world coordinates to frame pixel coordinates:
/// `column = sx · x + ox`, `row = sy · y + oy` (continuous; pixel `(c, r)` is the unit square
/// `[c, c + 1] × [r, r + 1]`). A negative `sy` flips the vertical axis (world y up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transform {
    /// Horizontal scale (pixels per world unit).
    pub sx: f64,
    /// Vertical scale (pixels per world unit, negative for y up).
    pub sy: f64,
    /// Horizontal offset (pixels).
    pub ox: f64,
    /// Vertical offset (pixels).
    pub oy: f64,
}

impl Transform {
    /// The identity: world units are frame pixels, y down.
    pub const IDENTITY: Self = Self {
        sx: 1.0,
        sy: 1.0,
        ox: 0.0,
        oy: 0.0,
    };

    /// Maps the world rectangle `[0, world_w] × [0, world_h]`, y up, onto the whole
    /// `width × height` frame. With `world_w × world_h` a Gymnasium screen size, world
    /// coordinates are pygame's surface coordinates before its final vertical flip, with the
    /// surface pixel `(i, j)` covering `[i, i + 1] × [j, j + 1]`.
    pub fn fit_y_up(world_w: f64, world_h: f64, width: usize, height: usize) -> Self {
        let ky = height as f64 / world_h;
        Self {
            sx: width as f64 / world_w,
            sy: -ky,
            ox: 0.0,
            oy: world_h * ky,
        }
    }

    /// Maps the world rectangle `[0, world_w] × [0, world_h]`, y down, onto the whole
    /// `width × height` frame.
    pub fn fit_y_down(world_w: f64, world_h: f64, width: usize, height: usize) -> Self {
        Self {
            sx: width as f64 / world_w,
            sy: height as f64 / world_h,
            ox: 0.0,
            oy: 0.0,
        }
    }

    /// The frame position of the world point `p`.
    #[inline]
    pub fn apply(&self, p: (f64, f64)) -> (f64, f64) {
        (self.sx * p.0 + self.ox, self.sy * p.1 + self.oy)
    }
}

/// Sets every pixel of `data` (whole RGB pixels) to `rgb`.
#[inline]
fn fill_run(data: &mut [u8], rgb: Rgb) {
    if rgb[0] == rgb[1] && rgb[1] == rgb[2] {
        data.fill(rgb[0]);
        return;
    }
    // Write a few pixels, then double the written part until the run is full.
    let n = data.len();
    let first = n.min(48);
    for px in data[..first].chunks_exact_mut(3) {
        px.copy_from_slice(&rgb);
    }
    let mut done = first;
    while done < n {
        let k = done.min(n - done);
        data.copy_within(0..k, done);
        done += k;
    }
}

/// Blends `rgb` over the pixel at byte offset `i` with coverage `c` in (0, 1].
#[inline]
fn blend(data: &mut [u8], i: usize, rgb: Rgb, c: f32) {
    let px = &mut data[i..i + 3];
    if c >= 0.998 {
        px.copy_from_slice(&rgb);
    } else {
        for k in 0..3 {
            let d = f32::from(px[k]);
            px[k] = (d + (f32::from(rgb[k]) - d) * c + 0.5) as u8;
        }
    }
}

/// Draws shapes into a [`Frame`] through a [`Transform`], with exact area anti-aliasing.
///
/// Each shape is blended over what is already there (painter's order), with the fraction of
/// each pixel it covers as opacity.
#[derive(Debug)]
pub struct Canvas<'a> {
    frame: &'a mut Frame,
    transform: Transform,
    coverage: Coverage,
    points: Vec<(f64, f64)>,
    starts: Vec<usize>,
}

impl<'a> Canvas<'a> {
    /// A canvas drawing into `frame` with world coordinates mapped by `transform`.
    pub fn new(frame: &'a mut Frame, transform: Transform) -> Self {
        Self {
            frame,
            transform,
            coverage: Coverage::default(),
            points: Vec::new(),
            starts: Vec::new(),
        }
    }

    /// The world → pixel map in use.
    pub fn transform(&self) -> Transform {
        self.transform
    }

    /// Replaces the world → pixel map.
    pub fn set_transform(&mut self, transform: Transform) {
        self.transform = transform;
    }

    /// The frame's `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        (self.frame.width(), self.frame.height())
    }

    /// Sets every pixel to `rgb`.
    pub fn clear(&mut self, rgb: Rgb) {
        let data = self.frame.data_mut();
        fill_run(data, rgb);
    }

    /// Fills the axis-aligned world rectangle with corners `a` and `b` (in any order).
    pub fn fill_rect(&mut self, a: (f64, f64), b: (f64, f64), rgb: Rgb) {
        let (pa, pb) = (self.transform.apply(a), self.transform.apply(b));
        self.fill_rect_px(
            pa.0.min(pb.0),
            pa.1.min(pb.1),
            pa.0.max(pb.0),
            pa.1.max(pb.1),
            rgb,
        );
    }

    /// Fills the pixel-space rectangle `[x0, x1] × [y0, y1]` (continuous frame coordinates),
    /// with exact partial coverage of its border pixels.
    pub fn fill_rect_px(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, rgb: Rgb) {
        let (fw, fh) = self.size();
        let (x0, x1) = (x0.max(0.0), x1.min(fw as f64));
        let (y0, y1) = (y0.max(0.0), y1.min(fh as f64));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let (c0, c1) = (x0 as usize, (x1.ceil() as usize).min(fw));
        let (r0, r1) = (y0 as usize, (y1.ceil() as usize).min(fh));
        // Horizontal coverage of the first and last columns; columns between are full.
        let cx = |c: usize| (x1.min((c + 1) as f64) - x0.max(c as f64)) as f32;
        let (cx0, cx1) = (cx(c0), cx(c1 - 1));
        let full0 = usize::from(cx0 < 0.998);
        let full1 = usize::from(c1 - 1 > c0 && cx1 < 0.998);
        let data = self.frame.data_mut();
        for r in r0..r1 {
            let cy = (y1.min((r + 1) as f64) - y0.max(r as f64)) as f32;
            let row = r * fw;
            if cy >= 0.998 && c0 + full0 < c1 - full1 {
                fill_run(
                    &mut data[(row + c0 + full0) * 3..(row + c1 - full1) * 3],
                    rgb,
                );
            } else {
                for c in c0 + full0..c1 - full1 {
                    blend(data, (row + c) * 3, rgb, cy);
                }
            }
            if full0 == 1 {
                blend(data, (row + c0) * 3, rgb, cx0 * cy);
            }
            if full1 == 1 {
                blend(data, (row + c1 - 1) * 3, rgb, cx1 * cy);
            }
        }
    }

    /// Fills a polygon given by its world vertices (convex or not, either orientation;
    /// the even-odd/non-zero distinction does not arise for simple polygons).
    pub fn fill_polygon(&mut self, vertices: &[(f64, f64)], rgb: Rgb) {
        self.fill_contours(&[vertices], rgb);
    }

    /// Fills the union of several closed contours (world vertices) as one shape: where
    /// contours overlap the coverage saturates instead of being blended twice, so touching
    /// or overlapping pieces (a polyline's segments) join without seams.
    pub fn fill_contours(&mut self, contours: &[&[(f64, f64)]], rgb: Rgb) {
        let t = self.transform;
        let (fw, fh) = self.size();
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        self.points.clear();
        self.starts.clear();
        for contour in contours {
            self.starts.push(self.points.len());
            // Orient every contour the same way, so overlaps add up instead of cancelling.
            let area2: f64 = (0..contour.len())
                .map(|i| {
                    let (a, b) = (contour[i], contour[(i + 1) % contour.len()]);
                    a.0 * b.1 - b.0 * a.1
                })
                .sum();
            let flip = (area2 < 0.0) != (t.sx * t.sy < 0.0);
            for k in 0..contour.len() {
                let v = if flip {
                    contour[contour.len() - 1 - k]
                } else {
                    contour[k]
                };
                let p = t.apply(v);
                minx = minx.min(p.0);
                maxx = maxx.max(p.0);
                miny = miny.min(p.1);
                maxy = maxy.max(p.1);
                self.points.push(p);
            }
        }
        self.starts.push(self.points.len());
        if !(minx < maxx && miny < maxy) {
            return;
        }
        let x0 = (minx.floor().max(0.0) as i64).min(fw as i64);
        let x1 = (maxx.ceil().max(0.0) as i64).min(fw as i64);
        let y0 = (miny.floor().max(0.0) as i64).min(fh as i64);
        let y1 = (maxy.ceil().max(0.0) as i64).min(fh as i64);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        self.coverage
            .reset(x0, y0, (x1 - x0) as usize, (y1 - y0) as usize);
        for k in 0..self.starts.len() - 1 {
            let pts = &self.points[self.starts[k]..self.starts[k + 1]];
            for i in 0..pts.len() {
                self.coverage.edge(pts[i], pts[(i + 1) % pts.len()]);
            }
        }
        let data = self.frame.data_mut();
        let coverage = &mut self.coverage;
        coverage.for_each(|c, r, cov| blend(data, (r * fw + c) * 3, rgb, cov));
    }

    /// Number of sides used for a circle of `radius_px` pixels: enough that the polygon
    /// strays less than 1/50 pixel from the true circle.
    fn circle_sides(radius_px: f64) -> usize {
        if radius_px <= 0.5 {
            return 8;
        }
        let step = (1.0 - 0.02 / radius_px).clamp(-1.0, 1.0).acos();
        ((std::f64::consts::PI / step).ceil() as usize).clamp(8, 512)
    }

    /// Fills the disc of world `radius` around world point `center` (an ellipse when the
    /// transform scales the axes differently).
    pub fn fill_circle(&mut self, center: (f64, f64), radius: f64, rgb: Rgb) {
        self.fill_arc_band(center, 0.0, radius, 0.0, std::f64::consts::TAU, rgb);
    }

    /// Fills the ring sector between radii `r_in` and `r_out` (world units) and angles
    /// `a0` to `a1` (radians, counter-clockwise from +x in world coordinates); with
    /// `r_in = 0` and a full turn it is a disc.
    pub fn fill_arc_band(
        &mut self,
        center: (f64, f64),
        r_in: f64,
        r_out: f64,
        a0: f64,
        a1: f64,
        rgb: Rgb,
    ) {
        let t = self.transform;
        let r_px = r_out * t.sx.abs().max(t.sy.abs());
        let sweep = a1 - a0;
        let full = sweep.abs() >= std::f64::consts::TAU - 1e-12;
        let n = ((Self::circle_sides(r_px) as f64 * sweep.abs() / std::f64::consts::TAU).ceil()
            as usize)
            .max(2);
        let mut pts = Vec::with_capacity(2 * n + 2);
        let steps = if full { n } else { n + 1 };
        // Radii of the polygon scaled so that its area is the circle's.
        let step = sweep.abs() / n as f64;
        let k = (step / step.sin()).sqrt();
        let (r_in, r_out) = (r_in * k, r_out * k);
        for i in 0..steps {
            let a = a0 + sweep * i as f64 / n as f64;
            pts.push((center.0 + r_out * a.cos(), center.1 + r_out * a.sin()));
        }
        if r_in > 0.0 {
            if full {
                // A full ring: outer circle, then the inner one the other way round.
                let outer = pts.clone();
                let inner: Vec<(f64, f64)> = (0..n)
                    .map(|i| {
                        let a = a0 - sweep * i as f64 / n as f64;
                        (center.0 + r_in * a.cos(), center.1 + r_in * a.sin())
                    })
                    .collect();
                self.fill_contours_raw(&[&outer, &inner], rgb);
                return;
            }
            for i in (0..=n).rev() {
                let a = a0 + sweep * i as f64 / n as f64;
                pts.push((center.0 + r_in * a.cos(), center.1 + r_in * a.sin()));
            }
        } else if !full {
            pts.push(center);
        }
        self.fill_polygon(&pts, rgb);
    }

    /// Like [`Canvas::fill_contours`] but keeps each contour's orientation (for holes).
    fn fill_contours_raw(&mut self, contours: &[&[(f64, f64)]], rgb: Rgb) {
        let t = self.transform;
        let (fw, fh) = self.size();
        let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for p in contours.iter().flat_map(|c| c.iter()).map(|&v| t.apply(v)) {
            minx = minx.min(p.0);
            maxx = maxx.max(p.0);
            miny = miny.min(p.1);
            maxy = maxy.max(p.1);
        }
        let x0 = (minx.floor().max(0.0) as i64).min(fw as i64);
        let x1 = (maxx.ceil().max(0.0) as i64).min(fw as i64);
        let y0 = (miny.floor().max(0.0) as i64).min(fh as i64);
        let y1 = (maxy.ceil().max(0.0) as i64).min(fh as i64);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        self.coverage
            .reset(x0, y0, (x1 - x0) as usize, (y1 - y0) as usize);
        for contour in contours {
            for i in 0..contour.len() {
                let (a, b) = (contour[i], contour[(i + 1) % contour.len()]);
                self.coverage.edge(t.apply(a), t.apply(b));
            }
        }
        let data = self.frame.data_mut();
        let coverage = &mut self.coverage;
        coverage.for_each(|c, r, cov| blend(data, (r * fw + c) * 3, rgb, cov));
    }

    /// Draws the segment `a → b` (world) as a rectangle `width` world units wide, with
    /// butt ends.
    pub fn stroke_line(&mut self, a: (f64, f64), b: (f64, f64), width: f64, rgb: Rgb) {
        if let Some(quad) = segment_quad(a, b, width) {
            self.fill_polygon(&quad, rgb);
        }
    }

    /// Draws the open polyline through `points` (world), `width` world units wide, as one
    /// shape (its segments overlap at the joints without darkening them).
    pub fn stroke_polyline(&mut self, points: &[(f64, f64)], width: f64, rgb: Rgb) {
        let quads: Vec<[(f64, f64); 4]> = points
            .windows(2)
            .filter_map(|w| segment_quad(w[0], w[1], width))
            .collect();
        let contours: Vec<&[(f64, f64)]> = quads.iter().map(|q| &q[..]).collect();
        self.fill_contours(&contours, rgb);
    }
}

/// The rectangle around segment `a → b`, `width` wide; `None` for a zero-length segment.
fn segment_quad(a: (f64, f64), b: (f64, f64), width: f64) -> Option<[(f64, f64); 4]> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = dx.hypot(dy);
    if len == 0.0 || width <= 0.0 {
        return None;
    }
    let (nx, ny) = (-dy / len * width / 2.0, dx / len * width / 2.0);
    Some([
        (a.0 + nx, a.1 + ny),
        (b.0 + nx, b.1 + ny),
        (b.0 - nx, b.1 - ny),
        (a.0 - nx, a.1 - ny),
    ])
}

/// Mean absolute difference per channel between two frames of the same size, in 0..=255.
///
/// # Panics
/// If the frames differ in size.
pub fn mean_abs_diff(a: &Frame, b: &Frame) -> f64 {
    assert_eq!(
        (a.width(), a.height()),
        (b.width(), b.height()),
        "frames differ in size"
    );
    let sum: u64 = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.data().len().max(1) as f64
}

/// Area-averages `src` down (or up) to `width × height`, as OpenCV's `INTER_AREA` does for
/// shrinking: every destination pixel is the mean of the source area it covers.
pub fn resize_area(src: &Frame, width: usize, height: usize) -> Frame {
    let mut dst = Frame::new(width, height);
    let (sw, sh) = (src.width(), src.height());
    let (kx, ky) = (sw as f64 / width as f64, sh as f64 / height as f64);
    let data = src.data();
    let out = dst.data_mut();
    for r in 0..height {
        let (ya, yb) = (r as f64 * ky, (r + 1) as f64 * ky);
        for c in 0..width {
            let (xa, xb) = (c as f64 * kx, (c + 1) as f64 * kx);
            let mut acc = [0.0f64; 3];
            let mut y = ya.floor() as usize;
            while (y as f64) < yb && y < sh {
                let wy = yb.min((y + 1) as f64) - ya.max(y as f64);
                let mut x = xa.floor() as usize;
                while (x as f64) < xb && x < sw {
                    let wx = xb.min((x + 1) as f64) - xa.max(x as f64);
                    let i = (y * sw + x) * 3;
                    for k in 0..3 {
                        acc[k] += wx * wy * f64::from(data[i + k]);
                    }
                    x += 1;
                }
                y += 1;
            }
            let i = (r * width + c) * 3;
            for k in 0..3 {
                out[i + k] = (acc[k] / (kx * ky)).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    dst
}

#[cfg(test)]
mod tests;
