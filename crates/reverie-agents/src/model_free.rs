//! Model-free deep RL agents, the baselines model-based results are measured against:
//! [`Dqn`], [`Ppo`] and [`Sac`]. All act through [`reverie_core::Agent`] on N parallel
//! envs, train with candle on the fused [`reverie_nn::ops`], and act through
//! single-row forward passes ([`reverie_nn::Mlp::forward_row`]).

pub(crate) mod common;
pub mod dqn;
pub mod ppo;
pub mod sac;

pub use dqn::{Dqn, DqnConfig, TdUpdate};
pub use ppo::{Ppo, PpoConfig, PpoUpdate};
pub use sac::{Sac, SacConfig};
