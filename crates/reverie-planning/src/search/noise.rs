//! The random draws of a search: Gamma (for Dirichlet root noise) and Gumbel, from
//! [`Rng`]'s uniform and normal draws only, so a seed fixes every search.

use reverie_core::Rng;

/// ln of a Gamma(`shape`, 1) draw, `shape > 0`.
///
/// Marsaglia & Tsang (2000) for shape ≥ 1. Below 1, their boost
/// `Gamma(a) = Gamma(a + 1) · U^(1/a)`, kept in logs: for the small α of Dirichlet noise
/// (0.03 in Go) `U^(1/a)` underflows to 0, but its logarithm does not.
pub fn ln_gamma_draw(rng: &mut Rng, shape: f64) -> f64 {
    assert!(
        shape > 0.0 && shape.is_finite(),
        "Gamma shape must be > 0, got {shape}"
    );
    if shape < 1.0 {
        let u = 1.0 - rng.uniform(); // (0, 1]
        return ln_gamma_draw(rng, shape + 1.0) + u.ln() / shape;
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal();
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.uniform();
        // The cheap squeeze accepts ~98% of draws without a logarithm.
        if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return (d * v).ln();
        }
    }
}

/// A Gamma(`shape`, 1) draw (mean and variance `shape`).
pub fn gamma_draw(rng: &mut Rng, shape: f64) -> f64 {
    ln_gamma_draw(rng, shape).exp()
}

/// Fills `out` with one draw of the symmetric Dirichlet(`alpha`, …, `alpha`) over
/// `out.len()` components: normalised Gamma draws, normalised in logs so that small α
/// cannot make every component 0.
pub fn dirichlet_draw(rng: &mut Rng, alpha: f64, out: &mut [f32]) {
    // First the logs of the Gamma draws (f32 holds them well enough: the noise only needs
    // a few digits), then exp(log − max) normalised.
    let mut max = f32::NEG_INFINITY;
    for o in out.iter_mut() {
        *o = ln_gamma_draw(rng, alpha) as f32;
        max = max.max(*o);
    }
    let mut sum = 0.0f64;
    for o in out.iter_mut() {
        *o = (*o - max).exp();
        sum += *o as f64;
    }
    for o in out.iter_mut() {
        *o = (*o as f64 / sum) as f32;
    }
}

/// A standard Gumbel draw: −ln(E) for E ~ Exp(1).
pub fn gumbel_draw(rng: &mut Rng) -> f64 {
    -rng.exponential().max(f64::MIN_POSITIVE).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample mean and variance of `n` draws.
    fn moments(n: usize, mut draw: impl FnMut() -> f64) -> (f64, f64) {
        let xs: Vec<f64> = (0..n).map(|_| draw()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var)
    }

    #[test]
    fn gamma_draws_have_the_right_mean_and_variance() {
        let mut rng = Rng::seed_from_u64(7);
        let n = 40_000;
        for shape in [0.03, 0.25, 1.0, 3.5, 20.0] {
            let (mean, var) = moments(n, || gamma_draw(&mut rng, shape));
            // Mean and variance are both `shape`; the standard error of the mean is
            // √(shape / n). Five of them is a loose bound for a fixed seed.
            let se = (shape / n as f64).sqrt();
            assert!(
                (mean - shape).abs() < 5.0 * se,
                "shape {shape}: mean {mean}"
            );
            // The sample variance's relative error is √((κ + 2) / n), κ = 6 / shape the
            // excess kurtosis: heavy tails for small shapes.
            let tolerance = 4.0 * ((6.0 / shape + 2.0) / n as f64).sqrt();
            assert!(
                (var / shape - 1.0).abs() < tolerance,
                "shape {shape}: variance {var}"
            );
        }
    }

    #[test]
    fn dirichlet_draws_sum_to_one_with_equal_means() {
        let mut rng = Rng::seed_from_u64(8);
        let k = 5;
        let mut mean = vec![0.0f64; k];
        let mut out = vec![0.0f32; k];
        let n = 20_000;
        for _ in 0..n {
            dirichlet_draw(&mut rng, 0.25, &mut out);
            let sum: f32 = out.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5 && out.iter().all(|&x| x >= 0.0));
            for (m, &x) in mean.iter_mut().zip(&out) {
                *m += x as f64 / n as f64;
            }
        }
        for m in mean {
            // Var of a component: (1/k)(1 − 1/k)/(kα + 1) = 0.071; se ≈ 0.0019.
            assert!((m - 0.2).abs() < 0.01, "component mean {m}");
        }
        // Tiny α: nearly all mass on one component, yet still a distribution.
        dirichlet_draw(&mut rng, 0.001, &mut out);
        assert!((out.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(out.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn gumbel_draws_have_the_euler_mascheroni_mean() {
        let mut rng = Rng::seed_from_u64(9);
        let (mean, var) = moments(40_000, || gumbel_draw(&mut rng));
        // Mean γ ≈ 0.5772, variance π²/6 ≈ 1.645.
        assert!((mean - 0.5772).abs() < 0.03, "{mean}");
        assert!((var - 1.645).abs() < 0.08, "{var}");
    }
}
