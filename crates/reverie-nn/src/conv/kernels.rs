//! The three batched matrix products a convolution and its adjoint are made of, over a
//! [`Geometry`] and `m` channels on the grid side, with the weight as `a [m, C·kh·kw]`:
//!
//! - [`lower`]: `grid = a · im2col(image)` (conv forward, transposed-conv input gradient);
//! - [`raise`]: `image = col2im(aᵀ · grid)` (transposed-conv forward, conv input gradient);
//! - [`weight_grad`]: `Σ_b grid_b · im2col(image_b)ᵀ` (both layers' weight gradients).
//!
//! Images are taken in groups so that each matrix product is at least [`MIN_COLUMNS`] wide:
//! at 4×4 grids one image gives 16 columns, and image by image the 64→128-channel layer ran
//! at 198 / 131 / 254 GFLOP/s (lower / raise / weight) against 300 / 275 / 310 grouped
//! (`kernel_timings`, 2 threads, CPU time; 128 to 1024 columns all measured alike).
//! Groups run in parallel on rayon's pool when there are enough of them, each with a
//! single-threaded matmul; otherwise the matmul itself is threaded.

use crate::ops::matmul::{matmul_into, Strided};
use std::cell::RefCell;

use rayon::prelude::*;

use super::geometry::Geometry;
use crate::ensemble::Activation;
use crate::simd::apply_in_place;

/// Fewest matrix columns (grid cells × images) per matmul.
const MIN_COLUMNS: usize = 256;

thread_local! {
    /// Per-thread unrolled-matrix, grid and split-image buffers, grown as needed and kept
    /// between calls.
    static SCRATCH: RefCell<[Vec<f32>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// Runs `f` on this thread's scratch buffers: `col` and `grid` values, and one split image.
/// A thread that re-enters while its buffers are in use (it can pick up another conv's
/// task while its threaded matmul waits) gets fresh ones.
fn with_scratch<R>(
    g: &Geometry,
    col: usize,
    grid: usize,
    f: impl FnOnce(&mut [f32], &mut [f32], &mut [f32]) -> R,
) -> R {
    let lens = [col, grid, g.split_len()];
    let run = |bufs: &mut [Vec<f32>; 3]| {
        for (v, len) in bufs.iter_mut().zip(lens) {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        }
        let [c, gr, sp] = bufs;
        f(&mut c[..col], &mut gr[..grid], &mut sp[..lens[2]])
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => run(&mut bufs),
        Err(_) => run(&mut Default::default()),
    })
}

/// What the forward kernels do to each group's output while it is still in cache, rather
/// than in separate passes that stream each activation (67 MB for 16×32×32 at batch 1024)
/// through memory again for the bias, the kept pre-activation and the activation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Epilogue<'a> {
    /// Per-channel bias (grid channels for [`lower`], image channels for [`raise`]).
    pub bias: Option<&'a [f32]>,
    /// Activation applied last.
    pub act: Option<Activation>,
    /// Also return the output before the activation.
    pub keep_pre: bool,
}

impl Epilogue<'_> {
    /// Keeps the pre-activation in `pre` if asked, then applies the activation.
    fn finish(&self, out: &mut [f32], pre: Option<&mut [f32]>) {
        if let Some(pre) = pre {
            pre.copy_from_slice(out);
        }
        if let Some(act) = self.act {
            apply_in_place(act, out);
        }
    }
}

/// `len`-value pre-activation buffer if `keep`, and its `chunk`-sized pieces (or `None`s).
fn pre_chunks(keep: bool, len: usize, chunk: usize) -> (Vec<f32>, usize) {
    (
        if keep { vec![0.0; len] } else { Vec::new() },
        len.div_ceil(chunk.max(1)),
    )
}

/// A group's output and, if kept, its pre-activation.
type OutChunk<'a> = (&'a mut [f32], Option<&'a mut [f32]>);

fn optional_chunks(buf: &mut [f32], chunk: usize, count: usize) -> Vec<Option<&mut [f32]>> {
    if buf.is_empty() {
        (0..count).map(|_| None).collect()
    } else {
        buf.chunks_mut(chunk).map(Some).collect()
    }
}

/// How a batch is split: images per group, and whether groups run in parallel.
struct Split {
    group: usize,
    parallel: bool,
    threads: usize,
}

