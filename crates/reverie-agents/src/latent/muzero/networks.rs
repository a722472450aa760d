//! MuZero's three functions (Schrittwieser et al. 2020, §3): representation
//! `s⁰ = h(o)`, dynamics `(r, sᵏ⁺¹) = g(sᵏ, aᵏ)` and prediction `(p, v) = f(sᵏ)`, as MLPs,
//! and [`LearnedModel`], the [`SearchModel`] through which the tree search expands leaves
//! with one batched call of `g` and `f`.

use candle_core::{Device, Tensor, D};
use reverie_core::Rng;
use reverie_nn::dist::value_support::ScalarSupport;
use reverie_nn::{nested, Activation, Init, Mlp, Parameters};
use reverie_planning::search::{Evaluation, Evaluations, Leaves, SearchModel};

/// Sizes of [`MuZeroNets`].
#[derive(Clone, Debug)]
pub(super) struct NetSizes {
    pub(super) obs: usize,
    pub(super) actions: usize,
    pub(super) latent: usize,
    pub(super) hidden: Vec<usize>,
    pub(super) value_support: usize,
    pub(super) reward_support: usize,
}

/// h, g (latent and reward heads) and f (policy and value heads).
#[derive(Debug)]
pub(super) struct MuZeroNets {
    representation: Mlp,
    dynamics: Mlp,
    reward: Mlp,
    policy: Mlp,
    value: Mlp,
    actions: usize,
    latent: usize,
    pub(super) value_support: ScalarSupport,
    pub(super) reward_support: ScalarSupport,
    device: Device,
}

/// `[in, hidden…, out]`.
fn sizes(input: usize, hidden: &[usize], output: usize) -> Vec<usize> {
    let mut s = vec![input];
    s.extend(hidden);
    s.push(output);
    s
}

/// Scales every row to [0, 1] by its own minimum and maximum: MuZero's normalisation of
/// hidden states (appendix G), which keeps the latents of h and g on one scale so that the
/// dynamics never sees inputs far from those it trained on.
fn min_max_rows(x: &Tensor) -> candle_core::Result<Tensor> {
    let min = x.min_keepdim(D::Minus1)?;
    let max = x.max_keepdim(D::Minus1)?;
    let range = (max - &min)?;
    x.broadcast_sub(&min)?.broadcast_div(&(range + 1e-5)?)
}

impl MuZeroNets {
    pub(super) fn new(s: &NetSizes, rng: &mut Rng, device: &Device) -> candle_core::Result<Self> {
        let value_support = ScalarSupport::new(s.value_support);
        let reward_support = ScalarSupport::new(s.reward_support);
        let mut mlp = |input: usize, output: usize| {
            Mlp::new(
                &sizes(input, &s.hidden, output),
                Activation::Relu,
                Init::Torch,
                rng,
                device,
            )
        };
        let representation = mlp(s.obs, s.latent)?;
        let dynamics = mlp(s.latent + s.actions, s.latent)?;
        let reward = mlp(s.latent + s.actions, reward_support.classes())?;
        let policy = mlp(s.latent, s.actions)?;
        let value = mlp(s.latent, value_support.classes())?;
        Ok(Self {
            representation,
            dynamics,
            reward,
            policy,
            value,
            actions: s.actions,
            latent: s.latent,
            value_support,
            reward_support,
            device: device.clone(),
        })
    }

    /// Where the networks live.
    pub(super) fn device(&self) -> &Device {
        &self.device
    }

    /// `h`: observations `[B, obs]` → latents `[B, latent]`.
    pub(super) fn represent(&self, obs: &Tensor) -> candle_core::Result<Tensor> {
        min_max_rows(&self.representation.forward(obs)?)
    }

    /// `g`: latents `[B, latent]` and one-hot actions `[B, actions]` → next latents and
    /// reward logits `[B, 2S + 1]`.
    pub(super) fn dynamics(
        &self,
        latent: &Tensor,
        action: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let input = Tensor::cat(&[latent, action], D::Minus1)?;
        let next = min_max_rows(&self.dynamics.forward(&input)?)?;
        Ok((next, self.reward.forward(&input)?))
    }

    /// `f`: latents → policy logits `[B, actions]` and value logits `[B, 2S + 1]`.
    pub(super) fn predict(&self, latent: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((self.policy.forward(latent)?, self.value.forward(latent)?))
    }

