//! Values against candle's own ops, finite-difference gradients, shapes, parameters.

use super::*;
use crate::gradcheck::check_gradients;
use std::collections::HashMap;

const DEV: Device = Device::Cpu;

fn randn(rng: &mut Rng, dims: &[usize]) -> Tensor {
    let n = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    Tensor::from_vec(v, dims, &DEV).unwrap()
}

fn max_rel_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let scale = b
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
        .max(1.0);
    let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
    d.to_scalar::<f32>().unwrap() / scale
}

/// Stride 1 and 2 (and 3),
/// padding 0/1/2, kernels 3/4, odd sizes, single images and batches that take the grouped
/// and the parallel paths (4×4 grids group 16 images).
/// `(batch, in, out, height, width, kernel, stride, padding)`.
type Case = (usize, usize, usize, usize, usize, usize, usize, usize);

const CASES: [Case; 9] = [
    (1, 3, 4, 8, 8, 3, 1, 0),
    (2, 2, 5, 7, 9, 3, 1, 1),
    (3, 3, 2, 9, 7, 4, 2, 1),
    (2, 4, 3, 8, 8, 4, 2, 1),
    (1, 2, 3, 11, 6, 3, 2, 0),
    (2, 3, 2, 10, 10, 3, 3, 2),
    (40, 3, 5, 8, 8, 4, 2, 1),
    (5, 6, 4, 4, 4, 3, 1, 1),
    (64, 2, 3, 17, 17, 3, 1, 1),
];

#[test]
fn conv2d_matches_candle() {
    let mut rng = Rng::seed_from_u64(1);
    for (b, ci, co, h, w, k, s, p) in CASES {
        let x = randn(&mut rng, &[b, ci, h, w]);
        let wt = randn(&mut rng, &[co, ci, k, k]);
        let bias = randn(&mut rng, &[co]);
        let want = x.conv2d(&wt, p, s, 1, 1).unwrap();
        let got = conv2d(&x, &wt, None, s, p, None).unwrap();
        let case = (b, ci, co, h, w, k, s, p);
        assert!(max_rel_diff(&got, &want) < 1e-5, "{case:?}");
        let want = want
            .broadcast_add(&bias.reshape((1, co, 1, 1)).unwrap())
            .unwrap();
        let want = candle_nn::ops::silu(&want).unwrap();
        let got = conv2d(&x, &wt, Some(&bias), s, p, Some(Activation::Silu)).unwrap();
        assert!(
            max_rel_diff(&got, &want) < 1e-5,
            "{case:?} with bias and SiLU"
        );
    }
}

#[test]
fn conv_transpose2d_matches_candle() {
    let mut rng = Rng::seed_from_u64(2);
    for (b, ci, co, h, w, k, s, p) in CASES {
        for op in 0..s.min(2) {
            let x = randn(&mut rng, &[b, ci, h, w]);
            let wt = randn(&mut rng, &[ci, co, k, k]);
            let bias = randn(&mut rng, &[co]);
            let want = x.conv_transpose2d(&wt, p, op, s, 1).unwrap();
            let got = conv_transpose2d(&x, &wt, None, s, p, op, None).unwrap();
            let case = (b, ci, co, h, w, k, s, p, op);
            assert!(max_rel_diff(&got, &want) < 1e-5, "{case:?}");
            let want = want
                .broadcast_add(&bias.reshape((1, co, 1, 1)).unwrap())
                .unwrap();
            let want = want.tanh().unwrap();
            let act = Some(Activation::Tanh);
            let got = conv_transpose2d(&x, &wt, Some(&bias), s, p, op, act).unwrap();
            assert!(
                max_rel_diff(&got, &want) < 1e-5,
                "{case:?} with bias and tanh"
            );
        }
    }
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    let mut rng = Rng::seed_from_u64(3);
    for (k, s, p, act) in [
        (3, 1, 1, None),
        (4, 2, 1, Some(Activation::Silu)),
        (3, 2, 0, Some(Activation::Tanh)),
    ] {
        let config = Conv2dConfig {
            stride: s,
            padding: p,
            activation: act,
            ..Conv2dConfig::new(3, 4, k)
        };
        let layer = config.init(&mut rng, &DEV).unwrap();
        let x = Var::from_tensor(&randn(&mut rng, &[2, 3, 9, 8])).unwrap();
        let [w, b] = [&layer.vars()[0], &layer.vars()[1]].map(|v| v.clone());
        // Input, weight and bias, 12 entries each.
        check_gradients(&format!("{config:?}"), &[&x, &w, &b], 12, || {
            layer.forward(x.as_tensor())
        });
    }
}

