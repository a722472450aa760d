//! The candle custom ops: [`ConvOp`] (conv2d or transposed conv2d, with or without bias)
//! and the no-backward ops its gradient is computed with, all on [`super::kernels`].

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Device, Layout, Shape, Tensor};

use super::geometry::Geometry;
use super::kernels::{channel_sum, lower, raise, weight_grad, Epilogue};
use crate::ensemble::Activation;
use crate::ops::{contiguous_f32, ActGrad};
use crate::Result;

/// A 2-D convolution (`transposed: false`) or its adjoint, on NCHW f32 tensors with PyTorch's
/// weight layouts (`[out, in, kh, kw]`, transposed `[in, out, kh, kw]`), with the output
/// activation fused in: a separate activation node costs candle's backward a zero-filled
/// gradient buffer and an add over the whole activation, besides its own passes.
#[derive(Debug)]
pub(crate) struct ConvOp {
    /// Transposed convolution.
    pub transposed: bool,
    /// Stride, both directions.
    pub stride: usize,
    /// Zero padding, both directions.
    pub padding: usize,
    /// Extra output rows and columns of a transposed convolution.
    pub output_padding: usize,
    /// Activation applied to the output.
    pub act: Option<Activation>,
    /// The pre-activation, kept by the forward pass for SiLU's derivative (the others'
    /// come from the output).
    pub pre: Mutex<Option<Tensor>>,
}

/// What a [`ConvOp`] computes on given shapes.
struct Plan {
    geometry: Geometry,
    /// Channels on the grid side (conv: output, transposed: input).
    m: usize,
    /// Output channels.
    out_channels: usize,
    /// Output dims `[B, C, H, W]`.
    out: [usize; 4],
}

fn dims4(shape: &Shape, what: &str) -> Result<[usize; 4]> {
    match shape.dims() {
        &[a, b, c, d] => Ok([a, b, c, d]),
        dims => candle_core::bail!("conv: {what} must be 4-D, got {dims:?}"),
    }
}

impl ConvOp {
    fn plan(&self, x: &Shape, w: &Shape) -> Result<Plan> {
        let [batch, channels, h, wd] = dims4(x, "input")?;
        let [w0, w1, kh, kw] = dims4(w, "weight")?;
        let (s, p) = (self.stride, self.padding);
        if s == 0 || kh == 0 || kw == 0 {
            candle_core::bail!("conv: stride and kernel must be positive");
        }
        let expected = if self.transposed { w0 } else { w1 };
        if expected != channels {
            candle_core::bail!(
                "conv: input has {channels} channels, weight {w:?} expects {expected}"
            );
        }
        if self.transposed {
            if self.output_padding >= s {
                candle_core::bail!("conv-transpose: output_padding must be below the stride");
            }
            let size = |i: usize, k: usize| {
                (i.checked_sub(1)? * s + k + self.output_padding).checked_sub(2 * p)
            };
            let (Some(oh), Some(ow)) = (size(h, kh), size(wd, kw)) else {
                candle_core::bail!("conv-transpose: empty input or padding {p} too large");
            };
            let geometry = Geometry {
                channels: w1,
                height: oh,
                width: ow,
                kh,
                kw,
                stride: s,
                padding: p,
                gh: h,
                gw: wd,
            };
            Ok(Plan {
                geometry,
                m: channels,
                out_channels: w1,
                out: [batch, w1, oh, ow],
            })
        } else {
            if h + 2 * p < kh || wd + 2 * p < kw {
                candle_core::bail!("conv: kernel {kh}×{kw} larger than the padded input {h}×{wd}");
            }
            let (gh, gw) = ((h + 2 * p - kh) / s + 1, (wd + 2 * p - kw) / s + 1);
            let geometry = Geometry {
                channels,
                height: h,
                width: wd,
                kh,
                kw,
                stride: s,
                padding: p,
                gh,
                gw,
            };
            Ok(Plan {
                geometry,
                m: w0,
                out_channels: w0,
                out: [batch, w0, gh, gw],
            })
        }
    }

    fn forward(
        &self,
        (s1, l1): (&CpuStorage, &Layout),
        (s2, l2): (&CpuStorage, &Layout),
        bias: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        let plan = self.plan(l1.shape(), l2.shape())?;
        let x = contiguous_f32(s1, l1, "conv")?;
        let w = contiguous_f32(s2, l2, "conv")?;
        let b = match bias {
            Some((s3, l3)) => {
                let b = contiguous_f32(s3, l3, "conv")?;
                if b.len() != plan.out_channels {
                    candle_core::bail!(
                        "conv: bias of {} for {} channels",
                        b.len(),
                        plan.out_channels
                    );
                }
                Some(b)
            }
            None => None,
        };
        let epilogue = Epilogue {
            bias: b,
            act: self.act,
            keep_pre: self.act == Some(Activation::Silu),
        };
        let (out, pre) = if self.transposed {
            raise(&plan.geometry, plan.m, w, epilogue, x)
        } else {
            lower(&plan.geometry, plan.m, w, epilogue, x)
        };
        let shape = Shape::from(plan.out.to_vec());
        if let Some(pre) = pre {
            let pre = Tensor::from_vec(pre, shape.clone(), &Device::Cpu)?;
            *self.pre.lock().expect("conv: poisoned lock") = Some(pre);
        }
        Ok((CpuStorage::F32(out), shape))
    }