    /// One-hot rows `[B, actions]` of `actions`.
    pub(super) fn one_hot(&self, actions: &[usize]) -> candle_core::Result<Tensor> {
        let mut data = vec![0.0f32; actions.len() * self.actions];
        for (row, &a) in data.chunks_exact_mut(self.actions).zip(actions) {
            row[a] = 1.0;
        }
        Tensor::from_vec(data, (actions.len(), self.actions), &self.device)
    }

    /// `f` on latents `[B, latent]`, brought to the host: each row's policy logits and its
    /// value decoded from the support.
    pub(super) fn evaluate(
        &self,
        latent: &Tensor,
    ) -> candle_core::Result<(Vec<Vec<f32>>, Vec<f32>)> {
        let (logits, value) = self.predict(latent)?;
        Ok((
            logits.to_vec2::<f32>()?,
            self.value_support.decode(&value)?.to_vec1::<f32>()?,
        ))
    }

    /// The search's roots for observations `[N, obs]`: h, then f, one row each; `legal`
    /// (`[N × actions]`, where the env reports it) masks the roots' actions. MuZero masks only
    /// there (appendix B): inside the tree the model never sees illegal moves played, so it
    /// learns not to propose them.
    pub(super) fn roots(
        &self,
        obs: &Tensor,
        legal: Option<&[bool]>,
        roots: &mut Evaluations<Vec<f32>>,
    ) -> candle_core::Result<()> {
        let latent = self.represent(obs)?;
        let (logits, values) = self.evaluate(&latent)?;
        let states = latent.to_vec2::<f32>()?.into_iter().map(|s| (s, 0.0));
        push_evaluated(roots, states, &logits, &values, legal);
        Ok(())
    }
}

/// Pushes `(state, reward)` rows with their policy logits and values, and each row's legal
/// actions from `legal` (`[rows × actions]`; `None`: every action is legal).
pub(super) fn push_evaluated<S>(
    out: &mut Evaluations<S>,
    states: impl IntoIterator<Item = (S, f32)>,
    logits: &[Vec<f32>],
    values: &[f32],
    legal: Option<&[bool]>,
) {
    let a = out.num_actions();
    for (i, (((state, reward), logits), &value)) in
        states.into_iter().zip(logits).zip(values).enumerate()
    {
        out.push(
            state,
            reward,
            Evaluation {
                logits,
                value,
                legal: legal.map(|l| &l[i * a..(i + 1) * a]),
            },
        );
    }
}

impl Parameters for MuZeroNets {
    fn named_vars(&self) -> Vec<(String, candle_core::Var)> {
        nested(vec![
            (
                "representation".into(),
                &self.representation as &dyn Parameters,
            ),
            ("dynamics".into(), &self.dynamics),
            ("reward".into(), &self.reward),
            ("policy".into(), &self.policy),
            ("value".into(), &self.value),
        ])
    }
}

/// The learned model as the search sees it: a latent row per node, every leaf of a
/// simulation step expanded by one batched `g` and `f`.
pub(super) struct LearnedModel<'a> {
    pub(super) nets: &'a MuZeroNets,
}

impl SearchModel for LearnedModel<'_> {
    type State = Vec<f32>;
    type Error = candle_core::Error;

    fn expand(
        &mut self,
        leaves: &Leaves<'_, Vec<f32>>,
        out: &mut Evaluations<Vec<f32>>,
    ) -> candle_core::Result<()> {
        let nets = self.nets;
        let n = leaves.len();
        let mut latent = Vec::with_capacity(n * nets.latent);
        let mut actions = Vec::with_capacity(n);
        for (state, action) in leaves.iter() {
            latent.extend_from_slice(state);
            actions.push(action);
        }
        let latent = Tensor::from_vec(latent, (n, nets.latent), &nets.device)?;
        let (next, reward) = nets.dynamics(&latent, &nets.one_hot(&actions)?)?;
        let (logits, values) = nets.evaluate(&next)?;
        let rewards = nets.reward_support.decode(&reward)?.to_vec1::<f32>()?;
        let states = next.to_vec2::<f32>()?.into_iter().zip(rewards);
        push_evaluated(out, states, &logits, &values, None);
        Ok(())
    }
}
