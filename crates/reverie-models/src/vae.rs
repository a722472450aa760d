//! World Models' vision model V (Ha & Schmidhuber 2018): a variational autoencoder that
//! compresses each observation to a small latent z, trained alone on frames.
//!
//! The convolutional pair is the world model's own coder (`world_model/coder.rs`: four 4 × 4
//! stride-2 convolutions with channel norms, and their transposed mirror), with a linear
//! layer from its embedding to the posterior's mean and log standard deviation. The paper's
//! encoder maps the flattened convolutions straight to the moments; ours passes through the
//! coder's embedding layer first. Vector observations get the coder's MLPs, so the same
//! model runs on CartPole-v1's four numbers (fast tests) and on its 64 × 64 frames.
//!
//! Loss (the paper's code): the squared reconstruction error summed over pixels, plus the
//! KL to N(0, I) summed over z, floored at `kl_tolerance · latent` nats — the "KL
//! tolerance" that stops the posterior collapsing onto the prior early in training.

use candle_core::{Device, Module, Tensor, D};
use reverie_core::{ObsBatch, Rng};
use reverie_nn::dist::noise::standard_normal;
use reverie_nn::dist::Normal;
use reverie_nn::{nested, Linear, LinearConfig, Parameters, Result};
use serde::{Deserialize, Serialize};

use crate::world_model::coder::{Decoder, Encoder};
use crate::{ObsShape, WorldModelConfig};

/// Sizes and loss options of a [`Vae`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct VaeConfig {
    /// Width of z (the paper: 32 for CarRacing, 64 for VizDoom).
    pub latent: usize,
    /// Channels of the first convolution, doubling over four stages (the paper: 32).
    pub depth: usize,
    /// Width of the coder's embedding, and of the hidden layers of the MLP coder used for
    /// vector observations.
    pub embed: usize,
    /// Channel norms in the convolutional coder (see `world_model/coder.rs`).
    pub cnn_norm: bool,
    /// The KL term is floored at `kl_tolerance · latent` nats (the paper: 0.5).
    pub kl_tolerance: f64,
}

impl Default for VaeConfig {
    fn default() -> Self {
        Self {
            latent: 32,
            depth: 32,
            embed: 256,
            cnn_norm: true,
            kl_tolerance: 0.5,
        }
    }
}

impl VaeConfig {
    /// Checks sizes and the tolerance.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.latent == 0 || self.depth == 0 || self.embed == 0 {
            return Err("vae widths must be positive".into());
        }
        if !(self.kl_tolerance >= 0.0 && self.kl_tolerance.is_finite()) {
            return Err(format!(
                "kl_tolerance must be >= 0, got {}",
                self.kl_tolerance
            ));
        }
        Ok(())
    }

    /// The coder settings of the world model this VAE borrows its encoder and decoder from.
    fn coder(&self) -> WorldModelConfig {
        WorldModelConfig {
            hidden: vec![self.embed, self.embed],
            embed: self.embed,
            depth: self.depth,
            cnn_norm: self.cnn_norm,
            symlog_obs: false,
            ..WorldModelConfig::default()
        }
    }

    /// A VAE for observations of `shape`.
    pub fn init(&self, shape: ObsShape, rng: &mut Rng, device: &Device) -> Result<Vae> {
        self.validate().map_err(candle_core::Error::Msg)?;
        let coder = self.coder();
        let encoder = Encoder::new(shape, &coder, rng, device)?;
        let moments = LinearConfig {
            inputs: self.embed,
            outputs: 2 * self.latent,
            activation: None,
        }
        .init(rng, device)?;
        let decoder = Decoder::new(shape, &coder, self.latent, rng, device)?;
        Ok(Vae {
            config: self.clone(),
            shape,
            encoder,
            moments,
            decoder,
        })
    }
}

/// One VAE loss evaluation.
pub struct VaeLoss {
    /// Reconstruction plus the floored KL, batch mean.
    pub loss: Tensor,
    /// Squared reconstruction error per observation, batch mean.
    pub reconstruction: f64,
    /// KL(q(z | x) ‖ N(0, I)) per observation, batch mean, before the floor.
    pub kl: f64,
}

/// The vision model (see the module docs).
#[derive(Debug)]
pub struct Vae {
    config: VaeConfig,
    shape: ObsShape,
    encoder: Encoder,
    moments: Linear,
    decoder: Decoder,
}

impl Vae {
    /// Width of z.
    pub fn latent(&self) -> usize {
        self.config.latent
    }

    /// The observations as the coder takes them (images scaled to [−0.5, 0.5], NCHW).
    pub fn input(&self, obs: &ObsBatch, device: &Device) -> Result<Tensor> {
        self.shape.input(obs, device)
    }

    /// q(z | x) for [`Vae::input`]'s tensor: a diagonal Gaussian, `[B, latent]`.
    pub fn posterior(&self, input: &Tensor) -> Result<Normal> {
        let out = self.moments.forward(&self.encoder.encode(input)?)?;
        let mean = out.narrow(1, 0, self.config.latent)?.contiguous()?;
        // The paper's exp(logvar / 2), bounded so that a wild early step cannot overflow.
        let log_std = out
            .narrow(1, self.config.latent, self.config.latent)?
            .clamp(-10.0, 5.0)?
            .contiguous()?;
        Normal::from_log_std(&mean, &log_std)
    }

