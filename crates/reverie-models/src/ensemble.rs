//! The ensemble dynamics model.
//!
//! # Shapes
//! - inputs: `[obs, action]` rows, normalised → `[E, B, obs_dim + act_dim]`
//! - targets: `[s' − s, r]` rows, normalised → `[E, B, obs_dim + 1]`
//! - network output: `[E, B, D]` means (+ `[E, B, D]` log-variances if probabilistic)
//!   (+ `[E, B, 1]` termination logits if learned), `D = obs_dim + 1`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use reverie_core::Rng;
use reverie_nn::checkpoint::{self, CheckpointError};
use reverie_nn::{Activation, EnsembleMlp, Execution, Normalizer, Parameters, Result};
use serde::{Deserialize, Serialize};

/// Architecture of an [`EnsembleModel`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, documented::DocumentedFields)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleModelConfig {
    /// Number of members E.
    pub ensemble_size: usize,
    /// Members used for prediction, the best by validation error.
    pub elites: usize,
    /// Hidden layer widths.
    pub hidden_sizes: Vec<usize>,
    /// Hidden nonlinearity.
    pub activation: Activation,
    /// Gaussian outputs trained by NLL (true) or point predictions trained by MSE (false).
    pub probabilistic: bool,
    /// Learn a termination head (binary cross-entropy); otherwise use a known function.
    pub learned_termination: bool,
    /// Batched `[E, B, D]` matmuls or a loop over members.
    pub execution: Execution,
    /// Initial soft upper bound of the log-variance (learned).
    pub init_max_logvar: f32,
    /// Initial soft lower bound of the log-variance (learned).
    pub init_min_logvar: f32,
    /// Weight of the penalty `Σ max_logvar − Σ min_logvar` that keeps the bounds tight.
    pub logvar_bound_penalty: f64,
}

impl Default for EnsembleModelConfig {
    fn default() -> Self {
        // PETS / MBPO defaults.
        Self {
            ensemble_size: 7,
            elites: 5,
            hidden_sizes: vec![200; 4],
            activation: Activation::Silu,
            probabilistic: true,
            learned_termination: false,
            execution: Execution::Batched,
            init_max_logvar: 0.5,
            init_min_logvar: -10.0,
            logvar_bound_penalty: 0.01,
        }
    }
}

impl EnsembleModelConfig {
    /// Checks the sizes.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.ensemble_size == 0 {
            return Err("ensemble_size must be at least 1".into());
        }
        if self.elites == 0 || self.elites > self.ensemble_size {
            return Err(format!(
                "elites must be in 1..={} (ensemble_size), got {}",
                self.ensemble_size, self.elites
            ));
        }
        if self.hidden_sizes.contains(&0) {
            return Err("hidden_sizes must be positive".into());
        }
        if self.init_min_logvar >= self.init_max_logvar {
            return Err("init_min_logvar must be below init_max_logvar".into());
        }
        Ok(())
    }
}

/// Raw network outputs in normalised target space.
#[derive(Debug)]
pub struct Output {
    /// `[E, B, D]`
    pub mean: Tensor,
    /// `[E, B, D]`, bounded log-variances (probabilistic models).
    pub logvar: Option<Tensor>,
    /// `[E, B, 1]` (learned termination).
    pub termination_logit: Option<Tensor>,
}

/// Every member's prediction for N rows, in the env's units.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Members E.
    pub members: usize,
    /// Rows N.
    pub rows: usize,
    /// `[E, N, obs_dim]` predicted next observations (means).
    pub next_obs: Vec<f32>,
    /// `[E, N]` predicted rewards (means).
    pub reward: Vec<f32>,
    /// `[E, N, obs_dim + 1]` predicted variances of (next obs, reward), probabilistic only.
    pub variance: Option<Vec<f32>>,
    /// `[E, N, obs_dim]` predicted deltas in normalised units (for disagreement).
    pub normalized_delta: Vec<f32>,
    /// `[E, N]` predicted termination probabilities (learned termination only).
    pub termination_prob: Option<Vec<f32>>,
}

impl Prediction {
    /// Observation width.
    pub fn obs_dim(&self) -> usize {
        self.next_obs.len() / (self.members * self.rows).max(1)
    }