    fn backward(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: Option<&Tensor>,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let plan = self.plan(x.shape(), w.shape())?;
        let grad = grad.contiguous()?;
        let grad = match self.act {
            None => grad,
            Some(Activation::Silu) => {
                let pre = self.pre.lock().expect("conv: poisoned lock").clone();
                let Some(pre) = pre else {
                    candle_core::bail!("conv: backward before forward");
                };
                grad.apply_op2_no_bwd(&pre, &ActGrad(Activation::Silu))?
            }
            Some(act) => grad.apply_op2_no_bwd(&res.contiguous()?, &ActGrad(act))?,
        };
        let (g, m) = (plan.geometry, plan.m);
        let kernel = |kind| Kernel {
            kind,
            geometry: g,
            m,
        };
        // Only what the graph needs: no input gradient for an image batch from the data.
        let dx = if x.track_op() {
            let kind = if self.transposed {
                Kind::Lower
            } else {
                Kind::Raise
            };
            Some(grad.apply_op2_no_bwd(w, &kernel(kind))?)
        } else {
            None
        };
        let dw = if w.track_op() {
            let (grids, images) = if self.transposed {
                (x, &grad)
            } else {
                (&grad, x)
            };
            Some(
                grids
                    .apply_op2_no_bwd(images, &kernel(Kind::WeightGrad))?
                    .reshape(w.shape())?,
            )
        } else {
            None
        };
        let db = match b {
            Some(b) if b.track_op() => Some(grad.apply_op1_no_bwd(&ChannelSum)?),
            _ => None,
        };
        Ok((dx, dw, db))
    }
}

impl CustomOp2 for ConvOp {
    fn name(&self) -> &'static str {
        if self.transposed {
            "conv-transpose2d"
        } else {
            "conv2d"
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.forward((s1, l1), (s2, l2), None)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw, _) = self.backward(x, w, None, res, grad)?;
        Ok((dx, dw))
    }
}

impl CustomOp3 for ConvOp {
    fn name(&self) -> &'static str {
        if self.transposed {
            "conv-transpose2d-bias"
        } else {
            "conv2d-bias"
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.forward((s1, l1), (s2, l2), Some((s3, l3)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        self.backward(x, w, Some(b), res, grad)
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `(images [B, C, H, W], a [m, …]) → grids [B, m, gh, gw]`.
    Lower,
    /// `(grids [B, m, gh, gw], a [m, …]) → images [B, C, H, W]`.
    Raise,
    /// `(grids [B, m, gh, gw], images [B, C, H, W]) → [m, C·kh·kw]`.
    WeightGrad,
}

/// One of the gradient products, with the geometry fixed by the forward op.
struct Kernel {
    kind: Kind,
    geometry: Geometry,
    m: usize,
}

impl CustomOp2 for Kernel {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Lower => "conv-lower",
            Kind::Raise => "conv-raise",
            Kind::WeightGrad => "conv-weight-grad",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (g, m) = (&self.geometry, self.m);
        let a = contiguous_f32(s1, l1, self.name())?;
        let b = contiguous_f32(s2, l2, self.name())?;
        let batch = l1.shape().dims()[0];
        let (out, shape) = match self.kind {
            Kind::Lower => (
                lower(g, m, b, Epilogue::default(), a).0,
                vec![batch, m, g.gh, g.gw],
            ),
            Kind::Raise => (
                raise(g, m, b, Epilogue::default(), a).0,
                vec![batch, g.channels, g.height, g.width],
            ),
            Kind::WeightGrad => (weight_grad(g, m, a, b), vec![m, g.rows()]),
        };
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}

/// `[B, C, H, W] → [C]`, the bias gradient.
struct ChannelSum;

impl CustomOp1 for ChannelSum {
    fn name(&self) -> &'static str {
        "conv-channel-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let [_, c, h, w] = dims4(l.shape(), "gradient")?;
        let x = contiguous_f32(s, l, self.name())?;
        Ok((CpuStorage::F32(channel_sum(x, c, h * w)), Shape::from(c)))
    }
}
