//! Classic control: continuous-state physics, float32 observations.

mod cartpole;

pub use cartpole::CartPole;
