//! [`FastDynamics`]: an inference snapshot of an [`EnsembleModel`] for planning.
//!
//! A planner asks for one step of thousands of particles, each bound to one member (TS∞ /
//! TS1), tens of times per action. [`EnsembleModel::predict`] runs every member on every row
//! through candle and allocates its outputs; here each row runs only through its own member
//! ([`FastEnsemble`]), rows are grouped by member with a counting sort, and every buffer is
//! kept between calls, so a step allocates nothing once the batch size is known.
//!
//! The network's weights are read where training writes them ([`FastEnsemble`]); the
//! normalisers, log-variance bounds and elites are copied, and a step refuses to run once
//! the model has been retrained since (its generation moved), rather than mix new weights
//! with old normalisers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use reverie_core::Rng;
use reverie_nn::{FastEnsemble, Normalizer, Result, RowGroup};

use crate::dynamics::{DynamicsModel, StepOutputs};
use crate::ensemble::EnsembleModel;
use crate::model_env::ModelStep;
use reverie_core::KnownFunctions;

/// A trained [`EnsembleModel`] for fast gradient-free prediction: its weights read in place,
/// its normalisers and bounds copied. Make a new one after each training round; a stale
/// one panics with that advice instead of predicting from mixed parameters.
#[derive(Clone, Debug)]
pub struct FastDynamics {
    net: FastEnsemble,
    obs_dim: usize,
    act_dim: usize,
    probabilistic: bool,
    learned_termination: bool,
    max_logvar: Vec<f32>,
    min_logvar: Vec<f32>,
    input_norm: Normalizer,
    target_norm: Normalizer,
    elites: Vec<usize>,
    model_generation: Arc<AtomicU64>,
    made_at: u64,
    order: Vec<usize>,
    counts: Vec<usize>,
    groups: Vec<RowGroup>,
    x: Vec<f32>,
    y: Vec<f32>,
    noise: Vec<f32>,
}

