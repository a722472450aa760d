//! Exact area coverage of polygons: signed-area accumulation over a pixel box.
//!
//! Every edge of a closed contour deposits, in each pixel row it crosses, the signed area
//! between itself and the left edge of the box; a running sum along the row then gives,
//! for every pixel, the exact area of the pixel square that lies inside the contour (the
//! algorithm of font-rs and stb_truetype's v2 rasteriser). Cost: one pass over the edges and
//! one over the box, with no sub-sampling.

/// A coverage accumulator for the pixel box `[x0, x0 + w) × [y0, y0 + h)` of a frame.
#[derive(Debug, Default)]
pub(crate) struct Coverage {
    /// Left column of the box in the frame.
    pub(crate) x0: i64,
    /// Top row of the box in the frame.
    pub(crate) y0: i64,
    /// Box width in pixels.
    pub(crate) w: usize,
    /// Box height in pixels.
    pub(crate) h: usize,
    /// `h` rows of `w + 2` signed-area increments; all zero between shapes.
    acc: Vec<f32>,
    /// Per row, the first and one past the last column an edge touched.
    spans: Vec<(u32, u32)>,
}

impl Coverage {
    /// Clears the accumulator and sizes it for a new box.
    pub(crate) fn reset(&mut self, x0: i64, y0: i64, w: usize, h: usize) {
        self.x0 = x0;
        self.y0 = y0;
        self.w = w;
        self.h = h;
        // `acc` is all zeros here (`for_each` clears what it reads), so only growth costs.
        let n = h * (w + 2);
        if self.acc.len() < n {
            self.acc.resize(n, 0.0);
        }
        self.spans.clear();
        self.spans.resize(h, (u32::MAX, 0));
    }

    /// Adds the edge `p → q` (frame pixel coordinates) of a closed contour. Edge parts left
    /// of the box count as lying on its left side, parts right of it on its right side, so
    /// contours that leave the box are clipped exactly.
    pub(crate) fn edge(&mut self, p: (f64, f64), q: (f64, f64)) {
        let (ox, oy) = (self.x0 as f64, self.y0 as f64);
        let (px, py, qx, qy) = (p.0 - ox, p.1 - oy, q.0 - ox, q.1 - oy);
        let w = self.w as f64;
        if (0.0..=w).contains(&px) && (0.0..=w).contains(&qx) {
            // The common case: the edge lies within the box's columns.
            self.line(px as f32, py as f32, qx as f32, qy as f32);
            return;
        }
        // Split the edge where it crosses the box's vertical sides, then clamp: a piece
        // outside lies entirely on one side and becomes a vertical edge on that side.
        let mut ts = [0.0, 1.0, 1.0, 1.0];
        let mut n = 1;
        if px != qx {
            for bound in [0.0, w] {
                let t = (bound - px) / (qx - px);
                if t > 0.0 && t < 1.0 {
                    ts[n] = t;
                    n += 1;
                }
            }
        }
        ts[n] = 1.0;
        let used = &mut ts[..=n];
        used.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        for k in 0..n {
            let (ta, tb) = (used[k], used[k + 1]);
            let ax = (px + (qx - px) * ta).clamp(0.0, w);
            let ay = py + (qy - py) * ta;
            let bx = (px + (qx - px) * tb).clamp(0.0, w);
            let by = py + (qy - py) * tb;
            self.line(ax as f32, ay as f32, bx as f32, by as f32);
        }
    }

    /// Accumulates one edge in box coordinates, with `0 <= x <= w`.
    fn line(&mut self, ax: f32, ay: f32, bx: f32, by: f32) {
        if ay == by {
            return;
        }
        let (dir, x0, y0, x1, y1) = if ay < by {
            (1.0f32, ax, ay, bx, by)
        } else {
            (-1.0f32, bx, by, ax, ay)
        };
        let ystart = y0.max(0.0);
        let yend = y1.min(self.h as f32);
        if ystart >= yend {
            return;
        }
        let dxdy = (x1 - x0) / (y1 - y0);
        let stride = self.w + 2;
        let wmax = self.w as f32;
        let mut x = (x0 + (ystart - y0) * dxdy).clamp(0.0, wmax);
        let row0 = ystart as usize;
        let mut row1 = yend as usize;
        if (row1 as f32) < yend {
            row1 += 1;
        }
        let row1 = row1.min(self.h);
        for row in row0..row1 {
            let top = (row as f32).max(ystart);
            let bot = ((row + 1) as f32).min(yend);
            let dy = bot - top;
            if dy <= 0.0 {
                continue;
            }
            let xnext = (x + dxdy * dy).clamp(0.0, wmax);
            let d = dy * dir;
            let (xa, xb) = if x < xnext { (x, xnext) } else { (xnext, x) };
            // x >= 0 here, so truncation is floor (and avoids a libm call on baseline x86-64).
            let xai = xa as usize;
            let xa_floor = xai as f32;
            let mut xbi = xb as usize;
            if (xbi as f32) < xb {
                xbi += 1;
            }
            let xb_ceil = xbi as f32;
            let span = &mut self.spans[row];
            span.0 = span.0.min(xai as u32);
            span.1 = span.1.max(xbi as u32 + 2);
            let line = &mut self.acc[row * stride..(row + 1) * stride];
            if xbi <= xai + 1 {
                // The edge stays within one pixel column on this row.
                let xmf = 0.5 * (x + xnext) - xa_floor;
                line[xai] += d - d * xmf;
                line[xai + 1] += d * xmf;
            } else {
                let s = (xb - xa).recip();
                let xaf = xa - xa_floor;
                let a0 = 0.5 * s * (1.0 - xaf) * (1.0 - xaf);
                let xbf = xb - xb_ceil + 1.0;
                let am = 0.5 * s * xbf * xbf;
                line[xai] += d * a0;
                if xbi == xai + 2 {
                    line[xai + 1] += d * (1.0 - a0 - am);
                } else {
                    let a1 = s * (1.5 - xaf);
                    line[xai + 1] += d * (a1 - a0);
                    for v in &mut line[xai + 2..xbi - 1] {
                        *v += d * s;
                    }
                    let a2 = a1 + (xbi - xai - 3) as f32 * s;
                    line[xbi - 1] += d * (1.0 - a2 - am);
                }
                line[xbi] += d * am;
            }
            x = xnext;
        }
    }

    /// Calls `f(column, row, coverage)` (frame coordinates) for every pixel of the box with
    /// a coverage above zero; coverage is in (0, 1], overlapping contours saturating at 1.
    /// Only the columns between a row's first and last edge are visited (outside them the
    /// winding is zero), and the accumulator is left all zeros for the next shape.
    #[inline]
    pub(crate) fn for_each(&mut self, mut f: impl FnMut(usize, usize, f32)) {
        let stride = self.w + 2;
        for row in 0..self.h {
            let (c0, c1) = self.spans[row];
            if c0 >= c1 {
                continue;
            }
            let (c0, c1) = (c0 as usize, (c1 as usize).min(stride));
            let line = &mut self.acc[row * stride + c0..row * stride + c1];
            let mut acc = 0.0f32;
            let y = self.y0 as usize + row;
            let x0 = self.x0 as usize + c0;
            let visible = self.w.saturating_sub(c0);
            for (i, a) in line.iter_mut().enumerate() {
                acc += *a;
                *a = 0.0;
                let c = acc.abs().min(1.0);
                if c > 1.0 / 512.0 && i < visible {
                    f(x0 + i, y, c);
                }
            }
        }
    }
}