    /// Ensemble disagreement for row `i`: the standard deviation over `members` of the
    /// predicted normalised state change, averaged over dimensions.
    pub fn disagreement(&self, members: &[usize], i: usize) -> f32 {
        let o = self.obs_dim();
        let k = members.len() as f32;
        let mut spread = 0.0f32;
        for j in 0..o {
            let value = |e: usize| self.normalized_delta[(e * self.rows + i) * o + j];
            let mean = members.iter().map(|&e| value(e)).sum::<f32>() / k;
            let var = members
                .iter()
                .map(|&e| (value(e) - mean).powi(2))
                .sum::<f32>()
                / k;
            spread += var.sqrt();
        }
        spread / o as f32
    }

    /// Mean over `members` of the predicted next observation of row `i`.
    pub fn mean_next_obs(&self, members: &[usize], i: usize, out: &mut [f32]) {
        let o = self.obs_dim();
        out.iter_mut().for_each(|x| *x = 0.0);
        for &e in members {
            for (j, x) in out.iter_mut().enumerate() {
                *x += self.next_obs[(e * self.rows + i) * o + j] / members.len() as f32;
            }
        }
    }
}

/// What [`EnsembleModel::state`] saves: parameters (safetensors bytes), normalisers and
/// elites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleState {
    tensors: Vec<u8>,
    input_norm: Normalizer,
    target_norm: Normalizer,
    elites: Vec<usize>,
}

/// An ensemble of MLPs predicting `(s' − s, r)` from `(s, a)`.
#[derive(Debug)]
pub struct EnsembleModel {
    config: EnsembleModelConfig,
    obs_dim: usize,
    act_dim: usize,
    net: EnsembleMlp,
    max_logvar: Var,
    min_logvar: Var,
    pub(crate) input_norm: Normalizer,
    pub(crate) target_norm: Normalizer,
    elites: Vec<usize>,
    device: Device,
    /// Bumped whenever elites or parameters are replaced wholesale (training, restoring), so
    /// that inference snapshots of normalisers and bounds can tell they are stale.
    generation: Arc<AtomicU64>,
}

/// `log(1 + exp(x))`, computed without overflow.
fn softplus(x: &Tensor) -> Result<Tensor> {
    x.relu()? + (x.abs()?.neg()?.exp()? + 1.0)?.log()?
}

