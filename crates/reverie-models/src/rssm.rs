//! The recurrent state-space model of Dreamer (Hafner et al. 2019–2023): a deterministic
//! GRU path `h` and a stochastic latent `z`, here DreamerV2/V3's discrete one (G
//! categoricals of K classes, straight-through gradients, 1 % uniform mix).
//!
//! DreamerV1's Gaussian latent (`latent = "gaussian"`: a diagonal normal of
//! `groups · classes` dimensions, σ ≥ 0.1) is the alternative, for ablations.
//!
//! One step from `(h, z)` and the action `a`:
//! `h' = GRU(SiLU(W [z, a]), h)` (DreamerV3's layer-normed GRU), the prior
//! `p(z' | h') = Cat(MLP_prior(h'))` used to imagine, and, when an observation's embedding
//! `e` is at hand, the posterior `q(z' | h', e) = Cat(MLP_post([h', e]))` used to learn.
//! The model's features are `[h, z]`.

use candle_core::{DType, Device, Tensor, D};
use reverie_core::Rng;
use reverie_nn::dist::bernoulli::softplus;
use reverie_nn::dist::one_hot::DREAMER_UNIMIX;
use reverie_nn::dist::{Normal, OneHotCategorical};
use reverie_nn::ops::WeightGradTape;
use reverie_nn::{
    nested, Activation, Init, Linear, LinearConfig, Mlp, MlpConfig, NormGruCell, NormGruConfig,
    Parameters, Result,
};
use serde::{Deserialize, Serialize};

/// Sizes of an [`Rssm`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct RssmConfig {
    /// Width of the deterministic (GRU) state `h`.
    pub deter: usize,
    /// Width of the hidden layers of the input layer and the prior and posterior heads.
    pub hidden: usize,
    /// Categoricals in the stochastic state `z` (DreamerV3: 32).
    pub groups: usize,
    /// Classes per categorical (DreamerV3: 32).
    pub classes: usize,
    /// Uniform mix of the latent distributions (DreamerV3: 0.01; 0 turns it off).
    pub unimix: f64,
    /// `discrete` (DreamerV2/V3: `groups` categoricals of `classes`) or `gaussian`
    /// (DreamerV1: a diagonal normal of `groups · classes` dimensions).
    pub latent: LatentKind,
}

/// The kind of the stochastic state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatentKind {
    /// One-hot categoricals with straight-through gradients.
    #[default]
    Discrete,
    /// A diagonal Gaussian with reparameterised draws.
    Gaussian,
}

/// DreamerV1's lower bound on the latent standard deviation.
const MIN_STD: f64 = 0.1;

impl Default for RssmConfig {
    /// DreamerV3's `xs` sizes except the latent: 16 × 16 classes, enough for vector tasks.
    fn default() -> Self {
        Self {
            deter: 256,
            hidden: 256,
            groups: 16,
            classes: 16,
            unimix: DREAMER_UNIMIX,
            latent: LatentKind::Discrete,
        }
    }
}

impl RssmConfig {
    /// Width of the stochastic state (`groups · classes`).
    pub fn stoch(&self) -> usize {
        self.groups * self.classes
    }

    /// Width of the features `[h, z]`.
    pub fn features(&self) -> usize {
        self.deter + self.stoch()
    }

    /// Checks the sizes.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.deter == 0 || self.hidden == 0 || self.groups == 0 || self.classes < 2 {
            return Err(format!(
                "rssm sizes must be positive with at least 2 classes, got {self:?}"
            ));
        }
        if !(0.0..1.0).contains(&self.unimix) {
            return Err(format!(
                "rssm.unimix must be in [0, 1), got {}",
                self.unimix
            ));
        }
        Ok(())
    }

    /// The model for actions of width `actions` and embeddings of width `embed`.
    pub fn init(
        &self,
        actions: usize,
        embed: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Rssm> {
        self.validate().map_err(candle_core::Error::Msg)?;
        let input = LinearConfig {
            inputs: self.stoch() + actions,
            outputs: self.hidden,
            activation: Some(Activation::Silu),
        }
        .init(rng, device)?;
        let gru = NormGruConfig::new(self.hidden, self.deter).init(rng, device)?;
        // A Gaussian head outputs a mean and a pre-softplus standard deviation per dimension.
        let outputs = match self.latent {
            LatentKind::Discrete => self.stoch(),
            LatentKind::Gaussian => 2 * self.stoch(),
        };
        let head = |inputs: usize, rng: &mut Rng| {
            MlpConfig {
                sizes: vec![inputs, self.hidden, outputs],
                activation: Activation::Silu,
                init: Init::Torch,
            }
            .init(rng, device)
        };
        let prior = head(self.deter, rng)?;
        let posterior = head(self.deter + embed, rng)?;
        Ok(Rssm {
            config: self.clone(),
            actions,
            input,
            gru,
            prior,
            posterior,
            device: device.clone(),
        })
    }
}

/// A batch of RSSM states.
#[derive(Clone, Debug)]
pub struct RssmState {
    /// `[B, deter]` deterministic states.
    pub deter: Tensor,
    /// `[B, groups · classes]` one-hot stochastic states.
    pub stoch: Tensor,
}

