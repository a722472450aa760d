//! Classic control: continuous-state physics, float32 observations.

mod acrobot;
mod cartpole;
mod cartpole_continuous;
mod cartpole_swingup;
mod mountain_car;
mod mountain_car_continuous;
mod pendulum;

pub use acrobot::Acrobot;
pub use cartpole::CartPole;
pub use cartpole_continuous::CartPoleContinuous;
pub use cartpole_swingup::CartPoleSwingUp;
pub use mountain_car::MountainCar;
pub use mountain_car_continuous::MountainCarContinuous;
pub use pendulum::Pendulum;

/// `x ** 2` as Python and numpy evaluate it on a float64: libm's `pow(x, 2.0)`, which
/// differs from `x * x` in the last bit for about 1 in 1,000 inputs (glibc's `pow` is not
/// correctly rounded). The exponent goes through `black_box` because LLVM would otherwise
/// rewrite `pow(x, 2.0)` into `x * x`.
#[inline]
fn py_square(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

#[cfg(test)]
mod tests;