    /// The loss on a batch of observations; `rng` draws the reparameterised z.
    pub fn loss(&self, obs: &ObsBatch, rng: &mut Rng) -> Result<VaeLoss> {
        let input = self.input(obs, self.moments.weight().device())?;
        let q = self.posterior(&input)?;
        let rows = obs.len();
        let eps = standard_normal(rng, (rows, self.config.latent), input.device())?;
        let z = (q.mean() + (q.std() * eps)?)?;
        let decoded = self.decoder.decode(&z)?;
        let reconstruction = self
            .decoder
            .error(&decoded, &self.decoder.target(&input)?)?
            .mean_all()?;
        // KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − 2 ln σ).
        let kl = ((q.mean().sqr()? + q.std().sqr()?)? - (q.log_std() * 2.0)?)?
            .affine(1.0, -1.0)?
            .sum(D::Minus1)?
            .mean_all()?
            .affine(0.5, 0.0)?;
        let floor = self.config.kl_tolerance * self.config.latent as f64;
        let kl_value = kl.to_scalar::<f32>()? as f64;
        let kl_term = if kl_value > floor {
            kl
        } else {
            // Below the tolerance the KL is not minimised: a constant, no gradient.
            Tensor::new(floor as f32, input.device())?
        };
        Ok(VaeLoss {
            reconstruction: reconstruction.to_scalar::<f32>()? as f64,
            kl: kl_value,
            loss: (reconstruction + kl_term)?,
        })
    }

    /// Observations in the env's units from latents `[B, latent]`: vector rows `[B, D]`, or
    /// images `[B, H, W, C]` with pixel values in 0..=255.
    pub fn decode(&self, z: &Tensor) -> Result<Tensor> {
        self.decoder
            .observation(&self.decoder.decode(&z.contiguous()?)?)
    }
}

impl Parameters for Vae {
    fn named_vars(&self) -> Vec<(String, candle_core::Var)> {
        nested(vec![
            ("encoder".into(), &self.encoder as &dyn Parameters),
            ("moments".into(), &self.moments),
            ("decoder".into(), &self.decoder),
        ])
    }
}

#[cfg(test)]
mod tests {
    use reverie_nn::{Adam, AdamConfig};

    use super::*;

    /// Frames of a 4 × 4 bright square at one of `places` positions on a dark 16 × 16
    /// background.
    fn squares(places: &[(usize, usize)]) -> ObsBatch {
        let side = 16;
        let mut data = vec![0u8; places.len() * side * side * 3];
        for (k, &(r0, c0)) in places.iter().enumerate() {
            for r in r0..r0 + 4 {
                for c in c0..c0 + 4 {
                    for ch in 0..3 {
                        data[((k * side + r) * side + c) * 3 + ch] = 255;
                    }
                }
            }
        }
        ObsBatch::U8 {
            data,
            dim: side * side * 3,
        }
    }

    #[test]
    fn learns_to_reconstruct_where_the_square_is() {
        let device = Device::Cpu;
        let mut rng = Rng::seed_from_u64(0);
        let config = VaeConfig {
            latent: 4,
            depth: 8,
            embed: 64,
            ..Default::default()
        };
        let shape = ObsShape::Image {
            height: 16,
            width: 16,
            channels: 3,
        };
        let vae = config.init(shape, &mut rng, &device).unwrap();
        let mut adam = Adam::new(
            vae.vars(),
            AdamConfig {
                lr: 3e-3,
                ..Default::default()
            },
        )
        .unwrap();
        let places: Vec<(usize, usize)> = (0..4)
            .flat_map(|r| (0..4).map(move |c| (r * 4, c * 4)))
            .collect();
        let frames = squares(&places);
        let first = vae.loss(&frames, &mut rng).unwrap().reconstruction;
        let mut last = first;
        for _ in 0..1000 {
            let loss = vae.loss(&frames, &mut rng).unwrap();
            last = loss.reconstruction;
            adam.backward_step(&loss.loss, None).unwrap();
        }
        // The mean frame (the square smeared over all 16 places) errs by ~45 per frame; a
        // model that knows the place errs far less (8.0 here).
        assert!(last < 15.0, "reconstruction error {first} -> {last}");
        let z = vae
            .posterior(&vae.input(&frames, &device).unwrap())
            .unwrap()
            .mean()
            .clone();
        let images = vae.decode(&z).unwrap();
        assert_eq!(images.dims(), &[16, 16, 16, 3]);
    }

    #[test]
    fn the_kl_is_not_minimised_below_its_tolerance() {
        let device = Device::Cpu;
        let mut rng = Rng::seed_from_u64(1);
        let config = VaeConfig {
            latent: 3,
            embed: 16,
            kl_tolerance: 1e6,
            ..Default::default()
        };
        let vae = config.init(ObsShape::Vector(2), &mut rng, &device).unwrap();
        let obs = ObsBatch::F32 {
            data: vec![0.5, -1.0, 2.0, 0.0],
            dim: 2,
        };
        let loss = vae.loss(&obs, &mut rng).unwrap();
        let total = loss.loss.to_scalar::<f32>().unwrap() as f64;
        assert!((total - loss.reconstruction - 3e6).abs() < 1.0, "{total}");
    }
}