impl EnsembleModel {
    /// A freshly initialised model (normalisers are identities until [`crate::train`] fits them).
    pub fn new(
        config: EnsembleModelConfig,
        obs_dim: usize,
        act_dim: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> Result<Self> {
        config.validate().map_err(candle_core::Error::Msg)?;
        let d = obs_dim + 1;
        let outputs =
            if config.probabilistic { 2 * d } else { d } + config.learned_termination as usize;
        let mut sizes = vec![obs_dim + act_dim];
        sizes.extend(&config.hidden_sizes);
        sizes.push(outputs);
        let net = EnsembleMlp::new(
            config.ensemble_size,
            &sizes,
            config.activation,
            config.execution,
            rng,
            device,
        )?;
        let max_logvar =
            Var::from_tensor(&Tensor::full(config.init_max_logvar, (1, 1, d), device)?)?;
        let min_logvar =
            Var::from_tensor(&Tensor::full(config.init_min_logvar, (1, 1, d), device)?)?;
        Ok(Self {
            elites: (0..config.elites).collect(),
            config,
            obs_dim,
            act_dim,
            net,
            max_logvar,
            min_logvar,
            input_norm: Normalizer::identity(obs_dim + act_dim),
            target_norm: Normalizer::identity(d),
            device: device.clone(),
            generation: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The architecture.
    pub fn config(&self) -> &EnsembleModelConfig {
        &self.config
    }

    /// Observation width.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Action width.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// The device tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The training generation: a counter shared with inference snapshots
    /// ([`crate::FastDynamics`]), bumped when training replaces the elites or restores
    /// parameters.
    pub fn generation(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.generation)
    }

    /// The members used for prediction.
    pub fn elites(&self) -> &[usize] {
        &self.elites
    }

    /// Sets the elite members (indices below `ensemble_size`).
    pub fn set_elites(&mut self, elites: Vec<usize>) {
        assert!(!elites.is_empty() && elites.iter().all(|&e| e < self.config.ensemble_size));
        self.elites = elites;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The input normaliser.
    pub fn input_normalizer(&self) -> &Normalizer {
        &self.input_norm
    }

    /// The target (delta, reward) normaliser.
    pub fn target_normalizer(&self) -> &Normalizer {
        &self.target_norm
    }

    /// Switches between batched and per-member execution (same results).
    pub fn set_execution(&mut self, execution: Execution) {
        self.config.execution = execution;
        self.net.set_execution(execution);
    }

    /// The network (for inference snapshots).
    pub(crate) fn net(&self) -> &EnsembleMlp {
        &self.net
    }

    /// The learned log-variance bounds `(max, min)`, one per target dimension.
    pub(crate) fn logvar_bounds(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((
            self.max_logvar.as_tensor().flatten_all()?.to_vec1()?,
            self.min_logvar.as_tensor().flatten_all()?.to_vec1()?,
        ))
    }

    /// Trainable variables.
    pub fn vars(&self) -> Vec<Var> {
        let mut vars = self.net.vars();
        if self.config.probabilistic {
            vars.push(self.max_logvar.clone());
            vars.push(self.min_logvar.clone());
        }
        vars
    }

    /// Network outputs for normalised inputs `[E, B, in]`.
    pub fn forward(&self, inputs: &Tensor) -> Result<Output> {
        let out = self.net.forward(inputs)?;
        let d = self.obs_dim + 1;
        let mean = out.narrow(2, 0, d)?;
        let logvar = if self.config.probabilistic {
            let raw = out.narrow(2, d, d)?;
            let max = self.max_logvar.as_tensor();
            let min = self.min_logvar.as_tensor();
            let upper = max.broadcast_sub(&softplus(&max.broadcast_sub(&raw)?)?)?;
            Some(min.broadcast_add(&softplus(&upper.broadcast_sub(min)?)?)?)
        } else {
            None
        };
        let termination_logit = if self.config.learned_termination {
            Some(out.narrow(2, out.dim(2)? - 1, 1)?)
        } else {
            None
        };
        Ok(Output {
            mean,
            logvar,
            termination_logit,
        })
    }

    /// Training loss for normalised `inputs [E, B, in]`, `targets [E, B, D]` and optional
    /// termination targets `[E, B, 1]` (0/1): Gaussian NLL (or MSE) summed over members,
    /// plus binary cross-entropy for termination, plus the log-variance bound penalty.
    pub fn loss(
        &self,
        inputs: &Tensor,
        targets: &Tensor,
        terminations: Option<&Tensor>,
    ) -> Result<Tensor> {
        let members = self.config.ensemble_size as f64;
        let out = self.forward(inputs)?;
        let err2 = (&out.mean - targets)?.sqr()?;
        let mut loss = match &out.logvar {
            Some(logvar) => {
                let nll = ((err2 * logvar.neg()?.exp()?)? + logvar)?.mean_all()?;
                let bounds = (self.max_logvar.as_tensor().sum_all()?
                    - self.min_logvar.as_tensor().sum_all()?)?;
                ((nll * members)? + (bounds * self.config.logvar_bound_penalty)?)?
            }
            None => (err2.mean_all()? * members)?,
        };
        if let (Some(logit), Some(y)) = (&out.termination_logit, terminations) {
            // BCE with logits: max(l, 0) − l·y + log(1 + exp(−|l|)).
            let bce = ((logit.relu()? - (logit * y)?)?
                + (logit.abs()?.neg()?.exp()? + 1.0)?.log()?)?
            .mean_all()?;
            loss = (loss + (bce * members)?)?;
        }
        Ok(loss)
    }

    /// Normalised input rows `[N, in]` from raw observations and actions.
    pub fn normalized_inputs(&self, obs: &[f32], actions: &[f32]) -> Vec<f32> {
        let rows = obs.len() / self.obs_dim;
        let width = self.obs_dim + self.act_dim;
        let mut x = Vec::with_capacity(rows * width);
        for (o, a) in obs
            .chunks_exact(self.obs_dim)
            .zip(actions.chunks_exact(self.act_dim))
        {
            x.extend_from_slice(o);
            x.extend_from_slice(a);
        }
        self.input_norm.normalize_in_place(&mut x);
        x
    }

    /// Every member's prediction for the rows `obs [N, obs_dim]`, `actions [N, act_dim]`.
    pub fn predict(&self, obs: &[f32], actions: &[f32]) -> Result<Prediction> {
        let rows = obs.len() / self.obs_dim;
        if obs.len() != rows * self.obs_dim || actions.len() != rows * self.act_dim {
            candle_core::bail!(
                "predict needs obs [N, {}] and actions [N, {}], got {} and {} values",
                self.obs_dim,
                self.act_dim,
                obs.len(),
                actions.len()
            );
        }
        let e = self.config.ensemble_size;
        let width = self.obs_dim + self.act_dim;
        let x = Tensor::from_vec(
            self.normalized_inputs(obs, actions),
            (1, rows, width),
            &self.device,
        )?
        .broadcast_as((e, rows, width))?
        .contiguous()?;
        let out = self.forward(&x)?;
        let d = self.obs_dim + 1;
        let mean = out
            .mean
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let mut next_obs = Vec::with_capacity(e * rows * self.obs_dim);
        let mut reward = Vec::with_capacity(e * rows);
        let mut normalized_delta = Vec::with_capacity(e * rows * self.obs_dim);
        for (k, row) in mean.chunks_exact(d).enumerate() {
            let o = &obs[(k % rows) * self.obs_dim..(k % rows + 1) * self.obs_dim];
            for j in 0..self.obs_dim {
                // A dimension that never changed in the data is predicted not to change.
                let delta = if self.target_norm.is_constant(j) {
                    self.target_norm.mean[j]
                } else {
                    row[j] * self.target_norm.std[j] + self.target_norm.mean[j]
                };
                normalized_delta.push(if self.target_norm.is_constant(j) {
                    0.0
                } else {
                    row[j]
                });
                next_obs.push(o[j] + delta);
            }
            reward.push(
                row[self.obs_dim] * self.target_norm.std[self.obs_dim]
                    + self.target_norm.mean[self.obs_dim],
            );
        }
        let variance = match out.logvar {
            Some(lv) => Some(
                lv.flatten_all()?
                    .to_vec1::<f32>()?
                    .chunks_exact(d)
                    .flat_map(|row| {
                        row.iter()
                            .zip(&self.target_norm.std)
                            .map(|(lv, s)| lv.exp() * s * s)
                            .collect::<Vec<_>>()
                    })
                    .collect(),
            ),
            None => None,
        };
        let termination_prob = match out.termination_logit {
            Some(l) => Some(
                l.flatten_all()?
                    .to_vec1::<f32>()?
                    .iter()
                    .map(|l| 1.0 / (1.0 + (-l).exp()))
                    .collect(),
            ),
            None => None,
        };
        Ok(Prediction {
            members: e,
            rows,
            next_obs,
            reward,
            variance,
            normalized_delta,
            termination_prob,
        })
    }

    fn named_tensors(&self) -> HashMap<String, Tensor> {
        let mut tensors = self.net.named_tensors("net");
        tensors.insert("max_logvar".into(), self.max_logvar.as_tensor().clone());
        tensors.insert("min_logvar".into(), self.min_logvar.as_tensor().clone());
        tensors
    }

    /// Copies of every parameter (for restoring the best epoch).
    pub(crate) fn snapshot(&self) -> Result<Vec<Tensor>> {
        self.vars().iter().map(|v| v.as_tensor().copy()).collect()
    }

    /// Restores parameters from [`EnsembleModel::snapshot`].
    pub(crate) fn restore(&self, snapshot: &[Tensor]) -> Result<()> {
        for (v, t) in self.vars().iter().zip(snapshot) {
            v.set(t)?;
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// The learned state (parameters, normalisers, elites), for agent checkpoints.
    pub fn state(&self) -> Result<EnsembleState> {
        Ok(EnsembleState {
            tensors: checkpoint::to_bytes(&self.named_tensors(), &serde_json::json!({}))?,
            input_norm: self.input_norm.clone(),
            target_norm: self.target_norm.clone(),
            elites: self.elites.clone(),
        })
    }

    /// Restores [`EnsembleModel::state`] of a model with this architecture; inference
    /// snapshots taken before become stale (the generation moves on).
    pub fn load_state(&mut self, state: &EnsembleState) -> std::result::Result<(), String> {
        let (tensors, _) = checkpoint::from_bytes(&state.tensors, &self.device)?;
        let fits = state.input_norm.dim() == self.obs_dim + self.act_dim
            && state.target_norm.dim() == self.obs_dim + 1
            && !state.elites.is_empty()
            && state.elites.iter().all(|&e| e < self.config.ensemble_size);
        if !fits {
            return Err("the saved model's normalisers or elites do not fit this model".into());
        }
        self.net
            .load_named("net", &tensors)
            .map_err(|e| format!("model: {e}"))?;
        for (name, var) in [
            ("max_logvar", &self.max_logvar),
            ("min_logvar", &self.min_logvar),
        ] {
            let t = tensors
                .get(name)
                .filter(|t| t.dims() == var.as_tensor().dims())
                .ok_or_else(|| format!("model: `{name}` missing or of the wrong shape"))?;
            var.set(t).map_err(|e| e.to_string())?;
        }
        self.input_norm = state.input_norm.clone();
        self.target_norm = state.target_norm.clone();
        self.elites = state.elites.clone();
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Saves weights (safetensors) and config, dimensions, normalisers and elites (JSON).
    pub fn save(&self, path: &Path) -> std::result::Result<(), CheckpointError> {
        let meta = serde_json::json!({
            "kind": "ensemble-dynamics",
            "config": self.config,
            "obs_dim": self.obs_dim,
            "act_dim": self.act_dim,
            "input_norm": self.input_norm,
            "target_norm": self.target_norm,
            "elites": self.elites,
        });
        checkpoint::save(path, &self.named_tensors(), &meta)
    }

    /// Loads a model written by [`EnsembleModel::save`], refusing files of another kind,
    /// other dimensions than `obs_dim` / `act_dim`, or damaged data.
    pub fn load(
        path: &Path,
        obs_dim: usize,
        act_dim: usize,
        device: &Device,
    ) -> std::result::Result<Self, CheckpointError> {
        let mismatch = |reason: String| CheckpointError::Mismatch {
            path: path.display().to_string(),
            reason,
        };
        let (tensors, meta) = checkpoint::load(path, device)?;
        if meta["kind"] != "ensemble-dynamics" {
            return Err(mismatch("not an ensemble dynamics model".into()));
        }
        let dims = (meta["obs_dim"].as_u64(), meta["act_dim"].as_u64());
        if dims != (Some(obs_dim as u64), Some(act_dim as u64)) {
            return Err(mismatch(format!(
                "it was trained for obs_dim {:?} / act_dim {:?}, this env has {obs_dim} / {act_dim}",
                dims.0, dims.1
            )));
        }
        fn parse<T: serde::de::DeserializeOwned>(
            meta: &serde_json::Value,
            key: &str,
        ) -> std::result::Result<T, String> {
            serde_json::from_value(meta[key].clone()).map_err(|e| format!("{key}: {e}"))
        }
        let config: EnsembleModelConfig = parse(&meta, "config").map_err(mismatch)?;
        let mut model = Self::new(config, obs_dim, act_dim, &mut Rng::seed_from_u64(0), device)
            .map_err(|e| mismatch(e.to_string()))?;
        model.input_norm = parse(&meta, "input_norm").map_err(mismatch)?;
        model.target_norm = parse(&meta, "target_norm").map_err(mismatch)?;
        model.elites = parse(&meta, "elites").map_err(mismatch)?;
        model
            .net
            .load_named("net", &tensors)
            .map_err(|e| mismatch(e.to_string()))?;
        for (name, var) in [
            ("max_logvar", &model.max_logvar),
            ("min_logvar", &model.min_logvar),
        ] {
            let t = tensors
                .get(name)
                .ok_or_else(|| mismatch(format!("no tensor `{name}`")))?;
            if t.dims() != var.as_tensor().dims() {
                return Err(mismatch(format!("`{name}` has the wrong shape")));
            }
            var.set(t).map_err(|e| mismatch(e.to_string()))?;
        }
        if model.input_norm.dim() != obs_dim + act_dim
            || model.target_norm.dim() != obs_dim + 1
            || model
                .elites
                .iter()
                .any(|&e| e >= model.config.ensemble_size)
        {
            return Err(mismatch(
                "normalisers or elites do not fit the network".into(),
            ));
        }
        Ok(model)
    }
}
