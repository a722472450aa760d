//! candle's CPU thread count.
//!
//! candle reads `RAYON_NUM_THREADS` for every matrix multiply (and rayon sizes its global
//! pool from it on first use); its default (all cores) made tiny ops ~30× slower on a
//! 2-core machine in our measurements. Call [`set_num_threads`] before the first tensor op.
//!
//! candle's generic elementwise ops run on a second pool of its own (`CANDLE_NUM_THREADS`),
//! whose workers spin for a while after each op. Our fused ops and the matmul kernel run on
//! rayon's pool, so those spinning workers only take the cores from them: profiles of the
//! ensemble and GRU training steps on 2 cores spent 19–32% of the time in candle's barrier
//! wait. That second pool is therefore kept to the calling thread (1) unless the
//! environment already sets `CANDLE_NUM_THREADS`.

/// Sets the number of threads candle's CPU kernels use (at least 1). Must run before any
/// tensor is created to also size rayon's pool.
pub fn set_num_threads(threads: usize) {
    let threads = threads.max(1).to_string();
    let current = |name: &str| std::env::var(name).ok();
    // Leave the environment alone when nothing changes, so that runs started from several
    // threads (tests) never write it concurrently.
    if current("RAYON_NUM_THREADS").as_deref() == Some(threads.as_str())
        && current("CANDLE_NUM_THREADS").is_some()
    {
        return;
    }
    // Setting the environment is sound here: it happens at start-up, before candle or any
    // other thread reads it.
    std::env::set_var("RAYON_NUM_THREADS", &threads);
    if current("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// The thread count candle will use.
pub fn num_threads() -> usize {
    candle_core::utils::get_num_threads()
}
