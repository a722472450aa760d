//! World Models' memory model M (Ha & Schmidhuber 2018): an LSTM over `[z_t, a_t]` whose
//! state `h_{t+1}` predicts the next latent as a mixture of Gaussians — K components for
//! each dimension of z separately, as in the paper's code — together with the reward and
//! the episode's end (the paper's VizDoom model predicts the end; ours adds the reward so
//! that the dream can score tasks whose reward is not one per step).
//!
//! Loss per valid step: the negative log-likelihood of `z_{t+1}` averaged over z's
//! dimensions (the paper's `reduce_mean`), plus the reward's squared error, plus the
//! end's binary cross-entropy.

use candle_core::{Device, Module, Tensor, D};
use reverie_core::Rng;
use reverie_nn::dist::{Bernoulli, Distribution, MixtureNormal};
use reverie_nn::{nested, LinearConfig, LstmCell, LstmConfig, Parameters, Result};
use serde::{Deserialize, Serialize};

/// Sizes of an [`MdnRnn`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct MdnRnnConfig {
    /// Width of the LSTM state h (the paper: 256 for CarRacing, 512 for VizDoom).
    pub hidden: usize,
    /// Gaussians per dimension of z (the paper: 5).
    pub mixtures: usize,
}

impl Default for MdnRnnConfig {
    fn default() -> Self {
        Self {
            hidden: 256,
            mixtures: 5,
        }
    }
}

impl MdnRnnConfig {
    /// An MDN-RNN over latents of width `latent` and model-scale actions of width
    /// `action_dim`.
    pub fn init(
        &self,
        latent: usize,
        action_dim: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<MdnRnn> {
        if self.hidden == 0 || self.mixtures == 0 || latent == 0 {
            candle_core::bail!("mdn-rnn widths must be positive");
        }
        Ok(MdnRnn {
            lstm: LstmConfig::new(latent + action_dim, self.hidden).init(rng, device)?,
            head: LinearConfig {
                inputs: self.hidden,
                outputs: 3 * latent * self.mixtures + 2,
                activation: None,
            }
            .init(rng, device)?,
            latent,
            mixtures: self.mixtures,
        })
    }
}

/// What h predicts about the next step.
pub struct MdnPrediction {
    /// The next latent: per row `[B, latent]` independent mixtures of `mixtures` Gaussians
    /// (the distribution's batch shape is `[B, latent]`, its event one value).
    pub next_z: MixtureNormal,
    /// The reward of the step, `[B]`.
    pub reward: Tensor,
    /// The logit of "the episode ends at the next observation", `[B]`.
    pub end_logit: Tensor,
}

/// Training windows for [`MdnRnn::loss`]: `B` sequences of `T` steps, each starting at an
/// episode's first observation (the LSTM starts from zeros, as when acting).
pub struct MdnSequences {
    /// `[B, T + 1, latent]` latents of consecutive observations.
    pub z: Tensor,
    /// `[B, T, action_dim]` model-scale actions taken from `z[:, t]`.
    pub actions: Tensor,
    /// `[B, T]` rewards of those steps.
    pub rewards: Tensor,
    /// `[B, T]` 1 where the observation after step t is terminal.
    pub ends: Tensor,
    /// `[B, T]` 1 where step t exists (episodes shorter than T are padded).
    pub mask: Tensor,
}

/// The memory model (see the module docs).
#[derive(Debug)]
pub struct MdnRnn {
    lstm: LstmCell,
    head: reverie_nn::Linear,
    latent: usize,
    mixtures: usize,
}

impl MdnRnn {
    /// Width of h.
    pub fn hidden(&self) -> usize {
        self.lstm.hidden()
    }

    /// The initial `(h, c)` for `rows` rows: zeros.
    pub fn initial_state(&self, rows: usize) -> Result<(Tensor, Tensor)> {
        let device = self.head.weight().device();
        let zeros = Tensor::zeros((rows, self.hidden()), candle_core::DType::F32, device)?;
        Ok((zeros.clone(), zeros))
    }

    /// `(h, c)` after `z [B, latent]` and `action [B, action_dim]`.
    pub fn step(
        &self,
        z: &Tensor,
        action: &Tensor,
        (h, c): (&Tensor, &Tensor),
    ) -> Result<(Tensor, Tensor)> {
        self.lstm.step(&Tensor::cat(&[z, action], 1)?, (h, c))
    }

    /// What `h [B, hidden]` predicts.
    pub fn predict(&self, h: &Tensor) -> Result<MdnPrediction> {
        let rows = h.dim(0)?;
        let out = self.head.forward(h)?;
        let (z, k) = (self.latent, self.mixtures);
        let part = |i: usize| out.narrow(1, i * z * k, z * k)?.reshape((rows, z, k));
        let log_stds = part(2)?.clamp(-7.0, 3.0)?.unsqueeze(3)?;
        Ok(MdnPrediction {
            next_z: MixtureNormal::new(&part(0)?, &part(1)?.unsqueeze(3)?, &log_stds)?,
            reward: out.narrow(1, 3 * z * k, 1)?.squeeze(1)?,
            end_logit: out.narrow(1, 3 * z * k + 1, 1)?.squeeze(1)?,
        })
    }

