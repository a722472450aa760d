//! 2-D convolution layers for image encoders and decoders (NCHW, PyTorch's layouts and
//! default initialisation): [`Conv2d`] and [`ConvTranspose2d`], built from
//! [`Conv2dConfig`] / [`ConvTranspose2dConfig`], and the functional [`conv2d`] /
//! [`conv_transpose2d`] they run on.
//!
//! On the CPU both are candle custom ops on hand-written kernels (`im2col` + matmul, and the
//! adjoint matmul + `col2im`), with their backward and the layer's activation fused in.
//! candle's own CPU `conv_transpose2d` (which its `conv2d` backward also uses for the input
//! gradient) is a direct loop. `examples/conv_speed.rs` times a DreamerV3-sized 64×64
//! autoencoder training step (batch 1024, 85 GFLOP, 2 threads, AVX-512 EPYC): candle's ops
//! 7.7 s, these 0.48 s (≈177 GFLOP/s) in the same run; up to 0.9 s while other builds
//! shared the two cores. Off the CPU the layers use candle's ops.
//!
//! Memory: candle allocates every tensor afresh, and glibc hands each one over 32 MB a new
//! `mmap` and unmaps it on free, so every step faults its activations and gradients in
//! again: that step took 1.7 s with glibc's allocator. Binaries should run on an allocator
//! that keeps freed memory, as the `reverie` CLI and the example do (mimalloc).

mod geometry;
mod kernels;
mod op;

use candle_core::{DType, Device, Module, Tensor, Var};
use reverie_core::Rng;
use serde::{Deserialize, Serialize};

use crate::ensemble::Activation;
use crate::module::Parameters;
use crate::Result;
use op::ConvOp;

/// Whether the hand-written kernels apply (candle's ops otherwise).
fn fast_path(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// `act(conv(x, w) + b)`: convolution of `x [B, in, H, W]` with `w [out, in, k, k]` (plus
/// `b [out]`) → `[B, out, (H + 2·padding − k)/stride + 1, …]`, like PyTorch's `conv2d` (no
/// dilation or groups), then the activation if any.
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: usize,
    act: Option<Activation>,
) -> Result<Tensor> {
    if fast_path(x) {
        let op = ConvOp {
            transposed: false,
            stride,
            padding,
            output_padding: 0,
            act,
            pre: Default::default(),
        };
        let (x, w) = (x.contiguous()?, w.contiguous()?);
        match b {
            Some(b) => x.apply_op3(&w, &b.contiguous()?, op),
            None => x.apply_op2(&w, op),
        }
    } else {
        let y = x.conv2d(w, padding, stride, 1, 1)?;
        finish(y, b, act)
    }
}

/// Bias and activation with candle's ops (off the fast path).
fn finish(y: Tensor, b: Option<&Tensor>, act: Option<Activation>) -> Result<Tensor> {
    let y = match b {
        Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1))?)?,
        None => y,
    };
    match act {
        Some(act) => act.apply(&y),
        None => Ok(y),
    }
}

/// `act(conv_transpose(x, w) + b)`: transposed convolution (the adjoint of [`conv2d`]) of
/// `x [B, in, H, W]` with `w [in, out, k, k]` (plus `b [out]`) → `[B, out, (H − 1)·stride −
/// 2·padding + k + output_padding, …]`, like PyTorch's `conv_transpose2d`
/// (`output_padding < stride`), then the activation if any.
pub fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    stride: usize,
    padding: usize,
    output_padding: usize,
    act: Option<Activation>,
) -> Result<Tensor> {
    if fast_path(x) {
        let op = ConvOp {
            transposed: true,
            stride,
            padding,
            output_padding,
            act,
            pre: Default::default(),
        };
        let (x, w) = (x.contiguous()?, w.contiguous()?);
        match b {
            Some(b) => x.apply_op3(&w, &b.contiguous()?, op),
            None => x.apply_op2(&w, op),
        }
    } else {
        let y = x.conv_transpose2d(w, padding, output_padding, stride, 1)?;
        finish(y, b, act)
    }
}

/// A [`Conv2d`] layer's shape and options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride, both directions.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// Whether the layer adds a per-channel bias.
    pub bias: bool,
    /// Nonlinearity applied to the output (`None`: linear).
    pub activation: Option<Activation>,
}

impl Conv2dConfig {
    /// `in → out` channels, `kernel × kernel`, stride 1, no padding, with bias, linear.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: 1,
            padding: 0,
            bias: true,
            activation: None,
        }
    }

    /// Output side for an input side `size`: `(size + 2·padding − kernel)/stride + 1`.
    pub fn out_size(&self, size: usize) -> usize {
        (size + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// A layer with PyTorch's default initialisation: weights and bias uniform in
    /// ±1/√(in·k²), drawn from `rng` (weights first) so runs reproduce exactly.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<Conv2d> {
        let fan_in = self.in_channels * self.kernel * self.kernel;
        let shape = [
            self.out_channels,
            self.in_channels,
            self.kernel,
            self.kernel,
        ];
        Ok(Conv2d {
            params: Params::init(&shape, self.out_channels, self.bias, fan_in, rng, device)?,
            config: self.clone(),
        })
    }
}