impl RssmState {
    /// Features `[h, z]`, `[B, deter + stoch]`.
    pub fn features(&self) -> Result<Tensor> {
        Tensor::cat(&[&self.deter, &self.stoch], D::Minus1)
    }

    /// The same states without gradient.
    pub fn detach(&self) -> Self {
        Self {
            deter: self.deter.detach(),
            stoch: self.stoch.detach(),
        }
    }

    /// Rows kept where `keep` is 1 and zeroed (the initial state) where it is 0; `keep`
    /// is `[B, 1]`.
    pub fn masked(&self, keep: &Tensor) -> Result<Self> {
        Ok(Self {
            deter: self.deter.broadcast_mul(keep)?,
            stoch: self.stoch.broadcast_mul(keep)?,
        })
    }
}

/// A latent distribution: discrete (grouped one-hot) or Gaussian.
#[derive(Clone, Debug)]
pub enum Latent {
    /// Grouped one-hot categoricals, `[B, groups, classes]`.
    Discrete(OneHotCategorical),
    /// A diagonal normal, `[B, stoch]`.
    Gaussian(Normal),
}

impl Latent {
    /// A reparameterised draw, flattened to `[B, stoch]` (straight-through for discrete).
    pub fn rsample(&self, rng: &mut Rng) -> Result<Tensor> {
        match self {
            Latent::Discrete(d) => d.rsample(rng)?.flatten_from(1),
            Latent::Gaussian(d) => d.rsample(rng),
        }
    }

    /// KL(self ‖ other) per row, `[B]` (summed over groups or dimensions).
    pub fn kl(&self, other: &Latent) -> Result<Tensor> {
        match (self, other) {
            (Latent::Discrete(p), Latent::Discrete(q)) => p.kl(q),
            (Latent::Gaussian(p), Latent::Gaussian(q)) => p.kl(q),
            _ => candle_core::bail!("KL between latents of different kinds"),
        }
    }

    /// The same distribution without gradient (`sg(·)` in the balanced KL terms).
    pub fn detached(&self) -> Result<Latent> {
        Ok(match self {
            Latent::Discrete(d) => Latent::Discrete(d.detached()),
            Latent::Gaussian(d) => {
                Latent::Gaussian(Normal::from_std(&d.mean().detach(), &d.std().detach())?)
            }
        })
    }
}

/// One step's outputs while observing.
pub struct ObserveStep {
    /// The state with `z` drawn from the posterior.
    pub state: RssmState,
    /// The posterior's parameters `[B, params]` (logits, or a mean and a pre-softplus
    /// scale): a training unroll stacks them over steps and builds the distribution once
    /// ([`Rssm::distribution`]) for the KL, as it does the prior ([`Rssm::prior`]).
    pub posterior: Tensor,
}

/// The recurrent state-space model (see the module docs).
#[derive(Debug)]
pub struct Rssm {
    config: RssmConfig,
    actions: usize,
    input: Linear,
    gru: NormGruCell,
    prior: Mlp,
    posterior: Mlp,
    device: Device,
}

impl Rssm {
    /// The sizes.
    pub fn config(&self) -> &RssmConfig {
        &self.config
    }

    /// The initial state of `rows` streams: zeros (DreamerV3 resets to zeros at `is_first`).
    pub fn initial(&self, rows: usize) -> Result<RssmState> {
        Ok(RssmState {
            deter: Tensor::zeros((rows, self.config.deter), DType::F32, &self.device)?,
            stoch: Tensor::zeros((rows, self.config.stoch()), DType::F32, &self.device)?,
        })
    }

    /// The next deterministic state from `state` and `action` (`[B, actions]`).
    fn deter_step(
        &self,
        state: &RssmState,
        action: &Tensor,
        tape: Option<&WeightGradTape>,
    ) -> Result<Tensor> {
        let x = self
            .input
            .forward_taped(&Tensor::cat(&[&state.stoch, action], D::Minus1)?, tape)?;
        self.gru.step_taped(&x, &state.deter, tape)
    }

    /// The latent distribution with parameters `out` (`[B, params]`, a head's output).
    pub fn distribution(&self, out: &Tensor) -> Result<Latent> {
        let rows = out.dim(0)?;
        Ok(match self.config.latent {
            LatentKind::Discrete => {
                let grouped = out.reshape((rows, self.config.groups, self.config.classes))?;
                Latent::Discrete(OneHotCategorical::grouped(&grouped, self.config.unimix)?)
            }
            LatentKind::Gaussian => {
                let k = self.config.stoch();
                let mean = out.narrow(D::Minus1, 0, k)?;
                let std = (softplus(&out.narrow(D::Minus1, k, k)?)? + MIN_STD)?;
                Latent::Gaussian(Normal::from_std(&mean, &std)?)
            }
        })
    }

    /// Imagines one step: the prior's draw (straight-through) after `action`.
    pub fn imagine(&self, state: &RssmState, action: &Tensor, rng: &mut Rng) -> Result<RssmState> {
        let deter = self.deter_step(state, action, None)?;
        let stoch = self.prior(&deter)?.rsample(rng)?;
        Ok(RssmState { deter, stoch })
    }

