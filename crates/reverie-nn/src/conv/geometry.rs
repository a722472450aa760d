//! The index map shared by a convolution and its adjoint: which image pixel each
//! (channel, kernel row, kernel column) × (grid cell) entry of the unrolled matrix reads.
//!
//! The *image* is the larger side (a conv's input, a transposed conv's output), `[C, H, W]`;
//! the *grid* is the other side's spatial extent (a conv's output, a transposed conv's
//! input), `gh × gw`. [`Geometry::im2col`] unrolls an image into `[C·kh·kw, gh·gw]` and
//! [`Geometry::col2im`] is its adjoint (scatter-add back).

/// One image / grid pairing; all fields in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Image channels.
    pub channels: usize,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride (both directions).
    pub stride: usize,
    /// Zero padding (both directions).
    pub padding: usize,
    /// Grid height.
    pub gh: usize,
    /// Grid width.
    pub gw: usize,
}

impl Geometry {
    /// Rows of the unrolled matrix: `C·kh·kw`.
    pub fn rows(&self) -> usize {
        self.channels * self.kh * self.kw
    }

    /// Grid cells (columns of the unrolled matrix for one image): `gh·gw`.
    pub fn cells(&self) -> usize {
        self.gh * self.gw
    }

    /// Values in one image: `C·H·W`.
    pub fn pixels(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Grid indices `o` in `lo..hi` with `0 ≤ o·stride + k − padding < size`.
    fn valid(&self, k: usize, size: usize, grid: usize) -> (usize, usize) {
        let s = self.stride as isize;
        let off = k as isize - self.padding as isize;
        let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
        let room = size as isize - off;
        let hi = if room <= 0 { 0 } else { (room + s - 1) / s };
        let lo = (lo as usize).min(grid);
        (lo, (hi as usize).min(grid).max(lo))
    }

    /// Writes image `img [C, H, W]` unrolled: row `(c·kh + i)·kw + j` of `col` (rows `ld`
    /// apart, `gh·gw` values each) holds pixel `(c, o_h·s + i − p, o_w·s + j − p)` for each
    /// grid cell `(o_h, o_w)`, zero where that falls in the padding.
    pub fn im2col(&self, img: &[f32], col: &mut [f32], ld: usize) {
        let (s, p, gw, n) = (self.stride, self.padding, self.gw, self.cells());
        let plane = self.height * self.width;
        for c in 0..self.channels {
            let src = &img[c * plane..(c + 1) * plane];
            for ki in 0..self.kh {
                let (h_lo, h_hi) = self.valid(ki, self.height, self.gh);
                for kj in 0..self.kw {
                    let (w_lo, w_hi) = self.valid(kj, self.width, gw);
                    let r = (c * self.kh + ki) * self.kw + kj;
                    let row = &mut col[r * ld..r * ld + n];
                    row[..h_lo * gw].fill(0.0);
                    row[h_hi * gw..].fill(0.0);
                    for oh in h_lo..h_hi {
                        let dst = &mut row[oh * gw..(oh + 1) * gw];
                        dst[..w_lo].fill(0.0);
                        dst[w_hi..].fill(0.0);
                        if w_lo == w_hi {
                            continue;
                        }
                        let line = &src[(oh * s + ki - p) * self.width..];
                        let first = w_lo * s + kj - p;
                        let dst = &mut dst[w_lo..w_hi];
                        if s == 1 {
                            dst.copy_from_slice(&line[first..first + dst.len()]);
                        } else {
                            for (d, v) in dst.iter_mut().zip(line[first..].iter().step_by(s)) {
                                *d = *v;
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of [`Geometry::im2col`]: adds each entry of `col` (rows `ld` apart) onto
    /// the pixel it was read from in `img [C, H, W]`; padding entries are dropped.
    pub fn col2im(&self, col: &[f32], ld: usize, img: &mut [f32]) {
        let (s, p, gw, n) = (self.stride, self.padding, self.gw, self.cells());
        let plane = self.height * self.width;
        for c in 0..self.channels {
            let dst = &mut img[c * plane..(c + 1) * plane];
            for ki in 0..self.kh {
                let (h_lo, h_hi) = self.valid(ki, self.height, self.gh);
                for kj in 0..self.kw {
                    let (w_lo, w_hi) = self.valid(kj, self.width, gw);
                    if w_lo == w_hi {
                        continue;
                    }
                    let r = (c * self.kh + ki) * self.kw + kj;
                    let row = &col[r * ld..r * ld + n];
                    for oh in h_lo..h_hi {
                        let src = &row[oh * gw + w_lo..oh * gw + w_hi];
                        let first = (oh * s + ki - p) * self.width + w_lo * s + kj - p;
                        let line = &mut dst[first..];
                        if s == 1 {
                            for (d, v) in line.iter_mut().zip(src) {
                                *d += v;
                            }
                        } else {
                            for (d, v) in line.iter_mut().step_by(s).zip(src) {
                                *d += v;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same map written index by index.
    fn naive_im2col(g: &Geometry, img: &[f32]) -> Vec<f32> {
        let mut col = vec![0.0; g.rows() * g.cells()];
        for c in 0..g.channels {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    for oh in 0..g.gh {
                        for ow in 0..g.gw {
                            let h = (oh * g.stride + i) as isize - g.padding as isize;
                            let w = (ow * g.stride + j) as isize - g.padding as isize;
                            let inside = (0..g.height as isize).contains(&h)
                                && (0..g.width as isize).contains(&w);
                            let r = (c * g.kh + i) * g.kw + j;
                            col[r * g.cells() + oh * g.gw + ow] = if inside {
                                img[(c * g.height + h as usize) * g.width + w as usize]
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
        }
        col
    }

    #[test]
    fn im2col_matches_the_naive_map_and_col2im_is_its_adjoint() {
        let cases = [
            (2, 5, 6, 3, 1, 0),
            (3, 7, 5, 3, 1, 1),
            (2, 8, 8, 4, 2, 1),
            (1, 9, 7, 4, 2, 1),
            (2, 6, 6, 3, 2, 0),
            (1, 5, 5, 3, 3, 2),
        ];
        for (channels, height, width, k, stride, padding) in cases {
            let g = Geometry {
                channels,
                height,
                width,
                kh: k,
                kw: k,
                stride,
                padding,
                gh: (height + 2 * padding - k) / stride + 1,
                gw: (width + 2 * padding - k) / stride + 1,
            };
            let img: Vec<f32> = (0..g.pixels()).map(|i| (i as f32 * 0.37).sin()).collect();
            // A wider leading dimension than needed, as grouped images use.
            let ld = g.cells() + 3;
            let mut col = vec![f32::NAN; g.rows() * ld];
            g.im2col(&img, &mut col, ld);
            let want = naive_im2col(&g, &img);
            for r in 0..g.rows() {
                assert_eq!(
                    &col[r * ld..r * ld + g.cells()],
                    &want[r * g.cells()..][..g.cells()]
                );
            }
            // ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩.
            let y: Vec<f32> = (0..g.rows() * ld)
                .map(|i| (i as f32 * 0.11).cos())
                .collect();
            let mut back = vec![0.0; g.pixels()];
            g.col2im(&y, ld, &mut back);
            let lhs: f64 = (0..g.rows())
                .flat_map(|r| (0..g.cells()).map(move |n| (r, n)))
                .map(|(r, n)| col[r * ld + n] as f64 * y[r * ld + n] as f64)
                .sum();
            let rhs: f64 = img
                .iter()
                .zip(&back)
                .map(|(a, b)| *a as f64 * *b as f64)
                .sum();
            assert!((lhs - rhs).abs() < 1e-4, "{g:?}: {lhs} vs {rhs}");
        }
    }
}
