//! Monte Carlo tree search over a model that predicts, independent of any network: MuZero's
//! learned model, AlphaZero's true simulator and a test stub all implement [`SearchModel`].
//!
//! - [`SearchModel`]: expands a batch of leaves (a parent state and an action each) into
//!   child states, rewards and [`Evaluation`]s (prior logits, a value, an optional
//!   legal-action mask, or a terminal flag), written into [`Evaluations`].
//! - [`Mcts`]: N independent searches stepped together, one batched
//!   [`SearchModel::expand`] per simulation step, configured by [`MctsConfig`]: MuZero's
//!   pUCT with Dirichlet root noise and min–max normalised Q ([`PuctConfig`]), or Gumbel
//!   MuZero's sequential halving with completed Q ([`GumbelConfig`]); one or two players.
//! - [`SearchOutput`]: visit counts, root value, improved policy and Gumbel's action per
//!   root; [`select_action`] picks from visit counts at a temperature.
//!
//! Perspective: a node's value is for the player to move there, a transition's reward for
//! the player who moved. With `two_player`, the players alternate every ply and a child's
//! value is negated on its way up. Every random draw comes from the `Rng` passed in.

mod config;
mod gumbel;
mod mcts;
mod model;
pub mod noise;
mod puct;
#[cfg(test)]
mod test_models;
mod tree;

pub use config::{GumbelConfig, MctsConfig, PuctConfig, Selection, UnvisitedQ};
pub use mcts::{select_action, Mcts, SearchOutput};
pub use model::{Evaluation, Evaluations, Leaves, SearchModel};
