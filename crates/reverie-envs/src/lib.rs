//! # reverie-envs
//!
//! Native environments with Gymnasium 1.4.0 semantics, bit-exact to the reference
//! implementation on Linux/glibc (see `tests/gymnasium_parity.rs`), and the registry
//! [`make`] / [`make_with`] that builds them by id with Gymnasium's default time limits.
//!
//! | group | envs |
//! |---|---|
//! | [`classic`] | CartPole-v1, Pendulum-v1, MountainCar-v0, MountainCarContinuous-v0, Acrobot-v1, CartPoleContinuous-v0, CartPoleSwingUp-v0 |
//! | [`toy_text`] | FrozenLake-v1, CliffWalking-v1, Taxi-v4, GridWorld-v0, DynaMaze-v0, BlockingMaze-v0, ShortcutMaze-v0 |
//! | [`board`] | TicTacToe-v0, ConnectFour-v0 (two players, for self-play; with the [`board::AlphaBeta`] opponent) |
//! | [`minatar`] | MinAtar/Breakout-v0/-v1, MinAtar/SpaceInvaders-v0/-v1, MinAtar/Freeway-v0/-v1 (10 × 10 binary channels, sticky actions) |

pub mod board;
pub mod classic;
pub mod minatar;
pub mod registry;
pub mod render;
pub mod toy_text;
pub mod wrappers;

pub use registry::{
    known_functions, make, make_with, spec, specs, EnvOptions, EnvRecipe, EnvSpec, MakeError,
    OptionValue,
};
pub use wrappers::{Pixels, PixelsConfig};