    /// The prior `p(z | h)` of deterministic states `deter` (`[B, deter]`).
    pub fn prior(&self, deter: &Tensor) -> Result<Latent> {
        self.distribution(&self.prior.forward(deter)?)
    }

    /// Observes one step: after `action` from `state`, the posterior given the
    /// observation's embedding `embed` (`[B, embed]`).
    ///
    /// The prior is not computed here: it depends on `h` only, so a training unroll gets it
    /// for all steps in one batch afterwards, off the sequential path (which, at batch 16,
    /// pays candle's per-op cost on every small op).
    ///
    /// With a `tape`, the weight gradients of the step's layers are deferred to it
    /// ([`reverie_nn::ops::linear_taped`]): a training unroll passes one tape to every step.
    pub fn observe(
        &self,
        state: &RssmState,
        action: &Tensor,
        embed: &Tensor,
        rng: &mut Rng,
        tape: Option<&WeightGradTape>,
    ) -> Result<ObserveStep> {
        let deter = self.deter_step(state, action, tape)?;
        let posterior = self
            .posterior
            .forward_taped(&Tensor::cat(&[&deter, embed], D::Minus1)?, tape)?;
        let stoch = self.distribution(&posterior)?.rsample(rng)?;
        Ok(ObserveStep {
            state: RssmState { deter, stoch },
            posterior,
        })
    }

    /// Width of the actions it takes.
    pub fn action_dim(&self) -> usize {
        self.actions
    }
}

impl Parameters for Rssm {
    fn named_vars(&self) -> Vec<(String, candle_core::Var)> {
        nested(vec![
            ("input".into(), &self.input as &dyn Parameters),
            ("gru".into(), &self.gru),
            ("prior".into(), &self.prior),
            ("posterior".into(), &self.posterior),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> RssmConfig {
        RssmConfig {
            deter: 8,
            hidden: 8,
            groups: 3,
            classes: 4,
            unimix: DREAMER_UNIMIX,
            latent: LatentKind::Discrete,
        }
    }

    /// KL(posterior ‖ prior) of one observed step, per row.
    fn kl_of(rssm: &Rssm, step: &ObserveStep) -> Tensor {
        let posterior = rssm.distribution(&step.posterior).unwrap();
        let prior = rssm.prior(&step.state.deter).unwrap();
        posterior.kl(&prior).unwrap()
    }

    #[test]
    fn gaussian_latents_are_reparameterised_and_have_a_kl() {
        let mut rng = Rng::seed_from_u64(1);
        let config = RssmConfig {
            latent: LatentKind::Gaussian,
            ..small()
        };
        let rssm = config.init(2, 5, &mut rng, &Device::Cpu).unwrap();
        let state = rssm.initial(3).unwrap();
        let action = Tensor::ones((3, 2), DType::F32, &Device::Cpu).unwrap();
        let embed = Tensor::ones((3, 5), DType::F32, &Device::Cpu).unwrap();
        let step = rssm
            .observe(&state, &action, &embed, &mut rng, None)
            .unwrap();
        assert_eq!(step.state.stoch.dims(), [3, 12]);
        let kl = kl_of(&rssm, &step);
        assert_eq!(kl.dims(), [3]);
        let loss = (kl.sum_all().unwrap() + step.state.stoch.sum_all().unwrap()).unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in rssm.named_vars() {
            assert!(
                grads.get(var.as_tensor()).is_some(),
                "no gradient for {name}"
            );
        }
    }

    #[test]
    fn steps_keep_shapes_draw_one_hot_latents_and_pass_gradients() {
        let mut rng = Rng::seed_from_u64(0);
        let rssm = small().init(2, 5, &mut rng, &Device::Cpu).unwrap();
        let state = rssm.initial(6).unwrap();
        let action = Tensor::ones((6, 2), DType::F32, &Device::Cpu).unwrap();
        let embed = Tensor::ones((6, 5), DType::F32, &Device::Cpu).unwrap();
        let step = rssm
            .observe(&state, &action, &embed, &mut rng, None)
            .unwrap();
        assert_eq!(step.state.deter.dims(), [6, 8]);
        assert_eq!(step.state.stoch.dims(), [6, 12]);
        // Each group of the draw is one-hot.
        let z: Vec<f32> = step.state.stoch.flatten_all().unwrap().to_vec1().unwrap();
        for group in z.chunks(4) {
            assert_eq!(group.iter().sum::<f32>(), 1.0);
        }
        let next = rssm.imagine(&step.state, &action, &mut rng).unwrap();
        assert_eq!(next.features().unwrap().dims(), [6, 20]);
        // The straight-through draw passes gradients to every part of the model.
        let loss = (next.features().unwrap().sqr().unwrap().sum_all().unwrap()
            + kl_of(&rssm, &step).sum_all().unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in rssm.named_vars() {
            assert!(
                grads.get(var.as_tensor()).is_some(),
                "no gradient for {name}"
            );
        }
    }
}