impl Split {
    fn new(g: &Geometry, batch: usize) -> Self {
        let group = MIN_COLUMNS
            .div_ceil(g.cells().max(1))
            .clamp(1, batch.max(1));
        let threads = candle_core::utils::get_num_threads();
        Self {
            group,
            parallel: threads > 1 && batch.div_ceil(group) >= threads,
            threads,
        }
    }

    /// The matmul's own threading: none inside parallel groups.
    fn gemm_parallelism(&self) -> gemm::Parallelism {
        if self.parallel || self.threads <= 1 {
            gemm::Parallelism::None
        } else {
            gemm::Parallelism::Rayon(self.threads)
        }
    }
}

/// `out_b [m, N] = act(bias + a [m, K] · im2col(image_b))` for each image of
/// `images [B, C, H, W]` into `out [B, m, N]` (`K = C·kh·kw`, `N = gh·gw`), and the
/// pre-activation if the epilogue keeps it.
pub(crate) fn lower(
    g: &Geometry,
    m: usize,
    a: &[f32],
    epilogue: Epilogue,
    images: &[f32],
) -> (Vec<f32>, Option<Vec<f32>>) {
    let (k, n, px) = (g.rows(), g.cells(), g.pixels());
    let batch = images.len() / px.max(1);
    let mut out = vec![0.0f32; batch * m * n];
    let split = Split::new(g, batch);
    let chunk = split.group * m * n;
    let (mut pre, chunks) = pre_chunks(epilogue.keep_pre, out.len(), chunk);
    if batch == 0 || m * n == 0 {
        return (out, epilogue.keep_pre.then_some(pre));
    }
    let bias = epilogue.bias;
    let par = split.gemm_parallelism();
    let run = |((out, pre), images): (OutChunk, &[f32])| {
        let count = images.len() / px;
        let cols = count * n;
        with_scratch(
            g,
            k * cols,
            if count > 1 { m * cols } else { 0 },
            |col, grid, pad| {
                for (i, img) in images.chunks_exact(px).enumerate() {
                    g.split(img, pad);
                    g.im2col(pad, &mut col[i * n..], cols);
                }
                // One image writes its output in place; a group goes through `grid` [m, count·N].
                let dst: &mut [f32] = if count == 1 { &mut *out } else { &mut *grid };
                if let Some(bias) = bias {
                    for (row, b) in dst.chunks_exact_mut(cols).zip(bias) {
                        row.fill(*b);
                    }
                }
                matmul_into(
                    (m, cols, k),
                    (dst, cols),
                    bias.is_some(),
                    Strided::rows(a, k),
                    Strided::rows(col, cols),
                    par,
                );
                if count > 1 {
                    for (i, o) in out.chunks_exact_mut(m * n).enumerate() {
                        for (row, src) in o.chunks_exact_mut(n).zip(grid.chunks_exact(cols)) {
                            row.copy_from_slice(&src[i * n..(i + 1) * n]);
                        }
                    }
                }
                epilogue.finish(out, pre);
            },
        );
    };
    let outs = out
        .chunks_mut(chunk)
        .zip(optional_chunks(&mut pre, chunk, chunks));
    let ins = images.chunks(split.group * px);
    if split.parallel {
        outs.collect::<Vec<_>>()
            .into_par_iter()
            .zip(ins.collect::<Vec<_>>())
            .for_each(run);
    } else {
        outs.zip(ins).for_each(run);
    }
    (out, epilogue.keep_pre.then_some(pre))
}

