//! DreamerV3's symmetric log squashing: symlog(x) = sign(x)·ln(1 + |x|) and its inverse
//! symexp(x) = sign(x)·(e^|x| − 1) (Hafner et al. 2023, eq. 1). Near 0 both are ≈ the
//! identity; far out symlog grows like ln|x|, so targets of any scale get similar
//! gradients without knowing the scale in advance.

use candle_core::Tensor;

use crate::Result;

/// sign(x)·ln(1 + |x|).
pub fn symlog_f32(x: f32) -> f32 {
    x.signum() * x.abs().ln_1p()
}

/// sign(x)·(e^|x| − 1), the inverse of [`symlog_f32`].
pub fn symexp_f32(x: f32) -> f32 {
    x.signum() * x.abs().exp_m1()
}

/// Elementwise symlog of a tensor, differentiable everywhere (slope 1 at 0).
pub fn symlog(x: &Tensor) -> Result<Tensor> {
    sign_with_positive_zero(x)? * x.abs()?.affine(1.0, 1.0)?.log()?
}

/// Elementwise symexp of a tensor, differentiable everywhere (slope 1 at 0).
pub fn symexp(x: &Tensor) -> Result<Tensor> {
    sign_with_positive_zero(x)? * x.abs()?.exp()?.affine(1.0, -1.0)?
}

/// ±1 as a constant (no gradient), with +1 at 0. candle's `sign` gives 0 at 0, which with
/// the chain rule through |x| would zero the slope there although it is 1.
pub(crate) fn sign_with_positive_zero(x: &Tensor) -> Result<Tensor> {
    let ones = x.ones_like()?;
    Ok(x.ge(0.0)?.where_cond(&ones, &ones.neg()?)?.detach())
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::gradcheck::check_function_gradients;

    #[test]
    fn known_values_and_round_trip() {
        assert!((symlog_f32(std::f32::consts::E - 1.0) - 1.0).abs() < 1e-7);
        assert!((symlog_f32(1.0 - std::f32::consts::E) + 1.0).abs() < 1e-7);
        assert_eq!(symlog_f32(0.0), 0.0);
        assert!((symexp_f32(1.0) - (std::f32::consts::E - 1.0)).abs() < 1e-6);
        for x in [-1e6f32, -1234.5, -1.0, -1e-3, 0.0, 1e-6, 0.5, 7.0, 1e4, 1e6] {
            let back = symexp_f32(symlog_f32(x));
            assert!((back - x).abs() <= 1e-6 * x.abs().max(1.0), "{x} -> {back}");
        }
        let xs = [-1e4f32, -3.0, -0.25, 0.0, 0.25, 3.0, 1e4];
        let tensor = Tensor::from_slice(&xs, 7, &Device::Cpu).unwrap();
        let logs = symlog(&tensor).unwrap().to_vec1::<f32>().unwrap();
        for (x, l) in xs.iter().zip(&logs) {
            assert!((l - symlog_f32(*x)).abs() < 1e-6);
        }
        let back = symexp(&symlog(&tensor).unwrap())
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (x, b) in xs.iter().zip(&back) {
            assert!((b - x).abs() <= 1e-5 * x.abs().max(1.0), "{x} -> {b}");
        }
    }

    #[test]
    fn gradients_match_finite_differences_including_at_zero() {
        let x = Tensor::from_slice(&[-2.0f32, -0.3, 0.0, 0.4, 3.0], 5, &Device::Cpu).unwrap();
        check_function_gradients(&[&x], |p| symlog(&p[0]));
        check_function_gradients(&[&x], |p| symexp(&p[0]));
    }
}
