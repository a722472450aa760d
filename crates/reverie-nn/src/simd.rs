//! Vectorised elementwise kernels shared by the hand-written inference and training paths:
//! a branch-free `exp` and the activations over slices, compiled for AVX-512 and AVX2 and
//! picked at run time (the default x86-64 target only assumes SSE2).

use crate::ensemble::Activation;

/// Defines `fn $name(args)` that runs `$generic(args)` (an `#[inline(always)]` kernel)
/// compiled for AVX-512 or AVX2 + FMA, whichever the CPU has, else as built. The default
/// x86-64 target only assumes SSE2 (candle's gemm picks its kernels the same way); a
/// generic closure passed to [`with_best`] is not reliably inlined (the activation
/// gradient ran scalar through it: 6% of a SAC update's profile against 1.7%).
macro_rules! vectorised {
    ($(#[$meta:meta])* $vis:vis $name:ident => $generic:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports the features the copy is compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $generic($($arg),*)
        }
    };
}
pub(crate) use vectorised;

vectorised!(
    /// The activation over a slice, with the widest vector instructions the CPU has.
    pub(crate) apply_in_place => apply_generic(activation: Activation, x: &mut [f32])
);

/// Runs `kernel` compiled for the widest vector instructions the CPU has: the closure is
/// inlined into a function built for AVX-512 or AVX2, so its loops (over [`fast_exp`] and
/// arithmetic) vectorise at that width. For fused kernels outside [`apply_in_place`].
#[inline(always)]
pub(crate) fn with_best<R>(kernel: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { run_avx512(kernel) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { run_avx2(kernel) };
        }
    }
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn run_avx512<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<R>(kernel: impl FnOnce() -> R) -> R {
    kernel()
}

/// `1 / (1 + e^{−x})` on [`fast_exp`].
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// `tanh(x) = 1 − 2 / (1 + e^{2x})` on [`fast_exp`].
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + fast_exp(2.0 * x))
}

#[inline(always)]
pub(crate) fn apply_generic(activation: Activation, x: &mut [f32]) {
    match activation {
        Activation::Silu => {
            for v in x.iter_mut() {
                *v /= 1.0 + fast_exp(-*v);
            }
        }
        Activation::Relu => {
            for v in x.iter_mut() {
                *v = v.max(0.0);
            }
        }
        Activation::Tanh => {
            for v in x.iter_mut() {
                // tanh(x) = 1 − 2 / (1 + e^{2x})
                *v = 1.0 - 2.0 / (1.0 + fast_exp(2.0 * *v));
            }
        }
    }
}

/// `e^x` to about 2 ulp for |x| ≤ 87, clamped outside; branch-free and free of float→int
/// casts (which Rust saturates, in scalar code), so loops over it vectorise.
#[inline(always)]
pub fn fast_exp(x: f32) -> f32 {
    // Round to nearest by adding 1.5·2^23: the sum's low mantissa bits then hold the
    // integer itself, read back with integer arithmetic.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + MAGIC;
    let n = shifted - MAGIC;
    let k = shifted.to_bits().wrapping_sub(MAGIC.to_bits());
    // Cody–Waite: x − n·ln2 in two parts keeps the reduced argument exact enough.
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6;
    // exp(r) for |r| ≤ ln2/2: degree-6 Taylor, error < 2e-7 relative.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(k.wrapping_add(127) << 23)
}

/// `ln x` for positive normal `x` to about 1e-7 relative (√2-centred mantissa, atanh
/// series); branch-free integer and float arithmetic, so loops over it vectorise (libm's
/// `logf` is a scalar call per element).
#[inline(always)]
pub fn fast_ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    let big = mantissa > std::f32::consts::SQRT_2;
    let m = if big { 0.5 * mantissa } else { mantissa };
    let e = (exponent + big as i32) as f32;
    // ln m = 2 atanh t, t = (m − 1)/(m + 1), |t| ≤ 0.172.
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0))));
    e * std::f32::consts::LN_2 + 2.0 * t * series
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ln_is_accurate() {
        let mut x = 1e-30f32;
        while x < 1e30 {
            let (got, want) = (fast_ln(x), x.ln());
            assert!(
                (got - want).abs() <= 2e-7 * want.abs().max(1.0),
                "{x}: {got} vs {want}"
            );
            x *= 1.0137;
        }
    }

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (got, want) = (fast_exp(x), x.exp());
            assert!(((got - want) / want).abs() < 1e-6, "{x}: {got} vs {want}");
            x += 0.01;
        }
    }
}