#[test]
fn conv_transpose2d_gradients_match_finite_differences() {
    let mut rng = Rng::seed_from_u64(4);
    // Smooth activations only: ±1e-3 moves outputs across ReLU's kink, which spoils
    // central differences (`ops::activate` is checked against candle's ReLU).
    for (k, s, p, op, act) in [
        (3, 1, 1, 0, None),
        (4, 2, 1, 0, Some(Activation::Silu)),
        (3, 2, 1, 1, Some(Activation::Tanh)),
    ] {
        let config = ConvTranspose2dConfig {
            stride: s,
            padding: p,
            output_padding: op,
            activation: act,
            ..ConvTranspose2dConfig::new(3, 4, k)
        };
        let layer = config.init(&mut rng, &DEV).unwrap();
        let x = Var::from_tensor(&randn(&mut rng, &[2, 3, 5, 6])).unwrap();
        let [w, b] = [&layer.vars()[0], &layer.vars()[1]].map(|v| v.clone());
        // Input, weight and bias, 12 entries each.
        check_gradients(&format!("{config:?}"), &[&x, &w, &b], 12, || {
            layer.forward(x.as_tensor())
        });
    }
}

/// The grouped and parallel paths (many 4×4 grids) against candle's own backward, with a
/// fused ReLU between the layers.
#[test]
fn batched_gradients_match_candle_backward() {
    let mut rng = Rng::seed_from_u64(5);
    let x = Var::from_tensor(&randn(&mut rng, &[37, 6, 8, 8])).unwrap();
    let w = Var::from_tensor(&randn(&mut rng, &[5, 6, 4, 4])).unwrap();
    let wt = Var::from_tensor(&randn(&mut rng, &[5, 3, 4, 4])).unwrap();
    let run = |fast: bool| {
        let (x, w, wt) = (x.as_tensor(), w.as_tensor(), wt.as_tensor());
        let y = if fast {
            let h = conv2d(x, w, None, 2, 1, Some(Activation::Relu)).unwrap();
            conv_transpose2d(&h, wt, None, 2, 1, 0, None).unwrap()
        } else {
            let h = x.conv2d(w, 1, 2, 1, 1).unwrap().relu().unwrap();
            h.conv_transpose2d(wt, 1, 0, 2, 1).unwrap()
        };
        assert_eq!(y.dims(), [37, 3, 8, 8]);
        y.sqr().unwrap().sum_all().unwrap().backward().unwrap()
    };
    let (fast, slow) = (run(true), run(false));
    for v in [&x, &w, &wt] {
        let d = max_rel_diff(fast.get(v).unwrap(), slow.get(v).unwrap());
        assert!(d < 1e-4, "{:?}: {d}", v.dims());
    }
}

#[test]
fn encoder_decoder_shapes_round_trip_64_to_4() {
    let mut rng = Rng::seed_from_u64(6);
    let channels = [3, 16, 32, 64, 128];
    let mut size = 64;
    let mut h = randn(&mut rng, &[2, 3, 64, 64]);
    for pair in channels.windows(2) {
        let config = Conv2dConfig {
            stride: 2,
            padding: 1,
            activation: Some(Activation::Silu),
            ..Conv2dConfig::new(pair[0], pair[1], 4)
        };
        size = config.out_size(size);
        h = config.init(&mut rng, &DEV).unwrap().forward(&h).unwrap();
        assert_eq!(h.dims(), [2, pair[1], size, size]);
    }
    assert_eq!(size, 4);
    for pair in channels.windows(2).rev() {
        let config = ConvTranspose2dConfig {
            stride: 2,
            padding: 1,
            ..ConvTranspose2dConfig::new(pair[1], pair[0], 4)
        };
        size = config.out_size(size);
        h = config.init(&mut rng, &DEV).unwrap().forward(&h).unwrap();
        assert_eq!(h.dims(), [2, pair[0], size, size]);
    }
    assert_eq!(size, 64);
}

#[test]
fn init_reproduces_and_parameters_round_trip() {
    let config = ConvTranspose2dConfig::new(8, 3, 4);
    let a = config.init(&mut Rng::seed_from_u64(7), &DEV).unwrap();
    let b = config.init(&mut Rng::seed_from_u64(7), &DEV).unwrap();
    let values = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for (va, vb) in a.vars().iter().zip(b.vars()) {
        assert_eq!(values(va.as_tensor()), values(vb.as_tensor()));
    }
    // PyTorch's fan-in for [in, out, k, k] is out·k² = 48.
    let bound = 1.0 / 48f32.sqrt();
    let w = values(a.vars()[0].as_tensor());
    assert!(w.iter().all(|v| v.abs() <= bound));
    assert!(w.iter().any(|v| v.abs() > 0.8 * bound));
    assert_eq!(a.vars()[0].dims(), [8, 3, 4, 4]);

    let conv = Conv2dConfig {
        bias: false,
        ..Conv2dConfig::new(3, 8, 3)
    };
    let c1 = conv.init(&mut Rng::seed_from_u64(8), &DEV).unwrap();
    let c2 = conv.init(&mut Rng::seed_from_u64(9), &DEV).unwrap();
    assert_eq!(c1.vars().len(), 1);
    let named = c1.named_tensors("enc.0");
    assert_eq!(named.keys().collect::<Vec<_>>(), ["enc.0.weight"]);
    c2.load_named("enc.0", &named).unwrap();
    assert_eq!(
        values(c2.vars()[0].as_tensor()),
        values(c1.vars()[0].as_tensor())
    );
    assert!(c2.load_named("enc.1", &named).is_err());
    let wrong = HashMap::from([(
        "enc.0.weight".to_string(),
        randn(&mut Rng::seed_from_u64(1), &[8, 3, 4, 4]),
    )]);
    assert!(c2.load_named("enc.0", &wrong).is_err());
    let named = a.named_tensors("dec");
    assert_eq!(named.len(), 2);
    b.load_named("dec", &named).unwrap();
}

