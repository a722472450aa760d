//! Toy text: small discrete MDPs (integer observations), solvable by tabular methods.
//!
//! FrozenLake, CliffWalking and Taxi follow Gymnasium 1.4.0 and expose Gymnasium's transition
//! table `P[s][a]` ([`TransitionTable`]); GridWorld exposes its deterministic transition
//! function. All take and return the state as `[s]`.

mod cliff_walking;
mod frozen_lake;
mod gridworld;
mod maze;
mod tabular;
mod taxi;

pub use cliff_walking::CliffWalking;
pub use frozen_lake::{
    builtin_map, generate_random_map, FrozenLake, FrozenLakeConfig, DEFAULT_FROZEN_PROB,
};
pub use gridworld::GridWorld;
pub use maze::{Maze, MazeLayout};
pub use tabular::{ConfigError, Transition, TransitionTable};
pub use taxi::{Taxi, TaxiConfig};
