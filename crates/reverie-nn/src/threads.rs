//! candle's CPU thread count.
//!
//! candle reads `RAYON_NUM_THREADS` for every matrix multiply and sizes its own pool from it
//! on first use; its default (all physical cores) made tiny ops ~30× slower on a 2-core
//! machine in our measurements. Call [`set_num_threads`] before the first tensor op.

/// Sets the number of threads candle's CPU kernels use (at least 1). Must run before any
/// tensor is created to also size candle's internal pool.
pub fn set_num_threads(threads: usize) {
    let threads = threads.max(1).to_string();
    // Agents call this when they are built; leave the environment alone when nothing
    // changes, so that building agents on several threads (tests) never writes it.
    let current = |name: &str| std::env::var(name).ok();
    if current("RAYON_NUM_THREADS").as_deref() == Some(threads.as_str())
        && current("CANDLE_NUM_THREADS").as_deref() == Some(threads.as_str())
    {
        return;
    }
    // Setting the environment is sound here: it happens at start-up, before candle or any
    // other thread reads it.
    std::env::set_var("RAYON_NUM_THREADS", &threads);
    std::env::set_var("CANDLE_NUM_THREADS", &threads);
}

/// The thread count candle will use.
pub fn num_threads() -> usize {
    candle_core::utils::get_num_threads()
}
