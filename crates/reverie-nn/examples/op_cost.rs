//! scratch
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use candle_core::{Device, Tensor};
use std::time::Instant;
fn t(name: &str, f: &dyn Fn() -> Tensor) {
    let n = 3000;
    for _ in 0..100 {
        f();
    }
    let s = Instant::now();
    for _ in 0..n {
        f();
    }
    println!(
        "{name}: {:.1} µs",
        s.elapsed().as_secs_f64() / n as f64 * 1e6
    );
}
fn main() {
    reverie_nn::threads::set_num_threads(1);
    let d = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (256, 4), &d).unwrap();
    let w = Tensor::randn(0f32, 1.0, (4, 64), &d).unwrap();
    let w2 = Tensor::randn(0f32, 1.0, (64, 64), &d).unwrap();
    let b = Tensor::randn(0f32, 1.0, 64, &d).unwrap();
    let h = Tensor::randn(0f32, 1.0, (256, 64), &d).unwrap();
    t("matmul 256x4x64", &|| x.matmul(&w).unwrap());
    t("matmul 256x64x64", &|| h.matmul(&w2).unwrap());
    t("broadcast_add", &|| h.broadcast_add(&b).unwrap());
    t("tanh 256x64", &|| h.tanh().unwrap());
    t("relu 256x64", &|| h.relu().unwrap());
    t("sqr", &|| h.sqr().unwrap());
    t("mul", &|| (&h * &h).unwrap());
    t("affine", &|| (&h * 0.5).unwrap());
    t("sum_keepdim0", &|| h.sum_keepdim(0).unwrap());
    t("t().matmul", &|| h.t().unwrap().matmul(&h).unwrap());
    t("exp 256x64", &|| h.exp().unwrap());
    t("sigmoid nn", &|| candle_nn::ops::sigmoid(&h).unwrap());
    t("silu nn", &|| candle_nn::ops::silu(&h).unwrap());
    let ones = Tensor::ones((256, 1), candle_core::DType::F32, &d).unwrap();
    let b2 = b.reshape((1, 64)).unwrap();
    t("ones.matmul(b)", &|| ones.matmul(&b2).unwrap());
    t("ones^T.matmul(h)", &|| {
        ones.t().unwrap().matmul(&h).unwrap()
    });
    t("sum_keepdim1", &|| h.sum_keepdim(1).unwrap());
    let v = candle_core::Var::from_tensor(&w2).unwrap();
    t("backward tanh chain", &|| {
        let y = h
            .matmul(v.as_tensor())
            .unwrap()
            .tanh()
            .unwrap()
            .sum_all()
            .unwrap();
        y.backward().unwrap();
        y
    });
    let s = Tensor::randn(0f32, 1.0, 256, &d).unwrap();
    t("mul 256", &|| (&s * &s).unwrap());
    t("exp 256", &|| s.exp().unwrap());
}