    /// The mean loss over valid steps, and its three parts (`(nll, reward, end)`).
    pub fn loss(&self, seq: &MdnSequences) -> Result<(Tensor, [f64; 3])> {
        let (b, t) = seq.rewards.dims2()?;
        let (mut h, mut c) = self.initial_state(b)?;
        let mut states = Vec::with_capacity(t);
        for step in 0..t {
            let z = seq.z.narrow(1, step, 1)?.squeeze(1)?;
            let a = seq.actions.narrow(1, step, 1)?.squeeze(1)?;
            (h, c) = self.step(&z, &a, (&h, &c))?;
            states.push(h.clone());
        }
        // Every step's prediction in one batch: [B·T, hidden], row b·T + t.
        let h_all = Tensor::stack(&states, 1)?.reshape((b * t, self.hidden()))?;
        let pred = self.predict(&h_all)?;
        let next = seq.z.narrow(1, 1, t)?.reshape((b * t, self.latent, 1))?;
        let mask = seq.mask.reshape(b * t)?;
        let valid = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
        let masked_mean =
            |per_row: Tensor| -> Result<Tensor> { (per_row * &mask)?.sum_all()? / valid };
        let nll = masked_mean(pred.next_z.log_prob(&next)?.mean(D::Minus1)?.neg()?)?;
        let reward_err = masked_mean((pred.reward - seq.rewards.reshape(b * t)?)?.sqr()?)?;
        // One Bernoulli event per row: `[B·T, 1]`.
        let end = Bernoulli::from_logits(&pred.end_logit.unsqueeze(1)?);
        let end_nll = masked_mean(end.log_prob(&seq.ends.reshape((b * t, 1))?)?.neg()?)?;
        let scalar = |x: &Tensor| -> Result<f64> { Ok(x.to_scalar::<f32>()? as f64) };
        let parts = [scalar(&nll)?, scalar(&reward_err)?, scalar(&end_nll)?];
        Ok((((nll + reward_err)? + end_nll)?, parts))
    }
}

impl Parameters for MdnRnn {
    fn named_vars(&self) -> Vec<(String, candle_core::Var)> {
        nested(vec![
            ("lstm".into(), &self.lstm as &dyn Parameters),
            ("head".into(), &self.head),
        ])
    }
}

#[cfg(test)]
mod tests {
    use reverie_nn::{Adam, AdamConfig};

    use super::*;

    #[test]
    fn learns_a_two_state_world_with_its_reward_and_end() {
        // z alternates between −1 and +1 when the action is 1 and stays when it is 0; the
        // reward is the action; the episode ends after 6 steps. A trained model predicts
        // each from h.
        let device = Device::Cpu;
        let mut rng = Rng::seed_from_u64(0);
        let rnn = MdnRnnConfig {
            hidden: 32,
            mixtures: 2,
        }
        .init(1, 1, &mut rng, &device)
        .unwrap();
        let (b, t) = (16, 6);
        let mut z = Vec::new();
        let mut actions = Vec::new();
        let mut ends = Vec::new();
        for _ in 0..b {
            let mut v = if rng.bernoulli(0.5) { 1.0f32 } else { -1.0 };
            z.push(v);
            for step in 0..t {
                let a = if rng.bernoulli(0.5) { 1.0f32 } else { 0.0 };
                actions.push(a);
                if a == 1.0 {
                    v = -v;
                }
                z.push(v);
                ends.push(if step == t - 1 { 1.0f32 } else { 0.0 });
            }
        }
        let seq = MdnSequences {
            z: Tensor::from_vec(z, (b, t + 1, 1), &device).unwrap(),
            rewards: Tensor::from_slice(&actions, (b, t), &device).unwrap(),
            actions: Tensor::from_vec(actions, (b, t, 1), &device).unwrap(),
            ends: Tensor::from_vec(ends, (b, t), &device).unwrap(),
            mask: Tensor::ones((b, t), candle_core::DType::F32, &device).unwrap(),
        };
        let mut adam = Adam::new(
            rnn.vars(),
            AdamConfig {
                lr: 1e-2,
                ..Default::default()
            },
        )
        .unwrap();
        let (_, first) = rnn.loss(&seq).unwrap();
        let mut parts = first;
        for _ in 0..300 {
            let (loss, p) = rnn.loss(&seq).unwrap();
            parts = p;
            adam.backward_step(&loss, None).unwrap();
        }
        // A deterministic next z: the density grows without bound, the NLL goes negative.
        assert!(parts[0] < -1.0, "nll {first:?} -> {parts:?}");
        assert!(parts[1] < 0.01, "reward {first:?} -> {parts:?}");
        // Always predicting the ends' rate (1 in 6) scores 0.45: the model counts steps.
        assert!(parts[2] < 0.3, "end {first:?} -> {parts:?}");
    }
}