#[test]
fn mismatched_shapes_are_refused() {
    let x = Tensor::zeros((1, 3, 8, 8), DType::F32, &DEV).unwrap();
    let w = Tensor::zeros((4, 2, 3, 3), DType::F32, &DEV).unwrap();
    assert!(conv2d(&x, &w, None, 1, 0, None).is_err());
    let w = Tensor::zeros((3, 4, 3, 3), DType::F32, &DEV).unwrap();
    assert!(conv_transpose2d(&x, &w, None, 2, 0, 2, None).is_err());
    let big = Tensor::zeros((4, 3, 9, 9), DType::F32, &DEV).unwrap();
    assert!(conv2d(&x, &big, None, 1, 0, None).is_err());
}

/// Random shapes (kernels 1–5, strides 1–3, padding up to 2, output padding, sizes down to
/// the kernel's) against candle's values and backward. Square images only: candle's conv2d
/// backward takes the width's output padding from the height, and fails (a shape mismatch)
/// where they differ; the finite-difference tests cover non-square images.
#[test]
fn random_shapes_match_candle_values_and_gradients() {
    let mut rng = Rng::seed_from_u64(10);
    let mut checked = 0;
    while checked < 40 {
        let pick = |rng: &mut Rng, lo: usize, hi: usize| lo + rng.index(hi - lo + 1);
        let (b, ci, co) = (
            pick(&mut rng, 1, 4),
            pick(&mut rng, 1, 5),
            pick(&mut rng, 1, 5),
        );
        let (k, s, p) = (
            pick(&mut rng, 1, 5),
            pick(&mut rng, 1, 3),
            pick(&mut rng, 0, 2),
        );
        let h = pick(&mut rng, 1, 11);
        let w = h;
        let op = rng.index(s);
        if h + 2 * p < k || (h - 1) * s + k + op <= 2 * p {
            continue;
        }
        checked += 1;
        let case = (b, ci, co, h, w, k, s, p, op);
        let x = Var::from_tensor(&randn(&mut rng, &[b, ci, h, w])).unwrap();
        let wc = Var::from_tensor(&randn(&mut rng, &[co, ci, k, k])).unwrap();
        let wt = Var::from_tensor(&randn(&mut rng, &[ci, co, k, k])).unwrap();
        let grads = |fast: bool, transposed: bool| {
            let xt = x.as_tensor();
            let y = match (fast, transposed) {
                (true, false) => conv2d(xt, wc.as_tensor(), None, s, p, None),
                (false, false) => xt.conv2d(wc.as_tensor(), p, s, 1, 1),
                (true, true) => conv_transpose2d(xt, wt.as_tensor(), None, s, p, op, None),
                (false, true) => xt.conv_transpose2d(wt.as_tensor(), p, op, s, 1),
            }
            .unwrap();
            let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
            (y, g)
        };
        for (transposed, weight) in [(false, &wc), (true, &wt)] {
            let (y1, g1) = grads(true, transposed);
            let (y2, g2) = grads(false, transposed);
            assert!(
                max_rel_diff(&y1, &y2) < 1e-5,
                "{case:?} transposed {transposed}"
            );
            for v in [&x, weight] {
                let d = max_rel_diff(g1.get(v).unwrap(), g2.get(v).unwrap());
                assert!(
                    d < 1e-4,
                    "{case:?} transposed {transposed} {:?}: {d}",
                    v.dims()
                );
            }
        }
    }
}

/// Single images take the threaded-matmul path; called from inside rayon's pool, a thread
/// waiting in one call's matmul may run another call, which must not find its scratch
/// buffers taken.
#[test]
fn calls_nested_in_the_thread_pool_agree() {
    use rayon::prelude::*;
    let mut rng = Rng::seed_from_u64(11);
    let x = randn(&mut rng, &[1, 8, 24, 24]);
    let w = randn(&mut rng, &[16, 8, 3, 3]);
    let want = conv2d(&x, &w, None, 1, 1, None).unwrap();
    (0..16).into_par_iter().for_each(|_| {
        let got = conv2d(&x, &w, None, 1, 1, None).unwrap();
        let back = conv_transpose2d(&got, &w, None, 1, 1, 0, None).unwrap();
        assert_eq!(back.dims(), x.dims());
        assert!(max_rel_diff(&got, &want) < 1e-6);
    });
}