/// `image_b = act(bias + col2im(aᵀ · grid_b))` for each `grid_b [m, N]` of
/// `grids [B, m, N]`, into images `[B, C, H, W]`, and the pre-activation if the epilogue
/// keeps it.
pub(crate) fn raise(
    g: &Geometry,
    m: usize,
    a: &[f32],
    epilogue: Epilogue,
    grids: &[f32],
) -> (Vec<f32>, Option<Vec<f32>>) {
    let (k, n, px) = (g.rows(), g.cells(), g.pixels());
    let batch = grids.len() / (m * n).max(1);
    let mut out = vec![0.0f32; batch * px];
    let split = Split::new(g, batch);
    let chunk = split.group * px;
    let (mut pre, chunks) = pre_chunks(epilogue.keep_pre, out.len(), chunk);
    if batch == 0 || px == 0 {
        return (out, epilogue.keep_pre.then_some(pre));
    }
    let (bias, plane) = (epilogue.bias, g.height * g.width);
    let par = split.gemm_parallelism();
    // aᵀ [K, m] once, so that each group's matmul packs a contiguous operand.
    let mut at = vec![0.0f32; k * m];
    for (mi, row) in a.chunks_exact(k).enumerate() {
        for (kk, v) in row.iter().enumerate() {
            at[kk * m + mi] = *v;
        }
    }
    let run = |((images, pre), grids): (OutChunk, &[f32])| {
        let count = grids.len() / (m * n);
        let cols = count * n;
        with_scratch(
            g,
            k * cols,
            if count > 1 { m * cols } else { 0 },
            |col, grid, pad| {
                let rhs: &[f32] = if count == 1 {
                    grids
                } else {
                    for (i, src) in grids.chunks_exact(m * n).enumerate() {
                        for (row, s) in grid.chunks_exact_mut(cols).zip(src.chunks_exact(n)) {
                            row[i * n..(i + 1) * n].copy_from_slice(s);
                        }
                    }
                    grid
                };
                matmul_into(
                    (k, cols, m),
                    (col, cols),
                    false,
                    Strided::rows(&at, m),
                    Strided::rows(rhs, cols),
                    par,
                );
                for (i, img) in images.chunks_exact_mut(px).enumerate() {
                    if let Some(bias) = bias {
                        for (p, b) in img.chunks_exact_mut(plane).zip(bias) {
                            p.fill(*b);
                        }
                    }
                    pad.fill(0.0);
                    g.col2im(&col[i * n..], cols, pad);
                    g.unsplit_add(pad, img);
                }
                epilogue.finish(images, pre);
            },
        );
    };
    let outs = out
        .chunks_mut(chunk)
        .zip(optional_chunks(&mut pre, chunk, chunks));
    let ins = grids.chunks(split.group * m * n);
    if split.parallel {
        outs.collect::<Vec<_>>()
            .into_par_iter()
            .zip(ins.collect::<Vec<_>>())
            .for_each(run);
    } else {
        outs.zip(ins).for_each(run);
    }
    (out, epilogue.keep_pre.then_some(pre))
}

/// `Σ_b grid_b [m, N] · im2col(image_b)ᵀ` → `[m, K]`, over `grids [B, m, N]` and
/// `images [B, C, H, W]`.
pub(crate) fn weight_grad(g: &Geometry, m: usize, grids: &[f32], images: &[f32]) -> Vec<f32> {
    let (k, n, px) = (g.rows(), g.cells(), g.pixels());
    let batch = images.len() / px.max(1);
    let split = Split::new(g, batch);
    let par = split.gemm_parallelism();
    let run = |acc: &mut Vec<f32>, (grids, images): (&[f32], &[f32])| {
        let count = images.len() / px;
        let cols = count * n;
        with_scratch(
            g,
            k * cols,
            if count > 1 { m * cols } else { 0 },
            |rows, grid, _| {
                let mut pad = vec![0.0f32; g.padded_len()];
                for (i, img) in images.chunks_exact(px).enumerate() {
                    g.pad(img, &mut pad);
                    g.im2row(&pad, &mut rows[i * n * k..]);
                }
                let lhs: &[f32] = if count == 1 {
                    grids
                } else {
                    for (i, src) in grids.chunks_exact(m * n).enumerate() {
                        for (row, s) in grid.chunks_exact_mut(cols).zip(src.chunks_exact(n)) {
                            row[i * n..(i + 1) * n].copy_from_slice(s);
                        }
                    }
                    grid
                };
                matmul_into(
                    (m, k, cols),
                    (acc, k),
                    true,
                    Strided::rows(lhs, cols),
                    Strided::rows(rows, k),
                    par,
                );
            },
        );
    };
    let zero = || vec![0.0f32; m * k];
    if batch == 0 || m * n == 0 {
        return zero();
    }
    let ins = grids
        .chunks(split.group * m * n)
        .zip(images.chunks(split.group * px));
    if split.parallel {
        // One accumulator per rayon split, summed at the end.
        ins.collect::<Vec<_>>()
            .into_par_iter()
            .fold(zero, |mut acc, pair| {
                run(&mut acc, pair);
                acc
            })
            .reduce(zero, |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += y;
                }
                a
            })
    } else {
        let mut acc = zero();
        ins.for_each(|pair| run(&mut acc, pair));
        acc
    }
}