/// `log(1 + e^x)` without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl FastDynamics {
    /// Snapshots `model`; `threads` (≥ 1) share each step's rows.
    pub fn new(model: &EnsembleModel, threads: usize) -> Result<Self> {
        let (max_logvar, min_logvar) = model.logvar_bounds()?;
        let config = model.config();
        let model_generation = model.generation();
        let made_at = model_generation.load(Ordering::Acquire);
        Ok(Self {
            model_generation,
            made_at,
            net: FastEnsemble::from_ensemble(model.net(), threads)?,
            obs_dim: model.obs_dim(),
            act_dim: model.act_dim(),
            probabilistic: config.probabilistic,
            learned_termination: config.learned_termination,
            max_logvar,
            min_logvar,
            input_norm: model.input_normalizer().clone(),
            target_norm: model.target_normalizer().clone(),
            elites: model.elites().to_vec(),
            order: Vec::new(),
            counts: Vec::new(),
            groups: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
            noise: Vec::new(),
        })
    }

    /// Observation width.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Action width.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// The elite members.
    pub fn elites(&self) -> &[usize] {
        &self.elites
    }

    /// Whether the model has a termination head.
    pub fn has_termination_head(&self) -> bool {
        self.learned_termination
    }

    /// Predicts `(s', r)` for rows `obs [N, obs_dim]`, `actions [N, act_dim]`, row `i`
    /// through member `member[i]`. With `rng`, a probabilistic model samples from its
    /// Gaussian; otherwise its mean is used.
    pub fn step(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        member: &[usize],
        rng: Option<&mut Rng>,
        out: StepOutputs<'_>,
    ) {
        assert_eq!(
            self.model_generation.load(Ordering::Acquire),
            self.made_at,
            "the ensemble was retrained after this FastDynamics was made: make a new one \
             (FastDynamics::new) so that its normalisers match the weights"
        );
        let (o, a) = (self.obs_dim, self.act_dim);
        let n = member.len();
        assert_eq!(obs.len(), n * o, "obs rows");
        assert_eq!(actions.len(), n * a, "action rows");
        assert_eq!(out.next_obs.len(), n * o, "next_obs rows");
        assert_eq!(out.reward.len(), n, "reward rows");
        let members = self.net.members();
        // Counting sort of rows by member: each member then sees one contiguous block.
        self.counts.clear();
        self.counts.resize(members + 1, 0);
        for &e in member {
            assert!(e < members, "member {e} out of range");
            self.counts[e + 1] += 1;
        }
        self.groups.clear();
        for e in 0..members {
            if self.counts[e + 1] > 0 {
                self.groups.push(RowGroup {
                    member: e,
                    start: self.counts[e],
                    len: self.counts[e + 1],
                });
            }
            self.counts[e + 1] += self.counts[e];
        }
        self.order.resize(n, 0);
        let w = o + a;
        self.x.resize(n * w, 0.0);
        for (i, &e) in member.iter().enumerate() {
            let pos = self.counts[e];
            self.counts[e] += 1;
            self.order[pos] = i;
            let row = &mut self.x[pos * w..(pos + 1) * w];
            row[..o].copy_from_slice(&obs[i * o..(i + 1) * o]);
            row[o..].copy_from_slice(&actions[i * a..(i + 1) * a]);
            for ((v, m), s) in row
                .iter_mut()
                .zip(&self.input_norm.mean)
                .zip(&self.input_norm.std)
            {
                *v = (*v - m) / s;
            }
        }
        let width = self.net.outputs();
        self.y.resize(n * width, 0.0);
        self.net.forward_groups(&self.x, &self.groups, &mut self.y);

        let d = o + 1;
        let sample = self.probabilistic && rng.is_some();
        if sample {
            self.noise.resize(n * d, 0.0);
            fill_normal(rng.expect("checked"), &mut self.noise);
        }
        let mut termination = out.termination_prob;
        for (pos, &i) in self.order.iter().enumerate() {
            let y = &self.y[pos * width..(pos + 1) * width];
            let noise = if sample {
                &self.noise[pos * d..(pos + 1) * d]
            } else {
                &[][..]
            };
            let value = |j: usize| -> f32 {
                if !sample {
                    return y[j];
                }
                let upper = self.max_logvar[j] - softplus(self.max_logvar[j] - y[d + j]);
                let logvar = self.min_logvar[j] + softplus(upper - self.min_logvar[j]);
                y[j] + (0.5 * logvar).exp() * noise[j]
            };
            for j in 0..o {
                let delta = if self.target_norm.is_constant(j) {
                    self.target_norm.mean[j]
                } else {
                    value(j) * self.target_norm.std[j] + self.target_norm.mean[j]
                };
                out.next_obs[i * o + j] = obs[i * o + j] + delta;
            }
            out.reward[i] = value(o) * self.target_norm.std[o] + self.target_norm.mean[o];
            if let (true, Some(t)) = (self.learned_termination, termination.as_deref_mut()) {
                t[i] = 1.0 / (1.0 + (-y[width - 1]).exp());
            }
        }
    }

    /// One sampled step of every row through its own member (TS1), as a [`ModelStep`]:
    /// `known` reward and termination replace the learned heads where given, and a learned
    /// termination fires above probability 0.5. No disagreement is computed (each row sees
    /// one member) and nothing is truncated.
    pub fn sample_step(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        member: &[usize],
        rng: &mut Rng,
        known: &KnownFunctions,
    ) -> ModelStep {
        let (d, a, rows) = (self.obs_dim, self.act_dim, member.len());
        let mut step = ModelStep {
            next_obs: vec![0.0; rows * d],
            rewards: vec![0.0; rows],
            terminated: vec![false; rows],
            truncated: vec![false; rows],
            disagreement: Vec::new(),
        };
        let mut termination = self.has_termination_head().then(|| vec![0.0; rows]);
        self.step(
            obs,
            actions,
            member,
            Some(rng),
            StepOutputs {
                next_obs: &mut step.next_obs,
                reward: &mut step.rewards,
                termination_prob: termination.as_deref_mut(),
            },
        );
        for i in 0..rows {
            let (o, act) = (&obs[i * d..(i + 1) * d], &actions[i * a..(i + 1) * a]);
            let next = &step.next_obs[i * d..(i + 1) * d];
            let learned_prob = termination.as_ref().map(|p| p[i]);
            (step.rewards[i], step.terminated[i]) =
                known.resolve(o, act, next, step.rewards[i], learned_prob);
        }
        step
    }
}