/// A [`ConvTranspose2d`] layer's shape and options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvTranspose2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel side.
    pub kernel: usize,
    /// Stride, both directions.
    pub stride: usize,
    /// Padding removed from each side of the full output.
    pub padding: usize,
    /// Extra rows and columns at the bottom and right (below `stride`), to reach sizes a
    /// strided conv maps to the same input size.
    pub output_padding: usize,
    /// Whether the layer adds a per-channel bias.
    pub bias: bool,
    /// Nonlinearity applied to the output (`None`: linear).
    pub activation: Option<Activation>,
}

impl ConvTranspose2dConfig {
    /// `in → out` channels, `kernel × kernel`, stride 1, no padding, with bias, linear.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel,
            stride: 1,
            padding: 0,
            output_padding: 0,
            bias: true,
            activation: None,
        }
    }

    /// Output side for an input side `size`:
    /// `(size − 1)·stride − 2·padding + kernel + output_padding`.
    pub fn out_size(&self, size: usize) -> usize {
        (size - 1) * self.stride + self.kernel + self.output_padding - 2 * self.padding
    }

    /// A layer with PyTorch's default initialisation: weights and bias uniform in ±1/√fan_in
    /// with PyTorch's fan-in for this layout, `out·k²` (it reads dim 1 of `[in, out, k, k]`),
    /// drawn from `rng` (weights first) so runs reproduce exactly.
    pub fn init(&self, rng: &mut Rng, device: &Device) -> Result<ConvTranspose2d> {
        let fan_in = self.out_channels * self.kernel * self.kernel;
        let shape = [
            self.in_channels,
            self.out_channels,
            self.kernel,
            self.kernel,
        ];
        Ok(ConvTranspose2d {
            params: Params::init(&shape, self.out_channels, self.bias, fan_in, rng, device)?,
            config: self.clone(),
        })
    }
}

/// A layer's weight and optional bias.
#[derive(Clone, Debug)]
struct Params {
    weight: Var,
    bias: Option<Var>,
}

impl Params {
    fn init(
        shape: &[usize; 4],
        channels: usize,
        bias: bool,
        fan_in: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| rng.uniform_range(-bound, bound) as f32)
                .collect()
        };
        let w = draw(shape.iter().product());
        let weight = Var::from_tensor(&Tensor::from_vec(w, shape.as_slice(), device)?)?;
        let bias = if bias {
            Some(Var::from_tensor(&Tensor::from_vec(
                draw(channels),
                channels,
                device,
            )?)?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    fn named_vars(&self) -> Vec<(String, Var)> {
        std::iter::once(("weight".to_string(), self.weight.clone()))
            .chain(self.bias.clone().map(|b| ("bias".to_string(), b)))
            .collect()
    }
}

/// A 2-D convolution layer: `[B, in, H, W] → [B, out, H', W']` (see
/// [`Conv2dConfig::out_size`]); weight `[out, in, k, k]`, bias `[out]`.
#[derive(Clone, Debug)]
pub struct Conv2d {
    params: Params,
    config: Conv2dConfig,
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let b = self.params.bias.as_ref().map(|b| b.as_tensor());
        let w = self.params.weight.as_tensor();
        conv2d(x, w, b, c.stride, c.padding, c.activation)
    }
}

impl Conv2d {
    /// The configuration the layer was built from.
    pub fn config(&self) -> &Conv2dConfig {
        &self.config
    }
}

/// A 2-D transposed convolution layer: `[B, in, H, W] → [B, out, H', W']` (see
/// [`ConvTranspose2dConfig::out_size`]); weight `[in, out, k, k]`, bias `[out]`.
#[derive(Clone, Debug)]
pub struct ConvTranspose2d {
    params: Params,
    config: ConvTranspose2dConfig,
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.config;
        let b = self.params.bias.as_ref().map(|b| b.as_tensor());
        let w = self.params.weight.as_tensor();
        let (s, p, op) = (c.stride, c.padding, c.output_padding);
        conv_transpose2d(x, w, b, s, p, op, c.activation)
    }
}

impl ConvTranspose2d {
    /// The configuration the layer was built from.
    pub fn config(&self) -> &ConvTranspose2dConfig {
        &self.config
    }
}

impl Parameters for Conv2d {
    /// `weight` (`[out, in, k, k]`) and `bias`, PyTorch's names and layout.
    fn named_vars(&self) -> Vec<(String, Var)> {
        self.params.named_vars()
    }
}

impl Parameters for ConvTranspose2d {
    /// `weight` (`[in, out, k, k]`) and `bias`, PyTorch's names and layout.
    fn named_vars(&self) -> Vec<(String, Var)> {
        self.params.named_vars()
    }
}

#[cfg(test)]
mod tests;