/// `[B, C, S] → [C]`: each channel summed over batch and space (bias gradients), images
/// split across threads.
pub(crate) fn channel_sum(x: &[f32], channels: usize, size: usize) -> Vec<f32> {
    let image = channels * size;
    if image == 0 {
        return vec![0.0; channels];
    }
    let sum = |acc: &mut Vec<f64>, img: &[f32]| {
        for (o, plane) in acc.iter_mut().zip(img.chunks_exact(size)) {
            *o += lane_sum(plane) as f64;
        }
    };
    let zero = || vec![0.0f64; channels];
    let total = if candle_core::utils::get_num_threads() > 1 && x.len() > 1 << 16 {
        x.par_chunks(image)
            .fold(zero, |mut acc, img| {
                sum(&mut acc, img);
                acc
            })
            .reduce(zero, |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            })
    } else {
        let mut acc = zero();
        x.chunks_exact(image).for_each(|img| sum(&mut acc, img));
        acc
    };
    total.into_iter().map(|v| v as f32).collect()
}

/// The sum of `x` in 16 interleaved partial sums, which the compiler vectorises (a single
/// running sum is one dependent add per value: the autoencoder step took 428 instead of
/// 409 ms of CPU time per thread that way).
fn lane_sum(x: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 16];
    let mut chunks = x.chunks_exact(16);
    for chunk in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-kernel timings of the 64×64 autoencoder's layers (not a check):
    /// `RAYON_NUM_THREADS=2 cargo test --release -p reverie-nn kernel_timings -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn kernel_timings() {
        let batch = 256;
        // CPU time of all threads (the machine is shared; wall time swings 2×), halved
        // to read as 2-thread wall time.
        let cpu = || -> f64 {
            std::fs::read_dir("/proc/self/task")
                .unwrap()
                .map(|t| {
                    let s = std::fs::read_to_string(t.unwrap().path().join("schedstat")).unwrap();
                    s.split_whitespace().next().unwrap().parse::<f64>().unwrap() * 1e-9
                })
                .sum()
        };
        let best = |f: &mut dyn FnMut()| {
            (0..5)
                .map(|_| {
                    let t = cpu();
                    f();
                    (cpu() - t) / 2.0
                })
                .fold(f64::INFINITY, f64::min)
        };
        for (c, m, size) in [(3, 16, 64), (16, 32, 32), (32, 64, 16), (64, 128, 8)] {
            let g = Geometry {
                channels: c,
                height: size,
                width: size,
                kh: 4,
                kw: 4,
                stride: 2,
                padding: 1,
                gh: size / 2,
                gw: size / 2,
            };
            let images: Vec<f32> = (0..batch * g.pixels()).map(|i| (i % 7) as f32).collect();
            let grids: Vec<f32> = (0..batch * m * g.cells()).map(|i| (i % 5) as f32).collect();
            let a: Vec<f32> = (0..m * g.rows()).map(|i| (i % 3) as f32).collect();
            let flops = 2.0 * (m * g.rows() * g.cells() * batch) as f64 / 1e9;
            let tl = best(&mut || {
                drop(std::hint::black_box(lower(
                    &g,
                    m,
                    &a,
                    Epilogue::default(),
                    &images,
                )))
            });
            let tr = best(&mut || {
                drop(std::hint::black_box(raise(
                    &g,
                    m,
                    &a,
                    Epilogue::default(),
                    &grids,
                )))
            });
            let tw = best(&mut || drop(std::hint::black_box(weight_grad(&g, m, &grids, &images))));
            println!(
                "{c:>3}→{m:<3} {size:>2}px: lower {:6.1} ms ({:5.1} GFLOP/s), raise {:6.1} ms ({:5.1}), weight {:6.1} ms ({:5.1})",
                tl * 1e3, flops / tl, tr * 1e3, flops / tr, tw * 1e3, flops / tw
            );
        }
    }
}