impl DynamicsModel for FastDynamics {
    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn act_dim(&self) -> usize {
        self.act_dim
    }

    fn members(&self) -> &[usize] {
        &self.elites
    }

    fn has_termination_head(&self) -> bool {
        self.learned_termination
    }

    fn step(
        &mut self,
        obs: &[f32],
        actions: &[f32],
        member: &[usize],
        rng: Option<&mut Rng>,
        out: StepOutputs<'_>,
    ) {
        FastDynamics::step(self, obs, actions, member, rng, out)
    }
}

pub use reverie_core::rng::fill_normal;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ensemble::EnsembleModelConfig;
    use candle_core::Device;

    fn model(probabilistic: bool) -> EnsembleModel {
        let config = EnsembleModelConfig {
            ensemble_size: 3,
            elites: 2,
            hidden_sizes: vec![16, 16],
            probabilistic,
            ..Default::default()
        };
        let mut rng = Rng::seed_from_u64(3);
        EnsembleModel::new(config, 3, 1, &mut rng, &Device::Cpu).unwrap()
    }

    #[test]
    fn mean_prediction_matches_predict() {
        let m = model(true);
        let mut fast = FastDynamics::new(&m, 2).unwrap();
        let mut rng = Rng::seed_from_u64(1);
        let n = 10;
        let obs: Vec<f32> = (0..n * 3).map(|_| rng.normal() as f32).collect();
        let act: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
        let member: Vec<usize> = (0..n).map(|i| (i * 7) % 3).collect();
        let (mut next, mut reward) = (vec![0.0; n * 3], vec![0.0; n]);
        fast.step(
            &obs,
            &act,
            &member,
            None,
            StepOutputs {
                next_obs: &mut next,
                reward: &mut reward,
                termination_prob: None,
            },
        );
        let pred = m.predict(&obs, &act).unwrap();
        for i in 0..n {
            let e = member[i];
            for j in 0..3 {
                let want = pred.next_obs[(e * n + i) * 3 + j];
                assert!((next[i * 3 + j] - want).abs() < 1e-4);
            }
            assert!((reward[i] - pred.reward[e * n + i]).abs() < 1e-4);
        }
    }

    #[test]
    #[should_panic(expected = "retrained after this FastDynamics was made")]
    fn a_snapshot_older_than_the_training_refuses_to_predict() {
        let mut m = model(false);
        let mut fast = FastDynamics::new(&m, 1).unwrap();
        m.set_elites(vec![2, 0]);
        let (mut next, mut reward) = (vec![0.0; 3], vec![0.0; 1]);
        fast.step(
            &[0.1, 0.2, 0.3],
            &[0.5],
            &[0],
            None,
            StepOutputs {
                next_obs: &mut next,
                reward: &mut reward,
                termination_prob: None,
            },
        );
    }

    #[test]
    fn sampling_spreads_around_the_mean() {
        let m = model(true);
        let mut fast = FastDynamics::new(&m, 1).unwrap();
        let n = 4000;
        let obs = vec![0.5f32; n * 3];
        let act = vec![0.1f32; n];
        let member = vec![1usize; n];
        let (mut next, mut reward) = (vec![0.0; n * 3], vec![0.0; n]);
        let mut rng = Rng::seed_from_u64(2);
        fast.step(
            &obs,
            &act,
            &member,
            Some(&mut rng),
            StepOutputs {
                next_obs: &mut next,
                reward: &mut reward,
                termination_prob: None,
            },
        );
        let pred = m.predict(&obs[..3], &act[..1]).unwrap();
        let var = pred.variance.unwrap();
        let mean_want = pred.next_obs[3];
        let sd_want = var[4].sqrt();
        let xs: Vec<f32> = (0..n).map(|i| next[i * 3]).collect();
        let mean = xs.iter().sum::<f32>() / n as f32;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n as f32).sqrt();
        assert!((mean - mean_want).abs() < 4.0 * sd_want / (n as f32).sqrt() + 1e-5);
        assert!((sd / sd_want - 1.0).abs() < 0.06, "{sd} vs {sd_want}");
    }
}
